#include "core/error.hpp"

namespace parley {
namespace {

struct ErrorInfo {
  int status;
  std::string_view name;
};

constexpr ErrorInfo info(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMalformedRequest: return {400, "malformed_request"};
    case ErrorCode::kUnauthorized: return {401, "unauthorized"};
    case ErrorCode::kInvalidCredentials: return {401, "invalid_credentials"};
    case ErrorCode::kInvalidTwoFactorCode: return {401, "invalid_two_factor_code"};
    case ErrorCode::kInvalidChallenge: return {401, "invalid_challenge"};
    case ErrorCode::kForbidden: return {403, "forbidden"};
    case ErrorCode::kBlocked: return {403, "blocked"};
    case ErrorCode::kNotFound: return {404, "not_found"};
    case ErrorCode::kMethodNotAllowed: return {405, "method_not_allowed"};
    case ErrorCode::kConflict: return {409, "conflict"};
    case ErrorCode::kUsernameTaken: return {409, "username_taken"};
    case ErrorCode::kAlreadyContacts: return {409, "already_contacts"};
    case ErrorCode::kInvitationExists: return {409, "invitation_exists"};
    case ErrorCode::kOffsetMismatch: return {409, "offset_mismatch"};
    case ErrorCode::kPayloadTooLarge: return {413, "payload_too_large"};
    case ErrorCode::kQuotaExceeded: return {413, "quota_exceeded"};
    case ErrorCode::kUnsupportedMediaType: return {415, "unsupported_media_type"};
    case ErrorCode::kRangeNotSatisfiable: return {416, "range_not_satisfiable"};
    case ErrorCode::kValidationFailed: return {422, "validation_failed"};
    case ErrorCode::kInvalidImage: return {422, "invalid_image"};
    case ErrorCode::kTooManyRequests: return {429, "too_many_requests"};
    case ErrorCode::kHeaderTooLarge: return {431, "header_too_large"};
    case ErrorCode::kInternal: return {500, "internal"};
    case ErrorCode::kServiceBusy: return {503, "service_busy"};
  }
  return {500, "internal"};
}

}  // namespace

int http_status(ErrorCode code) { return info(code).status; }
std::string_view error_name(ErrorCode code) { return info(code).name; }

}  // namespace parley
