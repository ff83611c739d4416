// /api/v1/media: uploads (simple and resumable), downloads with ranges and
// validators, thumbnails, metadata and deletion (docs/openapi.yaml, tag
// "media"). The rules live in MediaService; this file is HTTP only.
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
