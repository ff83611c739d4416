# Embeds the versioned SQL files of a backend into a generated C++ source, so
# the binary carries its schema and needs no files beside it at run time.
# Files are named NNNN_description.sql; their number is the schema version.
function(parley_embed_migrations target backend dir)
  file(GLOB files CONFIGURE_DEPENDS "${dir}/*.sql")
  list(SORT files)
  # Editing a migration re-runs the embedding.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${files})
  set(entries "")
  set(expected 1)
  foreach(f IN LISTS files)
    get_filename_component(name "${f}" NAME)
    string(REGEX MATCH "^([0-9]+)_" _ "${name}")
    math(EXPR version "${CMAKE_MATCH_1}")
    if(NOT version EQUAL expected)
      message(FATAL_ERROR "migration ${name}: expected version ${expected}")
    endif()
    math(EXPR expected "${expected} + 1")
    file(READ "${f}" sql)
    string(APPEND entries "  {${version}, \"${name}\", R\"parley_sql(${sql})parley_sql\"},\n")
  endforeach()
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${backend}_migrations.cpp")
  file(CONFIGURE OUTPUT "${out}" CONTENT
"// Generated from ${dir}; edit the .sql files, not this file.
#include \"storage/migration.hpp\"

namespace parley::storage {

const std::vector<Migration>& ${backend}_migrations() {
  static const std::vector<Migration> list{
${entries}  };
  return list;
}

}  // namespace parley::storage
")
  target_sources(${target} PRIVATE "${out}")
endfunction()
