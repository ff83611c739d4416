# Runs a Node.js tool for the OpenAPI tests, after checking that the npm
# packages it needs are installed: a missing or stale tests/openapi/node_modules
# must fail with a message saying how to fix it, never trigger a download.
#
#   cmake -DPACKAGE_DIR=<tests/openapi> -P run_node_tool.cmake -- <program> [args...]
#
# <program> runs in PACKAGE_DIR (so that npx finds node_modules/.bin there).
# Exits non-zero when a check fails or the program does.
cmake_minimum_required(VERSION 3.25)

set(fix "Run scripts/install-deps.sh from the repository root (it runs `npm ci` in tests/openapi).")

set(command "")
set(after_separator FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(after_separator)
    list(APPEND command "${CMAKE_ARGV${i}}")
  elseif(CMAKE_ARGV${i} STREQUAL "--")
    set(after_separator TRUE)
  endif()
endforeach()
if(NOT PACKAGE_DIR OR NOT command)
  message(FATAL_ERROR "usage: cmake -DPACKAGE_DIR=<dir> -P run_node_tool.cmake -- <program> [args...]")
endif()

list(GET command 0 program)
if(NOT program OR program MATCHES "-NOTFOUND$" OR NOT EXISTS "${program}")
  message(FATAL_ERROR "Node.js is not installed (node/npx not found when CMake was configured). ${fix} "
                      "Then re-run cmake.")
endif()

# Every dependency in package.json must be installed at exactly its version.
file(READ "${PACKAGE_DIR}/package.json" manifest)
string(JSON count LENGTH "${manifest}" dependencies)
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON name MEMBER "${manifest}" dependencies ${i})
  string(JSON wanted GET "${manifest}" dependencies "${name}")
  set(installed_manifest "${PACKAGE_DIR}/node_modules/${name}/package.json")
  if(NOT EXISTS "${installed_manifest}")
    message(FATAL_ERROR "${name} is not installed in ${PACKAGE_DIR}/node_modules. ${fix}")
  endif()
  file(READ "${installed_manifest}" installed)
  string(JSON version GET "${installed}" version)
  if(NOT version STREQUAL wanted)
    message(FATAL_ERROR "${PACKAGE_DIR}/node_modules has ${name} ${version}, package.json wants ${wanted}. ${fix}")
  endif()
endforeach()

execute_process(COMMAND ${command} WORKING_DIRECTORY "${PACKAGE_DIR}" RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  list(JOIN command " " shown)
  message(FATAL_ERROR "failed (${result}): ${shown}")
endif()
