// Serves the built web app (the files of `web/dist`, WebOptions::root) from
// the same origin as the API, so that the app needs no CORS and its strict
// Content-Security-Policy can say 'self' for everything.
//
// The site is the router's fallback: it answers GET and HEAD for every path
// no API route has. A path naming a file of the root gets that file; a path
// that does not look like a file (`/c/42`, a client-side route) gets
// `index.html`, the app shell; the API's own paths (`/api/...`, `/ws`,
// `/healthz`, `/readyz`, `/metrics`) never get the shell, so an API client
// with a wrong URL still reads a JSON 404.
//
// Caching: files under `assets/` carry a content hash in their names (the
// build writes them so) and are cached for a year as immutable; everything
// else (`index.html`, `sw.js`, the manifest) is `no-cache`, revalidated
// with its ETag, so a new release reaches every browser on its next load.
// When the client accepts gzip and the build wrote `FILE.gz` beside FILE,
// that is sent instead (nothing is compressed per request).
//
// Safety: a request path is resolved lexically below the root (no `..`, no
// `.` segments, no hidden names, no NUL or backslash) and opened one
// component at a time without following symbolic links (the build writes
// none; a link in the folder could lead out of it), regular files only. Every response carries the Content-Security-Policy below: no
// inline script, no eval, no other origin.
//
// Thread safety: the handler reads only immutable state and may run on any
// I/O thread at once.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace parley::http {
class Router;
}

namespace parley::web {

// The policy every response of the site carries.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

// True for the paths that belong to the API and the operators, never to the
// app: `/api` and below, `/ws`, `/healthz`, `/readyz`, `/metrics`.
[[nodiscard]] bool is_server_path(std::string_view path);

// The file a decoded request path names, relative to the root ("" for `/`),
// or nullopt when the path cannot name a file of the site: a `.` or `..`
// segment, a segment starting with `.`, an empty segment inside the path, a
// NUL or a backslash.
[[nodiscard]] std::optional<std::filesystem::path> site_file(std::string_view path);

// True when a missing file at this relative path is a 404 rather than a
// client-side route: it is under `assets/` or its last segment has an
// extension.
[[nodiscard]] bool looks_like_file(const std::filesystem::path& relative);

// The Content-Type for a file name, from its extension
// (application/octet-stream for one the site does not know).
[[nodiscard]] std::string_view content_type_for(std::string_view file_name);

// True when an Accept-Encoding value accepts gzip (a `q=0` refuses it).
[[nodiscard]] bool accepts_gzip(std::string_view accept_encoding);

// Registers the site in `root` as the router's fallback. Throws ConfigError
// when `root` has no index.html: a server told to serve an app it cannot
// find should not start half-working.
void register_web_app(http::Router& router, const std::filesystem::path& root);

}  // namespace parley::web
