#include "http/router.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "core/error.hpp"

namespace parley::http {
namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = 1;  // paths begin with '/'
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    segments.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

bool is_param(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool matches(const Route& route, const std::vector<std::string>& segments) {
  if (route.segments.size() != segments.size()) return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (is_param(route.segments[i])) {
      if (segments[i].empty()) return false;
    } else if (route.segments[i] != segments[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

void Router::add(std::string_view method, std::string_view pattern, Handler handler) {
  for (const Route& route : routes_) {
    if (route.method == method && route.pattern == pattern) {
      throw std::logic_error(fmt::format("duplicate route {} {}", method, pattern));
    }
  }
  routes_.push_back(
      Route{std::string(method), std::string(pattern), std::move(handler), split_path(pattern), std::nullopt});
}

void Router::add_streaming(std::string_view method, std::string_view pattern, std::uint64_t max_body_bytes,
                           Handler handler) {
  add(method, pattern, std::move(handler));
  routes_.back().stream_limit = max_body_bytes;
}

void Router::set_fallback(std::string label, Handler handler) {
  fallback_ = Route{"GET", std::move(label), std::move(handler), {}, std::nullopt};
}

const Route* Router::find(std::string_view method, std::string_view path) const {
  auto segments = split_path(path);
  const Route* get = nullptr;
  for (const Route& route : routes_) {
    if (!matches(route, segments)) continue;
    if (route.method == method) return &route;
    if (method == "HEAD" && route.method == "GET" && !get) get = &route;
  }
  return get;
}

const Route& Router::match(Request& request) const {
  auto segments = split_path(request.path);
  bool path_known = false;
  const Route* found = find(request.method, request.path);
  for (const Route& route : routes_) {
    if (!matches(route, segments)) continue;
    path_known = true;
    if (&route != found) continue;
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (is_param(route.segments[i])) {
        request.params.emplace(route.segments[i].substr(1, route.segments[i].size() - 2), segments[i]);
      }
    }
    return route;
  }
  if (path_known) throw ApiError(ErrorCode::kMethodNotAllowed, fmt::format("{} is not allowed here", request.method));
  if (fallback_ && (request.method == "GET" || request.method == "HEAD")) return *fallback_;
  throw ApiError(ErrorCode::kNotFound, "no such endpoint");
}

}  // namespace parley::http
