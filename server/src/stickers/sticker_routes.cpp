#include "stickers/sticker_routes.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <charconv>

#include "api/services.hpp"
#include "auth/authenticator.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "http/conditional.hpp"
#include "http/router.hpp"
#include "storage/blob_store.hpp"
#include "storage/store.hpp"

namespace parley::stickers {
namespace {

using boost::asio::awaitable;
using boost::json::array;
using boost::json::object;
using http::Request;
using http::Response;
using storage::Transaction;

// Sticker images never change under an id (a re-import makes new ids), so
// clients and shared caches may keep them forever.
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";

std::string image_url(storage::StickerId id) { return "/api/v1/stickers/" + std::to_string(id) + "/image"; }

object sticker_view(const storage::Sticker& sticker) {
  return object{{"id", sticker.id},
                {"emoji", sticker.emoji},
                {"width", sticker.width},
                {"height", sticker.height},
                {"image_url", image_url(sticker.id)}};
}

object pack_view(const storage::StickerPackSummary& summary) {
  boost::json::value cover = nullptr;
  if (summary.cover) cover = sticker_view(*summary.cover);
  return object{{"name", summary.pack.name},
                {"title", summary.pack.title},
                {"count", summary.count},
                {"cover", std::move(cover)}};
}

array packs_view(const std::vector<storage::StickerPackSummary>& packs) {
  array list;
  for (const auto& pack : packs) list.push_back(pack_view(pack));
  return list;
}

// The installed pack named by the route, or kNotFound (also for a removed
// pack and for a name that could not be a pack's).
storage::StickerPackRow installed_pack(Transaction& tx, const Request& request) {
  const std::string& name = request.param("name");
  auto pack = name.size() <= 64 ? tx.sticker_pack_by_name(name) : std::nullopt;
  if (!pack || pack->removed_at) throw ApiError(ErrorCode::kNotFound, "no such sticker pack");
  return *pack;
}

class StickerRoutes {
 public:
  StickerRoutes(api::Services& services, storage::BlobStore& blobs) : s_(services), blobs_(blobs) {}

  awaitable<Response> list_packs(Request& request) {
    co_await s_.authenticator.authenticate(request.authorization);
    auto packs = s_.store.read([](Transaction& tx) { return tx.sticker_packs(); });
    co_return Response::json(object{{"packs", packs_view(packs)}});
  }

  awaitable<Response> get_pack(Request& request) {
    co_await s_.authenticator.authenticate(request.authorization);
    auto view = s_.store.read([&](Transaction& tx) {
      auto pack = installed_pack(tx, request);
      auto stickers = tx.stickers_of(pack.id);
      array list;
      for (const auto& sticker : stickers) list.push_back(sticker_view(sticker));
      storage::StickerPackSummary summary{pack, stickers.size(), std::nullopt};
      if (!stickers.empty()) summary.cover = stickers.front();
      object result = pack_view(summary);
      result["stickers"] = std::move(list);
      return result;
    });
    co_return Response::json(object{{"pack", std::move(view)}});
  }

  awaitable<Response> my_packs(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    co_return Response::json(object{{"packs", packs_view(my_set(me.user_id))}});
  }

  awaitable<Response> add_pack(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    co_await s_.store.write([&](Transaction& tx) {
      auto pack = installed_pack(tx, request);
      tx.add_user_sticker_pack(me.user_id, pack.id, now_millis());
    });
    co_return Response::json(object{{"packs", packs_view(my_set(me.user_id))}});
  }

  awaitable<Response> remove_pack(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    co_await s_.store.write([&](Transaction& tx) {
      auto pack = installed_pack(tx, request);
      tx.remove_user_sticker_pack(me.user_id, pack.id);
    });
    co_return Response::json(object{{"packs", packs_view(my_set(me.user_id))}});
  }

  // Any sticker ever stored, to any logged-in user: sticker images are not
  // private (every user can list every pack), and a message keeps showing a
  // sticker whose pack was since removed or replaced.
  awaitable<Response> image(Request& request) {
    co_await s_.authenticator.authenticate(request.authorization);
    const std::string& raw = request.param("sticker_id");
    storage::StickerId id = 0;
    auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), id);
    if (ec != std::errc() || end != raw.data() + raw.size() || id <= 0) {
      throw ApiError(ErrorCode::kNotFound, "no such sticker");
    }
    auto sticker = s_.store.read([&](Transaction& tx) { return tx.sticker_by_id(id); });
    if (!sticker) throw ApiError(ErrorCode::kNotFound, "no such sticker");
    std::string etag = "\"" + sticker->sha256 + "\"";
    Response response;
    response.headers = {{"Cache-Control", std::string(kImmutable)},
                        {"ETag", etag},
                        {"X-Content-Type-Options", "nosniff"},
                        {"Content-Security-Policy", "default-src 'none'; sandbox"}};
    if (http::if_none_match(request.header("If-None-Match"), etag)) {
      response.status = 304;
      response.content_type.clear();
      co_return response;
    }
    auto blob = blobs_.open(sticker->sha256);
    if (!blob) throw ApiError(ErrorCode::kInternal, "sticker image missing from the blob store");
    response.content_type = sticker->content_type;
    auto size = static_cast<std::uint64_t>(blob->size);
    response.file = std::make_shared<http::FileBody>(http::FileBody{std::move(blob->fd), 0, size});
    co_return response;
  }

 private:
  std::vector<storage::StickerPackSummary> my_set(storage::UserId user) {
    return s_.store.read([&](Transaction& tx) { return tx.user_sticker_packs(user); });
  }

  api::Services& s_;
  storage::BlobStore& blobs_;
};

}  // namespace

void register_sticker_routes(http::Router& router, api::Services& services, storage::BlobStore& blobs) {
  auto routes = std::make_shared<StickerRoutes>(services, blobs);
  router.add("GET", "/api/v1/sticker-packs", http::member_handler(routes, &StickerRoutes::list_packs));
  router.add("GET", "/api/v1/sticker-packs/{name}", http::member_handler(routes, &StickerRoutes::get_pack));
  router.add("GET", "/api/v1/me/sticker-packs", http::member_handler(routes, &StickerRoutes::my_packs));
  router.add("PUT", "/api/v1/me/sticker-packs/{name}", http::member_handler(routes, &StickerRoutes::add_pack));
  router.add("DELETE", "/api/v1/me/sticker-packs/{name}", http::member_handler(routes, &StickerRoutes::remove_pack));
  router.add("GET", "/api/v1/stickers/{sticker_id}/image", http::member_handler(routes, &StickerRoutes::image));
}

}  // namespace parley::stickers
