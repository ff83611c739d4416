// The scriptable subcommands of `parley`. Each returns the process's exit
// status or throws CliError; output for people on stdout (one line per
// item), JSON with --json (one object, or one per line for `tail`), errors
// on stderr. Exit statuses: session.hpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "session.hpp"

namespace parley::cli {

struct LoginArgs {
  std::string username;
  bool password_stdin = false;
  std::string two_factor_code;
  bool make_default = false;
};
struct RegisterArgs {
  std::string username;
  std::string display_name;
  bool password_stdin = false;
};
struct SendArgs {
  std::int64_t sticker = 0;  // --sticker ID: a sticker message instead of text
  std::string to;
  std::vector<std::string> words;  // the text; "-" or nothing (without --file) reads stdin
  std::string file;
  long long reply_to = 0;  // a seq in the conversation
  bool no_wait = false;    // return once queued in the outbox
};
struct HistoryArgs {
  std::string of;
  int limit = 50;
};
struct TailArgs {
  std::vector<std::string> conversations;  // none: all
};
struct SearchArgs {
  std::string query;
  std::string in;
  bool on_server = false;
  int limit = 50;
};
struct DownloadArgs {
  std::string conversation;
  long long seq = 0;
  std::string media;
  std::string output;
};
struct GroupArgs {
  std::string action;  // list, create, members, add, remove, rename, leave
  std::string group;
  std::vector<std::string> users;
  std::string name;
  std::string topic;
};
struct NotifyArgs {
  std::string reply_command;  // empty: zenity when installed
  bool no_reply = false;
};

// Settings, profile, sessions, two-factor and stickers of the account.
struct AccountArgs {
  std::string action;        // the subcommand: "mute", "unmute", "profile", "sessions", "2fa ...", "stickers ..."
  std::string target;        // a conversation, a pack name, a code
  std::optional<std::string> display_name, status_text;
  std::string avatar;        // --avatar FILE
  bool remove_avatar = false;
  int hours = 0;             // mute --hours (0: until unmuted)
  std::int64_t revoke = 0;   // sessions --revoke ID
  bool revoke_others = false;
  bool password_stdin = false;
};
int run_account(const GlobalOptions& options, const AccountArgs& args);

int run_register(const GlobalOptions& options, const RegisterArgs& args);
int run_login(const GlobalOptions& options, const LoginArgs& args);
int run_logout(const GlobalOptions& options, bool forget);
int run_contacts(const GlobalOptions& options);
int run_invite(const GlobalOptions& options, const std::string& username);
int run_answer_invitation(const GlobalOptions& options, const std::string& username, bool accept);
int run_send(const GlobalOptions& options, const SendArgs& args);
int run_history(const GlobalOptions& options, const HistoryArgs& args);
int run_tail(const GlobalOptions& options, const TailArgs& args);
int run_search(const GlobalOptions& options, const SearchArgs& args);
int run_download(const GlobalOptions& options, const DownloadArgs& args);
int run_groups(const GlobalOptions& options, const GroupArgs& args);
int run_notify(const GlobalOptions& options, const NotifyArgs& args);
int run_interactive(const GlobalOptions& options);

}  // namespace parley::cli
