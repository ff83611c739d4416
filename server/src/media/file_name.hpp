// Client-supplied file names, made safe to display and to put in a header.
//
// A file name from a client is only ever shown to people (and offered to their
// browser as the name to save under); it is never used as a path on the
// server: blobs are stored by content hash. Still, it reaches terminals, web
// pages, notifications and HTTP headers, so it is cleaned of everything that
// could spoof, hide, break or inject there.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace parley::media {

// Longest sanitised name, in bytes (the common file-system limit).
inline constexpr std::size_t kMaxFileNameBytes = 255;

// The display name for `client_name`:
//   1. invalid UTF-8 (stray bytes, overlong forms, surrogates, > U+10FFFF)
//      becomes U+FFFD;
//   2. any directory part is dropped: everything up to the last '/' or '\'
//      ("../../etc/passwd" -> "passwd", "C:\x\y.txt" -> "y.txt");
//   3. removed: NUL and C0 controls, DEL, C1 controls, bidi embeddings,
//      overrides, isolates and marks (U+202A-U+202E, U+2066-U+2069, U+200E,
//      U+200F, U+061C: "invoice\u202Efdp.exe" must not display as
//      "invoiceexe.pdf"), zero-width and invisible characters (U+200B,
//      U+200C, U+2060, U+FEFF, U+00AD), line and paragraph separators; U+200D
//      (zero-width joiner) is kept only between two emoji, where it joins a
//      sequence like a family;
//   4. percent-encoding is NOT decoded: "%2f" stays those three characters.
//      Decoding would only create separators that step 2 must then remove,
//      and the literal text is harmless since the name is never a path;
//   5. leading and trailing dots and white space are removed: no hidden
//      files (".bashrc" -> "bashrc"), no ".." names, no Windows-stripped
//      trailing dot;
//   6. capped at kMaxFileNameBytes on a code-point boundary, keeping the
//      extension (the part after the last '.', when it is at most 16 bytes);
//   7. an empty result becomes "file".
// Idempotent: sanitize_file_name(sanitize_file_name(x)) == sanitize_file_name(x).
[[nodiscard]] std::string sanitize_file_name(std::string_view client_name);

enum class Disposition { kInline, kAttachment };

// A Content-Disposition header value (RFC 6266, with RFC 8187 for the UTF-8
// name): `attachment; filename="ascii fallback"; filename*=UTF-8''percent%20encoded`.
// `name` is sanitised first (any input is safe). The quoted fallback holds only
// printable ASCII without '"' and '\' (others become '_'); the extended value
// percent-encodes everything but RFC 8187 attr-chars, so no quote, backslash,
// CR or LF can end the parameter or the header.
[[nodiscard]] std::string content_disposition(std::string_view name, Disposition kind);

}  // namespace parley::media
