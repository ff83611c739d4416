// The cryptography of Web Push, on OpenSSL: the server's VAPID key and its
// JWTs (RFC 8292), and the encryption of a push message for one browser
// (RFC 8291, with the aes128gcm content coding of RFC 8188).
//
// Everything here is a pure function of its inputs or of a VapidKey, and
// thread-safe. Byte strings are raw bytes in std::string; the wire forms
// (base64url without padding) are made by base64url_encode.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace parley::push {

// base64url without padding (RFC 4648 §5), as browsers give PushSubscription
// keys and as JWTs are written.
[[nodiscard]] std::string base64url_encode(std::string_view bytes);
// Decodes base64url, with or without '=' padding; nullopt for anything else.
[[nodiscard]] std::optional<std::string> base64url_decode(std::string_view text);

// True when `point` is an uncompressed P-256 public key (0x04 || X || Y, 65
// bytes) that lies on the curve: a browser's p256dh key.
[[nodiscard]] bool is_valid_p256_public_key(std::string_view point);

// The server's application server key (VAPID, RFC 8292): one ECDSA P-256
// key pair for the life of the data folder. Browsers tie a subscription to
// its public key, so a new key would silently end every subscription.
class VapidKey {
 public:
  // Reads the key from `pem_file` (PKCS#8 PEM), or generates one and writes
  // it there, mode 0600, atomically, when the file does not exist. Throws
  // std::runtime_error for a file that is not a P-256 private key, or one
  // that others may read.
  static VapidKey load_or_create(const std::filesystem::path& pem_file);
  // A key from a raw 32-byte private scalar (tests).
  static VapidKey from_private_bytes(std::string_view d);

  VapidKey(VapidKey&&) noexcept;
  VapidKey& operator=(VapidKey&&) noexcept;
  ~VapidKey();

  // The 65-byte uncompressed public point; browsers take it base64url'd as
  // applicationServerKey.
  [[nodiscard]] const std::string& public_key() const { return public_key_; }

  // A signed ES256 JWT for the push service at `audience` (its origin,
  // "https://host[:port]"), valid until `expires` (RFC 8292 allows at most
  // 24 hours ahead), with `subject` (a mailto: or https: contact; omitted
  // when empty).
  [[nodiscard]] std::string jwt(std::string_view audience, std::chrono::system_clock::time_point expires,
                                std::string_view subject) const;

  // The Authorization header value: "vapid t=<jwt>, k=<public key>".
  [[nodiscard]] std::string authorization(std::string_view audience, std::chrono::system_clock::time_point expires,
                                          std::string_view subject) const;

 private:
  struct Key;
  explicit VapidKey(std::unique_ptr<Key> key);
  std::unique_ptr<Key> key_;
  std::string public_key_;
};

// A browser's keys from its PushSubscription: p256dh (65 bytes) and auth (16).
struct Receiver {
  std::string p256dh;
  std::string auth;
};

// The largest plaintext encrypt() takes. A push service must accept bodies
// of 4096 bytes (RFC 8030 §7.2); the header (86), the padding delimiter (1)
// and the tag (16) come on top, and padding rounds up to kPaddingBlock.
inline constexpr std::size_t kMaxPlaintext = 3072;
// Plaintext lengths are rounded up to a multiple of this with padding, so
// the body's size tells an observer less about the message.
inline constexpr std::size_t kPaddingBlock = 128;

// The aes128gcm-coded body of a push message carrying `plaintext` to
// `receiver`, in one record: salt, record size and the sender's ephemeral
// public key, then the ciphertext (RFC 8291 §4). A new ephemeral key and
// salt every call. Throws std::invalid_argument for a plaintext longer than
// kMaxPlaintext or receiver keys that are not valid.
[[nodiscard]] std::string encrypt(std::string_view plaintext, const Receiver& receiver);

// The same with the ephemeral private key and the salt given, and no
// padding (RFC 8291 Appendix A's example, for tests).
[[nodiscard]] std::string encrypt_with(std::string_view plaintext, const Receiver& receiver,
                                       std::string_view sender_private, std::string_view salt, std::size_t padding);

}  // namespace parley::push
