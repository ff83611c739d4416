// Time-based one-time passwords (TOTP, RFC 6238) as authenticator apps
// compute them: HMAC-SHA-1 (RFC 4226 HOTP) over the number of 30-second
// steps since the Unix epoch, truncated to 6 digits. SHA-1 is what every
// authenticator app supports; HMAC-SHA-1 is not weakened by SHA-1's
// collision attacks.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::auth::totp {

constexpr std::int64_t kStepSeconds = 30;
constexpr int kDigits = 6;
// 160 bits, the HMAC-SHA-1 block-size-friendly length RFC 4226 recommends.
constexpr std::size_t kSecretBytes = 20;

// RFC 4648 base32 (A-Z, 2-7), without padding: how otpauth URIs and
// authenticator apps exchange secrets.
[[nodiscard]] std::string base32_encode(std::string_view bytes);
// Decodes base32, ignoring case, spaces and '=' padding. nullopt if any other
// character appears or the trailing bits are not zero.
[[nodiscard]] std::optional<std::string> base32_decode(std::string_view text);

// A new random secret of kSecretBytes (libsodium's CSPRNG).
[[nodiscard]] std::string generate_secret();

// The RFC 4226 HOTP value for `counter`, as `digits` decimal digits with
// leading zeros.
[[nodiscard]] std::string hotp(std::string_view secret, std::uint64_t counter, int digits = kDigits);

// The time step holding `unix_seconds`.
[[nodiscard]] constexpr std::int64_t step_at(std::int64_t unix_seconds) { return unix_seconds / kStepSeconds; }

// The code for a time step.
[[nodiscard]] std::string code_at_step(std::string_view secret, std::int64_t step, int digits = kDigits);

// The step within [now_step - 1, now_step + 1] (clock skew of one step either
// way) whose code equals `code` and which is later than `last_used_step`, or
// nullopt. Refusing steps at or before the last used one makes every code
// single-use (RFC 6238 section 5.2). Compares in constant time.
[[nodiscard]] std::optional<std::int64_t> verify(std::string_view secret, std::string_view code, std::int64_t now_step,
                                                 std::int64_t last_used_step);

// The otpauth:// URI authenticator apps import (also as a QR code), per the
// Key Uri Format: otpauth://totp/Issuer:account?secret=...&issuer=...
[[nodiscard]] std::string otpauth_uri(std::string_view issuer, std::string_view account, std::string_view secret);

}  // namespace parley::auth::totp
