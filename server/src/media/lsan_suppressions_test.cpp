// LeakSanitizer suppressions of the unit test binary (the asan preset).
//
// Only for memory that is not ours and not the server's:
//   - libx265: each HEIC *encode* leaks one 1168-byte block inside x265
//     (x265_malloc, reached through libheif's x265 plugin). parleyd never
//     encodes HEIC (thumbnails are JPEG or PNG); only the media tests do, to
//     make their HEIC input on the spot instead of committing binary files.
// Decoding HEIC (libde265), and everything libvips does for parleyd, runs
// unsuppressed.
extern "C" const char* __lsan_default_suppressions() { return "leak:libx265.so\n"; }
