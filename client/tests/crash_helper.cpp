// Helper of the crash test: opens an account folder (signed in earlier),
// queues the messages given on the command line, says "written" on stdout
// and then waits to be killed. Whether the engine got to send any of them
// before the SIGKILL is up to the race the test wants.
//
// usage: parley_client_crash_helper SERVER_URL DATA_DIR CONVERSATION_ID TEXT...
//
// With `--exit-on-conversation ID` instead, it syncs and ends the process
// (_exit, as a crash or a short-lived command would) in the first change
// notification naming conversation ID: right after the batch that brought
// the conversation's event was committed, before anything else runs.
//
// usage: parley_client_crash_helper SERVER_URL DATA_DIR --exit-on-conversation ID
//
// With `--send-file ID PATH CAPTION` it sends the file and prints
// "progress N" after each part the server confirmed, until killed.
//
// usage: parley_client_crash_helper SERVER_URL DATA_DIR --send-file ID PATH CAPTION
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "parley/parley.hpp"

namespace {

struct ExitOnConversation : parley::Listener {
  explicit ExitOnConversation(parley::ConversationId conversation) : id(conversation) {}
  parley::ConversationId id;
  void on_changes(const parley::Changes& changes) override {
    for (auto changed : changes.conversations) {
      if (changed == id) {
        std::cout << "exiting" << std::endl;
        _exit(0);
      }
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[3]) == "--exit-on-conversation") {
    parley::Runtime runtime;
    auto opened = parley::Account::open(runtime, parley::options_for(argv[1], argv[2]));
    if (!opened) {
      std::cerr << "open: " << opened.error().message << "\n";
      return 1;
    }
    // Set on the engine thread's first events: the listener runs there
    // (no deliver function), so _exit comes before the engine goes on.
    opened.value()->set_listener(std::make_shared<ExitOnConversation>(std::stoll(argv[4])));
    while (true) pause();
  }
  if (argc == 7 && std::string(argv[3]) == "--send-file") {
    parley::Runtime runtime;
    auto opened = parley::Account::open(runtime, parley::options_for(argv[1], argv[2]));
    if (!opened) {
      std::cerr << "open: " << opened.error().message << "\n";
      return 1;
    }
    opened.value()->send_file(
        std::stoll(argv[4]), argv[5], argv[6],
        [](parley::Progress progress) { std::cout << "progress " << progress.done << std::endl; },
        [](parley::Result<std::string> sent) {
          std::cout << (sent ? "sent" : "failed " + sent.error().message) << std::endl;
        });
    while (true) pause();
  }
  if (argc < 5) {
    std::cerr << "usage: " << argv[0] << " SERVER_URL DATA_DIR CONVERSATION_ID TEXT...\n";
    return 2;
  }
  parley::Runtime runtime;
  auto opened = parley::Account::open(runtime, parley::options_for(argv[1], argv[2]));
  if (!opened) {
    std::cerr << "open: " << opened.error().message << "\n";
    return 1;
  }
  auto& account = *opened.value();
  const auto conversation = std::stoll(argv[3]);
  for (int i = 4; i < argc; ++i) {
    auto sent = account.send_text(conversation, argv[i]);
    if (!sent) {
      std::cerr << "send: " << sent.error().message << "\n";
      return 1;
    }
  }
  std::cout << "written" << std::endl;
  while (true) pause();
}
