#include "store/cipher.hpp"

#include <sodium.h>

#include "store/sqlite.hpp"

namespace parley::store {

Cipher::Cipher(std::optional<std::array<std::uint8_t, 32>> key) {
  if (sodium_init() < 0) throw StoreError("libsodium failed to initialise");
  if (key) {
    enabled_ = true;
    key_ = *key;
  }
}

Cipher::~Cipher() { sodium_memzero(key_.data(), key_.size()); }

std::string Cipher::seal(std::string_view plain, std::string_view associated) const {
  if (!enabled_) return std::string(plain);
  std::string out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plain.size() +
                      crypto_aead_xchacha20poly1305_ietf_ABYTES,
                  '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long length = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &length,
      reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
      reinterpret_cast<const unsigned char*>(associated.data()), associated.size(), nullptr, nonce, key_.data());
  out.resize(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + length);
  return out;
}

std::string Cipher::open(std::string_view sealed, std::string_view associated) const {
  if (!enabled_) return std::string(sealed);
  constexpr auto kOverhead = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (sealed.size() < kOverhead) throw StoreError("an encrypted value is truncated");
  std::string out(sealed.size() - kOverhead, '\0');
  unsigned long long length = 0;
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(out.data()), &length, nullptr,
          nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
          sealed.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
          reinterpret_cast<const unsigned char*>(associated.data()), associated.size(), nonce, key_.data()) != 0) {
    throw StoreError("cannot decrypt the store: wrong key, or the file was altered");
  }
  out.resize(length);
  return out;
}

}  // namespace parley::store
