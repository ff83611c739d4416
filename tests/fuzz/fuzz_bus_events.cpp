// Fuzzes the decoding of the events message other nodes publish on Redis
// (cluster/bus_messages.cpp): what comes from Redis comes from the network.
//
// Oracles besides the sanitizers: a message that decodes respects every
// bound the decoder promises (commits in order, each event inside its
// commit, positions increasing), and encodes back to exactly its bytes (the
// framing has one encoding per message, so the decoder read what the bytes
// say and nothing else).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cluster/bus_messages.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto message = parley::cluster::decode_events(bytes);
  if (!message) return 0;
  if (message->node.empty() || message->batches.empty()) std::abort();
  parley::storage::Position previous_last = 0;
  for (const auto& batch : message->batches) {
    if (batch.first < 1 || batch.last < batch.first || batch.first <= previous_last) std::abort();
    previous_last = batch.last;
    parley::storage::Position previous = batch.first - 1;
    for (const auto& event : batch.events) {
      if (event.pos <= previous || event.pos > batch.last || !event.payload) std::abort();
      previous = event.pos;
    }
  }
  if (parley::cluster::encode_events(message->node, message->batches) != bytes) std::abort();
  return 0;
}
