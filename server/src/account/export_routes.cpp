#include "account/export_routes.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <ctime>

#include "account/export_service.hpp"
#include "api/services.hpp"
#include "auth/authenticator.hpp"
#include "core/error.hpp"
#include "http/router.hpp"
#include "storage/store.hpp"

namespace parley::account {
namespace {

using boost::asio::awaitable;
using http::Request;
using http::Response;
using storage::DataExport;
using storage::ExportState;
using storage::Transaction;

class ExportRoutes {
 public:
  ExportRoutes(api::Services& services, ExportService& exports) : s_(services), exports_(exports) {}

  awaitable<Response> start(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto created = co_await exports_.request(me.user_id);
    auto response = Response::json(export_view(created, std::nullopt), 202);
    response.headers.emplace_back("Location", fmt::format("/api/v1/me/exports/{}", created.id));
    co_return response;
  }

  awaitable<Response> latest(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto found = s_.store.read([&](Transaction& tx) { return tx.latest_export(me.user_id); });
    if (!found) throw ApiError(ErrorCode::kNotFound, "no export was asked for yet");
    co_return Response::json(export_view(*found, exports_.progress(found->id)));
  }

  awaitable<Response> get(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto found = own_export(request, me.user_id);
    co_return Response::json(export_view(found, exports_.progress(found.id)));
  }

  awaitable<Response> download(Request& request) {
    auto me = co_await s_.authenticator.authenticate(request.authorization);
    auto found = own_export(request, me.user_id);
    if (found.state != ExportState::kReady) {
      throw ApiError(ErrorCode::kNotFound, found.state == ExportState::kExpired
                                               ? "this export has expired and its archive is deleted; ask again"
                                               : "this export has no archive to download (see its state)");
    }
    // Opening is cheap; the bytes go out with sendfile. An open descriptor
    // keeps the file readable even if the sweeper deletes it meanwhile.
    UniqueFd fd(::open(exports_.archive_path(found.id).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw ApiError(ErrorCode::kNotFound, "this export has no archive to download (see its state)");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw std::runtime_error("fstat of an export archive failed");
    Response response;
    response.content_type = "application/zip";
    std::time_t created = found.created_at / 1000;
    std::tm tm{};
    gmtime_r(&created, &tm);
    char day[16];
    std::strftime(day, sizeof day, "%Y-%m-%d", &tm);
    response.headers.emplace_back("Content-Disposition",
                                  fmt::format("attachment; filename=\"parley-export-{}.zip\"", day));
    response.headers.emplace_back("Cache-Control", "private, no-store");
    auto file = std::make_shared<http::FileBody>();
    file->fd = std::move(fd);
    file->length = static_cast<std::uint64_t>(st.st_size);
    response.file = std::move(file);
    co_return response;
  }

 private:
  // The caller's export named in the path; 404 for anyone else's.
  DataExport own_export(const Request& request, storage::UserId user) {
    const auto& id = request.param("export_id");
    std::optional<DataExport> found;
    if (ExportService::plausible_id(id)) found = s_.store.read([&](Transaction& tx) { return tx.export_by_id(id); });
    if (!found || found->user_id != user) throw ApiError(ErrorCode::kNotFound, "no such export");
    return *found;
  }

  api::Services& s_;
  ExportService& exports_;
};

}  // namespace

void register_export_routes(http::Router& router, api::Services& services, ExportService& exports) {
  auto routes = std::make_shared<ExportRoutes>(services, exports);
  auto bind = [&](auto method) { return http::member_handler(routes, method); };
  router.add("POST", "/api/v1/me/export", bind(&ExportRoutes::start));
  router.add("GET", "/api/v1/me/export", bind(&ExportRoutes::latest));
  router.add("GET", "/api/v1/me/exports/{export_id}", bind(&ExportRoutes::get));
  router.add("GET", "/api/v1/me/exports/{export_id}/download", bind(&ExportRoutes::download));
}

}  // namespace parley::account
