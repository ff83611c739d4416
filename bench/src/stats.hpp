// What the load generator observed: counters and latency histograms. Each
// I/O thread fills its own Stats; they are merged per process, and worker
// processes send theirs to the parent as JSON.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "histogram.hpp"

namespace parley::bench {

// Counters, each with its JSON name. "In window" means inside the measured
// interval [warm-up end, warm-up end + duration).
#define PARLEY_BENCH_COUNTERS(X)                                                                          \
  X(connected)               /* connections that reached "synced" the first time */                      \
  X(connect_failures)        /* first connection attempts that failed */                                 \
  X(scheduled)               /* messages whose intended send time came */                                \
  X(written)                 /* send frames handed to the socket the first time */                       \
  X(resent)                  /* send frames repeated after a reconnect (same client_id) */               \
  X(acked)                   /* messages acknowledged (first ack per message) */                         \
  X(acked_in_window)         /* ... whose ack arrived in the window */                                   \
  X(duplicate_acks)          /* acks saying duplicate: the message was already stored */                 \
  X(stray_acks)              /* acks for no pending message */                                           \
  X(failed_sends)            /* sends answered with an error frame */                                    \
  X(expected_deliveries)     /* sum over acked messages of their recipients (other connections) */      \
  X(delivered)               /* message.new events from other connections, first time */                 \
  X(delivered_in_window)     /* ... that arrived in the window */                                        \
  X(echoes)                  /* message.new of a connection's own message */                             \
  X(out_of_order)            /* deliveries older than one already seen from the same sender, not seen before */ \
  X(repeated_deliveries)     /* message.new of a message this connection had already received */       \
  X(resumed_deliveries)      /* deliveries (first time) received while resuming, before "synced" */      \
  X(foreign_messages)        /* message.new not sent by this run */                                      \
  X(other_events)            /* stream events other than message.new (receipts, contacts...) */         \
  X(replayed_events)         /* events received while resuming, before "synced" */                       \
  X(resync_required)         /* resumes refused: too far behind */                                       \
  X(reconnects)              /* connections reopened after a drop */                                     \
  X(reconnects_in_window)    /* ... whose "synced" arrived in the window */                              \
  X(unexpected_disconnects)  /* connections the server or network ended */                               \
  X(pings_sent)                                                                                          \
  X(typing_sent)                                                                                         \
  X(receipts_sent)                                                                                       \
  X(error_frames)            /* {"type":"error"} frames received */

// Counts by name; looked up by string_view without building a string.
using CountMap = std::map<std::string, std::uint64_t, std::less<>>;

struct Stats {
#define PARLEY_BENCH_DECLARE(name) std::uint64_t name = 0;
  PARLEY_BENCH_COUNTERS(PARLEY_BENCH_DECLARE)
#undef PARLEY_BENCH_DECLARE

  Histogram delivery;  // µs from intended send time to arrival at a recipient (intended in window)
  Histogram ack;       // µs from intended send time to the ack (intended in window)
  Histogram send_lag;  // µs from intended send time to the frame written: how far behind the tool fell
  Histogram connect;   // µs from TCP connect to "synced", first connections
  Histogram resume;    // µs from TCP connect to "synced", reconnections

  CountMap frames;       // frames received, by type
  CountMap errors;       // error frames by code, connection failures by reason
  CountMap close_codes;  // why connections ended unexpectedly
  std::vector<std::string> error_samples;            // the first few error texts
  double tool_cpu_seconds = 0;                       // CPU the tool used in the window

  void merge(const Stats& other);
  // Records an error: counted under `key`, and its text kept if few are kept.
  void error(std::string_view key, const std::string& text);
  // Adds one to counts[key].
  static void count(CountMap& counts, std::string_view key);

  [[nodiscard]] boost::json::object to_json() const;
  // Throws std::invalid_argument on a malformed document.
  [[nodiscard]] static Stats from_json(const boost::json::value& json);
};

}  // namespace parley::bench
