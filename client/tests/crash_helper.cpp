// Helper of the crash test: opens an account folder (signed in earlier),
// queues the messages given on the command line, says "written" on stdout
// and then waits to be killed. Whether the engine got to send any of them
// before the SIGKILL is up to the race the test wants.
//
// usage: parley_client_crash_helper SERVER_URL DATA_DIR CONVERSATION_ID TEXT...
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "parley/parley.hpp"

int main(int argc, char** argv) {
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
