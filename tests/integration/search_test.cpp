// Full-text search, black box (docs/openapi.yaml "Search"; docs/security.md
// "Search"): who finds what (members, strangers, ex-members, deleted and
// edited messages), each operator, non-Latin scripts and folding, hostile
// FTS5 syntax (a 200 or a 422, never a 500), pagination and limits.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fstream>
#include <set>

#include "support/data_probe.hpp"
#include "support/http_client.hpp"
#include "support/media_client.hpp"
#include "support/pg_database.hpp"
#include "support/server_process.hpp"
#include "support/ws_client.hpp"

namespace parley::test {
namespace {

using boost::json::array;
using boost::json::object;
using Clock = std::chrono::steady_clock;

std::string str(const boost::json::value& value) { return std::string(value.as_string()); }
std::string dump(const boost::json::value& value) { return boost::json::serialize(value); }

boost::json::value media_id(const Reply& reply) {
  auto json = reply.json().as_object();
  return (json.contains("media") ? json.at("media").as_object() : json).at("id");
}

std::string encoded(const std::string& text) { return boost::urls::encode(text, boost::urls::unreserved_chars); }

struct World {
  explicit World(ServerOptions options = {}) : server(std::move(options)), client(server.port()) {
    alice = register_and_login(client, "alice");
    bob = register_and_login(client, "bob");
    carol = register_and_login(client, "carol");
    mallory = register_and_login(client, "mallory");
    make_contacts(client, alice, bob);
    make_contacts(client, alice, carol);
    make_contacts(client, bob, carol);
    group = create_group(client, alice, "team", {bob, carol});
    a = std::make_unique<WsClient>(server.port());
    a->hello(alice.token);
  }

  Reply search(const TestUser& user, const std::string& q, const std::string& extra = "") const {
    return client.get("/api/v1/search?q=" + encoded(q) + extra, user.token);
  }
  // The ids found by `user` for `q` (a test failure unless 200).
  std::set<std::int64_t> found(const TestUser& user, const std::string& q) const {
    auto reply = search(user, q, "&limit=100");
    EXPECT_EQ(reply.status, 200) << q << " -> " << reply.body;
    std::set<std::int64_t> ids;
    if (reply.status != 200) return ids;
    auto json = reply.json();
    for (const auto& hit : json.at("results").as_array()) ids.insert(hit.at("message").at("id").as_int64());
    return ids;
  }

  ServerProcess server;
  HttpClient client;
  TestUser alice, bob, carol, mallory;
  std::int64_t group = 0;
  std::unique_ptr<WsClient> a;
};

using Ids = std::set<std::int64_t>;

std::string group_path(const World& w) { return "/api/v1/conversations/" + std::to_string(w.group); }

// ---- who finds what ----------------------------------------------------------

TEST(SearchTest, MembersFindAMessageAndNobodyElseDoes) {
  World w;
  auto m = send_text_ok(*w.a, w.group, "the quarterly budget is ready");
  EXPECT_EQ(w.found(w.alice, "budget"), Ids{m});
  EXPECT_EQ(w.found(w.bob, "quarterly budget"), Ids{m});
  EXPECT_EQ(w.found(w.mallory, "budget"), Ids{});
  EXPECT_EQ(w.found(w.mallory, "has:image"), Ids{});
  auto reply = w.search(w.alice, "budget");
  ASSERT_EQ(reply.status, 200);
  auto json = reply.json();
  const auto& hit = json.at("results").at(0).as_object();
  EXPECT_EQ(str(hit.at("snippet")), "the quarterly budget is ready");
  EXPECT_EQ(dump(hit.at("highlights")), "[[14,20]]");
  EXPECT_EQ(w.search(w.alice, "budget", "").status, 200);
  EXPECT_EQ(w.client.get("/api/v1/search?q=budget").status, 401);
}

TEST(SearchTest, ARemovedMemberFindsNothingNewerAndNotLaterEditsWords) {
  World w;
  auto before = send_text_ok(*w.a, w.group, "apple pie recipe");
  auto edited_later = send_text_ok(*w.a, w.group, "banana bread");
  auto removed = w.client.del(group_path(w) + "/members/" + std::to_string(w.bob.id), w.alice.token);
  ASSERT_EQ(removed.status, 204) << removed.body;
  auto after = send_text_ok(*w.a, w.group, "apple crumble secret");
  expect_ok(*w.a, object{{"type", "edit"}, {"message_id", edited_later}, {"text", "banana cherry"}});

  EXPECT_EQ(w.found(w.bob, "apple"), Ids{before});
  EXPECT_EQ(w.found(w.bob, "crumble"), Ids{});
  EXPECT_EQ(w.found(w.bob, "cherry"), Ids{});  // the edit came after he left
  EXPECT_EQ(w.found(w.bob, "banana"), Ids{});  // edited after: left out (docs/security.md "Search")
  EXPECT_EQ(w.found(w.alice, "apple"), (Ids{before, after}));
  EXPECT_EQ(w.found(w.carol, "cherry"), Ids{edited_later});
}

TEST(SearchTest, ADeletedMessageIsGoneAtOnceAndAnEditIsFoundByItsNewTextOnly) {
  World w;
  auto doomed = send_text_ok(*w.a, w.group, "launch codes inside");
  auto changed = send_text_ok(*w.a, w.group, "meeting on tuesday");
  EXPECT_EQ(w.found(w.bob, "launch"), Ids{doomed});
  expect_ok(*w.a, object{{"type", "delete"}, {"message_id", doomed}});
  EXPECT_EQ(w.found(w.bob, "launch"), Ids{});
  EXPECT_EQ(w.found(w.bob, "codes"), Ids{});
  expect_ok(*w.a, object{{"type", "edit"}, {"message_id", changed}, {"text", "meeting on wednesday"}});
  EXPECT_EQ(w.found(w.bob, "tuesday"), Ids{});
  EXPECT_EQ(w.found(w.bob, "wednesday"), Ids{changed});
}

// The index's own files: SQLite 3.40's FTS5 'delete' only adds a delete
// marker, so without a purge the words stay in older segments (and in the
// WAL's page images) although no search finds them.

// The terms of the search index, through FTS5's vocabulary table, on a
// read-only connection to the running server's database.
std::set<std::string> index_terms(const std::filesystem::path& data_dir) {
  std::set<std::string> terms;
  sqlite3* db = nullptr;
  auto fail = [&](const std::string& what) {
    std::string message = what + ": " + sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error(message);
  };
  if (sqlite3_open_v2((data_dir / "data" / "parley.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    fail("open");
  if (sqlite3_exec(db, "CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, 'message_search', 'row')", nullptr,
                   nullptr, nullptr) != SQLITE_OK) {
    fail("fts5vocab");
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT term FROM temp.terms", -1, &stmt, nullptr) != SQLITE_OK) fail("prepare");
  while (sqlite3_step(stmt) == SQLITE_ROW) terms.insert(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return terms;
}

// Which of the data folder's files hold `needle` as raw bytes.
std::vector<std::string> files_holding(const std::filesystem::path& data_dir, const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(data_dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream file(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) found.push_back(entry.path().filename().string());
  }
  return found;
}

TEST(SearchTest, DeletedAndEditedWordsLeaveTheIndexFiles) {
  if (postgres_backend_selected()) GTEST_SKIP() << "SQLite by nature: FTS5 segments and their purge (PostgreSQL's GIN index drops a row's words with it)";
  ServerOptions options;
  options.extra_config =
      "[storage]\nsearch_purge_interval_seconds = 0\n"
      "[websocket]\nframes_per_second = 10000\nframe_burst = 10000\nuser_frames_per_second = 10000\n"
      "user_frame_burst = 10000\n";
  World w(std::move(options));
  // Each message is its own commit, so the index has many segments on
  // several levels. No word of them starts with x or z: FTS5 stores a term
  // as a suffix of the term before it, and the probes look for whole words.
  const std::vector<std::string> words = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
                                          "hotel", "india", "juliet",  "kilo",  "lima", "mike"};
  for (std::size_t i = 0; i < 300; ++i) {
    send_text_ok(*w.a, w.group,
            words[i % words.size()] + " " + words[(i * 7 + 3) % words.size()] + " " +
                words[(i * 5 + 1) % words.size()] + " number" + std::to_string(i));
  }
  auto doomed = send_text_ok(*w.a, w.group, "the xylographia plan");
  auto edited = send_text_ok(*w.a, w.group, "the zygomorphic draft");
  for (std::size_t i = 0; i < 50; ++i) send_text_ok(*w.a, w.group, "golf hotel later" + std::to_string(i));
  // The probes can see the words while they are indexed.
  ASSERT_TRUE(index_terms(w.server.data_dir()).contains("xylographia"));
  ASSERT_FALSE(files_holding(w.server.data_dir(), "xylographia").empty());

  expect_ok(*w.a, object{{"type", "edit"}, {"message_id", edited}, {"text", "the kilo draft"}});
  ASSERT_TRUE(w.server.wait_for_log("wal checkpoint after search index purge truncated=true", 1)) << w.server.log();
  expect_ok(*w.a, object{{"type", "delete"}, {"message_id", doomed}});
  // The second purge waits 99 times as long as the first took (the 1% bound).
  ASSERT_TRUE(w.server.wait_for_log("wal checkpoint after search index purge truncated=true", 2, 60s))
      << w.server.log();

  EXPECT_EQ(w.found(w.bob, "xylographia"), Ids{});
  EXPECT_EQ(w.found(w.bob, "zygomorphic"), Ids{});
  EXPECT_EQ(w.found(w.bob, "kilo draft"), Ids{edited});
  auto terms = index_terms(w.server.data_dir());
  EXPECT_FALSE(terms.contains("xylographia"));
  EXPECT_FALSE(terms.contains("zygomorphic"));
  EXPECT_TRUE(terms.contains("foxtrot"));
  // While the server runs: neither the database nor its WAL holds them.
  EXPECT_EQ(files_holding(w.server.data_dir(), "xylographia"), std::vector<std::string>{});
  EXPECT_EQ(files_holding(w.server.data_dir(), "zygomorphic"), std::vector<std::string>{});
  EXPECT_FALSE(files_holding(w.server.data_dir(), "foxtrot").empty());

  w.a.reset();
  ASSERT_EQ(w.server.terminate(), 0);
  EXPECT_EQ(find_in_data(w.server.data_dir(), "xylographia"), std::vector<std::string>{});
  EXPECT_EQ(find_in_data(w.server.data_dir(), "zygomorphic"), std::vector<std::string>{});
  EXPECT_FALSE(find_in_data(w.server.data_dir(), "foxtrot").empty());
}

TEST(SearchTest, ACleanStopPurgesTheWordsAPurgeWasOwed) {
  if (postgres_backend_selected()) GTEST_SKIP() << "SQLite by nature: FTS5 segments and their purge (PostgreSQL's GIN index drops a row's words with it)";
  // An hour between purges: the first deletion's purge runs at once, the
  // second one's is owed when the server stops.
  ServerOptions options;
  options.extra_config =
      "[storage]\nsearch_purge_interval_seconds = 3600\n"
      "[websocket]\nframes_per_second = 10000\nframe_burst = 10000\nuser_frames_per_second = 10000\n"
      "user_frame_burst = 10000\n";
  World w(std::move(options));
  for (int i = 0; i < 100; ++i) send_text_ok(*w.a, w.group, "alpha bravo charlie " + std::to_string(i));
  auto first = send_text_ok(*w.a, w.group, "the quaggamire plan");
  auto second = send_text_ok(*w.a, w.group, "the xenophora plan");
  for (int i = 0; i < 20; ++i) send_text_ok(*w.a, w.group, "delta echo " + std::to_string(i));
  expect_ok(*w.a, object{{"type", "delete"}, {"message_id", first}});
  ASSERT_TRUE(w.server.wait_for_log("search index purged", 1)) << w.server.log();
  expect_ok(*w.a, object{{"type", "delete"}, {"message_id", second}});
  EXPECT_EQ(w.found(w.bob, "xenophora"), Ids{});
  EXPECT_EQ(w.server.log_count("search index purged"), 1U);
  w.a.reset();
  ASSERT_EQ(w.server.terminate(), 0);
  EXPECT_EQ(w.server.log_count("search index purged"), 2U) << w.server.log();
  EXPECT_EQ(find_in_data(w.server.data_dir(), "quaggamire"), std::vector<std::string>{});
  EXPECT_EQ(find_in_data(w.server.data_dir(), "xenophora"), std::vector<std::string>{});
  EXPECT_FALSE(find_in_data(w.server.data_dir(), "bravo").empty());
}

// ---- operators -------------------------------------------------------------------

TEST(SearchTest, EachOperator) {
  World w;
  WsClient b(w.server.port());
  b.hello(w.bob.token);
  auto from_alice = send_text_ok(*w.a, w.group, "status report one");
  auto from_bob = send_text_ok(b, w.group, "status report two @alice");
  auto direct = direct_conversation(w.client, w.alice, w.bob);
  auto in_direct = send_text_ok(*w.a, direct, "status report three");
  auto file = w.client.request("POST", "/api/v1/media?name=notes.txt", "plain notes", w.alice.token,
                               "application/octet-stream");
  ASSERT_EQ(file.status, 201) << file.body;
  auto image = w.client.request("POST", "/api/v1/media?name=face.png", kTinyPng, w.alice.token, "application/octet-stream");
  ASSERT_EQ(image.status, 201) << image.body;
  auto with_file = send_text_ok(*w.a, w.group, "status with file", array{media_id(file)});
  auto with_image = send_text_ok(*w.a, w.group, "status with image", array{media_id(image)});

  EXPECT_EQ(w.found(w.alice, "status from:bob"), Ids{from_bob});
  EXPECT_EQ(w.found(w.alice, "from:@bob"), Ids{from_bob});
  EXPECT_EQ(w.found(w.alice, "status from:nobody"), Ids{});
  EXPECT_EQ(w.found(w.alice, "status in:" + std::to_string(direct)), Ids{in_direct});
  EXPECT_EQ(w.found(w.alice, "report in:team"), (Ids{from_alice, from_bob}));
  EXPECT_EQ(w.found(w.alice, "status has:file"), (Ids{with_file, with_image}));
  EXPECT_EQ(w.found(w.alice, "has:image"), Ids{with_image});
  EXPECT_EQ(w.found(w.alice, "mentions:me"), Ids{from_bob});
  EXPECT_EQ(w.found(w.bob, "mentions:me"), Ids{});
  EXPECT_EQ(w.found(w.alice, "status after:2000-01-01 before:9999-01-01").size(), 5U);
  EXPECT_EQ(w.found(w.alice, "status before:2000-01-01"), Ids{});
  EXPECT_EQ(w.found(w.alice, "status after:9998-01-01"), Ids{});
  EXPECT_EQ(w.found(w.mallory, "status in:" + std::to_string(direct)), Ids{});
}

TEST(SearchTest, PrefixesAndPhrases) {
  World w;
  auto m1 = send_text_ok(*w.a, w.group, "deployment finished without errors");
  auto m2 = send_text_ok(*w.a, w.group, "errors without deployment");
  EXPECT_EQ(w.found(w.alice, "deploy*"), (Ids{m1, m2}));
  EXPECT_EQ(w.found(w.alice, "deploy"), Ids{});
  EXPECT_EQ(w.found(w.alice, "\"without errors\""), Ids{m1});
  EXPECT_EQ(w.found(w.alice, "\"errors without\""), Ids{m2});
}

TEST(SearchTest, NonLatinScriptsAndFolding) {
  World w;
  auto cyrillic = send_text_ok(*w.a, w.group, "Привет, мир! Встреча завтра");
  auto greek = send_text_ok(*w.a, w.group, "Καλημέρα κόσμε");
  auto cjk = send_text_ok(*w.a, w.group, "東京都に行きます");
  auto french = send_text_ok(*w.a, w.group, "Crème brûlée à la française");
  EXPECT_EQ(w.found(w.alice, "привет"), Ids{cyrillic});
  EXPECT_EQ(w.found(w.alice, "ВСТРЕЧ*"), Ids{cyrillic});
  EXPECT_EQ(w.found(w.alice, "καλημερα"), Ids{greek});  // accent and case folded
  EXPECT_EQ(w.found(w.alice, "ΚΑΛΗΜΈΡΑ"), Ids{greek});
  EXPECT_EQ(w.found(w.alice, "東京*"), Ids{cjk});
  EXPECT_EQ(w.found(w.alice, "creme brulee"), Ids{french});
  EXPECT_EQ(w.found(w.alice, "FRANÇAISE"), Ids{french});
}

// ---- hostile input -----------------------------------------------------------------

TEST(SearchTest, FtsSyntaxIsSearchedLiterallyOrRefusedNeverA500) {
  World w;
  auto near = send_text_ok(*w.a, w.group, "meet near water by the body, a or b");
  const std::vector<std::string> hostile = {"\"",
                                            "\"\"\"",
                                            "\"unbalanced",
                                            "NEAR(",
                                            "NEAR(a b, 2)",
                                            "near(near",
                                            "body:water",
                                            "rowid:1",
                                            "{body}: x",
                                            "^",
                                            "^water",
                                            "*",
                                            "**",
                                            "a*b*",
                                            "AND",
                                            "OR",
                                            "NOT",
                                            "water AND",
                                            "NOT water",
                                            "a OR",
                                            "(",
                                            ")",
                                            "((water",
                                            "-water",
                                            "+",
                                            "col:*",
                                            "message_search:water",
                                            "\\",
                                            "'",
                                            "';--",
                                            "\x7f",
                                            "%00",
                                            "water\"*",
                                            "\"*\"",
                                            "NEAR/3",
                                            "water NEAR/2 body",
                                            "* water",
                                            "from:",
                                            "in:",
                                            "has:",
                                            "before:",
                                            "after:x",
                                            "mentions:",
                                            "ünïcödé*",
                                            "🎉",
                                            "🎉*",
                                            "body:\"water\""};
  for (const auto& q : hostile) {
    auto reply = w.search(w.alice, q);
    EXPECT_TRUE(reply.status == 200 || (reply.status == 422 && reply.error_code() == "validation_failed"))
        << q << " -> " << reply.status << " " << reply.body;
  }
  EXPECT_EQ(w.found(w.alice, "NEAR(water"), Ids{near});
  EXPECT_EQ(w.found(w.alice, "body:water"), Ids{});  // one literal term "body:water": no such phrase
  EXPECT_EQ(w.found(w.alice, "a OR b"), Ids{near});  // the words, all of them
  EXPECT_EQ(w.search(w.alice, "*").error_code(), "validation_failed");
  EXPECT_EQ(w.search(w.alice, "NEAR(").status, 200);
}

// ---- pages and limits ---------------------------------------------------------------

TEST(SearchTest, CursorPagesAreStableAndComplete) {
  World w;
  Ids sent;
  for (int i = 0; i < 7; ++i) sent.insert(send_text_ok(*w.a, w.group, "page item " + std::to_string(i)));
  Ids seen;
  std::string cursor;
  int pages = 0;
  for (;;) {
    auto reply = w.search(w.alice, "item", "&limit=3" + (cursor.empty() ? "" : "&cursor=" + encoded(cursor)));
    ASSERT_EQ(reply.status, 200) << reply.body;
    auto json = reply.json().as_object();
    for (const auto& hit : json.at("results").as_array()) {
      EXPECT_TRUE(seen.insert(hit.at("message").at("id").as_int64()).second) << "seen twice";
    }
    ++pages;
    // A message sent meanwhile does not shift the pages.
    if (pages == 1) send_text_ok(*w.a, w.group, "late item");
    if (json.at("next_cursor").is_null()) break;
    cursor = str(json.at("next_cursor"));
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, sent);
  // Equal relevance: newest first.
  auto first = w.search(w.alice, "page", "&limit=1").json().at("results").at(0).at("message").at("id").as_int64();
  EXPECT_EQ(first, *sent.rbegin());
}

TEST(SearchTest, LimitsAreEnforced) {
  World w;
  EXPECT_EQ(w.search(w.alice, "x", "&limit=0").status, 422);
  EXPECT_EQ(w.search(w.alice, "x", "&limit=101").status, 422);
  EXPECT_EQ(w.search(w.alice, "x", "&limit=100").status, 200);
  EXPECT_EQ(w.search(w.alice, std::string(257, 'a')).status, 422);
  EXPECT_EQ(w.search(w.alice, "a b c d e f g h i j k l m n o p q").status, 422);
  EXPECT_EQ(w.search(w.alice, "x", "&cursor=garbage").status, 422);
  EXPECT_EQ(w.search(w.alice, "x", "&cursor=5.100000").status, 422);
  EXPECT_EQ(w.client.get("/api/v1/search", w.alice.token).status, 422);
}

}  // namespace
}  // namespace parley::test
