# Embeds the files of the default sticker pack (server/stickers/default/) into
# a generated C++ source, as migrations are embedded: parleyd installs that
# pack at first start from its own binary, so it works the same from the
# build tree and from an installed binary, with no path to configure.
function(parley_embed_sticker_pack target dir)
  file(GLOB files CONFIGURE_DEPENDS "${dir}/*")
  list(SORT files)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${files})
  set(arrays "")
  set(entries "")
  set(index 0)
  foreach(f IN LISTS files)
    if(IS_DIRECTORY "${f}")
      continue()
    endif()
    get_filename_component(name "${f}" NAME)
    file(READ "${f}" hex HEX)
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
    string(APPEND arrays "const unsigned char file${index}[] = {${bytes}};\n")
    string(APPEND entries "      {\"${name}\", {reinterpret_cast<const char*>(file${index}), sizeof file${index}}},\n")
    math(EXPR index "${index} + 1")
  endforeach()
  set(out "${CMAKE_CURRENT_BINARY_DIR}/default_sticker_pack.cpp")
  file(CONFIGURE OUTPUT "${out}" CONTENT
"// Generated from ${dir}; edit those files, not this one.
#include \"stickers/default_pack.hpp\"

namespace parley::stickers {
namespace {
${arrays}}  // namespace

std::span<const EmbeddedFile> default_pack_files() {
  static const EmbeddedFile files[] = {
${entries}      {\"\", {}}};
  return {files, sizeof files / sizeof files[0] - 1};
}

}  // namespace parley::stickers
")
  target_sources(${target} PRIVATE "${out}")
endfunction()
