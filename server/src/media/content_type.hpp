// What an uploaded file is, decided from its bytes (libmagic), never from the
// name or the Content-Type the client sent, and how it may be served.
//
// Serving policy (Synapse's lesson: only an allow-list is served inline):
//   - is_inline_safe(type): the file may be served `Content-Disposition: inline`.
//     Raster images, common audio and video, and text/plain (served with
//     `charset=utf-8` and `X-Content-Type-Options: nosniff`, it cannot run script).
//   - everything else is served as an attachment;
//   - is_active_content(type): a browser could execute it or render it as a
//     document that runs script; serve it as an attachment with
//     `Content-Security-Policy: sandbox` as well, in case a browser or a
//     proxy ignores the attachment disposition.
//
// Thread safety: all functions may be called from any thread. libmagic handles
// are not thread-safe, so each thread lazily opens its own handle and loads the
// compiled database once (a few hundred KiB per thread that sniffs).
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace parley::media {

// The MIME type ("image/png", no parameters) libmagic finds in `data` (the first
// bytes of a file; kSniffBytes are enough). "application/octet-stream" when
// nothing is recognised or libmagic fails. Compressed files are not opened
// (MAGIC_NO_CHECK_COMPRESS): sniffing never decompresses hostile input.
[[nodiscard]] std::string sniff_content_type(std::span<const std::byte> data);

// Same, for the first kSniffBytes of the file at `path` (read here, once; the
// file is not passed to libmagic by name). "application/octet-stream" when the
// file cannot be read.
[[nodiscard]] std::string sniff_content_type(const std::filesystem::path& path);

// How many leading bytes sniffing reads: enough for every magic rule we rely on
// (container formats put their signatures at the start).
inline constexpr std::size_t kSniffBytes = 64 * 1024;

// The type without parameters, lower-cased and trimmed: "Text/HTML; charset=x"
// -> "text/html".
[[nodiscard]] std::string normalize_content_type(std::string_view mime);

// True for types a browser could execute, or render as a document with script:
// HTML, XHTML, SVG, any XML (XML may carry XHTML or XSLT), JavaScript and
// ECMAScript, CSS (a stylesheet can exfiltrate a page's contents if some page
// includes it), PDF (viewers run embedded JavaScript), MHTML-like containers
// (message/rfc822, multipart/related), XSLT, Flash, and the cache-manifest
// relic. Parameters and case are ignored.
[[nodiscard]] bool is_active_content(std::string_view mime);

// True for the allow-list of types that may be served inline: image/jpeg, png,
// gif, webp, avif, heic, heif; audio mpeg, ogg, opus, wav, webm, mp4, aac, flac;
// video mp4, webm, ogg, quicktime; text/plain. Never true for an active type.
[[nodiscard]] bool is_inline_safe(std::string_view mime);

}  // namespace parley::media
