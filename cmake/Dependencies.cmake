# Every dependency comes from Debian 12's archive (scripts/install-deps.sh).
# Nothing is downloaded at configure or build time.

find_package(Threads REQUIRED)
find_package(Boost 1.81.0 EXACT CONFIG REQUIRED COMPONENTS json url)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
# The PostgreSQL storage backend (server/src/storage/postgres): libpq 15.
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq>=15)
# QR codes of two-factor enrolment URIs (SVG and terminal text).
pkg_check_modules(QRENCODE REQUIRED IMPORTED_TARGET libqrencode)
# Media processing (server/src/media): libvips for image probing and
# thumbnails (its C API: the C++ wrapper adds nothing we need), libmagic for
# content sniffing (Debian ships no .pc file for it), zlib only for the
# tests' hand-made PNG chunks (crc32).
pkg_check_modules(VIPS REQUIRED IMPORTED_TARGET vips>=8.14)
find_path(MAGIC_INCLUDE_DIR magic.h REQUIRED)
find_library(MAGIC_LIBRARY magic REQUIRED)
add_library(parley_libmagic INTERFACE)
target_include_directories(parley_libmagic INTERFACE ${MAGIC_INCLUDE_DIR})
target_link_libraries(parley_libmagic INTERFACE ${MAGIC_LIBRARY})
find_package(ZLIB REQUIRED)
# Personal data export archives (zip), written by the server and read back
# by the export tests (server/src/account/export_archive.hpp).
pkg_check_modules(LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
# Fan-out between nodes (server/src/cluster): hiredis 0.14, blocking
# connections on threads of their own (cluster/redis_client.hpp).
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(prometheus-cpp REQUIRED COMPONENTS core)
find_package(OpenSSL 3.0 REQUIRED)
# The TLS tests: Python's ssl module as an independent client, and
# testssl.sh (Debian's testssl.sh package installs it as `testssl`).
find_package(Python3 REQUIRED COMPONENTS Interpreter)
find_program(TESTSSL_EXECUTABLE NAMES testssl testssl.sh REQUIRED)

# Asio and Beast are header-only by default, which makes every file that
# includes them slow to compile. With separate compilation their
# implementation is built once, in server/src/net/asio_impl.cpp, and every
# other file only sees declarations.
add_library(parley_asio STATIC ${PROJECT_SOURCE_DIR}/server/src/net/asio_impl.cpp)
target_compile_definitions(parley_asio PUBLIC
  BOOST_ASIO_SEPARATE_COMPILATION
  BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED)
target_link_libraries(parley_asio PUBLIC Boost::headers Threads::Threads OpenSSL::SSL OpenSSL::Crypto)
