// parley-fsync-rate: how many small durable writes per second the disk
// takes, one fdatasync() each: the ceiling of a server that commits every
// message on its own, and the yardstick for group commit
// (docs/benchmarks.md).
//
// Usage: parley-fsync-rate [DIR] [SECONDS]  (defaults: ./data, 3)
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  std::filesystem::path dir = argc > 1 ? argv[1] : "data";
  double seconds = argc > 2 ? std::atof(argv[2]) : 3.0;
  std::filesystem::create_directories(dir);
  auto path = dir / "fsync-rate.probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    std::perror("open");
    return 1;
  }
  const std::string record(100, 'x');  // about one small message
  auto start = std::chrono::steady_clock::now();
  std::chrono::duration<double> elapsed{};
  long count = 0;
  while (elapsed.count() < seconds) {
    if (::write(fd, record.data(), record.size()) < 0 || ::fdatasync(fd) != 0) {
      std::perror("write/fdatasync");
      return 1;
    }
    ++count;
    elapsed = std::chrono::steady_clock::now() - start;
  }
  ::close(fd);
  std::filesystem::remove(path);
  std::printf("{\"fdatasync_per_second\": %.1f, \"count\": %ld, \"seconds\": %.2f}\n", count / elapsed.count(), count,
              elapsed.count());
  return 0;
}
