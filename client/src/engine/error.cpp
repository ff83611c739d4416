#include "parley/error.hpp"

#include <array>
#include <utility>

namespace parley {
namespace {

constexpr std::array<std::pair<Errc, std::string_view>, 30> kNames{{
    {Errc::malformed_request, "malformed_request"},
    {Errc::validation_failed, "validation_failed"},
    {Errc::unauthorized, "unauthorized"},
    {Errc::invalid_credentials, "invalid_credentials"},
    {Errc::invalid_two_factor_code, "invalid_two_factor_code"},
    {Errc::forbidden, "forbidden"},
    {Errc::blocked, "blocked"},
    {Errc::not_found, "not_found"},
    {Errc::conflict, "conflict"},
    {Errc::username_taken, "username_taken"},
    {Errc::already_contacts, "already_contacts"},
    {Errc::invitation_exists, "invitation_exists"},
    {Errc::offset_mismatch, "offset_mismatch"},
    {Errc::payload_too_large, "payload_too_large"},
    {Errc::quota_exceeded, "quota_exceeded"},
    {Errc::unsupported_media_type, "unsupported_media_type"},
    {Errc::too_many_requests, "too_many_requests"},
    {Errc::internal, "internal"},
    {Errc::service_busy, "service_busy"},
    {Errc::unknown_server_error, "unknown_server_error"},
    {Errc::network, "network"},
    {Errc::timeout, "timeout"},
    {Errc::bad_response, "bad_response"},
    {Errc::storage, "storage"},
    {Errc::in_use, "in_use"},
    {Errc::not_signed_in, "not_signed_in"},
    {Errc::two_factor_required, "two_factor_required"},
    {Errc::invalid_argument, "invalid_argument"},
    {Errc::bad_certificate, "bad_certificate"},
    {Errc::cancelled, "cancelled"},
}};

}  // namespace

std::string_view to_string(Errc code) noexcept {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "internal";
}

Errc errc_from_server(std::string_view code) noexcept {
  for (const auto& [c, name] : kNames) {
    // Only the server's own vocabulary: engine-side names are never sent by it.
    if (name == code && c <= Errc::service_busy) return c;
  }
  return Errc::unknown_server_error;
}

}  // namespace parley
