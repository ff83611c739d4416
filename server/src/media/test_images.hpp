// Test-only helpers of the media unit tests: a temporary folder and input
// images made on the spot (with libvips, or byte by byte), so no binary test
// data is committed. Included only by *_test.cpp files.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <vips/vips.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "media/vips_runtime.hpp"

namespace parley::media::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "parley-media-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Owns a VipsImage.
class Image {
 public:
  explicit Image(VipsImage* image = nullptr) : image_(image) {}
  ~Image() {
    if (image_ != nullptr) g_object_unref(image_);
  }
  Image(Image&& other) noexcept : image_(other.image_) { other.image_ = nullptr; }
  Image(const Image&) = delete;
  Image& operator=(const Image&) = delete;
  [[nodiscard]] VipsImage* get() const { return image_; }
  VipsImage** out() { return &image_; }

 private:
  VipsImage* image_;
};

// A width×height image with `bands` bands (3: RGB, 4: RGBA half transparent):
// a diagonal gradient, so encoders have something to encode.
inline Image make_image(int width, int height, int bands = 3) {
  EXPECT_TRUE(detail::ensure_vips());
  Image xyz;
  EXPECT_EQ(vips_xyz(xyz.out(), width, height, nullptr), 0);
  Image sum;
  EXPECT_EQ(vips_bandmean(xyz.get(), sum.out(), nullptr), 0);
  Image bytes;
  EXPECT_EQ(vips_cast_uchar(sum.get(), bytes.out(), nullptr), 0);
  std::vector<VipsImage*> channels(static_cast<std::size_t>(bands), bytes.get());
  Image joined;
  EXPECT_EQ(vips_bandjoin(channels.data(), joined.out(), bands, nullptr), 0);
  Image copy;
  EXPECT_EQ(vips_copy(joined.get(), copy.out(), "interpretation", VIPS_INTERPRETATION_sRGB, nullptr), 0);
  return copy;
}

inline void save(const Image& image, const std::filesystem::path& path) {
  ASSERT_EQ(vips_image_write_to_file(image.get(), path.c_str(), nullptr), 0) << vips_error_buffer();
}

// An animated GIF of `frames` frames of width×height.
inline void save_animated_gif(int width, int height, int frames, const std::filesystem::path& path) {
  Image frame = make_image(width, height, 3);
  std::vector<VipsImage*> pages(static_cast<std::size_t>(frames), frame.get());
  Image strip;
  ASSERT_EQ(vips_arrayjoin(pages.data(), strip.out(), frames, "across", 1, nullptr), 0);
  Image copy;
  ASSERT_EQ(vips_copy(strip.get(), copy.out(), nullptr), 0);
  vips_image_set_int(copy.get(), "page-height", height);
  save(copy, path);
}

// A PNG chunk: length, type, data, CRC-32 of type and data.
inline std::string png_chunk(const std::string& type, const std::string& data) {
  auto be32 = [](std::uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  const std::string body = type + data;
  const auto crc =
      static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size())));
  return be32(static_cast<std::uint32_t>(data.size())) + body + be32(crc);
}

// A valid PNG header claiming width×height RGB pixels, followed by one tiny
// IDAT and IEND: a decompression bomb's header.
inline std::string png_claiming(std::uint32_t width, std::uint32_t height) {
  auto be32 = [](std::uint32_t v) {
    return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                       static_cast<char>(v)};
  };
  std::string ihdr = be32(width) + be32(height);
  ihdr += std::string{8, 2, 0, 0, 0};  // 8-bit RGB, deflate, no filter, no interlace
  const std::string raw(64, '\0');
  std::vector<Bytef> compressed(compressBound(raw.size()));
  uLongf size = compressed.size();
  compress(compressed.data(), &size, reinterpret_cast<const Bytef*>(raw.data()), raw.size());
  return std::string("\x89PNG\r\n\x1a\n", 8) + png_chunk("IHDR", ihdr) +
         png_chunk("IDAT", std::string(reinterpret_cast<const char*>(compressed.data()), size)) + png_chunk("IEND", "");
}

// Rewrites the frame size in a JPEG's SOF0/SOF2 marker.
inline std::string jpeg_claiming(std::string jpeg, std::uint16_t width, std::uint16_t height) {
  for (std::size_t i = 2; i + 9 < jpeg.size(); ++i) {
    const auto marker = static_cast<unsigned char>(jpeg[i + 1]);
    if (static_cast<unsigned char>(jpeg[i]) == 0xFF && (marker == 0xC0 || marker == 0xC2)) {
      jpeg[i + 5] = static_cast<char>(height >> 8);
      jpeg[i + 6] = static_cast<char>(height & 0xFF);
      jpeg[i + 7] = static_cast<char>(width >> 8);
      jpeg[i + 8] = static_cast<char>(width & 0xFF);
      return jpeg;
    }
  }
  ADD_FAILURE() << "no SOF marker";
  return jpeg;
}

}  // namespace parley::media::testing
