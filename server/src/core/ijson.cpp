#include "core/ijson.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

namespace parley::ijson {
namespace {

namespace json = boost::json;

// Boost.JSON's own handler (detail/handler.hpp) plus one count: the member
// pairs the parser saw in every object. value_stack::push_object() builds
// the object keeping the last of duplicate names, so an object that had a
// duplicate ends up smaller than what was parsed; comparing the total after
// the parse finds it without copying or hashing any key.
struct Handler {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  std::size_t members_parsed = 0;

  Handler(json::storage_ptr sp, unsigned char* buffer, std::size_t size) : st(std::move(sp), buffer, size) {}

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    members_parsed += n;
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code&) {
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

// The members of every object in `value`, however deep. Recursive, without
// allocating (this runs for every WebSocket frame): the depth is that of a
// document the parser accepted, so at most parse_options::max_depth.
std::size_t members_kept(const json::value& value) {
  std::size_t total = 0;
  if (const auto* object = value.if_object()) {
    total += object->size();
    for (const auto& member : *object) {
      if (member.value().is_structured()) total += members_kept(member.value());
    }
  } else if (const auto* array = value.if_array()) {
    for (const auto& item : *array) {
      if (item.is_structured()) total += members_kept(item);
    }
  }
  return total;
}

}  // namespace

Parsed parse(std::string_view text, const boost::json::parse_options& options) {
  Parsed result;
  // The value stack's scratch space, on the stack as boost::json::parse has
  // it: small documents (every chat frame) need no heap for it.
  unsigned char scratch[BOOST_JSON_STACK_BUFFER_SIZE];
  json::basic_parser<Handler> parser(options, json::storage_ptr(), scratch, sizeof scratch);
  parser.handler().st.reset();  // a value stack takes values only after a reset
  std::size_t used = parser.write_some(false, text.data(), text.size(), result.error);
  if (!result.error && !parser.done()) result.error = json::error::incomplete;
  if (!result.error && used < text.size()) result.error = json::error::extra_data;
  if (result.error) {
    result.failure = Failure::kSyntax;
    return result;
  }
  result.value = parser.handler().st.release();
  if (members_kept(result.value) != parser.handler().members_parsed) {
    result.value = nullptr;
    result.failure = Failure::kDuplicateKey;
  }
  return result;
}

}  // namespace parley::ijson
