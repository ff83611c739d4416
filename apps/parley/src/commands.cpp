#include "commands.hpp"

#include <termios.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "progress.hpp"
#include "text.hpp"
#include "view.hpp"

namespace parley::cli {
namespace fs = std::filesystem;
namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

milliseconds timeout_of(const GlobalOptions& options) { return seconds(options.timeout_seconds); }

// Text from the network, made safe for a terminal: no control character
// (an escape sequence in a name or a message could otherwise move the
// cursor or rewrite the screen of whoever reads `parley history`).
std::string printable(const std::string& text) { return narrow(sanitize(widen(text), false)); }

void print_json(const json::value& value) { std::cout << json::serialize(value) << "\n" << std::flush; }

// Reads a password: from the terminal without echo, or one line of stdin
// (scripts; --password-stdin forces it). Never from an argument or the
// environment, where other local users could see it.
std::string read_password(bool from_stdin) {
  std::string password;
  if (!from_stdin && ::isatty(STDIN_FILENO) == 1) {
    std::cerr << "password: " << std::flush;
    termios old{};
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
    std::getline(std::cin, password);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  } else {
    std::getline(std::cin, password);
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) throw CliError(kExitUsage, "no password given");
  return password;
}

std::string time_text(Millis ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm local{};
  localtime_r(&t, &local);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &local);
  return buf;
}

json::object message_json(Session& session, const Conversation* conversation, const Message& m) {
  json::object o;
  o["conversation_id"] = m.conversation_id;
  if (conversation != nullptr) o["conversation"] = conversation->title();
  o["id"] = m.id;
  o["seq"] = m.seq;
  o["client_id"] = m.client_id;
  o["sender_id"] = m.sender_id;
  o["sender"] = session.sender_username(m.conversation_id, m.sender_id);
  o["sender_name"] = session.sender_name(m.conversation_id, m.sender_id);
  o["text"] = m.deleted ? "" : m.text;
  o["created_at"] = m.created_at;
  if (m.edited_at) o["edited_at"] = *m.edited_at;
  if (m.reply_to) o["reply_to"] = *m.reply_to;
  if (m.sticker_id) o["sticker_id"] = *m.sticker_id;
  if (m.deleted) o["deleted"] = true;
  o["state"] = m.state == MessageState::pending ? "pending" : m.state == MessageState::failed ? "failed" : "sent";
  json::array files;
  for (const Attachment& a : m.attachments) {
    files.push_back(json::object{{"id", a.id}, {"name", a.name}, {"size", a.size}, {"content_type", a.content_type}});
  }
  o["attachments"] = std::move(files);
  json::array reactions;
  for (const Reaction& r : m.reactions) {
    json::array users(r.user_ids.begin(), r.user_ids.end());
    reactions.push_back(json::object{{"emoji", r.emoji}, {"user_ids", std::move(users)}});
  }
  o["reactions"] = std::move(reactions);
  return o;
}

// One line per message, for people (and grep).
std::string message_line(Session& session, const Message& m) {
  std::string line = (m.seq > 0 ? std::to_string(m.seq) : std::string("-")) + " " + time_text(m.created_at) + " " +
                     printable(session.sender_name(m.conversation_id, m.sender_id)) + ": ";
  if (m.deleted) return line + "(deleted)";
  line += printable(m.text);
  for (const Attachment& a : m.attachments) line += " [file " + printable(describe_attachment(a)) + "]";
  if (m.edited_at) line += " (edited)";
  if (m.state == MessageState::pending) line += " (pending)";
  if (m.state == MessageState::failed) line += " (not sent: " + m.error + ")";
  return line;
}

// Waits for the outbox entry `client_id` to be acknowledged (or refused).
// Returns the message when it was sent; throws on refusal; nullopt on timeout.
// With `with_files`, waits until the stored message also lists its files
// (the acknowledgement carries no attachments; the message's event does).
std::optional<Message> wait_sent(Session& session, ConversationId conversation, const std::string& client_id,
                                 milliseconds timeout, bool with_files = false) {
  std::optional<Message> found;
  auto look = [&] {
    HistoryPage page = session.account().history(conversation, 0, 50);
    for (auto it = page.messages.rbegin(); it != page.messages.rend(); ++it) {
      if (it->client_id == client_id) {
        if (it->state == MessageState::failed) {
          throw CliError(kExitFailure, "the server refused the message: " + it->error);
        }
        if (it->state == MessageState::sent && (!with_files || !it->attachments.empty())) found = *it;
        return found.has_value();
      }
    }
    return false;
  };
  session.loop().run_until(look, timeout);
  return found;
}

void warn_if_offline(Session& session, const GlobalOptions& options) {
  if (session.account().read_only()) {
    std::cerr << "parley: " << session.read_only_note() << ": showing what this device holds\n";
    return;
  }
  if (!session.wait_online(std::min(timeout_of(options), milliseconds(5000)))) {
    if (session.account().state() == ConnectionState::signed_out) {
      throw CliError(kExitNoPermission, "the session ended: run parley login again");
    }
    std::cerr << "parley: offline: showing what this device holds\n";
  }
}

const Invitation* find_invitation(const std::vector<Invitation>& invitations, const std::string& username,
                                  bool incoming) {
  for (const Invitation& i : invitations) {
    if (i.incoming == incoming && i.user.username == username) return &i;
  }
  return nullptr;
}

}  // namespace

int run_register(const GlobalOptions& options, const RegisterArgs& args) {
  if (options.server.empty()) throw CliError(kExitUsage, "register needs --server URL");
  std::string password = read_password(args.password_stdin);
  Loop loop;
  Runtime runtime;
  std::optional<Result<User>> result;
  register_account(
      runtime, options.server, args.username, password, args.display_name.empty() ? args.username : args.display_name,
      [&](Result<User> r) { loop.post([&, r = std::move(r)]() mutable { result.emplace(std::move(r)); }); },
      TlsTrust{true, options.ca_file, ""});
  if (!loop.run_until([&] { return result.has_value(); }, timeout_of(options))) {
    throw CliError(kExitUnavailable, "no answer from " + options.server);
  }
  if (!*result) check(result->error(), "register " + args.username);
  if (options.json) {
    print_json(json::object{{"id", result->value().id}, {"username", result->value().username}});
  } else {
    std::cout << "registered " << result->value().username << " on " << options.server << " (now: parley login "
              << args.username << ")\n";
  }
  return kExitOk;
}

int run_login(const GlobalOptions& options, const LoginArgs& args) {
  Paths paths = Paths::from_environment();
  Profiles profiles;
  try {
    profiles = Profiles::load(paths.credentials());
  } catch (const ProfileError& e) {
    throw CliError(kExitConfig, e.what());
  }
  std::string name = options.profile.empty() ? args.username : options.profile;
  if (!valid_profile_name(name)) {
    throw CliError(kExitUsage, "'" + name + "' cannot name a profile (letters, digits, . _ -): use --profile NAME");
  }
  Profile profile;
  if (auto it = profiles.profiles.find(name); it != profiles.profiles.end()) profile = it->second;
  if (!options.server.empty()) profile.server = options.server;
  if (profile.server.empty()) throw CliError(kExitUsage, "login needs --server URL for a new profile");
  if (!options.ca_file.empty()) {
    std::error_code error;
    profile.ca_file = std::filesystem::absolute(options.ca_file, error).string();
  }
  if (!profile.username.empty() && profile.username != args.username) {
    throw CliError(kExitUsage, "profile '" + name + "' is " + profile.username + "'s: use another --profile");
  }
  profile.username = args.username;
  std::string password = read_password(args.password_stdin);

  Session session(paths, name, profile);
  auto user = session.await<User>(
      [&](Callback<User> done) {
        session.account().sign_in(args.username, password, std::move(done), args.two_factor_code);
      },
      timeout_of(options));
  if (!user) {
    if (user.error().code == Errc::two_factor_required) {
      throw CliError(kExitNoPermission, "two-factor login is on: run again with --code CODE");
    }
    check(user.error(), "login");
  }
  profiles.profiles[name] = profile;
  if (profiles.default_profile.empty() || args.make_default || profiles.profiles.size() == 1) {
    profiles.default_profile = name;
  }
  try {
    profiles.save(paths.credentials());
  } catch (const ProfileError& e) {
    throw CliError(kExitConfig, e.what());
  }
  if (options.json) {
    print_json(json::object{{"profile", name},
                            {"server", profile.server},
                            {"user_id", user.value().id},
                            {"username", user.value().username}});
  } else {
    std::cout << "logged in as " << user.value().username << " on " << profile.server << " (profile " << name << ")\n";
  }
  return kExitOk;
}

int run_logout(const GlobalOptions& options, bool forget) {
  auto session = Session::open_profile(options);
  std::string name = session->profile_name();
  auto done = session->await<Done>([&](Callback<Done> cb) { session->account().sign_out(!forget, std::move(cb)); },
                                   timeout_of(options));
  if (!done) check(done.error(), "logout");
  session.reset();
  Paths paths = Paths::from_environment();
  Profiles profiles = Profiles::load(paths.credentials());
  profiles.profiles.erase(name);
  if (profiles.default_profile == name) profiles.default_profile.clear();
  try {
    profiles.save(paths.credentials());
  } catch (const ProfileError& e) {
    throw CliError(kExitConfig, e.what());
  }
  if (!options.json) std::cout << "logged out of profile " << name << (forget ? " and erased its data" : "") << "\n";
  return kExitOk;
}

int run_contacts(const GlobalOptions& options) {
  auto session = Session::open_profile(options, true);
  warn_if_offline(*session, options);
  auto contacts = session->account().contacts();
  auto invitations = session->account().invitations();
  if (options.json) {
    json::array cs, is;
    for (const Contact& c : contacts) {
      json::object o{{"id", c.user.id},
                     {"username", c.user.username},
                     {"display_name", c.user.display_name},
                     {"online", c.online}};
      if (c.last_seen_at) o["last_seen_at"] = *c.last_seen_at;
      cs.push_back(std::move(o));
    }
    for (const Invitation& i : invitations) {
      is.push_back(json::object{
          {"id", i.id}, {"username", i.user.username}, {"incoming", i.incoming}, {"created_at", i.created_at}});
    }
    print_json(json::object{{"contacts", std::move(cs)}, {"invitations", std::move(is)}});
    return kExitOk;
  }
  for (const Contact& c : contacts) {
    std::cout << c.user.username << "\t" << printable(c.user.display_name) << "\t"
              << (c.online         ? std::string("online")
                  : c.last_seen_at ? "last seen " + time_text(*c.last_seen_at)
                                   : std::string("offline"))
              << "\n";
  }
  for (const Invitation& i : invitations) {
    if (i.incoming) {
      std::cout << "invitation from " << i.user.username << " (parley accept " << i.user.username << ")\n";
    } else {
      std::cout << "invited " << i.user.username << " (waiting for an answer)\n";
    }
  }
  return kExitOk;
}

int run_invite(const GlobalOptions& options, const std::string& username) {
  auto session = Session::open_profile(options);
  auto done = session->await<Done>([&](Callback<Done> cb) { session->account().invite(username, std::move(cb)); },
                                   timeout_of(options));
  if (!done) check(done.error(), "invite " + username);
  if (!options.json) std::cout << "invited " << username << "\n";
  return kExitOk;
}

int run_answer_invitation(const GlobalOptions& options, const std::string& username, bool accept) {
  auto session = Session::open_profile(options);
  session->wait_online(timeout_of(options));
  auto invitations = session->account().invitations();
  const Invitation* invitation = find_invitation(invitations, username, true);
  if (invitation == nullptr) throw CliError(kExitFailure, "no invitation from " + username);
  InvitationId id = invitation->id;
  auto done = session->await<Done>(
      [&](Callback<Done> cb) {
        if (accept) {
          session->account().accept(id, std::move(cb));
        } else {
          session->account().decline(id, std::move(cb));
        }
      },
      timeout_of(options));
  if (!done) check(done.error(), std::string(accept ? "accept " : "decline ") + username);
  if (!options.json) std::cout << (accept ? "accepted " : "declined ") << username << "\n";
  return kExitOk;
}

int run_send(const GlobalOptions& options, const SendArgs& args) {
  std::string text;
  for (const std::string& word : args.words) text += (text.empty() ? "" : " ") + word;
  if ((args.words.empty() && args.file.empty() && args.sticker <= 0) ||
      (args.words.size() == 1 && args.words[0] == "-")) {
    std::ostringstream in;
    in << std::cin.rdbuf();
    text = in.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  }
  if (args.sticker > 0 && (!text.empty() || !args.file.empty())) {
    throw CliError(kExitUsage, "a sticker message has no text and no file");
  }
  if (text.empty() && args.file.empty() && args.sticker <= 0) {
    throw CliError(kExitUsage, "nothing to send: give a text, --file PATH or --sticker ID");
  }
  if (!args.file.empty() && !fs::is_regular_file(args.file)) {
    throw CliError(kExitUsage, args.file + ": not a readable file");
  }
  auto session = Session::open_profile(options);
  bool online = session->wait_online(timeout_of(options));
  ConversationId conversation = session->resolve_conversation(args.to, online, timeout_of(options));
  std::optional<MessageId> reply_to;
  if (args.reply_to > 0) {
    HistoryPage page = session->account().history(conversation, args.reply_to + 1, 1);
    if (page.messages.empty() || page.messages.back().seq != args.reply_to) {
      throw CliError(kExitFailure, "no message " + std::to_string(args.reply_to) + " in " + args.to);
    }
    reply_to = page.messages.back().id;
  }
  std::string client_id;
  if (!args.file.empty()) {
    if (!online) throw CliError(kExitUnavailable, "offline: a file is sent only while connected");
    // Shared with the progress callback: progress tasks may still be queued
    // after the upload's result, and run after this block.
    auto bar = std::make_shared<ProgressBar>(stdout, fs::path(args.file).filename().string(),
                                             ProgressBar::stdout_is_terminal() && !options.json);
    std::int64_t size = static_cast<std::int64_t>(fs::file_size(args.file));
    auto sent = session->await<std::string>(
        [&](Callback<std::string> done) {
          session->account().send_file(
              conversation, args.file, text, [bar](Progress p) { bar->update(p.done, p.total); }, std::move(done));
        },
        milliseconds(std::max<std::int64_t>(timeout_of(options).count(), size / 1000)));  // >= 1 MB/s
    bar->finish();
    if (!sent) check(sent.error(), "send " + args.file);
    client_id = sent.value();
  } else if (args.sticker > 0) {
    auto queued = session->account().send_sticker(conversation, args.sticker);
    if (!queued) check(queued.error(), "send");
    client_id = queued.value();
  } else {
    auto queued = session->account().send_text(conversation, text, reply_to);
    if (!queued) check(queued.error(), "send");
    client_id = queued.value();
  }
  if (args.no_wait) {
    if (options.json) print_json(json::object{{"conversation_id", conversation}, {"client_id", client_id}});
    return kExitOk;
  }
  auto sent =
      wait_sent(*session, conversation, client_id, online ? timeout_of(options) : milliseconds(0), !args.file.empty());
  if (!sent) {
    std::cerr << "parley: queued: not sent yet (offline); parley sends it at its next connection\n";
    if (options.json)
      print_json(json::object{{"conversation_id", conversation}, {"client_id", client_id}, {"state", "pending"}});
    return kExitQueued;
  }
  if (options.json) {
    auto c = session->account().conversation(conversation);
    print_json(message_json(*session, c ? &*c : nullptr, *sent));
  } else {
    std::cout << "sent " << sent->seq << "\n";
  }
  return kExitOk;
}

int run_history(const GlobalOptions& options, const HistoryArgs& args) {
  if (args.limit < 1 || args.limit > 10000) throw CliError(kExitUsage, "--limit must be 1-10000");
  auto session = Session::open_profile(options, true);
  warn_if_offline(*session, options);
  ConversationId conversation = session->resolve_conversation(args.of, false, timeout_of(options));
  HistoryPage page = session->account().history(conversation, 0, args.limit);
  // Older pages: from the store first, then from the server.
  while (static_cast<int>(page.messages.size()) < args.limit && (page.more_in_store || page.more_on_server)) {
    std::int64_t oldest = page.messages.empty() ? 0 : page.messages.front().seq;
    if (oldest <= 1 && !page.messages.empty()) break;
    if (!page.more_in_store) {
      if (session->account().state() != ConnectionState::online) break;
      auto loaded = session->await<HistoryPage>(
          [&](Callback<HistoryPage> done) { session->account().load_older(conversation, oldest, std::move(done)); },
          timeout_of(options));
      if (!loaded) check(loaded.error(), "load history");
      if (loaded.value().messages.empty()) break;
    }
    HistoryPage older =
        session->account().history(conversation, oldest, args.limit - static_cast<int>(page.messages.size()));
    if (older.messages.empty()) break;
    // Pending messages come after the newest page only: keep them last.
    older.messages.insert(older.messages.end(), page.messages.begin(), page.messages.end());
    older.messages.swap(page.messages);
    page.more_in_store = older.more_in_store;
    page.more_on_server = older.more_on_server;
  }
  auto c = session->account().conversation(conversation);
  for (const Message& m : page.messages) {
    if (options.json) {
      print_json(message_json(*session, c ? &*c : nullptr, m));
    } else {
      std::cout << message_line(*session, m) << "\n";
    }
  }
  return kExitOk;
}

int run_tail(const GlobalOptions& options, const TailArgs& args) {
  Loop::install_signal_handlers();
  auto session = Session::open_profile(options);
  std::set<ConversationId> only;
  for (const std::string& name : args.conversations) {
    session->wait_online(timeout_of(options));
    only.insert(session->resolve_conversation(name, false, timeout_of(options)));
  }
  int status = kExitOk;
  session->on_changes = [&](const Changes& changes) {
    for (const Message& m : changes.new_messages) {
      if (!only.empty() && only.count(m.conversation_id) == 0) continue;
      auto c = session->account().conversation(m.conversation_id);
      if (options.json) {
        print_json(message_json(*session, c ? &*c : nullptr, m));
      } else {
        std::cout << "[" << printable(c ? c->title() : std::to_string(m.conversation_id)) << "] "
                  << message_line(*session, m) << "\n"
                  << std::flush;
      }
    }
  };
  // "connected" on stderr each time the stream is live (a script may wait
  // for it before it expects messages), "connection lost" when it is not.
  ConnectionState last = ConnectionState::offline;
  session->on_state = [&](ConnectionState state) {
    if (state == last) return;
    if (state == ConnectionState::offline && last == ConnectionState::online) {
      std::cerr << "parley: connection lost; reconnecting\n";
    }
    if (state == ConnectionState::online) std::cerr << "parley: connected\n";
    if (state == ConnectionState::signed_out) {
      std::cerr << "parley: the session ended: run parley login again\n";
      status = kExitNoPermission;
    }
    last = state;
  };
  session->on_state(session->account().state());
  session->loop().run_until([&] { return status != kExitOk; }, std::chrono::hours(24 * 365));
  return status;
}

int run_search(const GlobalOptions& options, const SearchArgs& args) {
  auto session = Session::open_profile(options, true);
  // Up to date first: the device's search covers what it has caught up.
  warn_if_offline(*session, options);
  std::optional<ConversationId> in;
  if (!args.in.empty()) in = session->resolve_conversation(args.in, false, timeout_of(options));
  std::vector<SearchHit> hits;
  if (args.on_server) {
    auto result = session->await<std::vector<SearchHit>>(
        [&](Callback<std::vector<SearchHit>> done) {
          session->account().search_server(args.query, in, std::move(done));
        },
        timeout_of(options));
    if (!result) check(result.error(), "search");
    hits = std::move(result.value());
  } else {
    hits = session->account().search_local(args.query, args.limit, in);
  }
  for (const SearchHit& hit : hits) {
    auto c = session->account().conversation(hit.message.conversation_id);
    if (options.json) {
      json::object o = message_json(*session, c ? &*c : nullptr, hit.message);
      o["snippet"] = hit.snippet;
      print_json(o);
    } else {
      std::cout << "[" << printable(c ? c->title() : "?") << "] " << message_line(*session, hit.message) << "\n";
    }
  }
  return hits.empty() ? kExitFailure : kExitOk;  // like grep: 1 when nothing matched
}

int run_download(const GlobalOptions& options, const DownloadArgs& args) {
  auto session = Session::open_profile(options);
  session->wait_online(timeout_of(options));
  struct Item {
    MediaId id;
    std::string name;
  };
  std::vector<Item> items;
  if (!args.media.empty()) {
    items.push_back({args.media, args.media});
  } else {
    ConversationId conversation = session->resolve_conversation(args.conversation, false, timeout_of(options));
    HistoryPage page = session->account().history(conversation, args.seq + 1, 1);
    if (page.messages.empty() || page.messages.back().seq != args.seq) {
      throw CliError(kExitFailure, "no message " + std::to_string(args.seq) + " in " + args.conversation +
                                       " on this device (parley history shows them)");
    }
    for (const Attachment& a : page.messages.back().attachments) items.push_back({a.id, a.name});
    if (items.empty()) throw CliError(kExitFailure, "message " + std::to_string(args.seq) + " has no file");
  }
  fs::path output = args.output.empty() ? fs::path(".") : fs::path(args.output);
  bool to_dir = items.size() > 1 || fs::is_directory(output) || args.output.empty();
  for (const Item& item : items) {
    // Never let a name from the network choose the folder: its last part only.
    std::string name = fs::path(item.name).filename().string();
    if (name.empty() || name == "." || name == "..") name = item.id;
    fs::path target = to_dir ? output / name : output;
    auto bar = std::make_shared<ProgressBar>(stdout, name, ProgressBar::stdout_is_terminal() && !options.json);
    auto path = session->await<fs::path>(
        [&](Callback<fs::path> done) {
          session->account().download(
              item.id, Account::Variant::original, [bar](Progress p) { bar->update(p.done, p.total); },
              std::move(done));
        },
        milliseconds(std::max(timeout_of(options).count(), 600'000L)));
    bar->finish();
    if (!path) check(path.error(), "download " + name);
    std::error_code ec;
    fs::copy_file(path.value(), target, fs::copy_options::overwrite_existing, ec);
    if (ec) throw CliError(kExitIoError, target.string() + ": " + ec.message());
    if (options.json) {
      print_json(json::object{{"media_id", item.id},
                              {"path", target.string()},
                              {"size", static_cast<std::int64_t>(fs::file_size(target))}});
    } else {
      std::cout << "saved " << target.string() << "\n";
    }
  }
  return kExitOk;
}

int run_groups(const GlobalOptions& options, const GroupArgs& args) {
  auto session = Session::open_profile(options);
  Account& account = session->account();
  auto t = timeout_of(options);
  if (args.action == "list") {
    warn_if_offline(*session, options);
    json::array out;
    for (const Conversation& c : account.conversations()) {
      if (c.kind != ConversationKind::group) continue;
      auto members = account.members(c.id);
      const char* role = c.role == Role::owner ? "owner" : c.role == Role::admin ? "admin" : "member";
      if (options.json) {
        out.push_back(json::object{
            {"id", c.id}, {"name", c.name}, {"topic", c.topic}, {"members", members.size()}, {"role", role}});
      } else {
        std::cout << "#" << c.id << "\t" << printable(c.name) << "\t" << members.size() << " members\t" << role
                  << (c.topic.empty() ? "" : "\t" + printable(c.topic)) << "\n";
      }
    }
    if (options.json) print_json(out);
    return kExitOk;
  }
  if (args.action == "create") {
    auto created = session->await<ConversationId>(
        [&](Callback<ConversationId> done) { account.create_group(args.group, args.users, std::move(done)); }, t);
    if (!created) check(created.error(), "create group " + args.group);
    if (options.json) {
      print_json(json::object{{"id", created.value()}, {"name", args.group}});
    } else {
      std::cout << "created group " << args.group << " (#" << created.value() << ")\n";
    }
    return kExitOk;
  }
  session->wait_online(t);
  ConversationId group = session->resolve_conversation(args.group, false, t);
  auto finish = [&](const Result<Done>& r, const std::string& what) {
    if (!r) check(r.error(), what);
    if (!options.json) std::cout << what << ": done\n";
    return kExitOk;
  };
  if (args.action == "members") {
    json::array out;
    for (const Member& m : account.members(group)) {
      const char* role = m.role == Role::owner ? "owner" : m.role == Role::admin ? "admin" : "member";
      if (options.json) {
        out.push_back(json::object{{"id", m.user.id}, {"username", m.user.username}, {"role", role}});
      } else {
        std::cout << m.user.username << "\t" << printable(m.user.display_name) << "\t" << role << "\n";
      }
    }
    if (options.json) print_json(out);
    return kExitOk;
  }
  if (args.action == "add") {
    for (const std::string& user : args.users) {
      finish(session->await<Done>([&](Callback<Done> cb) { account.add_member(group, user, std::move(cb)); }, t),
             "add " + user);
    }
    return kExitOk;
  }
  if (args.action == "remove") {
    for (const std::string& user : args.users) {
      UserId id = 0;
      for (const Member& m : account.members(group)) {
        if (m.user.username == user) id = m.user.id;
      }
      if (id == 0) throw CliError(kExitFailure, user + " is not a member of " + args.group);
      finish(session->await<Done>([&](Callback<Done> cb) { account.remove_member(group, id, std::move(cb)); }, t),
             "remove " + user);
    }
    return kExitOk;
  }
  if (args.action == "rename") {
    auto c = account.conversation(group);
    std::string topic = args.topic.empty() && c ? c->topic : args.topic;
    return finish(session->await<Done>(
                      [&](Callback<Done> cb) { account.rename_group(group, args.name, topic, std::move(cb)); }, t),
                  "rename " + args.group);
  }
  if (args.action == "leave") {
    return finish(session->await<Done>([&](Callback<Done> cb) { account.leave(group, std::move(cb)); }, t),
                  "leave " + args.group);
  }
  throw CliError(kExitUsage, "unknown groups action " + args.action);
}


// --- the account: mute, profile, sessions, two-factor, stickers ---------------------------

namespace {

std::string session_line(const SessionInfo& s) {
  return std::to_string(s.id) + "\t" + printable(s.device_name) + "\tsince " + time_text(s.created_at) +
         "\tlast seen " + time_text(s.last_seen_at) + (s.current ? "\t(this device)" : "");
}

void print_user(const User& user, bool as_json) {
  if (as_json) {
    print_json(json::object{{"id", user.id},
                            {"username", user.username},
                            {"display_name", user.display_name},
                            {"status_text", user.status_text},
                            {"avatar_media_id", user.avatar_media_id ? json::value(*user.avatar_media_id) : nullptr}});
    return;
  }
  std::cout << user.username << "\t" << printable(user.display_name) << "\t" << printable(user.status_text)
            << (user.avatar_media_id ? "\tavatar " + *user.avatar_media_id : "") << "\n";
}

}  // namespace

int run_account(const GlobalOptions& options, const AccountArgs& args) {
  auto session = Session::open_profile(options);
  auto& account = session->account();
  const auto timeout = timeout_of(options);
  const auto done_or_fail = [&](const Result<Done>& result, const std::string& what) {
    if (!result) check(result.error(), what);
  };
  if (args.action == "mute" || args.action == "unmute") {
    session->wait_online(timeout);
    const ConversationId conversation = session->resolve_conversation(args.target, false, timeout);
    Millis until = 0;
    if (args.action == "mute") {
      const auto now = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch());
      // "Until unmuted": ten years, as the server stores a time.
      const auto span = args.hours > 0 ? std::chrono::hours(args.hours) : std::chrono::hours(24 * 3650);
      until = (now + std::chrono::duration_cast<milliseconds>(span)).count();
    }
    auto result = session->await<Done>([&](Callback<Done> cb) { account.mute(conversation, until, std::move(cb)); },
                                       timeout);
    done_or_fail(result, args.action + " " + args.target);
    if (options.json) {
      print_json(json::object{{"conversation_id", conversation}, {"muted_until", until > 0 ? json::value(until) : nullptr}});
    } else {
      std::cout << (until > 0 ? "muted " + args.target + " until " + time_text(until) : "unmuted " + args.target) << "\n";
    }
    return kExitOk;
  }
  if (args.action == "profile") {
    std::optional<Result<User>> user;
    if (args.display_name || args.status_text) {
      user = session->await<User>(
          [&](Callback<User> cb) { account.update_profile(args.display_name, args.status_text, std::move(cb)); },
          timeout);
    }
    if (!args.avatar.empty()) {
      user = session->await<User>([&](Callback<User> cb) { account.set_avatar(args.avatar, std::move(cb)); }, timeout);
    } else if (args.remove_avatar) {
      user = session->await<User>([&](Callback<User> cb) { account.remove_avatar(std::move(cb)); }, timeout);
    }
    if (!user) {
      auto me = account.me();
      if (!me) throw CliError(kExitNoPermission, "not logged in");
      user.emplace(*me);
    }
    if (!*user) check(user->error(), "profile");
    print_user(user->value(), options.json);
    return kExitOk;
  }
  if (args.action == "sessions") {
    if (args.revoke > 0) {
      done_or_fail(session->await<Done>([&](Callback<Done> cb) { account.revoke_session(args.revoke, std::move(cb)); },
                                        timeout),
                   "revoke session " + std::to_string(args.revoke));
      if (!options.json) std::cout << "revoked session " << args.revoke << "\n";
    }
    if (args.revoke_others) {
      auto count = session->await<int>([&](Callback<int> cb) { account.revoke_other_sessions(std::move(cb)); }, timeout);
      if (!count) check(count.error(), "revoke the other sessions");
      if (!options.json) std::cout << "revoked " << count.value() << " other sessions\n";
    }
    auto list = session->await<std::vector<SessionInfo>>(
        [&](Callback<std::vector<SessionInfo>> cb) { account.sessions(std::move(cb)); }, timeout);
    if (!list) check(list.error(), "sessions");
    if (options.json) {
      json::array all;
      for (const auto& s : list.value()) {
        all.push_back(json::object{{"id", s.id},
                                   {"device_name", s.device_name},
                                   {"created_at", s.created_at},
                                   {"last_seen_at", s.last_seen_at},
                                   {"current", s.current}});
      }
      print_json(json::object{{"sessions", std::move(all)}});
    } else {
      for (const auto& s : list.value()) std::cout << session_line(s) << "\n";
    }
    return kExitOk;
  }
  if (args.action == "2fa status") {
    auto status = session->await<TwoFactorStatus>(
        [&](Callback<TwoFactorStatus> cb) { account.two_factor_status(std::move(cb)); }, timeout);
    if (!status) check(status.error(), "2fa status");
    if (options.json) {
      print_json(json::object{{"enabled", status.value().enabled},
                              {"pending", status.value().pending},
                              {"recovery_codes_left", status.value().recovery_codes_left}});
    } else {
      std::cout << (status.value().enabled ? "two-factor login is on (" +
                                                 std::to_string(status.value().recovery_codes_left) +
                                                 " recovery codes left)"
                    : status.value().pending ? "two-factor login is being set up: parley 2fa confirm CODE"
                                             : "two-factor login is off")
                << "\n";
    }
    return kExitOk;
  }
  if (args.action == "2fa setup") {
    const std::string password = read_password(args.password_stdin);
    auto enrolment = session->await<TwoFactorEnrolment>(
        [&](Callback<TwoFactorEnrolment> cb) { account.begin_two_factor(password, std::move(cb)); }, timeout);
    if (!enrolment) check(enrolment.error(), "2fa setup");
    if (options.json) {
      print_json(json::object{{"secret", enrolment.value().secret}, {"otpauth_uri", enrolment.value().otpauth_uri}});
    } else {
      std::cout << enrolment.value().qr_text << "\nsecret: " << enrolment.value().secret << "\n"
                << enrolment.value().otpauth_uri << "\nscan it or type the secret into an authenticator app, then: "
                << "parley 2fa confirm CODE\n";
    }
    return kExitOk;
  }
  if (args.action == "2fa confirm") {
    auto codes = session->await<std::vector<std::string>>(
        [&](Callback<std::vector<std::string>> cb) { account.confirm_two_factor(args.target, std::move(cb)); },
        timeout);
    if (!codes) check(codes.error(), "2fa confirm");
    if (options.json) {
      json::array all;
      for (const auto& code : codes.value()) all.emplace_back(code);
      print_json(json::object{{"enabled", true}, {"recovery_codes", std::move(all)}});
    } else {
      std::cout << "two-factor login is on. Recovery codes (each works once; keep them safe, they are not shown "
                   "again):\n";
      for (const auto& code : codes.value()) std::cout << "  " << code << "\n";
    }
    return kExitOk;
  }
  if (args.action == "2fa disable") {
    const std::string password = read_password(args.password_stdin);
    done_or_fail(session->await<Done>(
                     [&](Callback<Done> cb) { account.disable_two_factor(password, args.target, std::move(cb)); },
                     timeout),
                 "2fa disable");
    if (!options.json) std::cout << "two-factor login is off\n";
    return kExitOk;
  }
  if (args.action == "stickers" || args.action == "stickers catalogue") {
    const bool installed = args.action == "stickers";
    auto packs = session->await<std::vector<StickerPack>>(
        [&](Callback<std::vector<StickerPack>> cb) { account.sticker_packs(installed, std::move(cb)); }, timeout);
    if (!packs) check(packs.error(), "sticker packs");
    json::array all;
    for (const auto& pack : packs.value()) {
      if (!installed) {
        if (options.json) {
          all.push_back(json::object{{"name", pack.name}, {"title", pack.title}, {"count", pack.count}});
        } else {
          std::cout << pack.name << "\t" << printable(pack.title) << "\t" << pack.count << " stickers\n";
        }
        continue;
      }
      // This user's packs with their stickers: the ids `send --sticker` takes.
      auto detail = session->await<StickerPack>(
          [&](Callback<StickerPack> cb) { account.sticker_pack(pack.name, std::move(cb)); }, timeout);
      if (!detail) check(detail.error(), "sticker pack " + pack.name);
      json::array stickers;
      if (!options.json) std::cout << pack.name << "\t" << printable(pack.title) << "\n";
      for (const auto& sticker : detail.value().stickers) {
        if (options.json) {
          stickers.push_back(json::object{{"id", sticker.id}, {"emoji", sticker.emoji}});
        } else {
          std::cout << "  " << sticker.id << "\t" << printable(sticker.emoji) << "\n";
        }
      }
      if (options.json) all.push_back(json::object{{"name", pack.name}, {"stickers", std::move(stickers)}});
    }
    if (options.json) print_json(json::object{{"packs", std::move(all)}});
    return kExitOk;
  }
  if (args.action == "stickers add" || args.action == "stickers remove") {
    const bool add = args.action == "stickers add";
    done_or_fail(session->await<Done>(
                     [&](Callback<Done> cb) {
                       if (add) {
                         account.add_sticker_pack(args.target, std::move(cb));
                       } else {
                         account.remove_sticker_pack(args.target, std::move(cb));
                       }
                     },
                     timeout),
                 args.action + " " + args.target);
    if (!options.json) std::cout << (add ? "added " : "removed ") << args.target << "\n";
    return kExitOk;
  }
  throw CliError(kExitUsage, "unknown command " + args.action);
}

}  // namespace parley::cli
