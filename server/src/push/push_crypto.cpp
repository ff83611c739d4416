#include "push/push_crypto.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <stdexcept>
#include <vector>

namespace parley::push {
namespace {

constexpr std::size_t kPointSize = 65;  // 0x04 || X || Y
constexpr std::size_t kScalarSize = 32;
constexpr std::size_t kAuthSize = 16;
constexpr std::size_t kSaltSize = 16;
constexpr std::uint32_t kRecordSize = 4096;

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using GroupPtr = std::unique_ptr<EC_GROUP, Deleter<EC_GROUP, EC_GROUP_free>>;
using PointPtr = std::unique_ptr<EC_POINT, Deleter<EC_POINT, EC_POINT_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using ParamsPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using SigPtr = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

[[noreturn]] void fail(const char* what) { throw std::runtime_error(std::string("push crypto: ") + what); }

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

GroupPtr p256() {
  GroupPtr group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  if (!group) fail("no P-256 group");
  return group;
}

// An EVP_PKEY from a public point and, when given, the private scalar.
PkeyPtr make_key(std::string_view point, const BIGNUM* d) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1 ||
      (d != nullptr && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d) != 1)) {
    fail("building key parameters");
  }
  ParamsPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, d != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    fail("importing a key");
  }
  return PkeyPtr(raw);
}

// The public point of the private scalar `d`.
std::string public_point_of(const BIGNUM* d) {
  auto group = p256();
  PointPtr point(EC_POINT_new(group.get()));
  std::array<unsigned char, kPointSize> out{};
  if (!point || EC_POINT_mul(group.get(), point.get(), d, nullptr, nullptr, nullptr) != 1 ||
      EC_POINT_point2oct(group.get(), point.get(), POINT_CONVERSION_UNCOMPRESSED, out.data(), out.size(), nullptr) !=
          kPointSize) {
    fail("computing a public key");
  }
  return {reinterpret_cast<const char*>(out.data()), out.size()};
}

std::string public_point_of(EVP_PKEY* key) {
  std::array<unsigned char, kPointSize> out{};
  std::size_t size = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, out.data(), out.size(), &size) != 1 ||
      size != kPointSize || out[0] != 0x04) {
    fail("reading a public key");
  }
  return {reinterpret_cast<const char*>(out.data()), size};
}

PkeyPtr key_from_scalar(std::string_view d_bytes) {
  if (d_bytes.size() != kScalarSize) throw std::invalid_argument("a P-256 private key has 32 bytes");
  BnPtr d(BN_bin2bn(bytes(d_bytes), static_cast<int>(d_bytes.size()), nullptr));
  if (!d) fail("reading a private key");
  return make_key(public_point_of(d.get()), d.get());
}

std::string ecdh(EVP_PKEY* mine, EVP_PKEY* theirs) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new(mine, nullptr));
  std::size_t size = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), theirs) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &size) != 1) {
    fail("ECDH");
  }
  std::string secret(size, '\0');
  if (EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(secret.data()), &size) != 1) fail("ECDH");
  secret.resize(size);
  return secret;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, 32> out{};
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes(data), data.size(), out.data(), &size) ==
      nullptr) {
    fail("HMAC");
  }
  return {reinterpret_cast<const char*>(out.data()), size};
}

// HKDF-SHA-256 (RFC 5869) for at most one block of output, as RFC 8291 uses it.
std::string hkdf(std::string_view salt, std::string_view ikm, std::string_view info, std::size_t length) {
  std::string prk = hmac_sha256(salt, ikm);
  std::string t = hmac_sha256(prk, std::string(info) + '\x01');
  return t.substr(0, length);
}

std::string aes128gcm_seal(std::string_view key, std::string_view nonce, std::string_view plaintext) {
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  std::string out(plaintext.size() + 16, '\0');
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  int total = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key), bytes(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), dst, &len, bytes(plaintext), static_cast<int>(plaintext.size())) != 1) {
    fail("AES-GCM");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), dst + total, &len) != 1) fail("AES-GCM");
  total += len;
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, dst + total) != 1) fail("AES-GCM tag");
  out.resize(static_cast<std::size_t>(total) + 16);
  return out;
}

void write_private_file(const std::filesystem::path& path, std::string_view text) {
  std::filesystem::create_directories(path.parent_path());
  auto tmp = path;
  tmp += ".tmp";
  std::filesystem::remove(tmp);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp.string());
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + tmp.string());
  std::filesystem::rename(tmp, path);
  // The rename is durable once the folder is.
  int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace

std::string base64url_encode(std::string_view data) {
  std::string out(sodium_base64_ENCODED_LEN(data.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes(data), data.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out(text.size(), '\0');
  std::size_t size = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), nullptr,
                        &size, &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(size);
  return out;
}

bool is_valid_p256_public_key(std::string_view point) {
  if (point.size() != kPointSize || static_cast<unsigned char>(point[0]) != 0x04) return false;
  auto group = p256();
  PointPtr p(EC_POINT_new(group.get()));
  return p && EC_POINT_oct2point(group.get(), p.get(), bytes(point), point.size(), nullptr) == 1 &&
         EC_POINT_is_on_curve(group.get(), p.get(), nullptr) == 1 && EC_POINT_is_at_infinity(group.get(), p.get()) == 0;
}

struct VapidKey::Key {
  PkeyPtr pkey;
};

VapidKey::VapidKey(std::unique_ptr<Key> key) : key_(std::move(key)), public_key_(public_point_of(key_->pkey.get())) {}
VapidKey::VapidKey(VapidKey&&) noexcept = default;
VapidKey& VapidKey::operator=(VapidKey&&) noexcept = default;
VapidKey::~VapidKey() = default;

VapidKey VapidKey::from_private_bytes(std::string_view d) {
  return VapidKey(std::make_unique<Key>(Key{key_from_scalar(d)}));
}

VapidKey VapidKey::load_or_create(const std::filesystem::path& pem_file) {
  struct stat st {};
  if (::stat(pem_file.c_str(), &st) == 0) {
    if ((st.st_mode & 077) != 0) {
      throw std::runtime_error(pem_file.string() + ": others may read this private key; chmod 600 it");
    }
    BioPtr bio(BIO_new_file(pem_file.c_str(), "r"));
    PkeyPtr pkey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    std::array<char, 32> group{};
    std::size_t group_len = 0;
    if (!pkey || !EVP_PKEY_is_a(pkey.get(), "EC") ||
        EVP_PKEY_get_group_name(pkey.get(), group.data(), group.size(), &group_len) != 1 ||
        std::string_view(group.data(), group_len) != "prime256v1") {
      throw std::runtime_error(pem_file.string() + ": not a P-256 private key in PEM");
    }
    return VapidKey(std::make_unique<Key>(Key{std::move(pkey)}));
  }
  PkeyPtr pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!pkey || !bio || PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    fail("generating the VAPID key");
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  write_private_file(pem_file, std::string_view(data, static_cast<std::size_t>(size)));
  return VapidKey(std::make_unique<Key>(Key{std::move(pkey)}));
}

std::string VapidKey::jwt(std::string_view audience, std::chrono::system_clock::time_point expires,
                          std::string_view subject) const {
  boost::json::object claims{
      {"aud", audience}, {"exp", std::chrono::duration_cast<std::chrono::seconds>(expires.time_since_epoch()).count()}};
  if (!subject.empty()) claims["sub"] = subject;
  std::string signing_input =
      base64url_encode(R"({"typ":"JWT","alg":"ES256"})") + "." + base64url_encode(boost::json::serialize(claims));
  MdCtxPtr md(EVP_MD_CTX_new());
  std::size_t der_size = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key_->pkey.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &der_size, bytes(signing_input), signing_input.size()) != 1) {
    fail("signing the JWT");
  }
  std::vector<unsigned char> der(der_size);
  if (EVP_DigestSign(md.get(), der.data(), &der_size, bytes(signing_input), signing_input.size()) != 1) {
    fail("signing the JWT");
  }
  // JWS wants r || s, 32 bytes each (RFC 7518 §3.4), not OpenSSL's DER.
  const unsigned char* p = der.data();
  SigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_size)));
  if (!sig) fail("decoding the signature");
  std::array<unsigned char, 2 * kScalarSize> raw{};
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), kScalarSize) != kScalarSize ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + kScalarSize, kScalarSize) != kScalarSize) {
    fail("encoding the signature");
  }
  return signing_input + "." +
         base64url_encode(std::string_view(reinterpret_cast<const char*>(raw.data()), raw.size()));
}

std::string VapidKey::authorization(std::string_view audience, std::chrono::system_clock::time_point expires,
                                    std::string_view subject) const {
  return "vapid t=" + jwt(audience, expires, subject) + ", k=" + base64url_encode(public_key_);
}

std::string encrypt_with(std::string_view plaintext, const Receiver& receiver, std::string_view sender_private,
                         std::string_view salt, std::size_t padding) {
  if (!is_valid_p256_public_key(receiver.p256dh)) throw std::invalid_argument("p256dh is not a P-256 point");
  if (receiver.auth.size() != kAuthSize) throw std::invalid_argument("auth is not 16 bytes");
  if (salt.size() != kSaltSize) throw std::invalid_argument("the salt is not 16 bytes");
  if (plaintext.size() + padding + 1 + 16 > kRecordSize) throw std::invalid_argument("payload too large");
  PkeyPtr sender = key_from_scalar(sender_private);
  PkeyPtr peer = make_key(receiver.p256dh, nullptr);
  std::string sender_public = public_point_of(sender.get());

  // RFC 8291 §3.3-3.4: the input keying material from the ECDH secret and
  // the auth secret, bound to both public keys.
  std::string ecdh_secret = ecdh(sender.get(), peer.get());
  std::string key_info = std::string("WebPush: info") + '\0' + receiver.p256dh + sender_public;
  std::string ikm = hkdf(receiver.auth, ecdh_secret, key_info, 32);
  // RFC 8188 §2.2-2.3: the content encryption key and the nonce (one record:
  // sequence number 0, so the nonce is used as derived).
  std::string cek = hkdf(salt, ikm, std::string("Content-Encoding: aes128gcm") + '\0', 16);
  std::string nonce = hkdf(salt, ikm, std::string("Content-Encoding: nonce") + '\0', 12);

  // The last (only) record: data, the delimiter 0x02, then zero padding.
  std::string record(plaintext);
  record += '\x02';
  record.append(padding, '\0');

  std::string body(salt);
  body += static_cast<char>((kRecordSize >> 24) & 0xff);
  body += static_cast<char>((kRecordSize >> 16) & 0xff);
  body += static_cast<char>((kRecordSize >> 8) & 0xff);
  body += static_cast<char>(kRecordSize & 0xff);
  body += static_cast<char>(kPointSize);
  body += sender_public;
  body += aes128gcm_seal(cek, nonce, record);
  return body;
}

std::string encrypt(std::string_view plaintext, const Receiver& receiver) {
  if (plaintext.size() > kMaxPlaintext) throw std::invalid_argument("payload too large");
  // A fresh ephemeral key for every message (RFC 8291 §3.1).
  PkeyPtr ephemeral(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  BIGNUM* d = nullptr;
  if (!ephemeral || EVP_PKEY_get_bn_param(ephemeral.get(), OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1) {
    fail("generating an ephemeral key");
  }
  BnPtr d_owner(d);
  std::array<unsigned char, kScalarSize> d_bytes{};
  if (BN_bn2binpad(d, d_bytes.data(), kScalarSize) != kScalarSize) fail("encoding an ephemeral key");
  std::array<unsigned char, kSaltSize> salt{};
  if (RAND_bytes(salt.data(), salt.size()) != 1) fail("random salt");
  std::size_t rounded = (plaintext.size() + 1 + kPaddingBlock - 1) / kPaddingBlock * kPaddingBlock;
  std::size_t padding = rounded - plaintext.size() - 1;
  std::string body =
      encrypt_with(plaintext, receiver, std::string_view(reinterpret_cast<const char*>(d_bytes.data()), d_bytes.size()),
                   std::string_view(reinterpret_cast<const char*>(salt.data()), salt.size()), padding);
  OPENSSL_cleanse(d_bytes.data(), d_bytes.size());
  return body;
}

}  // namespace parley::push
