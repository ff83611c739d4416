#include "wsproto/deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>
#include <vector>

namespace parley::wsproto {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

// A window size parameter's value: 8..15, optionally quoted (RFC 7692 §7.1.2).
std::optional<int> window_bits_value(std::string_view value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  if (value.empty() || value.size() > 2 || value.front() == '0') return std::nullopt;
  int bits = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), bits);
  if (ec != std::errc() || end != value.data() + value.size() || bits < 8 || bits > 15) return std::nullopt;
  return bits;
}

// One offer ("permessage-deflate; a; b=1"); nullopt when it is declined.
std::optional<DeflateParams> accept_offer(std::string_view offer, const DeflateOptions& options) {
  std::size_t semi = offer.find(';');
  if (!iequals(trim(offer.substr(0, semi)), "permessage-deflate")) return std::nullopt;
  DeflateParams params;
  bool seen[4] = {false, false, false, false};
  bool client_window_offered = false;
  int client_window_limit = 15;
  while (semi != std::string_view::npos) {
    offer.remove_prefix(semi + 1);
    semi = offer.find(';');
    std::string_view param = trim(offer.substr(0, semi));
    std::string_view value;
    bool has_value = false;
    if (auto eq = param.find('='); eq != std::string_view::npos) {
      value = trim(param.substr(eq + 1));
      param = trim(param.substr(0, eq));
      has_value = true;
    }
    int index;
    if (iequals(param, "server_no_context_takeover")) {
      index = 0;
      if (has_value) return std::nullopt;
      params.server_no_context_takeover = true;
    } else if (iequals(param, "client_no_context_takeover")) {
      index = 1;
      if (has_value) return std::nullopt;
      params.client_no_context_takeover = true;
    } else if (iequals(param, "server_max_window_bits")) {
      index = 2;
      auto bits = has_value ? window_bits_value(value) : std::nullopt;
      // zlib cannot deflate with a 256-byte window (it would use 512).
      if (!bits || *bits < 9) return std::nullopt;
      params.server_max_window_bits = *bits;
    } else if (iequals(param, "client_max_window_bits")) {
      index = 3;
      client_window_offered = true;
      if (has_value) {
        auto bits = window_bits_value(value);
        if (!bits) return std::nullopt;
        client_window_limit = *bits;
      }
    } else {
      return std::nullopt;  // unknown parameter
    }
    if (seen[index]) return std::nullopt;  // repeated parameter
    seen[index] = true;
  }
  int ours = std::clamp(options.max_window_bits, 9, 15);
  params.server_max_window_bits = std::min(params.server_max_window_bits, ours);
  // The client's window may only be named when the client offered to take
  // one; otherwise it compresses with up to 15 bits, which inflating with 15
  // always handles.
  params.client_max_window_bits = client_window_offered ? std::min(client_window_limit, ours) : 15;
  params.client_window_named = client_window_offered;
  if (!options.context_takeover) {
    params.server_no_context_takeover = true;
    params.client_no_context_takeover = true;  // RFC 7692 §7.1.1.2: the server may add it
  }
  return params;
}

}  // namespace

std::optional<DeflateParams> negotiate_deflate(std::string_view header, const DeflateOptions& options) {
  if (!options.enabled) return std::nullopt;
  // Offers are separated by commas; none of this extension's values contain one.
  while (!header.empty()) {
    std::size_t comma = header.find(',');
    std::string_view offer = header.substr(0, comma);
    if (auto params = accept_offer(offer, options)) return params;
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

std::string deflate_response(const DeflateParams& params) {
  std::string out = "permessage-deflate";
  if (params.server_no_context_takeover) out += "; server_no_context_takeover";
  if (params.client_no_context_takeover) out += "; client_no_context_takeover";
  if (params.server_max_window_bits < 15)
    out += "; server_max_window_bits=" + std::to_string(params.server_max_window_bits);
  if (params.client_window_named) {
    out += "; client_max_window_bits=" + std::to_string(params.client_max_window_bits);
  }
  return out;
}

// --- Inflater

Inflater::Inflater(int window_bits) : window_bits_(std::clamp(window_bits, 9, 15)), stream_(new z_stream{}) {
  if (inflateInit2(stream_.get(), -window_bits_) != Z_OK) throw std::bad_alloc();
}

Inflater::~Inflater() { inflateEnd(stream_.get()); }

void Inflater::reset() { inflateReset(stream_.get()); }

Error Inflater::inflate(const std::uint8_t* data, std::size_t size, std::string& out, std::size_t limit,
                        Utf8Validator* utf8) {
  z_stream& z = *stream_;
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = static_cast<uInt>(size);
  while (true) {
    // Room for what may come, but never past the limit (+1 to see it pass).
    std::size_t used = out.size();
    if (used > limit) return Error::kMessageTooBig;
    std::size_t room = std::min<std::size_t>(std::max<std::size_t>(size * 4, 1024), 64 * 1024);
    room = std::min(room, limit + 1 - used);
    out.resize(used + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z.avail_out = static_cast<uInt>(room);
    int rc = ::inflate(&z, Z_SYNC_FLUSH);
    out.resize(used + room - z.avail_out);
    if (utf8 && !utf8->feed(reinterpret_cast<const std::uint8_t*>(out.data()) + used, out.size() - used)) {
      return Error::kInvalidUtf8;
    }
    if (out.size() > limit) return Error::kMessageTooBig;
    if (rc == Z_STREAM_END) {
      // A final block (BFINAL) may end a message's data; what follows
      // starts a new stream.
      inflateReset(&z);
      if (z.avail_in == 0) return Error::kOk;
      continue;
    }
    if (rc == Z_BUF_ERROR) {
      if (z.avail_in == 0) return Error::kOk;  // all input taken
      continue;                                // output was full; grow
    }
    if (rc != Z_OK) return Error::kBadDeflate;
    if (z.avail_in == 0 && z.avail_out != 0) return Error::kOk;
  }
}

Error Inflater::finish(std::string& out, std::size_t limit, Utf8Validator* utf8) {
  static constexpr std::uint8_t kTail[4] = {0x00, 0x00, 0xFF, 0xFF};
  return inflate(kTail, sizeof kTail, out, limit, utf8);
}

// --- Deflater

Deflater::Deflater(int window_bits, int mem_level, int level) : stream_(new z_stream{}) {
  if (deflateInit2(stream_.get(), std::clamp(level, 1, 9), Z_DEFLATED, -std::clamp(window_bits, 9, 15),
                   std::clamp(mem_level, 1, 9), Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::bad_alloc();
  }
}

Deflater::~Deflater() { deflateEnd(stream_.get()); }

std::string Deflater::compress(std::string_view message, bool reset_after) {
  z_stream& z = *stream_;
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(message.size())) + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  z.avail_in = static_cast<uInt>(message.size());
  std::size_t produced = 0;
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(out.size() - produced);
    int rc = deflate(&z, Z_SYNC_FLUSH);
    produced = out.size() - z.avail_out;
    if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("deflate failed");
    if (z.avail_in == 0 && z.avail_out != 0) break;
    out.resize(out.size() * 2);
  }
  out.resize(produced);
  // The sync flush ends with 00 00 FF FF, which RFC 7692 leaves off the wire.
  if (out.size() >= 4 && out.compare(out.size() - 4, 4, std::string_view("\x00\x00\xFF\xFF", 4)) == 0) {
    out.resize(out.size() - 4);
  }
  if (reset_after) deflateReset(&z);
  return out;
}

// --- Pools

namespace {
constexpr std::size_t kPoolSize = 4;
thread_local std::vector<std::unique_ptr<Inflater>> inflater_pool;
}  // namespace

void InflaterReturn::operator()(Inflater* inflater) const noexcept {
  std::unique_ptr<Inflater> owned(inflater);
  if (inflater_pool.size() < kPoolSize) {
    owned->reset();
    inflater_pool.push_back(std::move(owned));
  }
}

PooledInflater take_pooled_inflater() {
  if (!inflater_pool.empty()) {
    Inflater* inflater = inflater_pool.back().release();
    inflater_pool.pop_back();
    return PooledInflater(inflater);
  }
  return PooledInflater(new Inflater(15));
}

Deflater& thread_deflater(int window_bits, int mem_level, int level) {
  struct Key {
    int bits, mem, level;
  };
  thread_local std::vector<std::pair<Key, std::unique_ptr<Deflater>>> deflaters;
  for (auto& [key, deflater] : deflaters) {
    if (key.bits == window_bits && key.mem == mem_level && key.level == level) return *deflater;
  }
  deflaters.emplace_back(Key{window_bits, mem_level, level}, std::make_unique<Deflater>(window_bits, mem_level, level));
  return *deflaters.back().second;
}

}  // namespace parley::wsproto
