#include "media/thumbnailer.hpp"

#include <gtest/gtest.h>

#include <future>
#include <latch>
#include <set>

#include "media/content_type.hpp"
#include "media/media_error.hpp"
#include "media/test_images.hpp"

namespace parley::media {
namespace {

using testing::TempDir;

struct Outcome {
  std::error_code error;
  ThumbnailResult result;
};

Outcome run(Thumbnailer& thumbnailer, const std::filesystem::path& source, ThumbnailSize size,
            const std::filesystem::path& destination) {
  std::promise<Outcome> promise;
  thumbnailer.submit(source, size, destination, [&](std::error_code error, const ThumbnailResult& result) {
    promise.set_value(Outcome{error, result});
  });
  return promise.get_future().get();
}

struct Loaded {
  int width = 0;
  int height = 0;
  bool has_exif = false;
  bool has_gps = false;
};

Loaded load(const std::filesystem::path& path) {
  testing::Image image(vips_image_new_from_file(path.c_str(), nullptr));
  EXPECT_NE(image.get(), nullptr) << vips_error_buffer();
  if (image.get() == nullptr) return {};
  return Loaded{vips_image_get_width(image.get()), vips_image_get_height(image.get()),
                vips_image_get_typeof(image.get(), VIPS_META_EXIF_NAME) != 0,
                vips_image_get_typeof(image.get(), "exif-ifd3-GPSLatitude") != 0};
}

// "Exif\0\0" and a little-endian TIFF structure: IFD0 with Orientation = 6
// and a GPS IFD holding GPSLatitudeRef "N" and GPSLatitude 51/1 30/1 0/1.
std::string exif_with_gps() {
  auto le16 = [](unsigned v) { return std::string{static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)}; };
  auto le32 = [&](unsigned v) { return le16(v & 0xFFFF) + le16(v >> 16); };
  auto entry = [&](unsigned tag, unsigned type, unsigned count, const std::string& value) {
    return le16(tag) + le16(type) + le32(count) + value;
  };
  std::string tiff = "II" + le16(42) + le32(8);
  tiff += le16(2) + entry(0x0112, 3, 1, le16(6) + le16(0)) + entry(0x8825, 4, 1, le32(38)) + le32(0);
  tiff += le16(2) + entry(0x0001, 2, 2, std::string("N\0\0\0", 4)) + entry(0x0002, 5, 3, le32(68)) + le32(0);
  tiff += le32(51) + le32(1) + le32(30) + le32(1) + le32(0) + le32(1);
  return std::string("Exif\0\0", 6) + tiff;
}

TEST(Thumbnailer, EachSizeFitsItsBoxWithoutUpscaling) {
  TempDir dir;
  testing::save(testing::make_image(2000, 1000), dir / "wide.jpg");
  testing::save(testing::make_image(50, 40), dir / "tiny.png");
  Thumbnailer thumbnailer;

  Outcome small = run(thumbnailer, dir / "wide.jpg", ThumbnailSize::kSmall, dir / "small");
  ASSERT_FALSE(small.error) << small.error.message();
  EXPECT_EQ(small.result.content_type, "image/jpeg");
  EXPECT_EQ(small.result.width, 96u);  // square crop
  EXPECT_EQ(small.result.height, 96u);
  EXPECT_EQ(sniff_content_type(dir / "small"), "image/jpeg");
  EXPECT_EQ(load(dir / "small").width, 96);

  Outcome medium = run(thumbnailer, dir / "wide.jpg", ThumbnailSize::kMedium, dir / "medium");
  ASSERT_FALSE(medium.error) << medium.error.message();
  EXPECT_EQ(medium.result.width, 320u);
  EXPECT_EQ(medium.result.height, 160u);
  EXPECT_EQ(load(dir / "medium").height, 160);

  Outcome large = run(thumbnailer, dir / "wide.jpg", ThumbnailSize::kLarge, dir / "large");
  ASSERT_FALSE(large.error) << large.error.message();
  EXPECT_EQ(large.result.width, 1280u);
  EXPECT_EQ(large.result.height, 640u);

  Outcome tiny = run(thumbnailer, dir / "tiny.png", ThumbnailSize::kLarge, dir / "tiny-large");
  ASSERT_FALSE(tiny.error) << tiny.error.message();
  EXPECT_EQ(tiny.result.width, 50u);  // never upscaled
  EXPECT_EQ(tiny.result.height, 40u);
}

TEST(Thumbnailer, AlphaGivesPngAndAnimationsTheirFirstFrame) {
  TempDir dir;
  testing::save(testing::make_image(400, 400, 4), dir / "alpha.webp");
  testing::save_animated_gif(200, 100, 2, dir / "anim.gif");
  Thumbnailer thumbnailer;

  Outcome alpha = run(thumbnailer, dir / "alpha.webp", ThumbnailSize::kMedium, dir / "alpha-thumb");
  ASSERT_FALSE(alpha.error) << alpha.error.message();
  EXPECT_EQ(alpha.result.content_type, "image/png");
  EXPECT_EQ(sniff_content_type(dir / "alpha-thumb"), "image/png");

  Outcome anim = run(thumbnailer, dir / "anim.gif", ThumbnailSize::kMedium, dir / "anim-thumb");
  ASSERT_FALSE(anim.error) << anim.error.message();
  EXPECT_EQ(anim.result.width, 200u);
  EXPECT_EQ(anim.result.height, 100u);  // one frame, not the strip of two
}

TEST(Thumbnailer, DecodesHeic) {
  TempDir dir;
  testing::save(testing::make_image(640, 480), dir / "photo.heic");
  Thumbnailer thumbnailer;
  Outcome outcome = run(thumbnailer, dir / "photo.heic", ThumbnailSize::kMedium, dir / "thumb");
  ASSERT_FALSE(outcome.error) << outcome.error.message();
  EXPECT_EQ(outcome.result.content_type, "image/jpeg");
  EXPECT_EQ(outcome.result.width, 320u);
  EXPECT_EQ(outcome.result.height, 240u);
}

TEST(Thumbnailer, AppliesOrientationAndStripsGps) {
  TempDir dir;
  testing::Image image = testing::make_image(400, 200);
  const std::string exif = exif_with_gps();
  vips_image_set_blob_copy(image.get(), VIPS_META_EXIF_NAME, exif.data(), exif.size());
  vips_image_set_int(image.get(), "orientation", 6);
  testing::save(image, dir / "gps.jpg");

  // The input really carries a GPS position (else this test proves nothing).
  const Loaded source = load(dir / "gps.jpg");
  ASSERT_TRUE(source.has_gps);

  Thumbnailer thumbnailer;
  Outcome outcome = run(thumbnailer, dir / "gps.jpg", ThumbnailSize::kMedium, dir / "thumb");
  ASSERT_FALSE(outcome.error) << outcome.error.message();
  const Loaded thumb = load(dir / "thumb");
  EXPECT_EQ(thumb.width, 160);  // 400×200 rotated by 90° is 200×400, fitted in 320
  EXPECT_EQ(thumb.height, 320);
  EXPECT_FALSE(thumb.has_exif);
  EXPECT_FALSE(thumb.has_gps);
  EXPECT_EQ(testing::read_bytes(dir / "thumb").find("Exif"), std::string::npos);
}

TEST(Thumbnailer, RefusesBombsTruncatedAndNonImagesLeavingNothing) {
  TempDir dir;
  testing::write_bytes(dir / "bomb.png", testing::png_claiming(100000, 100000));
  testing::save(testing::make_image(600, 600), dir / "whole.jpg");
  const std::string jpeg = testing::read_bytes(dir / "whole.jpg");
  testing::write_bytes(dir / "cut.jpg", jpeg.substr(0, jpeg.size() / 2));
  testing::write_bytes(dir / "text.jpg", "just text\n");
  std::filesystem::create_directory(dir / "out");

  Thumbnailer thumbnailer;
  EXPECT_EQ(run(thumbnailer, dir / "bomb.png", ThumbnailSize::kSmall, dir / "out" / "a").error,
            MediaErrc::kTooManyPixels);
  EXPECT_EQ(run(thumbnailer, dir / "cut.jpg", ThumbnailSize::kSmall, dir / "out" / "b").error,
            MediaErrc::kCorruptImage);
  EXPECT_EQ(run(thumbnailer, dir / "text.jpg", ThumbnailSize::kSmall, dir / "out" / "c").error, MediaErrc::kNotAnImage);
  EXPECT_TRUE(std::filesystem::is_empty(dir / "out"));
}

TEST(Thumbnailer, RefusesWhenTheQueueIsFullWithoutBlocking) {
  TempDir dir;
  testing::save(testing::make_image(64, 64), dir / "a.png");
  // Declared before the thumbnailer: its workers may use them until it is gone.
  std::latch first_running(1);
  std::latch release(1);
  std::promise<std::error_code> first;
  std::promise<std::error_code> second;
  std::mutex mutex;
  std::optional<std::error_code> third;
  Thumbnailer thumbnailer(ThumbnailOptions{.workers = 1, .queue_limit = 1, .limits = {}});

  // The first job's callback holds the only worker until released.
  thumbnailer.submit(dir / "a.png", ThumbnailSize::kSmall, dir / "1", [&](std::error_code e, const auto&) {
    first_running.count_down();
    release.wait();
    first.set_value(e);
  });
  first_running.wait();
  thumbnailer.submit(dir / "a.png", ThumbnailSize::kSmall, dir / "2",
                     [&](std::error_code e, const auto&) { second.set_value(e); });
  // The queue (limit 1) now holds the second job: the third is refused at once,
  // on this thread, before submit returns.
  thumbnailer.submit(dir / "a.png", ThumbnailSize::kSmall, dir / "3", [&](std::error_code e, const auto&) {
    std::lock_guard lock(mutex);
    third = e;
  });
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(third, std::optional<std::error_code>(MediaErrc::kBusy));
  }

  release.count_down();
  EXPECT_FALSE(first.get_future().get());
  EXPECT_FALSE(second.get_future().get());
}

TEST(Thumbnailer, RunsJobsOnItsOwnBoundedWorkers) {
  TempDir dir;
  testing::save(testing::make_image(64, 64), dir / "a.png");
  constexpr int kJobs = 12;
  std::mutex mutex;
  std::set<std::thread::id> threads;
  std::latch done(kJobs);
  {
    Thumbnailer thumbnailer(ThumbnailOptions{.workers = 2, .queue_limit = kJobs, .limits = {}});
    for (int i = 0; i < kJobs; ++i) {
      thumbnailer.submit(dir / "a.png", ThumbnailSize::kSmall, dir / ("t" + std::to_string(i)),
                         [&](std::error_code e, const auto&) {
                           EXPECT_FALSE(e) << e.message();
                           std::lock_guard lock(mutex);
                           threads.insert(std::this_thread::get_id());
                           done.count_down();
                         });
    }
    done.wait();
  }
  EXPECT_GE(threads.size(), 1u);
  EXPECT_LE(threads.size(), 2u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
}

TEST(Thumbnailer, StoppingCompletesQueuedJobs) {
  TempDir dir;
  testing::save(testing::make_image(64, 64), dir / "a.png");
  std::latch running(1);
  std::latch release(1);
  std::error_code queued_error;
  {
    Thumbnailer thumbnailer(ThumbnailOptions{.workers = 1, .queue_limit = 4, .limits = {}});
    thumbnailer.submit(dir / "a.png", ThumbnailSize::kSmall, dir / "1", [&](std::error_code, const auto&) {
      running.count_down();
      release.wait();
    });
    running.wait();
    // The only worker is held by the first job until this queued job
    // completes, so only the destructor can complete it.
    thumbnailer.submit(dir / "a.png", ThumbnailSize::kSmall, dir / "2", [&](std::error_code e, const auto&) {
      queued_error = e;
      release.count_down();
    });
  }
  EXPECT_EQ(queued_error, MediaErrc::kShuttingDown);
  EXPECT_FALSE(std::filesystem::exists(dir / "2"));
}

}  // namespace
}  // namespace parley::media
