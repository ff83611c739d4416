#include "http/conditional.hpp"

namespace parley::http {

bool if_none_match(std::string_view header, std::string_view etag) {
  if (etag.starts_with("W/")) etag.remove_prefix(2);
  std::size_t at = 0;
  while (at < header.size()) {
    std::size_t comma = header.find(',', at);
    std::string_view tag = header.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || (!tag.empty() && tag == etag)) return true;
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
  return false;
}

}  // namespace parley::http
