// Drives a DesktopNotifier from its test (desktop_notifier_test.py), under a
// real notification server on a private D-Bus session. Reads commands from
// stdin, one per line, fields separated by tabs:
//   notify CONVERSATION MESSAGE GROUP(0|1) SENDER TITLE PREVIEW
//   withdraw CONVERSATION
// and prints what happens: "ready server=NAME actions=0|1 reply=0|1 inline=0|1", then
// "reply CONVERSATION MESSAGE TEXT" for each quick reply, "log ..." lines.
#include <iostream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "parley/desktop_notifier.hpp"

int main(int argc, char** argv) {
  std::mutex out;
  auto say = [&out](const std::string& line) {
    std::lock_guard lock(out);
    std::cout << line << std::endl;
  };
  parley::DesktopNotifier::Options options;
  options.app_name = "parley-test";
  if (argc > 1) options.reply_command = {"/bin/sh", "-c", argv[1]};
  options.on_reply = [&](parley::ConversationId c, parley::MessageId m, const std::string& text) {
    say("reply " + std::to_string(c) + " " + std::to_string(m) + " " + text);
  };
  options.log = [&](const std::string& line) { say("log " + line); };
  auto notifier = parley::DesktopNotifier::create(options);
  if (!notifier) {
    say("error " + notifier.error().message);
    return 1;
  }
  say("ready server=" + notifier.value()->server_name() +
      " actions=" + std::to_string(notifier.value()->supports_actions()) +
      " reply=" + std::to_string(notifier.value()->offers_reply()) +
      " inline=" + std::to_string(notifier.value()->inline_reply()));
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> f;
    std::stringstream in(line);
    for (std::string field; std::getline(in, field, '\t');) f.push_back(field);
    if (f.size() == 7 && f[0] == "notify") {
      parley::Notification n;
      n.conversation_id = std::stoll(f[1]);
      n.message_id = std::stoll(f[2]);
      n.group = f[3] == "1";
      n.sender.display_name = f[4];
      n.sender.username = f[4];
      n.conversation_title = f[5];
      n.preview = f[6];
      notifier.value()->notify(n);
    } else if (f.size() == 2 && f[0] == "withdraw") {
      notifier.value()->withdraw(std::stoll(f[1]), 0);
    } else {
      say("error unknown command: " + line);
    }
  }
  return 0;
}
