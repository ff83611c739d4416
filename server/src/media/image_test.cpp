#include "media/image.hpp"

#include <gtest/gtest.h>

#include "media/media_error.hpp"
#include "media/test_images.hpp"

namespace parley::media {
namespace {

using testing::TempDir;

ImageInfo probe(const std::filesystem::path& path, std::error_code& error, ImageLimits limits = {}) {
  return probe_image(path, limits, error);
}

ImageLimits limits(std::uint64_t pixels, std::uint32_t frames, std::uint64_t total) {
  ImageLimits result;
  result.max_pixels = pixels;
  result.max_frames = frames;
  result.max_total_pixels = total;
  return result;
}

TEST(ProbeImage, ReadsFormatAndSize) {
  TempDir dir;
  testing::save(testing::make_image(64, 48), dir / "a.png");
  testing::save(testing::make_image(64, 48, 4), dir / "alpha.png");
  testing::save(testing::make_image(30, 20), dir / "a.webp");
  testing::save(testing::make_image(33, 22), dir / "a.jpg");

  std::error_code error;
  ImageInfo info = probe(dir / "a.png", error);
  ASSERT_FALSE(error) << error.message();
  EXPECT_EQ(info.format, ImageFormat::kPng);
  EXPECT_EQ(info.width, 64u);
  EXPECT_EQ(info.height, 48u);
  EXPECT_EQ(info.frames, 1u);
  EXPECT_FALSE(info.has_alpha);
  EXPECT_TRUE(probe(dir / "alpha.png", error).has_alpha);

  info = probe(dir / "a.webp", error);
  ASSERT_FALSE(error) << error.message();
  EXPECT_EQ(info.format, ImageFormat::kWebp);
  EXPECT_EQ(info.width, 30u);

  info = probe(dir / "a.jpg", error);
  ASSERT_FALSE(error) << error.message();
  EXPECT_EQ(info.format, ImageFormat::kJpeg);
  EXPECT_EQ(info.display_width, 33u);
  EXPECT_EQ(info.display_height, 22u);
}

TEST(ProbeImage, ReadsHeicAndAvif) {
  // Debian's libvips decodes both through libheif (and encodes them, which
  // the test uses to make its input).
  TempDir dir;
  for (const char* name : {"a.heic", "a.avif"}) {
    testing::save(testing::make_image(64, 48), dir / name);
    std::error_code error;
    const ImageInfo info = probe(dir / name, error);
    ASSERT_FALSE(error) << name << ": " << error.message();
    EXPECT_EQ(info.format, ImageFormat::kHeif) << name;
    EXPECT_EQ(info.width, 64u) << name;
    EXPECT_EQ(info.height, 48u) << name;
  }
}

TEST(ProbeImage, ExifOrientationSwapsDisplayedSize) {
  TempDir dir;
  testing::Image image = testing::make_image(40, 10);
  vips_image_set_int(image.get(), "orientation", 6);
  testing::save(image, dir / "rotated.jpg");
  std::error_code error;
  const ImageInfo info = probe(dir / "rotated.jpg", error);
  ASSERT_FALSE(error) << error.message();
  EXPECT_EQ(info.orientation, 6);
  EXPECT_EQ(info.width, 40u);
  EXPECT_EQ(info.display_width, 10u);
  EXPECT_EQ(info.display_height, 40u);
}

TEST(ProbeImage, CountsAnimationFrames) {
  TempDir dir;
  testing::save_animated_gif(20, 10, 2, dir / "two.gif");
  std::error_code error;
  const ImageInfo info = probe(dir / "two.gif", error);
  ASSERT_FALSE(error) << error.message();
  EXPECT_EQ(info.format, ImageFormat::kGif);
  EXPECT_EQ(info.frames, 2u);
  EXPECT_EQ(info.width, 20u);
  EXPECT_EQ(info.height, 10u);

  // Frames and total pixels are limits of their own.
  probe(dir / "two.gif", error, limits(1000, 1, 1000000));
  EXPECT_EQ(error, MediaErrc::kTooManyFrames);
  probe(dir / "two.gif", error, limits(1000, 10, 300));
  EXPECT_EQ(error, MediaErrc::kTooManyFrames);
  probe(dir / "two.gif", error, limits(199, 10, 1000000));
  EXPECT_EQ(error, MediaErrc::kTooManyPixels);
}

TEST(ProbeImage, RefusesDecompressionBombsFromTheHeader) {
  TempDir dir;
  testing::write_bytes(dir / "bomb.png", testing::png_claiming(100000, 100000));
  std::error_code error;
  const ImageInfo info = probe(dir / "bomb.png", error);
  EXPECT_EQ(error, MediaErrc::kTooManyPixels) << error.message();
  EXPECT_EQ(info.width, 100000u);  // the header was read, nothing decoded

  testing::save(testing::make_image(16, 16), dir / "small.jpg");
  testing::write_bytes(dir / "bomb.jpg", testing::jpeg_claiming(testing::read_bytes(dir / "small.jpg"), 60000, 60000));
  probe(dir / "bomb.jpg", error);
  EXPECT_EQ(error, MediaErrc::kTooManyPixels) << error.message();

  // The same header under a higher limit probes fine: the limit decides.
  probe(dir / "bomb.png", error, limits(10'000'000'000, 1, 10'000'000'000));
  EXPECT_FALSE(error) << error.message();
}

TEST(ProbeImage, CorruptNonImageAndUnsupported) {
  TempDir dir;
  testing::save(testing::make_image(64, 64), dir / "whole.jpg");
  const std::string jpeg = testing::read_bytes(dir / "whole.jpg");
  testing::write_bytes(dir / "cut.jpg", jpeg.substr(0, 40));  // cut inside the header
  testing::write_bytes(dir / "text.png", "hello, this is not an image\n");
  testing::save(testing::make_image(8, 8), dir / "a.tif");  // TIFF: loader not enabled

  std::error_code error;
  probe(dir / "cut.jpg", error);
  EXPECT_EQ(error, MediaErrc::kCorruptImage) << error.message();
  probe(dir / "text.png", error);
  EXPECT_EQ(error, MediaErrc::kNotAnImage) << error.message();
  probe(dir / "a.tif", error);
  EXPECT_EQ(error, MediaErrc::kUnsupportedImage) << error.message();
  probe(dir / "missing.png", error);
  EXPECT_EQ(error, MediaErrc::kIoError) << error.message();
}

TEST(ProbeImage, UntrustedLoadersAreBlocked) {
  // SVG is rendered by librsvg, which libvips marks untrusted: never loaded,
  // even though it is an image.
  TempDir dir;
  testing::write_bytes(dir / "a.svg",
                       "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><rect width=\"10\" "
                       "height=\"10\"/></svg>");
  std::error_code error;
  probe(dir / "a.svg", error);
  EXPECT_EQ(error, MediaErrc::kUnsupportedImage) << error.message();
}

TEST(ProbeImage, LibvipsLoadsOnlyTheAllowedFormats) {
  // image.cpp maps loaders to formats and refuses any other, but the loaders
  // themselves must be blocked inside libvips too: whatever else opens a file
  // with libvips (vips_thumbnail) meets the same blocks.
  ASSERT_TRUE(detail::ensure_vips());
  TempDir dir;
  testing::save(testing::make_image(8, 8), dir / "a.tif");
  testing::save(testing::make_image(8, 8), dir / "a.png");
  testing::write_bytes(dir / "a.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"4\" height=\"4\"/>");
  // vips_foreign_find_load still names blocked loaders (8.14); running one fails.
  for (const char* name : {"a.tif", "a.svg"}) {
    testing::Image refused(vips_image_new_from_file((dir / name).c_str(), nullptr));
    EXPECT_EQ(refused.get(), nullptr) << name;
    vips_error_clear();
  }
  testing::Image png(vips_image_new_from_file((dir / "a.png").c_str(), nullptr));
  EXPECT_NE(png.get(), nullptr);
}

TEST(MediaError, MapsToTheApiVocabulary) {
  EXPECT_EQ(media_api_error_code(MediaErrc::kTooManyPixels), ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(media_api_error_code(MediaErrc::kNotAnImage), ErrorCode::kUnsupportedMediaType);
  EXPECT_EQ(media_api_error_code(MediaErrc::kCorruptImage), ErrorCode::kValidationFailed);
  EXPECT_EQ(media_api_error_code(MediaErrc::kBusy), ErrorCode::kServiceBusy);
  EXPECT_EQ(media_api_error_code(std::make_error_code(std::errc::io_error)), ErrorCode::kInternal);
}

}  // namespace
}  // namespace parley::media
