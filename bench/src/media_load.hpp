// `parley-bench media`: HTTP file transfer load, the media server's
// benchmark. N keep-alive connections each repeat one request (a download
// with GET, or an upload with POST/PUT of a body of random bytes, distinct
// per request so that content deduplication skips no work) back to back for
// a warmup and a measured window. Any HTTP server can be loaded, so that
// parleyd and nginx are measured by the same client in the same run
// (bench/run-media.sh).
//
// Measured: bytes moved and requests completed inside the window, per-request
// latency, response statuses (anything but 2xx is an error), and the CPU and
// RSS of the server's processes (several pids are summed: nginx's master and
// workers) and of the tool itself from /proc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace parley::bench {

struct MediaOptions {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string method = "GET";  // GET downloads; POST or PUT uploads
  // The request target. "{c}" is replaced by the connection's index (an
  // upload path per connection for a server that stores by path).
  std::string target;
  std::string token;                    // sent as "Authorization: Bearer TOKEN" when not empty
  std::uint64_t body_bytes = 0;         // uploads: the body's length
  std::uint64_t expect_bytes = 0;       // downloads: a response body of another length is an error (0: any)
  int connections = 50;
  double duration = 10;
  double warmup = 2;
  int threads = 1;                      // the tool's I/O threads
  std::vector<int> server_pids;         // summed: CPU and RSS of the server
  std::string label = "server";
  std::string json_path;
  bool check = false;                   // exit 3 on any error or when nothing completed
  bool quiet = false;
};

// Runs the load and prints a summary; returns the process exit code.
int run_media(const MediaOptions& options);

}  // namespace parley::bench
