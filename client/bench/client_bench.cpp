// parley-client-bench: the client engine's own costs, without a server.
//
//   cold-start  open an account whose store holds N messages and read its
//               conversation list (what an app renders first) and the newest
//               page of the top conversation
//   catch-up    parse and apply N event frames the way the engine does
//               during a catch-up (batches of 1000, one transaction each)
//   memory      RSS of the engine with 1 and with 5 accounts open, each with
//               a store of N messages, after each rendered its list
//
// Each figure is the median of --runs runs. Release build:
//   cmake --preset release && cmake --build --preset release --target parley-client-bench
//   build/release/client/parley-client-bench all
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "parley/parley.hpp"
#include "protocol/model.hpp"
#include "store/store.hpp"
#include "sync/apply.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

long rss_kib() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

std::string text_of(int i) {
  static const char* words[] = {"lunch", "meeting", "tomorrow", "photos", "train", "coffee", "report",
                                "weekend", "call", "later", "thanks", "great", "see", "you", "soon"};
  std::string text;
  for (int w = 0; w < 6 + i % 10; ++w) {
    if (!text.empty()) text += ' ';
    text += words[(i * 7 + w * 3) % 15];
  }
  return text;
}

json::object message_json(std::int64_t id, std::int64_t conversation, std::int64_t seq, std::int64_t sender) {
  return json::object{{"id", id},
                      {"conversation_id", conversation},
                      {"seq", seq},
                      {"position", id},
                      {"sender_id", sender},
                      {"client_id", "c" + std::to_string(id)},
                      {"text", text_of(static_cast<int>(id))},
                      {"reply_to", nullptr},
                      {"mentions", json::array()},
                      {"reactions", json::array()},
                      {"attachments", json::array()},
                      {"created_at", 1'700'000'000'000 + id * 1000},
                      {"edited_at", nullptr},
                      {"deleted", false},
                      {"sticker", nullptr}};
}

json::object created_json(std::int64_t conversation) {
  json::array members;
  for (std::int64_t user : {std::int64_t{1}, conversation + 1}) {
    members.push_back(json::object{
        {"user", json::object{{"id", user}, {"username", "user" + std::to_string(user)},
                              {"display_name", "User " + std::to_string(user)}, {"status_text", ""},
                              {"avatar_media_id", nullptr}}},
        {"role", "member"},
        {"joined_at", 1},
        {"read_seq", 0},
        {"delivered_seq", 0}});
  }
  return json::object{{"type", "conversation.created"},
                      {"conversation", json::object{{"id", conversation}, {"kind", "direct"}, {"name", ""},
                                                    {"topic", ""}, {"created_by", 1}, {"created_at", 1},
                                                    {"last_seq", 0}, {"avatar_media_id", nullptr},
                                                    {"members", std::move(members)}}}};
}

// The event frames of `messages` messages over `conversations` conversations,
// as text (what arrives on the socket), with an edit and a reaction every
// tenth message and a read mark every fiftieth.
std::vector<std::string> frames(int conversations, int messages, std::int64_t first_id) {
  std::vector<std::string> out;
  std::int64_t position = first_id;
  for (int c = 1; c <= conversations; ++c) {
    out.push_back(json::serialize(json::object{{"type", "event"}, {"position", position++}, {"event", created_json(c)}}));
  }
  std::vector<std::int64_t> seqs(static_cast<std::size_t>(conversations) + 1, 0);
  for (int i = 0; i < messages; ++i) {
    const std::int64_t conversation = 1 + i % conversations;
    const auto seq = ++seqs[static_cast<std::size_t>(conversation)];
    const auto id = first_id + i;
    const std::int64_t sender = i % 3 == 0 ? 1 : conversation + 1;
    json::object event{{"type", "message.new"}, {"conversation_id", conversation},
                       {"message", message_json(id, conversation, seq, sender)}};
    out.push_back(json::serialize(json::object{{"type", "event"}, {"position", position++}, {"event", std::move(event)}}));
    if (i % 10 == 9) {
      out.push_back(json::serialize(json::object{
          {"type", "event"}, {"position", position++},
          {"event", json::object{{"type", "reaction.added"}, {"conversation_id", conversation}, {"message_id", id},
                                 {"user_id", 1}, {"emoji", "👍"}}}}));
    }
    if (i % 50 == 49) {
      out.push_back(json::serialize(json::object{
          {"type", "event"}, {"position", position++},
          {"event", json::object{{"type", "receipt.read"}, {"conversation_id", conversation}, {"user_id", 1},
                                 {"seq", seq}}}}));
    }
  }
  return out;
}

// Applies frames as the engine's catch-up does: parse, batch of 1000, one
// transaction per batch with its last position.
void apply_frames(parley::store::Store& store, const std::vector<std::string>& texts) {
  std::vector<std::pair<std::int64_t, json::object>> batch;
  const auto flush = [&] {
    parley::sync::Applied applied;
    parley::store::Store::Write write(store);
    for (const auto& [position, event] : batch) parley::sync::apply_event(write, event, 1, applied);
    store.set_position(write, batch.back().first);
    write.commit();
    batch.clear();
  };
  for (const auto& text : texts) {
    auto frame = parley::protocol::as_object(parley::protocol::parse_json(text), "frame");
    batch.emplace_back(parley::protocol::get_int(frame, "position"), parley::protocol::get_object(frame, "event"));
    if (batch.size() == 1000) flush();
  }
  if (!batch.empty()) flush();
}

// A device store holding `messages` messages in `conversations` conversations,
// signed in as user 1 (no session token: the account stays offline).
void make_store(const fs::path& dir, int conversations, int messages) {
  fs::create_directories(dir);
  parley::store::Store store(dir / "store.db", std::nullopt);
  apply_frames(store, frames(conversations, messages, 1));
  parley::store::Store::Write write(store);
  store.set_meta(write, "user_id", "1");
  store.put_user(write, parley::User{1, "user1", "User 1", "", std::nullopt, false});
  write.commit();
}

fs::path temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "parley-client-bench-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
  return pattern;
}

void cold_start(int messages, int conversations, int runs) {
  const auto dir = temp_dir();
  make_store(dir / "account", conversations, messages);
  const auto size = fs::file_size(dir / "account" / "store.db");
  std::vector<double> open_ms, list_ms, page_ms, total_ms;
  for (int run = 0; run < runs; ++run) {
    parley::Runtime runtime;
    const auto start = Clock::now();
    auto opened = parley::Account::open(runtime, parley::options_for("http://127.0.0.1:9", dir / "account"));
    if (!opened) throw std::runtime_error(opened.error().message);
    open_ms.push_back(ms_since(start));
    auto list_start = Clock::now();
    const auto list = opened.value()->conversations();
    list_ms.push_back(ms_since(list_start));
    auto page_start = Clock::now();
    const auto page = opened.value()->history(list.front().id);
    page_ms.push_back(ms_since(page_start));
    total_ms.push_back(ms_since(start));
    if (list.size() != static_cast<std::size_t>(conversations) || page.messages.empty()) {
      throw std::runtime_error("unexpected store content");
    }
  }
  std::printf("cold-start: %d messages in %d conversations, store %.1f MiB, median of %d runs\n", messages,
              conversations, static_cast<double>(size) / (1 << 20), runs);
  std::printf("  open %.1f ms, conversation list %.1f ms, newest page %.1f ms, total %.1f ms\n", median(open_ms),
              median(list_ms), median(page_ms), median(total_ms));
  fs::remove_all(dir);
}

void catch_up(int events, int runs) {
  const int conversations = 50;
  const auto texts = frames(conversations, events, 1);
  std::size_t bytes = 0;
  for (const auto& t : texts) bytes += t.size();
  std::vector<double> total;
  for (int run = 0; run < runs; ++run) {
    const auto dir = temp_dir();
    {
      parley::store::Store store(dir / "store.db", std::nullopt);
      const auto start = Clock::now();
      apply_frames(store, texts);
      total.push_back(ms_since(start));
    }
    fs::remove_all(dir);
  }
  const auto m = median(total);
  std::printf("catch-up: %zu frames (%d messages, edits and receipts; %.1f MiB of JSON), median of %d runs\n",
              texts.size(), events, static_cast<double>(bytes) / (1 << 20), runs);
  std::printf("  %.0f ms, %.0f events/s\n", m, static_cast<double>(texts.size()) / (m / 1000));
}

void memory(int messages) {
  const auto dir = temp_dir();
  for (int i = 0; i < 5; ++i) make_store(dir / ("account" + std::to_string(i)), 100, messages);
  parley::Runtime runtime;
  const auto base = rss_kib();
  std::vector<std::unique_ptr<parley::Account>> accounts;
  long one = 0;
  for (int i = 0; i < 5; ++i) {
    auto opened =
        parley::Account::open(runtime, parley::options_for("http://127.0.0.1:9", dir / ("account" + std::to_string(i))));
    if (!opened) throw std::runtime_error(opened.error().message);
    const auto list = opened.value()->conversations();
    (void)opened.value()->history(list.front().id);
    accounts.push_back(std::move(opened.value()));
    if (i == 0) one = rss_kib() - base;
  }
  const long five = rss_kib() - base;
  std::printf("memory: accounts with %d stored messages each, RSS above the runtime's (%ld KiB)\n", messages, base);
  std::printf("  1 account %ld KiB, 5 accounts %ld KiB (%ld KiB per account)\n", one, five, five / 5);
  accounts.clear();
  fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  std::string what = argc > 1 ? argv[1] : "all";
  int runs = 5;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--runs") runs = std::stoi(argv[i + 1]);
  }
  try {
    if (what == "cold-start" || what == "all") cold_start(100'000, 500, runs);
    if (what == "catch-up" || what == "all") catch_up(10'000, runs);
    if (what == "memory" || what == "all") memory(20'000);
    if (what == "smoke") {  // small sizes: the tool works (run by ctest)
      cold_start(2000, 20, 1);
      catch_up(500, 1);
      memory(500);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "parley-client-bench: %s\n", error.what());
    return 1;
  }
  return 0;
}
