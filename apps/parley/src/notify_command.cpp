// `parley notify`: the push message handler. The engine runs with no window
// open and hands each incoming message to the desktop notifier; a quick
// reply goes back through the engine's outbox like any message.
#include <iostream>

#include "commands.hpp"
#include "parley/desktop_notifier.hpp"

namespace parley::cli {

int run_notify(const GlobalOptions& options, const NotifyArgs& args) {
  Loop::install_signal_handlers();
  auto session = Session::open_profile(options);
  Loop& loop = session->loop();
  Account* account = &session->account();

  DesktopNotifier::Options notifier_options;
  notifier_options.offer_reply = !args.no_reply;
  if (!args.reply_command.empty()) notifier_options.reply_command = {"/bin/sh", "-c", args.reply_command};
  notifier_options.log = [&loop](const std::string& line) {
    loop.post([line] { std::cerr << "parley notify: " << line << "\n"; });
  };
  notifier_options.on_reply = [&loop, account](ConversationId conversation, MessageId message,
                                               const std::string& text) {
    loop.post([account, conversation, message, text] {
      auto sent = account->quick_reply(conversation, message, text);
      if (!sent) std::cerr << "parley notify: reply not sent: " << sent.error().message << "\n";
    });
  };
  auto notifier = DesktopNotifier::create(std::move(notifier_options));
  if (!notifier) throw CliError(kExitUnavailable, notifier.error().message);
  std::cerr << "parley notify: showing notifications through " << notifier.value()->server_name()
            << (notifier.value()->offers_reply() ? " (with quick reply)" : " (no quick reply)") << "\n";
  account->set_notifier(notifier.value());

  int status = kExitOk;
  ConnectionState last = ConnectionState::offline;
  session->on_state = [&](ConnectionState state) {
    if (state == last) return;
    last = state;
    if (state == ConnectionState::online) std::cerr << "parley notify: connected\n";
    if (state == ConnectionState::offline) std::cerr << "parley notify: offline; reconnecting\n";
    if (state == ConnectionState::signed_out) {
      std::cerr << "parley notify: the session ended: run parley login again\n";
      status = kExitNoPermission;
    }
  };
  session->on_state(account->state());
  session->on_error = [](const Error& error) { std::cerr << "parley notify: " << error.message << "\n"; };
  loop.run_until([&] { return status != kExitOk; }, std::chrono::hours(24 * 365));
  account->set_notifier(nullptr);
  return status;
}

}  // namespace parley::cli
