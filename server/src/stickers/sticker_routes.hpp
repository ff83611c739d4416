// The sticker pack routes (docs/openapi.yaml, "Stickers"): the installed
// packs, a pack's stickers, the caller's set, and sticker images. Every route
// needs a logged-in user; packs are the same for everyone.
#pragma once

namespace parley::http {
class Router;
}
namespace parley::api {
struct Services;
}
namespace parley::storage {
class BlobStore;
}

namespace parley::stickers {

// `blobs` holds the sticker images; it must outlive the router.
void register_sticker_routes(http::Router& router, api::Services& services, storage::BlobStore& blobs);

}  // namespace parley::stickers
