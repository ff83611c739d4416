// libvips, set up once per process for hostile input. Internal to the media
// library: include only from .cpp files (it does not include libvips itself).
#pragma once

namespace parley::media::detail {

// Initialises libvips on first call (any thread; later calls return at once):
//   - VIPS_INIT, then concurrency 1 per operation: parallelism comes from our
//     own bounded thumbnail pool, not from libvips' threads;
//   - the operation cache off (max 0 operations, 0 bytes, 0 files): every file
//     is different and cached results would only pin memory and descriptors;
//   - only the loaders we want enabled: all of VipsForeignLoad is blocked, then
//     JPEG, PNG, WebP, GIF and HEIF (HEIC and AVIF) are unblocked, and
//     vips_block_untrusted_set(TRUE) keeps blocked anything libvips itself marks
//     as not fuzzed for untrusted input (SVG, PDF, TIFF variants, ImageMagick...).
// Returns false when libvips could not start (then every probe fails with
// kIoError).
bool ensure_vips();

}  // namespace parley::media::detail
