// Personal data export routes (docs/openapi.yaml, tag Account; the jobs in
// export_service.hpp):
//   POST /api/v1/me/export                         start one (202, the export)
//   GET  /api/v1/me/export                         the caller's newest export
//   GET  /api/v1/me/exports/{export_id}            one of the caller's exports
//   GET  /api/v1/me/exports/{export_id}/download   its archive, while ready
// An export id that is not the caller's is 404, the same as one that does
// not exist: another user's token never learns that it exists, and never
// gets the file.
#pragma once

namespace parley::http {
class Router;
}
namespace parley::api {
struct Services;
}

namespace parley::account {

class ExportService;

void register_export_routes(http::Router& router, api::Services& services, ExportService& exports);

}  // namespace parley::account
