// Probing images: what an untrusted file claims to be, from its header only.
//
// probe_image() opens the file with libvips' loaders (only JPEG, PNG, WebP,
// GIF, HEIC/AVIF are enabled; see vips_runtime.hpp), reads the header, and
// decides whether the image may be decoded at all: no pixel is decoded and
// nothing proportional to the claimed size is allocated, so a 100000×100000
// PNG header costs as little as a 1×1 one. Callers run this before anything
// that decodes (thumbnails, sticker import).
//
// The header is all that is read: a file whose pixel data is truncated probes
// fine and fails later, when decoded (the thumbnailer reports kCorruptImage).
//
// Thread safety: any thread; libvips is initialised on first use.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>

namespace parley::media {

struct ImageLimits {
  // Pixels in one frame (width × height). 50 megapixels: above every phone
  // camera in common use (a 48 MP sensor is 8000×6000), and a decoded RGBA
  // frame of that size is 200 MB, the most one decode may cost.
  std::uint64_t max_pixels = 50'000'000;
  // Frames of an animation (GIF, WebP). Thumbnails decode only the first, but a
  // client animates them all.
  std::uint32_t max_frames = 1000;
  // Pixels in all frames together: what a client decoding the whole animation
  // would hold. 500 megapixels (e.g. 1000 frames of 720×690).
  std::uint64_t max_total_pixels = 500'000'000;
};

enum class ImageFormat { kJpeg, kPng, kWebp, kGif, kHeif };

// "jpeg", "png", "webp", "gif", "heif".
[[nodiscard]] const char* image_format_name(ImageFormat format) noexcept;

struct ImageInfo {
  ImageFormat format = ImageFormat::kPng;
  std::uint32_t width = 0;   // as stored (one frame), before EXIF rotation
  std::uint32_t height = 0;  // one frame's height for animations
  std::uint32_t frames = 1;  // > 1 for animated GIF and WebP
  int orientation = 1;       // EXIF orientation 1..8 (1 when absent)
  // Dimensions as displayed: width and height swapped for orientations 5-8.
  std::uint32_t display_width = 0;
  std::uint32_t display_height = 0;
  bool has_alpha = false;
};

// Probes the image at `path` against `limits`. On failure `error` is set (in
// media_category(): kNotAnImage, kUnsupportedImage, kTooManyPixels,
// kTooManyFrames, kCorruptImage, kIoError for an unreadable file) and the
// returned info is meaningless; on success `error` is cleared.
[[nodiscard]] ImageInfo probe_image(const std::filesystem::path& path, const ImageLimits& limits,
                                    std::error_code& error);

}  // namespace parley::media
