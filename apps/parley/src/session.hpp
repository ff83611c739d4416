// One account of the terminal client, opened for the length of a command:
// the engine's Runtime and Account, with every callback and event delivered
// to the app's Loop (so the app is single-threaded), and the helpers the
// subcommands share: waiting for a call's result with a deadline, finding a
// conversation by name, naming senders.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include "loop.hpp"
#include "parley/parley.hpp"
#include "profiles.hpp"

namespace parley::cli {

// Exit statuses (sysexits.h where one fits, so that scripts can branch).
enum Exit : int {
  kExitOk = 0,
  kExitFailure = 1,        // the server refused (not found, conflict, validation...)
  kExitUsage = 2,          // bad arguments
  kExitUnavailable = 69,   // the server could not be reached (EX_UNAVAILABLE)
  kExitIoError = 74,       // the device store or a local file failed (EX_IOERR)
  kExitQueued = 75,        // written to the outbox, not yet sent: retried at the next run (EX_TEMPFAIL)
  kExitNoPermission = 77,  // not signed in, or the session was refused (EX_NOPERM)
  kExitConfig = 78,        // the profiles file or the store folder cannot be used (EX_CONFIG)
};

// A failure that ends a command: printed as "parley: MESSAGE" on stderr,
// and the process exits with `code`.
struct CliError : std::runtime_error {
  CliError(int exit_code, const std::string& message) : std::runtime_error(message), code(exit_code) {}
  int code;
};

// The exit status for an engine error.
[[nodiscard]] int exit_code_for(const Error& error);
// Throws CliError for a failed result, prefixed with `what` ("invite bob: ...").
void check(const Error& error, const std::string& what);

struct GlobalOptions {
  std::string server;        // --server URL: overrides (or, at login, sets) the profile's
  std::string profile;       // --profile NAME (or $PARLEY_PROFILE)
  bool json = false;         // --json
  int timeout_seconds = 15;  // --timeout: longest wait for the server
  std::string ca_file;       // --ca-file PEM (or $PARLEY_CA_FILE): a CA to trust for https:// servers
};

class Session {
 public:
  // Opens the chosen profile's account (no network wait). `profile_name`
  // and `profile` are what to open; see open_profile().
  // allow_read_only: when another process has the profile open, open its
  // store read-only instead of failing (for commands that only read).
  Session(const Paths& paths, const std::string& profile_name, const Profile& profile, bool allow_read_only = false);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The profile a command uses (--profile, $PARLEY_PROFILE, the default,
  // the only one), opened; CliError when there is none or it cannot be used.
  static std::unique_ptr<Session> open_profile(const GlobalOptions& options, bool allow_read_only = false);
  // Set when the store was opened read-only beside another process: why.
  [[nodiscard]] const std::string& read_only_note() const { return read_only_note_; }

  [[nodiscard]] Account& account() { return *account_; }
  [[nodiscard]] Loop& loop() { return loop_; }
  [[nodiscard]] const std::string& profile_name() const { return profile_name_; }
  [[nodiscard]] const Profile& profile() const { return profile_; }

  // Engine events, run on the loop's thread. Set what a command needs.
  std::function<void(const Changes&)> on_changes;
  std::function<void(ConnectionState)> on_state;
  std::function<void(ConversationId, UserId, Millis)> on_typing;
  std::function<void(UserId, bool)> on_presence;
  std::function<void(const Error&)> on_error;

  // Waits until the engine is online (up to date with the server). False
  // on timeout, or when it is signed out.
  bool wait_online(std::chrono::milliseconds timeout);

  // Runs an asynchronous engine call and waits for its result; CliError
  // (kExitUnavailable) when nothing came back within the timeout.
  template <typename T>
  Result<T> await(const std::function<void(Callback<T>)>& start, std::chrono::milliseconds timeout) {
    std::optional<Result<T>> result;
    start([&result](Result<T> r) { result.emplace(std::move(r)); });
    if (!loop_.run_until([&] { return result.has_value(); }, timeout)) {
      if (Loop::interrupted()) throw CliError(130, "interrupted");
      throw CliError(kExitUnavailable, "no answer from the server within the timeout");
    }
    return std::move(*result);
  }

  // The conversation NAME designates: "#ID", a group's name, or the
  // username or display name of a direct conversation's peer (when a
  // contact has no direct conversation yet, it is opened when
  // `open_direct` is set). CliError when none or several match.
  ConversationId resolve_conversation(const std::string& name, bool open_direct, std::chrono::milliseconds timeout);
  // The sender's display name (and username) in a conversation.
  std::string sender_name(ConversationId conversation, UserId user);
  std::string sender_username(ConversationId conversation, UserId user);

 private:
  const User* member(ConversationId conversation, UserId user);
  Loop loop_;
  Runtime runtime_;
  std::string profile_name_;
  Profile profile_;
  std::unique_ptr<Account> account_;
  std::map<ConversationId, std::vector<Member>> members_;  // a cache for sender names
  std::string read_only_note_;
};

// What a message's attachments look like in text output: "name (size)".
[[nodiscard]] std::string describe_attachment(const Attachment& attachment);

}  // namespace parley::cli
