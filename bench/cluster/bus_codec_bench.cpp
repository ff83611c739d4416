// The cost of a cross-node delivery's encoding on the nodes: one commit's
// events encoded by the publisher and decoded by a receiver, per event, in
// the binary framing nodes use (cluster/bus_messages.hpp) and in the JSON
// form they used before it (kept here, as it was at 271a34b, only to
// measure against). docs/benchmarks.md, "Scale-out", fourth sitting.
//
// usage: parley-bus-codec-bench [EVENTS_PER_COMMIT [TRIALS]]
//
// Each trial encodes and decodes the same commit (events of `pairs`: two
// recipients, a new message's payload as the hub sends it) for about 0.2 s
// per codec, the codecs taking turns; medians over trials and their ratio.
// CPU time of this thread (CLOCK_THREAD_CPUTIME_ID), so that other work on
// a shared machine counts less.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "cluster/bus_messages.hpp"
#include "events/emit.hpp"

namespace {

namespace json = boost::json;
using parley::cluster::EventBatch;
using parley::storage::Event;

// --- the JSON form, as it was -----------------------------------------------

std::string json_encode(std::string_view node, const EventBatch& batch) {
  json::array events;
  events.reserve(batch.events.size());
  for (const auto& event : batch.events) {
    json::array to;
    for (auto id : event.recipients) to.push_back(id);
    events.push_back(json::object{{"pos", event.pos}, {"to", std::move(to)}, {"payload", *event.payload}});
  }
  return json::serialize(json::object{
      {"v", 1}, {"node", node}, {"first", batch.first}, {"last", batch.last}, {"events", std::move(events)}});
}

std::optional<EventBatch> json_decode(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 8;
  json::value value = json::parse(text, ec, {}, options);
  if (ec || !value.is_object()) return std::nullopt;
  const auto& object = value.as_object();
  EventBatch batch;
  batch.first = object.at("first").as_int64();
  batch.last = object.at("last").as_int64();
  for (const auto& item : object.at("events").as_array()) {
    const auto& e = item.as_object();
    Event event;
    event.pos = e.at("pos").as_int64();
    for (const auto& id : e.at("to").as_array()) event.recipients.push_back(id.as_int64());
    event.payload = std::make_shared<const std::string>(e.at("payload").as_string());
    batch.events.push_back(std::move(event));
  }
  return batch;
}

// --- measuring ----------------------------------------------------------------

double thread_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

EventBatch pairs_commit(int events) {
  EventBatch batch{1001, 1000 + events, {}};
  for (int i = 0; i < events; ++i) {
    parley::storage::Message m;
    m.id = 50'000 + i;
    m.conversation_id = 700 + i / 2;
    m.seq = 40 + i;
    m.pos = 1001 + i;
    m.sender_id = 2 * i + 1;
    m.client_id = "c-" + std::to_string(123'456 + i);
    m.body = "message " + std::to_string(i) + " from the load: \"quoted\" text, é and a \\ backslash";
    m.created_at = 1'764'633'600'000 + i;
    Event event;
    event.pos = m.pos;
    event.recipients = {2 * i + 1, 2 * i + 2};
    event.payload = parley::events::message_payload(m);
    batch.events.push_back(std::move(event));
  }
  return batch;
}

struct Figures {
  double encode_ns = 0;
  double decode_ns = 0;
  std::size_t bytes = 0;
};

template <typename Encode, typename Decode>
Figures trial(const EventBatch& batch, Encode encode, Decode decode) {
  Figures f;
  auto message = encode();
  f.bytes = message.size();
  auto per_event = [&](auto&& work) {
    std::size_t runs = 0;
    double start = thread_seconds(), now = start;
    while (now - start < 0.1) {
      for (int i = 0; i < 20; ++i) work();
      runs += 20;
      now = thread_seconds();
    }
    return (now - start) * 1e9 / static_cast<double>(runs * batch.events.size());
  };
  std::size_t sink = 0;
  f.encode_ns = per_event([&] { sink += encode().size(); });
  f.decode_ns = per_event([&] {
    auto decoded = decode(message);
    if (!decoded) std::abort();
    sink += 1;
  });
  if (sink == 0) std::abort();
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  int events = argc > 1 ? std::atoi(argv[1]) : 120;
  int trials = argc > 2 ? std::atoi(argv[2]) : 9;
  if (events < 1 || trials < 1) {
    std::fprintf(stderr, "usage: parley-bus-codec-bench [EVENTS_PER_COMMIT [TRIALS]]\n");
    return 2;
  }
  auto batch = pairs_commit(events);
  std::vector<double> je, jd, be, bd;
  std::size_t json_bytes = 0, binary_bytes = 0;
  for (int t = 0; t < trials; ++t) {
    auto json_trial = [&] {
      auto f = trial(
          batch, [&] { return json_encode("node-1:8081", batch); },
          [](const std::string& m) { return json_decode(m); });
      je.push_back(f.encode_ns);
      jd.push_back(f.decode_ns);
      json_bytes = f.bytes;
    };
    auto binary_trial = [&] {
      auto f = trial(
          batch, [&] { return parley::cluster::encode_events("node-1:8081", batch); },
          [](const std::string& m) { return parley::cluster::decode_events(m); });
      be.push_back(f.encode_ns);
      bd.push_back(f.decode_ns);
      binary_bytes = f.bytes;
    };
    // Taking turns, in the other order every other trial.
    if (t % 2 == 0) {
      json_trial();
      binary_trial();
    } else {
      binary_trial();
      json_trial();
    }
  }
  std::printf("events per commit: %d, trials: %d (medians, ns of CPU per event)\n", events, trials);
  std::printf("| codec | encode | decode | encode + decode | bytes per event |\n| --- | --: | --: | --: | --: |\n");
  std::printf("| JSON (before) | %.0f | %.0f | %.0f | %.0f |\n", median(je), median(jd), median(je) + median(jd),
              static_cast<double>(json_bytes) / events);
  std::printf("| binary | %.0f | %.0f | %.0f | %.0f |\n", median(be), median(bd), median(be) + median(bd),
              static_cast<double>(binary_bytes) / events);
  std::printf("| binary / JSON | %.2fx | %.2fx | %.2fx | |\n", median(be) / median(je), median(bd) / median(jd),
              (median(be) + median(bd)) / (median(je) + median(jd)));
  return 0;
}
