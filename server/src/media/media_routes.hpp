// /api/v1/media and /api/v1/uploads: uploads (simple and resumable),
// downloads with ranges and validators, thumbnails, metadata and deletion
// (docs/openapi.yaml, tag "Media"). The rules live in MediaService; this
// file is HTTP only.
#pragma once

namespace parley::http {
class Router;
}
namespace parley::api {
struct Services;
}

namespace parley::media {

class MediaService;

void register_media_routes(http::Router& router, api::Services& services, MediaService& media);

}  // namespace parley::media
