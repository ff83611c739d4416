#include "session.hpp"

#include <cstdlib>

#include "progress.hpp"

namespace parley::cli {

int exit_code_for(const Error& error) {
  switch (error.code) {
    case Errc::network:
    case Errc::timeout:
    case Errc::service_busy:
    case Errc::too_many_requests:
      return kExitUnavailable;
    case Errc::unauthorized:
    case Errc::invalid_credentials:
    case Errc::invalid_two_factor_code:
    case Errc::two_factor_required:
    case Errc::not_signed_in:
      return kExitNoPermission;
    case Errc::storage:
    case Errc::in_use:
      return kExitIoError;
    case Errc::bad_certificate:
      return kExitUnavailable;
    default:
      return kExitFailure;
  }
}

void check(const Error& error, const std::string& what) {
  std::string message = what + ": " + error.message;
  if (error.message.empty()) message = what + ": " + std::string(to_string(error.code));
  throw CliError(exit_code_for(error), message);
}

std::string describe_attachment(const Attachment& a) {
  return (a.name.empty() ? a.id : a.name) + " (" + human_bytes(a.size) + ", " + a.id + ")";
}

namespace {

// Forwards the engine's events to the session's hooks; runs on the loop's
// thread because the account delivers through the loop.
class Forwarder : public Listener {
 public:
  explicit Forwarder(Session* session) : session_(session) {}
  void on_connection_state(ConnectionState state) override {
    if (session_->on_state) session_->on_state(state);
  }
  void on_changes(const Changes& changes) override {
    if (session_->on_changes) session_->on_changes(changes);
  }
  void on_typing(ConversationId conversation, UserId user, Millis expires) override {
    if (session_->on_typing) session_->on_typing(conversation, user, expires);
  }
  void on_presence(UserId user, bool online, std::optional<Millis>) override {
    if (session_->on_presence) session_->on_presence(user, online);
  }
  void on_error(const Error& error) override {
    if (session_->on_error) session_->on_error(error);
  }
  // The session outlives the account (it owns it); cleared before then.
  Session* session_;
};

}  // namespace

Session::Session(const Paths& paths, const std::string& profile_name, const Profile& profile, bool allow_read_only)
    : profile_name_(profile_name), profile_(profile) {
  try {
    ensure_private_dir(paths.store_dir(profile_name));
  } catch (const ProfileError& e) {
    throw CliError(kExitConfig, e.what());
  }
  AccountOptions options;
  options.server_url = profile.server;
  options.data_dir = paths.store_dir(profile_name);
  const char* host = std::getenv("HOSTNAME");
  options.device_name = std::string("parley terminal") + (host != nullptr ? std::string(" on ") + host : "");
  options.deliver = [this](std::function<void()> task) { loop_.post(std::move(task)); };
  if (!profile.ca_file.empty()) options.tls.ca_file = profile.ca_file;
  auto opened = Account::open(runtime_, options);
  if (!opened && opened.error().code == Errc::in_use && allow_read_only) {
    // Another parley has the profile (the interactive client, tail,
    // notify): this command only reads, so it reads the store beside it.
    auto reader = Account::open_read_only(runtime_, options);
    if (reader) {
      read_only_note_ = opened.error().message;
      opened = std::move(reader);
    }
  }
  if (!opened) {
    if (opened.error().code == Errc::in_use) {
      throw CliError(kExitIoError, opened.error().message +
                                       " (one parley at a time per profile: stop `parley tail`, `parley notify` or "
                                       "the interactive client, or log in another device with --profile NAME)");
    }
    check(opened.error(), "open the device store");
  }
  account_ = std::move(opened.value());
  account_->set_listener(std::make_shared<Forwarder>(this));
}

Session::~Session() {
  // The account goes before the runtime and the loop its tasks post to.
  account_.reset();
}

std::unique_ptr<Session> Session::open_profile(const GlobalOptions& options, bool allow_read_only) {
  Paths paths = Paths::from_environment();
  Profiles profiles;
  try {
    profiles = Profiles::load(paths.credentials());
  } catch (const ProfileError& e) {
    throw CliError(kExitConfig, e.what());
  }
  std::string requested = options.profile;
  auto chosen = profiles.choose(requested);
  if (!chosen) {
    if (!requested.empty()) throw CliError(kExitNoPermission, "no profile '" + requested + "': run parley login");
    if (profiles.profiles.empty()) throw CliError(kExitNoPermission, "not logged in: run parley login USERNAME");
    throw CliError(kExitUsage, "several profiles and no default: choose one with --profile NAME");
  }
  Profile profile = profiles.profiles.at(*chosen);
  if (!options.server.empty()) profile.server = options.server;
  if (!options.ca_file.empty()) profile.ca_file = options.ca_file;
  return std::make_unique<Session>(paths, *chosen, profile, allow_read_only);
}

bool Session::wait_online(std::chrono::milliseconds timeout) {
  return loop_.run_until(
             [this] {
               auto state = account_->state();
               return state == ConnectionState::online || state == ConnectionState::signed_out;
             },
             timeout) &&
         account_->state() == ConnectionState::online;
}

ConversationId Session::resolve_conversation(const std::string& name, bool open_direct,
                                             std::chrono::milliseconds timeout) {
  if (name.size() > 1 && name[0] == '#') {
    char* end = nullptr;
    long long id = std::strtoll(name.c_str() + 1, &end, 10);
    if (end != nullptr && *end == '\0' && id > 0 && account_->conversation(id)) return id;
    throw CliError(kExitFailure, "no conversation " + name);
  }
  std::string target = name;
  if (!target.empty() && target[0] == '@') target.erase(0, 1);
  std::vector<ConversationId> matches;
  for (const Conversation& c : account_->conversations()) {
    bool match = c.kind == ConversationKind::group
                     ? c.name == target
                     : c.peer && (c.peer->username == target || c.peer->display_name == target);
    if (match) matches.push_back(c.id);
  }
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1) {
    throw CliError(kExitUsage, "'" + target + "' names several conversations: use #ID (parley groups list)");
  }
  if (open_direct) {
    for (const Contact& contact : account_->contacts()) {
      if (contact.user.username == target) {
        auto opened = await<ConversationId>(
            [&](Callback<ConversationId> done) { account_->open_direct(target, std::move(done)); }, timeout);
        if (!opened) check(opened.error(), "open the conversation with " + target);
        return opened.value();
      }
    }
  }
  throw CliError(kExitFailure, "no conversation with '" + target + "' (a contact's username, a group's name, or #ID)");
}

const User* Session::member(ConversationId conversation, UserId user) {
  auto find = [&]() -> const User* {
    auto it = members_.find(conversation);
    if (it == members_.end()) return nullptr;
    for (const Member& m : it->second) {
      if (m.user.id == user) return &m.user;
    }
    return nullptr;
  };
  if (const User* u = find()) return u;
  members_[conversation] = account_->members(conversation);  // new member, or first use: read again
  return find();
}

std::string Session::sender_name(ConversationId conversation, UserId user) {
  if (auto me = account_->me(); me && me->id == user) return me->display_name.empty() ? me->username : me->display_name;
  const User* u = member(conversation, user);
  if (u == nullptr) return "user " + std::to_string(user);
  if (u->deleted) return "Deleted user";
  return u->display_name.empty() ? u->username : u->display_name;
}

std::string Session::sender_username(ConversationId conversation, UserId user) {
  if (auto me = account_->me(); me && me->id == user) return me->username;
  const User* u = member(conversation, user);
  return u == nullptr ? std::string() : u->username;
}

}  // namespace parley::cli
