// The one error vocabulary of libparley, and Result<T>, the value-or-error
// every asynchronous call of the engine hands to its completion callback.
//
// Codes that come from the server keep the server's names (docs/openapi.yaml,
// components/schemas/Error): an app can show `message` to people and branch on
// `code`, never on the text. Codes the engine adds itself say where a failure
// happened: the network, the device store, or the server breaking the protocol.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace parley {

enum class Errc {
  // The server's vocabulary (the `code` of its error bodies and frames).
  malformed_request,
  validation_failed,
  unauthorized,
  invalid_credentials,
  invalid_two_factor_code,
  forbidden,
  blocked,
  not_found,
  conflict,
  username_taken,
  already_contacts,
  invitation_exists,
  offset_mismatch,
  payload_too_large,
  quota_exceeded,
  unsupported_media_type,
  too_many_requests,
  internal,
  service_busy,
  // The server answered with a code this version does not know; `message`
  // holds it. Treat as a failure of the request.
  unknown_server_error,
  // Engine-side failures.
  network,          // could not reach the server, or the connection broke
  bad_certificate,  // the server's TLS certificate failed verification (unknown
                    // CA, another host's name, expired): never retried
                    // without TLS, nor accepted anyway
  timeout,          // the server did not answer within the engine's limit
  bad_response,     // the server sent something the protocol does not allow
                    // (not JSON, a missing field, a frame over the limit):
                    // nothing of it was applied
  storage,          // the device store failed (disk full, corrupt file)
  in_use,           // the account's folder is open in another Account or
                    // process (message names it); Account::open_read_only
                    // reads it meanwhile
  not_signed_in,    // the call needs a session and there is none
  two_factor_required,  // sign_in needs the second factor: call it again with the code
  invalid_argument, // the app passed something the engine refuses before any I/O
  cancelled,        // the account was closed before the call completed
};

// The stable name of a code ("not_found", "network", ...).
[[nodiscard]] std::string_view to_string(Errc code) noexcept;
// Parses a server error code; unknown names map to Errc::unknown_server_error.
[[nodiscard]] Errc errc_from_server(std::string_view code) noexcept;

struct Error {
  Errc code = Errc::internal;
  std::string message;  // for people; never parse it
  int http_status = 0;  // the HTTP status when the error came from a REST reply
};

// A value or an Error. Deliberately tiny: check ok(), then value() or error().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}       // NOLINT: implicit on purpose
  Result(Error error) : data_(std::move(error)) {}   // NOLINT
  [[nodiscard]] bool ok() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] T& value() & { return std::get<0>(data_); }
  [[nodiscard]] const T& value() const& { return std::get<0>(data_); }
  [[nodiscard]] T&& value() && { return std::get<0>(std::move(data_)); }
  [[nodiscard]] const Error& error() const { return std::get<1>(data_); }

 private:
  std::variant<T, Error> data_;
};

// For calls that return nothing but success or an Error.
struct Done {};
using Status = Result<Done>;

}  // namespace parley
