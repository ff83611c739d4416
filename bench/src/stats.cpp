#include "stats.hpp"

#include <stdexcept>

#include <boost/json/array.hpp>

namespace parley::bench {

namespace {

constexpr std::size_t kMaxErrorSamples = 10;

void merge_map(CountMap& into, const CountMap& from) {
  for (const auto& [key, count] : from) into[key] += count;
}

boost::json::object map_json(const CountMap& map) {
  boost::json::object result;
  for (const auto& [key, count] : map) result[key] = count;
  return result;
}

CountMap json_map(const boost::json::value& json) {
  CountMap result;
  for (const auto& [key, count] : json.as_object()) result[std::string(key)] = count.to_number<std::uint64_t>();
  return result;
}

}  // namespace

void Stats::merge(const Stats& other) {
#define PARLEY_BENCH_MERGE(name) name += other.name;
  PARLEY_BENCH_COUNTERS(PARLEY_BENCH_MERGE)
#undef PARLEY_BENCH_MERGE
  delivery.merge(other.delivery);
  ack.merge(other.ack);
  send_lag.merge(other.send_lag);
  connect.merge(other.connect);
  resume.merge(other.resume);
  merge_map(frames, other.frames);
  merge_map(errors, other.errors);
  merge_map(close_codes, other.close_codes);
  for (const auto& sample : other.error_samples) {
    if (error_samples.size() < kMaxErrorSamples) error_samples.push_back(sample);
  }
  tool_cpu_seconds += other.tool_cpu_seconds;
}

void Stats::count(CountMap& counts, std::string_view key) {
  auto it = counts.find(key);
  if (it == counts.end()) it = counts.emplace(std::string(key), 0).first;
  ++it->second;
}

void Stats::error(std::string_view key, const std::string& text) {
  count(errors, key);
  if (error_samples.size() < kMaxErrorSamples) error_samples.push_back(text);
}

boost::json::object Stats::to_json() const {
  boost::json::object counters;
#define PARLEY_BENCH_TO_JSON(name) counters[#name] = name;
  PARLEY_BENCH_COUNTERS(PARLEY_BENCH_TO_JSON)
#undef PARLEY_BENCH_TO_JSON
  boost::json::array samples;
  for (const auto& sample : error_samples) samples.push_back(boost::json::string(sample));
  return boost::json::object{{"counters", std::move(counters)},
                             {"delivery", delivery.to_json()},
                             {"ack", ack.to_json()},
                             {"send_lag", send_lag.to_json()},
                             {"connect", connect.to_json()},
                             {"resume", resume.to_json()},
                             {"frames", map_json(frames)},
                             {"errors", map_json(errors)},
                             {"close_codes", map_json(close_codes)},
                             {"error_samples", std::move(samples)},
                             {"tool_cpu_seconds", tool_cpu_seconds}};
}

Stats Stats::from_json(const boost::json::value& json) {
  try {
    const auto& object = json.as_object();
    Stats stats;
    const auto& counters = object.at("counters").as_object();
#define PARLEY_BENCH_FROM_JSON(name) stats.name = counters.at(#name).to_number<std::uint64_t>();
    PARLEY_BENCH_COUNTERS(PARLEY_BENCH_FROM_JSON)
#undef PARLEY_BENCH_FROM_JSON
    stats.delivery = Histogram::from_json(object.at("delivery"));
    stats.ack = Histogram::from_json(object.at("ack"));
    stats.send_lag = Histogram::from_json(object.at("send_lag"));
    stats.connect = Histogram::from_json(object.at("connect"));
    stats.resume = Histogram::from_json(object.at("resume"));
    stats.frames = json_map(object.at("frames"));
    stats.errors = json_map(object.at("errors"));
    stats.close_codes = json_map(object.at("close_codes"));
    for (const auto& sample : object.at("error_samples").as_array()) {
      stats.error_samples.emplace_back(sample.as_string());
    }
    stats.tool_cpu_seconds = object.at("tool_cpu_seconds").to_number<double>();
    return stats;
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("malformed stats: ") + e.what());
  }
}

}  // namespace parley::bench
