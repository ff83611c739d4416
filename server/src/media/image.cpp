#include "media/image.hpp"

#include <vips/vips.h>

#include <cstring>
#include <fstream>

#include "media/content_type.hpp"
#include "media/media_error.hpp"
#include "media/vips_runtime.hpp"

namespace parley::media {
namespace {

struct LoaderFormat {
  const char* nickname;
  ImageFormat format;
};

// The file loaders vips_runtime.cpp leaves enabled, by class name (what
// vips_foreign_find_load returns).
constexpr LoaderFormat kLoaders[] = {
    {"VipsForeignLoadJpegFile", ImageFormat::kJpeg}, {"VipsForeignLoadPngFile", ImageFormat::kPng},
    {"VipsForeignLoadWebpFile", ImageFormat::kWebp}, {"VipsForeignLoadNsgifFile", ImageFormat::kGif},
    {"VipsForeignLoadHeifFile", ImageFormat::kHeif},
};

}  // namespace

const char* image_format_name(ImageFormat format) noexcept {
  switch (format) {
    case ImageFormat::kJpeg:
      return "jpeg";
    case ImageFormat::kPng:
      return "png";
    case ImageFormat::kWebp:
      return "webp";
    case ImageFormat::kGif:
      return "gif";
    case ImageFormat::kHeif:
      return "heif";
  }
  return "unknown";
}

ImageInfo probe_image(const std::filesystem::path& path, const ImageLimits& limits, std::error_code& error) {
  ImageInfo info;
  error.clear();
  if (!detail::ensure_vips()) {
    error = MediaErrc::kIoError;
    return info;
  }
  {
    std::ifstream readable(path, std::ios::binary);
    std::error_code ignored;
    if (!readable || !std::filesystem::is_regular_file(path, ignored)) {
      error = MediaErrc::kIoError;
      return info;
    }
  }

  // Which loader would take the file. libvips 8.14 still names a blocked
  // loader here (running it fails), so the allow-list below decides too.
  const char* loader = vips_foreign_find_load(path.c_str());
  if (loader == nullptr) {
    vips_error_clear();
    // Tell "an image we refuse to decode" (TIFF, SVG, ...) from "no image".
    error = sniff_content_type(path).starts_with("image/") ? MediaErrc::kUnsupportedImage : MediaErrc::kNotAnImage;
    return info;
  }
  bool known = false;
  for (const LoaderFormat& entry : kLoaders) {
    if (std::strcmp(entry.nickname, loader) == 0) {
      info.format = entry.format;
      known = true;
    }
  }
  if (!known) {
    error = MediaErrc::kUnsupportedImage;
    return info;
  }

  // Opening reads the header only; pixels are decoded on demand, never here.
  VipsImage* image =
      vips_image_new_from_file(path.c_str(), "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_ERROR, nullptr);
  if (image == nullptr) {
    vips_error_clear();
    error = MediaErrc::kCorruptImage;
    return info;
  }
  const int width = vips_image_get_width(image);
  const int page_height = vips_image_get_page_height(image);
  const int pages = vips_image_get_n_pages(image);
  info.orientation = vips_image_get_orientation(image);
  info.has_alpha = vips_image_hasalpha(image) != FALSE;
  g_object_unref(image);

  if (width <= 0 || page_height <= 0 || pages <= 0) {
    error = MediaErrc::kCorruptImage;
    return info;
  }
  info.width = static_cast<std::uint32_t>(width);
  info.height = static_cast<std::uint32_t>(page_height);
  info.frames = static_cast<std::uint32_t>(pages);
  if (info.orientation < 1 || info.orientation > 8) info.orientation = 1;
  const bool swap = info.orientation >= 5;
  info.display_width = swap ? info.height : info.width;
  info.display_height = swap ? info.width : info.height;

  const std::uint64_t frame_pixels = std::uint64_t{info.width} * info.height;
  if (frame_pixels > limits.max_pixels) {
    error = MediaErrc::kTooManyPixels;
  } else if (info.frames > limits.max_frames || frame_pixels * info.frames > limits.max_total_pixels) {
    error = MediaErrc::kTooManyFrames;
  }
  return info;
}

}  // namespace parley::media
