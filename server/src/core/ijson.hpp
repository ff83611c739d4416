// Parsing JSON from the network as I-JSON (RFC 7493): a document whose
// objects repeat a member name is refused rather than read with the last
// value winning, because parsers disagree on which value wins (first, last,
// or an error) and a proxy or client that reads the other one would see a
// different request than the server acts on.
#pragma once

#include <string_view>

#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>

namespace parley::ijson {

// Why a document was refused.
enum class Failure {
  kNone,
  kSyntax,        // not JSON at all, or past a parse_options limit (depth)
  kDuplicateKey,  // JSON, but an object (at any depth) repeats a member name
};

struct Parsed {
  boost::json::value value;  // null unless failure == kNone
  Failure failure = Failure::kNone;
  boost::system::error_code error;  // the parser's error, for kSyntax
};

// Parses `text` into a value, as boost::json::parse(text, ec, {}, options)
// does, and in the same single pass tells apart a document with a duplicate
// member name. Never throws for bad input (only std::bad_alloc). The check
// recurses as deep as the document, at most options.max_depth levels.
// Thread-safe; allocates only what the value needs.
[[nodiscard]] Parsed parse(std::string_view text, const boost::json::parse_options& options = {});

}  // namespace parley::ijson
