// PgStore against a real PostgreSQL (the CTest fixture `postgres`): group
// commit, event order across several stores on one database (as several
// nodes), membership checks against a change made by another node, a lost
// connection, and a batch's sends answered from the batch's reads (with a
// membership change among them, a held row that fails, a client_id twice).
#include "storage/postgres/pg_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "core/error.hpp"
#include "messaging/messages.hpp"
#include "storage/migration.hpp"
#include "storage/postgres/database.hpp"
#include "support/batch_order.hpp"
#include "support/error_code_of.hpp"
#include "support/pg_database.hpp"

namespace parley::storage::postgres {
namespace {

using test::error_code_of;
using test::PgTestDatabase;

// Records what a store publishes.
class RecordingSink final : public EventSink {
 public:
  void publish(std::vector<Event> events) override {
    std::lock_guard lock(mutex_);
    for (auto& event : events) positions_.push_back(event.pos);
  }
  std::vector<Position> positions() {
    std::lock_guard lock(mutex_);
    return positions_;
  }

 private:
  std::mutex mutex_;
  std::vector<Position> positions_;
};

Event conversation_event(ConversationId conversation, Position pos) {
  Event event;
  event.pos = pos;
  event.conversation_id = conversation;
  event.payload = std::make_shared<const std::string>(R"({"type":"test"})");
  return event;
}

struct World {
  UserId alice = 0;
  UserId bob = 0;
  ConversationId group = 0;
};

World make_world(Store& store) {
  return store.write_blocking([](Transaction& tx) {
    World w;
    w.alice = tx.insert_user({"alice", "x", "Alice", 1})->id;
    w.bob = tx.insert_user({"bob", "x", "Bob", 1})->id;
    w.group = tx.insert_conversation(ConversationKind::kGroup, "g", "", std::nullopt, w.alice, 1).id;
    Position pos = tx.next_position();
    tx.insert_member({w.group, w.alice, Role::kOwner, 1, pos, 0, 0});
    tx.insert_member({w.group, w.bob, Role::kMember, 1, pos, 0, 0});
    tx.emit(conversation_event(w.group, pos), Transaction::Keep::kStore);
    return w;
  });
}

NewMessage text_message(ConversationId conversation, UserId sender, std::string client_id) {
  NewMessage m;
  m.conversation_id = conversation;
  m.sender_id = sender;
  m.client_id = std::move(client_id);
  m.body = "hello";
  m.created_at = 2;
  return m;
}

TEST(PgStore, SchemaIsMigratedAndAWriteIsReadBack) {
  PgTestDatabase db;
  PgStore store({db.conninfo(), 4});
  EXPECT_EQ(store.schema_version(), static_cast<int>(postgres_migrations().size()));
  EXPECT_TRUE(store.ping());
  auto w = make_world(store);
  auto sent = store.write_blocking([&](Transaction& tx) {
    Position pos = tx.next_position();
    return tx.insert_message(text_message(w.group, w.alice, "c1"), pos);
  });
  EXPECT_EQ(sent.seq, 1);
  auto read = store.read([&](Transaction& tx) { return tx.message_by_client_id(w.alice, "c1"); });
  ASSERT_TRUE(read);
  EXPECT_EQ(read->body, "hello");
  EXPECT_EQ(read->pos, sent.pos);
  EXPECT_EQ(store.read([](Transaction& tx) { return tx.current_position(); }), sent.pos);
}

TEST(PgStore, NewerSchemaRefusesToStart) {
  PgTestDatabase db;
  { PgStore store({db.conninfo(), 1}); }
  db.query("UPDATE parley_schema SET version = version + 1");
  try {
    PgStore store({db.conninfo(), 1});
    FAIL() << "started on a newer schema";
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this parleyd knows"), std::string::npos) << e.what();
  }
}

TEST(PgStore, UnreachableServerIsAClearError) {
  try {
    PgStore store({"host=127.0.0.1 port=1 connect_timeout=2 user=parley dbname=parley", 1});
    FAIL() << "connected to nothing";
  } catch (const ConnectionLost& e) {
    EXPECT_NE(std::string(e.what()).find("cannot connect to PostgreSQL"), std::string::npos) << e.what();
  }
}

// A write that throws is undone alone, with its positions: the batch's
// others commit, and positions stay gapless.
TEST(PgStore, FailedWriteLeavesNoGap) {
  PgTestDatabase db;
  PgStore store({db.conninfo(), 2});
  auto w = make_world(store);
  Position before = store.read([](Transaction& tx) { return tx.current_position(); });
  EXPECT_THROW(store.write_blocking([&](Transaction& tx) {
    Position pos = tx.next_position();
    tx.emit(conversation_event(w.group, pos), Transaction::Keep::kStore);
    throw std::runtime_error("refused");
  }),
               std::runtime_error);
  // A statement that fails (a duplicate client id) is undone the same way.
  store.write_blocking([&](Transaction& tx) { tx.insert_message(text_message(w.group, w.bob, "dup"), tx.next_position()); });
  EXPECT_THROW(store.write_blocking([&](Transaction& tx) {
    tx.insert_message(text_message(w.group, w.bob, "dup"), tx.next_position());
  }),
               ConstraintError);
  Position after = store.write_blocking([&](Transaction& tx) {
    Position pos = tx.next_position();
    tx.emit(conversation_event(w.group, pos), Transaction::Keep::kStore);
    return pos;
  });
  EXPECT_EQ(after, before + 2);
  auto seqs = store.read([&](Transaction& tx) { return tx.messages_after(w.group, 0, 10); });
  ASSERT_EQ(seqs.size(), 1u);
  EXPECT_EQ(seqs[0].seq, 1);
}

// An idempotent send stores a client_id once, takes no seq the second time,
// and a retry on another node finds the first.
TEST(PgStore, InsertIfNewStoresAClientIdOnce) {
  PgTestDatabase db;
  PgStore node_a({db.conninfo(), 2});
  PgStore node_b({db.conninfo(), 2});
  auto w = make_world(node_a);
  auto first = node_a.write_blocking([&](Transaction& tx) {
    return tx.insert_message_if_new(text_message(w.group, w.alice, "once"), tx.next_position());
  });
  ASSERT_TRUE(first);
  EXPECT_EQ(first->seq, 1);
  auto again = node_b.write_blocking([&](Transaction& tx) {
    return tx.insert_message_if_new(text_message(w.group, w.alice, "once"), tx.next_position());
  });
  EXPECT_FALSE(again);
  auto next = node_b.write_blocking([&](Transaction& tx) {
    return tx.insert_message_if_new(text_message(w.group, w.alice, "twice"), tx.next_position());
  });
  ASSERT_TRUE(next);
  EXPECT_EQ(next->seq, 2);
  EXPECT_EQ(db.query("SELECT count(*) FROM messages WHERE client_id = 'once'"), "1");
  // A conversation that does not exist is still an error, not a duplicate.
  EXPECT_THROW(node_a.write_blocking([&](Transaction& tx) {
    return tx.insert_message_if_new(text_message(w.group + 100, w.alice, "nowhere"), tx.next_position());
  }),
               StorageError);
}

// Three stores on one database, as three nodes, writing into one
// conversation at once, while a fourth reads. Every read sees positions
// 1..current without a hole (a later position never before an earlier
// one), every store publishes its positions in increasing order, and
// together the positions and the message seqs are gapless.
// With `sends`, the writes are sends (submit_send, insert_message_if_new),
// answered from their batch's reads and written with its commit.
void check_gapless_across_nodes(bool sends) {
  PgTestDatabase db;
  constexpr int kNodes = 3;
  constexpr int kWritesPerNode = 150;
  std::vector<std::unique_ptr<PgStore>> nodes;
  std::vector<std::unique_ptr<RecordingSink>> sinks;
  World w;
  for (int i = 0; i < kNodes; ++i) {
    nodes.push_back(std::make_unique<PgStore>(PgOptions{db.conninfo(), 2}));
    sinks.push_back(std::make_unique<RecordingSink>());
    nodes.back()->set_event_sink(sinks.back().get());
  }
  // Position 1: the conversation's creation (bob joined at it, so his
  // stream starts after it), published on node 0. The sinks are in place
  // before it: a sink set just after would see it or not, depending on
  // whether the writer had published it yet.
  w = make_world(*nodes[0]);
  PgStore reader({db.conninfo(), 2});

  std::atomic<bool> writing{true};
  std::atomic<int> reads{0};
  std::atomic<int> holes{0};
  std::thread watcher([&] {
    while (writing) {
      auto items = reader.read([&](Transaction& tx) { return tx.stream_since(w.bob, 0, 100000); });
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].pos != static_cast<Position>(i + 2)) ++holes;
      }
      ++reads;
    }
  });

  std::vector<std::thread> writers;
  for (int n = 0; n < kNodes; ++n) {
    writers.emplace_back([&, n] {
      // Pipelined, as sessions submit them: many per batch.
      std::vector<std::promise<void>> done(kWritesPerNode);
      for (int i = 0; i < kWritesPerNode; ++i) {
        UserId sender = i % 2 ? w.alice : w.bob;
        std::string client_id = fmt::format("n{}-{}", n, i);
        auto body = [&, sender, client_id](Transaction& tx) {
          Position pos = tx.next_position();
          NewMessage m = text_message(w.group, sender, client_id);
          Message stored = sends ? *tx.insert_message_if_new(m, pos) : tx.insert_message(m, pos);
          Event event = conversation_event(w.group, pos);
          event.message = stored;
          tx.emit(std::move(event), Transaction::Keep::kMessagesTable);
        };
        auto completed = [&done, i](std::exception_ptr error) {
          if (error) {
            done[i].set_exception(error);
          } else {
            done[i].set_value();
          }
        };
        if (sends) {
          nodes[n]->submit_send(body, completed, {w.group, sender, client_id});
        } else {
          nodes[n]->submit_write(body, completed);
        }
      }
      for (auto& d : done) d.get_future().get();
    });
  }
  for (auto& t : writers) t.join();
  writing = false;
  watcher.join();
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(holes.load(), 0);

  constexpr int kTotal = kNodes * kWritesPerNode;
  std::set<Position> all;
  for (auto& sink : sinks) {
    auto positions = sink->positions();
    EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));
    all.insert(positions.begin(), positions.end());
  }
  // The creation, then the messages without a gap.
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kTotal + 1));
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kTotal + 1);
  auto messages = reader.read([&](Transaction& tx) { return tx.messages_after(w.group, 0, kTotal + 10); });
  ASSERT_EQ(messages.size(), static_cast<std::size_t>(kTotal));
  for (std::size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(messages[i].seq, static_cast<Seq>(i + 1));
    // Seqs follow positions: a later message never has an earlier position.
    if (i > 0) {
      EXPECT_GT(messages[i].pos, messages[i - 1].pos);
    }
  }
  auto items = reader.read([&](Transaction& tx) { return tx.stream_since(w.bob, 0, 100000); });
  EXPECT_EQ(items.size(), static_cast<std::size_t>(kTotal));
  if (sends) {
    std::uint64_t answered = 0;
    for (auto& node : nodes) answered += node->writer_stats().sends_answered;
    EXPECT_EQ(answered, static_cast<std::uint64_t>(kTotal));
  }
}

TEST(PgStore, PositionsAreGaplessAndVisibleInOrderAcrossNodes) { check_gapless_across_nodes(false); }

TEST(PgStore, SendsAnsweredByTheirBatchAreGaplessAndVisibleInOrderAcrossNodes) { check_gapless_across_nodes(true); }

// Waits until one connection to `db` waits for a lock (a batch of another
// store queued behind the stream lock), or `done` is ready. Returns true
// for the first: there is no event to wait for across processes, so the
// server's own view (pg_stat_activity) is polled, with a deadline.
bool lock_waiter_or_done(const PgTestDatabase& db, const std::future<void>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready) return false;
    if (db.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock'") != "0") {
      return true;
    }
    done.wait_for(std::chrono::milliseconds(2));
  }
  ADD_FAILURE() << "no lock wait and no completion within 20 s";
  return false;
}

// A removal on one node against a send on another, each started while the
// other's batch is open (so the two always overlap, in both orders): the
// membership check of a send must see exactly the removals committed before
// its batch, and the message's position must fall inside the membership.
// A batch that checked first and took its position later (the stream lock
// taken late, or a check outside the write) fails here: the other node's
// write would commit inside the open batch.
TEST(PgStore, RemovalOnOneNodeStopsSendsOnAnother) {
  PgTestDatabase db;
  PgStore node_a({db.conninfo(), 2});
  PgStore node_b({db.conninfo(), 2});
  auto w = make_world(node_a);
  auto send = [&](PgStore& node, const std::string& client_id) {
    return node.write_blocking([&](Transaction& tx) {
      // The rule, as messaging::send applies it.
      if (!tx.member(w.group, w.bob)) return false;
      tx.insert_message(text_message(w.group, w.bob, client_id), tx.next_position());
      return true;
    });
  };
  auto remove = [&](PgStore& node) {
    node.write_blocking([&](Transaction& tx) {
      Position pos = tx.next_position();
      tx.emit(conversation_event(w.group, pos), Transaction::Keep::kStore);
      tx.delete_member(w.group, w.bob);
    });
  };
  auto rejoin = [&] {
    node_a.write_blocking([&](Transaction& tx) {
      Position pos = tx.next_position();
      tx.insert_member({w.group, w.bob, Role::kMember, 3, pos, 0, 0});
      tx.emit(conversation_event(w.group, pos), Transaction::Keep::kStore);
    });
  };

  // 1. The send's batch is open (bob checked as a member) when node A's
  // removal starts: the removal waits for the send, so the message
  // belongs to the membership.
  std::future<void> removal;
  bool removal_waited = false;
  bool sent = node_b.write_blocking([&](Transaction& tx) {
    if (!tx.member(w.group, w.bob)) return false;
    removal = std::async(std::launch::async, [&] { remove(node_a); });
    removal_waited = lock_waiter_or_done(db, removal);
    tx.insert_message(text_message(w.group, w.bob, "during-send"), tx.next_position());
    return true;
  });
  removal.get();
  EXPECT_TRUE(sent);
  EXPECT_TRUE(removal_waited) << "node A's removal committed inside node B's open batch";

  // 2. The removal's batch is open when node B's send starts: the send
  // waits, then sees bob gone and is refused.
  rejoin();
  std::future<bool> late_send;
  std::future<void> late_send_done;
  bool send_waited = false;
  node_a.write_blocking([&](Transaction& tx) {
    Position pos = tx.next_position();
    tx.emit(conversation_event(w.group, pos), Transaction::Keep::kStore);
    std::promise<void> finished;
    late_send_done = finished.get_future();
    late_send = std::async(std::launch::async, [&, finished = std::move(finished)]() mutable {
      bool ok = send(node_b, "during-removal");
      finished.set_value();
      return ok;
    });
    send_waited = lock_waiter_or_done(db, late_send_done);
    tx.delete_member(w.group, w.bob);
  });
  EXPECT_FALSE(late_send.get()) << "a send on node B was accepted after bob's removal on node A";
  EXPECT_TRUE(send_waited) << "node B's send committed inside node A's open removal";

  // 3. Free-running races, many rounds: whatever the order, every accepted
  // message lies inside one of bob's memberships.
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    rejoin();
    std::promise<void> go;
    auto start = go.get_future().share();
    auto racing_removal = std::async(std::launch::async, [&] {
      start.wait();
      remove(node_a);
    });
    auto sends = std::async(std::launch::async, [&] {
      start.wait();
      for (int i = 0; i < 5; ++i) send(node_b, fmt::format("r{}-{}", round, i));
    });
    go.set_value();
    racing_removal.get();
    sends.get();
  }
  auto bad = db.query(
      "SELECT count(*) FROM messages g WHERE g.sender_id = " + std::to_string(w.bob) +
      " AND NOT EXISTS (SELECT 1 FROM past_memberships p WHERE p.user_id = g.sender_id "
      "AND p.conversation_id = g.conversation_id AND p.joined_pos < g.pos AND p.left_pos >= g.pos)");
  EXPECT_EQ(bad, "0");
  EXPECT_EQ(db.query("SELECT count(*) FROM messages WHERE client_id = 'during-send'"), "1");
  EXPECT_EQ(db.query("SELECT count(*) FROM messages WHERE client_id = 'during-removal'"), "0");
}

// PostgreSQL ends the writer's connection (as a restart would): the writes
// of that batch fail, none is acknowledged, and the next write reconnects.
TEST(PgStore, LostConnectionFailsTheBatchAndReconnects) {
  PgTestDatabase db;
  PgStore store({db.conninfo(), 2});
  auto w = make_world(store);
  // Every connection to the database but the one asking (this ends the
  // store's writer and its idle readers).
  test::PgTestDatabase::admin_query(
      "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = '" + db.name() +
      "' AND pid <> pg_backend_pid()");
  EXPECT_THROW(store.write_blocking([&](Transaction& tx) {
    tx.insert_message(text_message(w.group, w.alice, "lost"), tx.next_position());
  }),
               StorageError);
  EXPECT_EQ(db.query("SELECT count(*) FROM messages"), "0");
  auto sent = store.write_blocking([&](Transaction& tx) {
    return tx.insert_message(text_message(w.group, w.alice, "lost"), tx.next_position());
  });
  EXPECT_EQ(sent.seq, 1);
  // Readers broken the same way are replaced: a read may fail once.
  bool read_ok = false;
  for (int i = 0; i < 3 && !read_ok; ++i) {
    try {
      read_ok = store.read([&](Transaction& tx) { return tx.message_by_id(sent.id).has_value(); });
    } catch (const StorageError&) {
    }
  }
  EXPECT_TRUE(read_ok);
}

// A statement is prepared on the server once per connection and set of
// parameter types, and gives the same answers prepared as it did unprepared.
TEST(PgStore, StatementsArePreparedOncePerConnection) {
  PgTestDatabase db;
  Connection connection(db.conninfo());
  auto count_prepared = [&] {
    Statement& query =
        connection.prepare("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT COALESCE(%'");
    query.step();
    auto n = query.int64(0);
    connection.release_statements();
    return n;
  };
  for (std::int64_t value : {5, 6, 7}) {
    Statement& query = connection.prepare("SELECT COALESCE(?1, 0) + 1");
    query.bind(1, value);
    ASSERT_TRUE(query.step());
    EXPECT_EQ(query.int64(0), value + 1);
    connection.release_statements();
  }
  EXPECT_EQ(count_prepared(), 1);
  // Another parameter type: another prepared statement, the right answer.
  Statement& null_query = connection.prepare("SELECT COALESCE(?1, 0) + 1");
  null_query.bind_null(1);
  ASSERT_TRUE(null_query.step());
  EXPECT_EQ(null_query.int64(0), 1);
  connection.release_statements();
  EXPECT_EQ(count_prepared(), 2);
}

// A batch's events reach EventSink::committed before any of its writes is
// answered (Presence's generation is bumped there).
TEST(PgStore, EventsAreCommittedBeforeAnyWriteOfTheBatchIsAnswered) {
  PgTestDatabase db;
  PgStore store({db.conninfo(), 2});
  EXPECT_EQ(test::batch_order(store), test::committed_before_answers());
}

// Writes that fail inside one batch are undone alone, however they follow
// each other (one savepoint is reused across writes), and take no positions.
TEST(PgStore, FailedWritesInOneBatchAreUndoneAlone) {
  PgTestDatabase db;
  PgStore store({db.conninfo(), 2});
  RecordingSink sink;
  store.set_event_sink(&sink);
  auto w = make_world(store);
  Position before = store.read([](Transaction& tx) { return tx.current_position(); });

  // The writer is held by a first write, so that the next ones queue and
  // run as one batch.
  std::promise<void> release;
  std::promise<void> holding;
  std::vector<std::promise<std::exception_ptr>> results(9);
  auto done = [&](std::size_t i) { return [&results, i](std::exception_ptr e) { results[i].set_value(e); }; };
  store.submit_write(
      [&, future = release.get_future().share()](Transaction&) {
        holding.set_value();
        future.wait();
      },
      done(0));
  holding.get_future().wait();
  auto send = [&](std::string client_id) {
    return [&w, client_id](Transaction& tx) {
      Position pos = tx.next_position();
      tx.insert_message(text_message(w.group, w.alice, client_id), pos);
      tx.emit(conversation_event(w.group, pos), Transaction::Keep::kMessagesTable);
    };
  };
  auto send_then_throw = [&](std::string client_id) {
    return [send = send(client_id)](Transaction& tx) {
      send(tx);
      throw std::runtime_error("refused");
    };
  };
  store.submit_write(send("a"), done(1));
  store.submit_write(send_then_throw("x"), done(2));
  store.submit_write(send("a"), done(3));  // a duplicate client id: the statement fails
  store.submit_write(send("b"), done(4));
  // Writes that send no statement: nothing to undo, and the savepoint
  // (deferred, not yet sent) still protects "b" from "y".
  store.submit_write([](Transaction&) { throw std::runtime_error("refused before any statement"); }, done(5));
  store.submit_write([](Transaction&) {}, done(6));
  store.submit_write(send_then_throw("y"), done(7));
  store.submit_write(send("c"), done(8));
  release.set_value();
  std::vector<bool> failed;
  for (auto& result : results) failed.push_back(result.get_future().get() != nullptr);
  EXPECT_EQ(failed, (std::vector<bool>{false, false, true, true, false, true, false, true, false}));

  auto messages = store.read([&](Transaction& tx) { return tx.messages_after(w.group, 0, 10); });
  ASSERT_EQ(messages.size(), 3u);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(messages[i].client_id, std::string(1, static_cast<char>('a' + i)));
    EXPECT_EQ(messages[i].seq, static_cast<Seq>(i + 1));
    EXPECT_EQ(messages[i].pos, before + static_cast<Position>(i) + 1);
  }
  EXPECT_EQ(store.read([](Transaction& tx) { return tx.current_position(); }), before + 3);
  auto published = sink.positions();
  EXPECT_EQ(published, (std::vector<Position>{before, before + 1, before + 2, before + 3}));
}

// A write's conversation_by_id() reads the members and a direct
// conversation's blocks along with it; what the write changes afterwards is
// seen by its later member_ids() and block_between().
TEST(PgStore, AWriteSeesItsOwnMemberAndBlockChanges) {
  PgTestDatabase db;
  PgStore store({db.conninfo(), 2});
  auto w = make_world(store);
  auto direct = store.write_blocking([&](Transaction& tx) {
    auto c = tx.insert_conversation(ConversationKind::kDirect, "", "", std::string("ab"), w.alice, 1).id;
    Position pos = tx.next_position();
    tx.insert_member({c, w.alice, Role::kMember, 1, pos, 0, 0});
    tx.insert_member({c, w.bob, Role::kMember, 1, pos, 0, 0});
    tx.insert_block(w.bob, w.alice, 1);
    return c;
  });
  store.write_blocking([&](Transaction& tx) {
    ASSERT_TRUE(tx.conversation_by_id(direct));
    auto members = tx.member_ids(direct);
    EXPECT_EQ(std::set<UserId>(members.begin(), members.end()), (std::set<UserId>{w.alice, w.bob}));
    EXPECT_TRUE(tx.block_between(w.alice, w.bob));
    EXPECT_TRUE(tx.block_between(w.bob, w.alice));
    tx.delete_block(w.bob, w.alice);
    EXPECT_FALSE(tx.block_between(w.alice, w.bob));
    ASSERT_TRUE(tx.conversation_by_id(direct));
    EXPECT_FALSE(tx.block_between(w.alice, w.bob));
    tx.insert_block(w.alice, w.bob, 2);
    EXPECT_TRUE(tx.block_between(w.bob, w.alice));
    ASSERT_TRUE(tx.conversation_by_id(direct));
    EXPECT_TRUE(tx.block_between(w.bob, w.alice));
    tx.delete_member(direct, w.bob);
    EXPECT_EQ(tx.member_ids(direct), std::vector<UserId>{w.alice});
  });
  // The group: members read along, blocks asked of the database.
  store.write_blocking([&](Transaction& tx) {
    ASSERT_TRUE(tx.conversation_by_id(w.group));
    auto members = tx.member_ids(w.group);
    EXPECT_EQ(std::set<UserId>(members.begin(), members.end()), (std::set<UserId>{w.alice, w.bob}));
    EXPECT_TRUE(tx.block_between(w.alice, w.bob));
  });
}

// A send moves its sender's read mark in its own statement; the
// advance_read() that follows answers as the statement would have.
TEST(PgStore, ASendMovesItsSendersReadMark) {
  PgTestDatabase db;
  PgStore store({db.conninfo(), 2});
  auto w = make_world(store);
  store.write_blocking([&](Transaction& tx) {
    auto sent = tx.insert_message_if_new(text_message(w.group, w.alice, "r1"), tx.next_position());
    ASSERT_TRUE(sent);
    EXPECT_TRUE(tx.advance_read(w.group, w.alice, sent->seq));
    EXPECT_FALSE(tx.advance_read(w.group, w.alice, sent->seq));
  });
  auto alice = store.read([&](Transaction& tx) { return tx.member(w.group, w.alice); });
  auto bob = store.read([&](Transaction& tx) { return tx.member(w.group, w.bob); });
  ASSERT_TRUE(alice && bob);
  EXPECT_EQ(alice->read_seq, 1);
  EXPECT_EQ(bob->read_seq, 0);
  // Already read further: the mark stays, and advance_read says so.
  store.write_blocking([&](Transaction& tx) { tx.advance_read(w.group, w.bob, 5); });
  store.write_blocking([&](Transaction& tx) {
    auto sent = tx.insert_message_if_new(text_message(w.group, w.bob, "r2"), tx.next_position());
    ASSERT_TRUE(sent);
    EXPECT_EQ(sent->seq, 2);
    EXPECT_FALSE(tx.advance_read(w.group, w.bob, sent->seq));
  });
  bob = store.read([&](Transaction& tx) { return tx.member(w.group, w.bob); });
  EXPECT_EQ(bob->read_seq, 5);
}

// Writes queued behind a held writer, so that they run as one batch; each
// a send (submit_send, with its hint) or another write.
class OneBatch {
 public:
  explicit OneBatch(PgStore& store) : store_(store) {
    std::promise<void> holding;
    store_.submit_write(
        [&holding, release = release_.get_future().share()](Transaction&) {
          holding.set_value();
          release.wait();
        },
        [](std::exception_ptr) {});
    holding.get_future().wait();
  }
  // Returns the write's index in results().
  std::size_t send(std::function<void(Transaction&)> body, Store::SendHint hint) {
    auto [i, done] = slot();
    store_.submit_send(std::move(body), std::move(done), std::move(hint));
    return i;
  }
  std::size_t write(std::function<void(Transaction&)> body) {
    auto [i, done] = slot();
    store_.submit_write(std::move(body), std::move(done));
    return i;
  }
  // Lets the batch run; each write's outcome (null: committed). A write
  // completed twice would throw here (a promise set twice).
  std::vector<std::exception_ptr> run() {
    release_.set_value();
    std::vector<std::exception_ptr> outcomes;
    for (auto& result : results_) outcomes.push_back(result->get_future().get());
    return outcomes;
  }

 private:
  std::pair<std::size_t, std::function<void(std::exception_ptr)>> slot() {
    results_.push_back(std::make_unique<std::promise<std::exception_ptr>>());
    auto* promise = results_.back().get();
    return {results_.size() - 1, [promise](std::exception_ptr e) { promise->set_value(e); }};
  }
  PgStore& store_;
  std::promise<void> release_;
  std::vector<std::unique_ptr<std::promise<std::exception_ptr>>> results_;
};

// messaging::send as a session submits it: the body stores its answer.
struct Sent {
  std::shared_ptr<messaging::SendResult> result = std::make_shared<messaging::SendResult>();
  std::shared_ptr<int> runs = std::make_shared<int>(0);
};
Sent queue_send(OneBatch& batch, UserId sender, ConversationId conversation, std::string client_id,
                std::string text = "hello", std::optional<std::size_t>* index = nullptr) {
  Sent sent;
  messaging::SendRequest request;
  request.conversation_id = conversation;
  request.client_id = client_id;
  request.text = std::move(text);
  auto i = batch.send(
      [sent, sender, request](Transaction& tx) {
        ++*sent.runs;
        *sent.result = messaging::send(tx, sender, request);
      },
      {conversation, sender, client_id});
  if (index) *index = i;
  return sent;
}

// Sends of one batch are answered from the batch's own reads and written
// together: seqs follow one another per conversation, positions are
// gapless, read marks move, and nothing was run again.
TEST(PgStore, ABatchOfSendsIsReadOnceAndWrittenTogether) {
  PgTestDatabase db;
  PgStore store({db.conninfo(), 2});
  RecordingSink sink;
  store.set_event_sink(&sink);
  auto w = make_world(store);
  auto direct = store.write_blocking([&](Transaction& tx) {
    auto c = tx.insert_conversation(ConversationKind::kDirect, "", "", std::string("ab"), w.alice, 1).id;
    Position pos = tx.next_position();
    tx.insert_member({c, w.alice, Role::kMember, 1, pos, 0, 0});
    tx.insert_member({c, w.bob, Role::kMember, 1, pos, 0, 0});
    return c;
  });
  Position before = store.read([](Transaction& tx) { return tx.current_position(); });
  auto stats_before = store.writer_stats();
  OneBatch batch(store);
  std::vector<Sent> sent;
  for (int i = 0; i < 6; ++i) {
    sent.push_back(queue_send(batch, i % 2 ? w.bob : w.alice, i % 3 ? w.group : direct, fmt::format("m{}", i),
                              fmt::format("text \"{}\" with \\ and {{braces}}, NULL", i)));
  }
  auto outcomes = batch.run();
  for (std::size_t i = 0; i < outcomes.size(); ++i) EXPECT_EQ(outcomes[i], nullptr) << i;
  auto stats = store.writer_stats();
  EXPECT_EQ(stats.sends_answered - stats_before.sends_answered, 6u);
  EXPECT_EQ(stats.segments_run_again, stats_before.segments_run_again);
  std::map<ConversationId, Seq> seqs;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const auto& m = sent[i].result->message;
    EXPECT_FALSE(sent[i].result->duplicate);
    EXPECT_EQ(*sent[i].runs, 1);
    EXPECT_EQ(m.pos, before + static_cast<Position>(i) + 1);
    EXPECT_EQ(m.seq, ++seqs[m.conversation_id]);
    auto stored = store.read([&](Transaction& tx) { return tx.message_by_id(m.id); });
    ASSERT_TRUE(stored) << i;
    EXPECT_EQ(stored->client_id, fmt::format("m{}", i));
    EXPECT_EQ(stored->body, fmt::format("text \"{}\" with \\ and {{braces}}, NULL", i));
    EXPECT_EQ(stored->seq, m.seq);
    EXPECT_EQ(stored->pos, m.pos);
  }
  auto conversation = store.read([&](Transaction& tx) { return tx.conversation_by_id(w.group); });
  EXPECT_EQ(conversation->last_seq, seqs[w.group]);
  EXPECT_EQ(conversation->last_pos, before + 6);
  // Each sender's mark is at their newest message in each conversation.
  auto alice = store.read([&](Transaction& tx) { return tx.member(w.group, w.alice); });
  auto bob = store.read([&](Transaction& tx) { return tx.member(w.group, w.bob); });
  EXPECT_EQ(alice->read_seq, sent[4].result->message.seq);
  EXPECT_EQ(bob->read_seq, sent[5].result->message.seq);
  EXPECT_EQ(store.read([](Transaction& tx) { return tx.current_position(); }), before + 6);
  auto published = sink.positions();
  ASSERT_GE(published.size(), 6u);
  EXPECT_EQ(std::vector<Position>(published.end() - 6, published.end()),
            (std::vector<Position>{before + 1, before + 2, before + 3, before + 4, before + 5, before + 6}));
}

// A membership change in the middle of a batch of sends to the same
// conversation: the sends after it read for real and see it.
TEST(PgStore, ASendAfterAMembershipChangeInItsBatchSeesIt) {
  PgTestDatabase db;
  PgStore store({db.conninfo(), 2});
  auto w = make_world(store);
  OneBatch batch(store);
  auto before_removal = queue_send(batch, w.bob, w.group, "b1");
  auto removal = batch.write([&](Transaction& tx) {
    Position pos = tx.next_position();
    tx.emit(conversation_event(w.group, pos), Transaction::Keep::kStore);
    tx.delete_member(w.group, w.bob);
  });
  std::optional<std::size_t> refused_index;
  auto refused = queue_send(batch, w.bob, w.group, "b2", "hello", &refused_index);
  auto after = queue_send(batch, w.alice, w.group, "a1");
  auto outcomes = batch.run();
  EXPECT_EQ(outcomes[0], nullptr);
  EXPECT_EQ(outcomes[removal], nullptr);
  EXPECT_EQ(error_code_of(outcomes[*refused_index]), ErrorCode::kNotFound);
  EXPECT_EQ(outcomes.back(), nullptr);
  EXPECT_EQ(before_removal.result->message.seq, 1);
  EXPECT_EQ(after.result->message.seq, 2);
  EXPECT_EQ(after.result->message.pos, before_removal.result->message.pos + 2);
  EXPECT_EQ(db.query("SELECT count(*) FROM messages"), "2");
  EXPECT_EQ(db.query("SELECT count(*) FROM messages WHERE client_id = 'b2'"), "0");
  // The removal ended bob's membership after his first message.
  EXPECT_EQ(db.query("SELECT left_pos FROM past_memberships"), std::to_string(before_removal.result->message.pos + 1));
}

// One held row that fails (a foreign key: the reply names no message) rolls
// back the batch's sends and runs them again one at a time: only that write
// fails, the others are stored and completed once, positions stay gapless.
TEST(PgStore, AFailingHeldRowRunsTheSendsAgainAndFailsAlone) {
  PgTestDatabase db;
  PgStore store({db.conninfo(), 2});
  RecordingSink sink;
  store.set_event_sink(&sink);
  auto w = make_world(store);
  Position before = store.read([](Transaction& tx) { return tx.current_position(); });
  auto stats_before = store.writer_stats();
  OneBatch batch(store);
  auto runs = std::make_shared<std::map<std::string, int>>();
  auto send = [&](std::string client_id, std::optional<MessageId> reply_to) {
    return batch.send(
        [&w, runs, client_id, reply_to](Transaction& tx) {
          ++(*runs)[client_id];
          NewMessage m = text_message(w.group, w.alice, client_id);
          m.reply_to_id = reply_to;
          Position pos = tx.next_position();
          auto stored = tx.insert_message_if_new(m, pos);
          if (!stored) throw std::runtime_error("not new");
          Event event = conversation_event(w.group, pos);
          event.message = *stored;
          tx.emit(std::move(event), Transaction::Keep::kMessagesTable);
        },
        {w.group, w.alice, client_id});
  };
  send("a", std::nullopt);
  auto bad = send("bad", MessageId{999999});
  send("b", std::nullopt);
  send("c", std::nullopt);
  auto outcomes = batch.run();
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (i == bad) {
      EXPECT_NE(outcomes[i], nullptr);
      EXPECT_THROW(std::rethrow_exception(outcomes[i]), ConstraintError);
    } else {
      EXPECT_EQ(outcomes[i], nullptr) << i;
    }
  }
  EXPECT_EQ(store.writer_stats().segments_run_again, stats_before.segments_run_again + 1);
  EXPECT_EQ((*runs)["a"], 2);  // answered, then again one at a time
  auto messages = store.read([&](Transaction& tx) { return tx.messages_after(w.group, 0, 10); });
  ASSERT_EQ(messages.size(), 3u);
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    ids.push_back(messages[i].client_id);
    EXPECT_EQ(messages[i].seq, static_cast<Seq>(i + 1));
    EXPECT_EQ(messages[i].pos, before + static_cast<Position>(i) + 1);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(store.read([](Transaction& tx) { return tx.current_position(); }), before + 3);
  auto published = sink.positions();
  ASSERT_GE(published.size(), 3u);
  EXPECT_EQ(std::vector<Position>(published.end() - 3, published.end()),
            (std::vector<Position>{before + 1, before + 2, before + 3}));
}

// The same client_id twice in one batch (and once more, already stored
// before it): one message, and both retries answered with it.
TEST(PgStore, ADuplicateClientIdInOneBatchIsOneMessage) {
  PgTestDatabase db;
  PgStore store({db.conninfo(), 2});
  auto w = make_world(store);
  {
    OneBatch earlier(store);
    queue_send(earlier, w.alice, w.group, "old");
    earlier.run();
  }
  auto stats_before = store.writer_stats();
  OneBatch batch(store);
  auto first = queue_send(batch, w.alice, w.group, "twice");
  auto second = queue_send(batch, w.alice, w.group, "twice");
  auto old = queue_send(batch, w.alice, w.group, "old");
  std::optional<std::size_t> conflict_index;
  auto conflict = queue_send(batch, w.alice, w.group, "twice", "another text", &conflict_index);
  auto next = queue_send(batch, w.alice, w.group, "next");
  auto outcomes = batch.run();
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (i == *conflict_index) {
      EXPECT_EQ(error_code_of(outcomes[i]), ErrorCode::kConflict);
    } else {
      EXPECT_EQ(outcomes[i], nullptr) << i;
    }
  }
  EXPECT_FALSE(first.result->duplicate);
  EXPECT_TRUE(second.result->duplicate);
  EXPECT_EQ(second.result->message.id, first.result->message.id);
  EXPECT_TRUE(old.result->duplicate);
  EXPECT_EQ(old.result->message.seq, 1);
  EXPECT_EQ(first.result->message.seq, 2);
  EXPECT_EQ(next.result->message.seq, 3);
  EXPECT_EQ(db.query("SELECT count(*) FROM messages WHERE client_id = 'twice'"), "1");
  EXPECT_EQ(db.query("SELECT count(*) FROM messages"), "3");
  EXPECT_EQ(db.query("SELECT last_seq FROM conversations WHERE id = " + std::to_string(w.group)), "3");
  // Answered from the batch's probe and its own sends, not found by the
  // unique index failing at the commit (which would run them again).
  EXPECT_EQ(store.writer_stats().segments_run_again, stats_before.segments_run_again);
  EXPECT_EQ(store.writer_stats().sends_answered - stats_before.sends_answered, 2u);
}

}  // namespace
}  // namespace parley::storage::postgres
