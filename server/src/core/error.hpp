// The one error vocabulary of parleyd.
//
// Every failure a client can see is an ErrorCode. Each code has exactly one
// HTTP status and one stable string ("code" in the JSON error body, and later
// in WebSocket error frames), defined in error.cpp. Code below the transport
// layers reports a client-visible failure by throwing ApiError; the HTTP layer
// catches it and renders {"error": {"code": ..., "message": ...}}. Anything
// else that escapes a handler is an internal error: logged, answered with 500,
// and never shown to the client in detail.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace parley {

enum class ErrorCode {
  kMalformedRequest,      // 400: unparsable JSON, bad query string
  kUnauthorized,          // 401: missing, unknown, revoked or expired token
  kInvalidCredentials,    // 401: wrong username or password (indistinguishable)
  kInvalidTwoFactorCode,  // 401: wrong, expired or already used TOTP or recovery code
  kInvalidChallenge,      // 401: unknown, expired or used-up two-factor login challenge
  kForbidden,             // 403: authenticated but not allowed
  kBlocked,               // 403: a block between the two users forbids this
  kNotFound,              // 404: unknown route or resource, or not the caller's
  kMethodNotAllowed,      // 405
  kConflict,              // 409: generic state conflict
  kUsernameTaken,         // 409
  kAlreadyContacts,       // 409
  kInvitationExists,      // 409
  kOffsetMismatch,        // 409: a resumable upload's part does not start at the server's offset
  kPayloadTooLarge,       // 413
  kQuotaExceeded,         // 413: the user's stored bytes would pass media.quota_bytes
  kUnsupportedMediaType,  // 415
  kRangeNotSatisfiable,   // 416: a Range outside the file
  kValidationFailed,      // 422: well-formed JSON with invalid content
  kInvalidImage,          // 422: an image is required and this one is damaged or over the pixel limits
  kTooManyRequests,       // 429: throttled; carries Retry-After
  kHeaderTooLarge,        // 431
  kInternal,              // 500
  kServiceBusy,           // 503: a bounded queue is full; carries Retry-After
};

// The HTTP status for a code (e.g. 404 for kNotFound).
[[nodiscard]] int http_status(ErrorCode code);

// The stable machine-readable name of a code (e.g. "not_found").
[[nodiscard]] std::string_view error_name(ErrorCode code);

// A failure to be reported to the client. `message` is shown to the client:
// it must be safe to show (no internal detail) and say what to fix.
class ApiError : public std::runtime_error {
 public:
  ApiError(ErrorCode code, std::string message,
           std::optional<std::chrono::seconds> retry_after = std::nullopt)
      : std::runtime_error(std::move(message)), code_(code), retry_after_(retry_after) {}

  [[nodiscard]] ErrorCode code() const noexcept { return code_; }
  // Set for kTooManyRequests and kServiceBusy: when the client may try again.
  [[nodiscard]] std::optional<std::chrono::seconds> retry_after() const noexcept {
    return retry_after_;
  }

 private:
  ErrorCode code_;
  std::optional<std::chrono::seconds> retry_after_;
};

}  // namespace parley
