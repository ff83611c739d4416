// The interactive client: the screen renders the device store; keys and
// engine events are handled on this one thread (the engine delivers through
// the session's Loop). Every change, this device's or another's, reaches the
// screen the same way: the engine applies it to the store and says so in
// on_changes, and the screen reads the store again.
#include <poll.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <map>

#include "commands.hpp"
#include "input_command.hpp"
#include "progress.hpp"
#include "screen.hpp"

namespace parley::cli {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string one_line(std::string text, std::size_t max = 80) {
  for (char& c : text) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  if (text.size() > max) {
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // a character boundary
    text = text.substr(0, cut) + "…";
  }
  return text;
}

fs::path download_folder() {
  if (const char* dir = std::getenv("XDG_DOWNLOAD_DIR"); dir != nullptr && dir[0] == '/') return dir;
  if (const char* home = std::getenv("HOME")) {
    fs::path downloads = fs::path(home) / "Downloads";
    if (fs::is_directory(downloads)) return downloads;
  }
  return fs::current_path();
}

class Interactive {
 public:
  Interactive(Session& session, Screen& screen) : session_(session), account_(session.account()), screen_(screen) {
    session_.on_changes = [this](const Changes& c) { on_changes(c); };
    session_.on_state = [this](ConnectionState) { dirty_ = true; };
    session_.on_typing = [this](ConversationId c, UserId u, Millis expires) {
      typing_[c] = {u, Clock::now() + std::chrono::milliseconds(std::max<Millis>(expires, 1000))};
      dirty_ = true;
    };
    session_.on_presence = [this](UserId u, bool online) {
      presence_[u] = online;
      dirty_ = true;
    };
    session_.on_error = [this](const Error& e) { set_status("error: " + e.message, Tone::error); };
    for (const Contact& c : account_.contacts()) presence_[c.user.id] = c.online;
    reload_conversations();
    if (!conversations_.empty()) open(conversations_.front().id);
    set_status("Tab: next conversation · /help: commands · /quit", Tone::normal);
  }

  int run() {
    Loop& loop = session_.loop();
    while (!quit_ && !Loop::interrupted()) {
      if (dirty_) draw();
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {loop.wake_fd(), POLLIN, 0}};
      ::poll(fds, 2, 500);
      loop.run_pending();
      while (auto key = screen_.read_key()) handle_key(*key);
      expire();
    }
    return kExitOk;
  }

 private:
  // --- Store to screen --------------------------------------------------------
  void reload_conversations() {
    conversations_ = account_.conversations();
    dirty_ = true;
  }

  void reload_messages() {
    if (open_ == 0) {
      page_ = {};
      return;
    }
    page_ = account_.history(open_, 0, loaded_);
    dirty_ = true;
  }

  void open(ConversationId id) {
    open_ = id;
    loaded_ = 200;
    scroll_ = 0;
    overlay_.reset();
    reload_messages();
    mark_read();
    if (notice_conversation_ == id) clear_notice();
  }

  void mark_read() {
    if (open_ == 0 || scroll_ > 0) return;
    std::int64_t last = 0;
    for (const Message& m : page_.messages) last = std::max(last, m.seq);
    auto c = std::find_if(conversations_.begin(), conversations_.end(),
                          [&](const Conversation& x) { return x.id == open_; });
    if (last > 0 && c != conversations_.end() && c->read_seq < last) account_.mark_read(open_, last);
  }

  void on_changes(const Changes& changes) {
    if (changes.conversation_list || !changes.conversations.empty()) reload_conversations();
    bool open_changed =
        std::find(changes.conversations.begin(), changes.conversations.end(), open_) != changes.conversations.end();
    for (const Message& m : changes.new_messages) {
      if (m.conversation_id == open_) {
        open_changed = true;
        if (scroll_ > 0) set_status("new messages below: PgDn", Tone::warning);
        typing_.erase(open_);
        continue;
      }
      auto me = account_.me();
      if (me && m.sender_id == me->id) continue;
      // The in-app notification line: a message in another conversation.
      auto c = account_.conversation(m.conversation_id);
      std::string title = c ? c->title() : "a conversation";
      std::string who = session_.sender_name(m.conversation_id, m.sender_id);
      std::string text = m.text.empty() && !m.attachments.empty() ? "[file]" : m.text;
      notice_ = "✉ " + (c && c->kind == ConversationKind::group ? who + " in " + title : title) + ": " +
                one_line(text) + "   (Tab, or /open " + (c && c->peer ? c->peer->username : title) + ")";
      notice_conversation_ = m.conversation_id;
      notice_until_ = Clock::now() + std::chrono::seconds(30);
      typing_.erase(m.conversation_id);
    }
    if (open_changed) {
      reload_messages();
      mark_read();
    }
    if (changes.invitations || changes.contacts) {
      for (const Contact& c : account_.contacts()) presence_.emplace(c.user.id, c.online);
    }
    dirty_ = true;
  }

  ScreenModel model() {
    ScreenModel m;
    auto me = account_.me();
    std::string who = me ? me->username : session_.profile().username;
    std::string where = session_.profile().server;
    for (const char* scheme : {"http://", "https://"}) {
      if (where.rfind(scheme, 0) == 0) where = where.substr(std::string(scheme).size());
    }
    switch (account_.state()) {
      case ConnectionState::online:
        m.header = "parley · " + who + "@" + where + " · online";
        m.header_tone = Tone::good;
        break;
      case ConnectionState::connecting:
      case ConnectionState::syncing:
        m.header = "parley · " + who + "@" + where + " · connecting…";
        m.header_tone = Tone::warning;
        break;
      case ConnectionState::offline:
        m.header = "parley · " + who + "@" + where + " · offline: history from this device; what you send is queued";
        m.header_tone = Tone::warning;
        break;
      case ConnectionState::signed_out:
        m.header = "parley · signed out: run parley login";
        m.header_tone = Tone::error;
        break;
    }
    for (const Conversation& c : conversations_) {
      ConversationRow row;
      row.id = c.id;
      row.title = c.title();
      row.unread = c.id == open_ ? 0 : c.unread_count;
      row.group = c.kind == ConversationKind::group;
      row.online = c.peer && presence_.count(c.peer->id) != 0 && presence_[c.peer->id];
      row.muted = c.muted_until && *c.muted_until > now_ms();
      m.conversations.push_back(std::move(row));
    }
    // Contacts with no conversation yet, so that they can be found and opened.
    for (const Contact& contact : account_.contacts()) {
      bool has = std::any_of(conversations_.begin(), conversations_.end(), [&](const Conversation& c) {
        return c.kind == ConversationKind::direct && c.peer && c.peer->id == contact.user.id;
      });
      if (has) continue;
      ConversationRow row;
      row.title = contact.user.username;
      row.online = presence_.count(contact.user.id) != 0 ? presence_[contact.user.id] : contact.online;
      m.conversations.push_back(std::move(row));
    }
    m.open_conversation = open_;
    for (const Invitation& i : account_.invitations()) {
      m.invitations.push_back(i.incoming ? i.user.username + ": /accept " + i.user.username
                                         : "→ " + i.user.username + " (waiting)");
    }
    if (overlay_) {
      m.dialog_title = overlay_title_;
      m.messages = *overlay_;
    } else if (auto c = account_.conversation(open_)) {
      m.dialog_title = c->title();
      if (c->peer) {
        m.dialog_title += " (@" + c->peer->username + ")";
        m.dialog_title += presence_[c->peer->id] ? " · online" : "";
      } else {
        m.dialog_title += " · " + std::to_string(account_.members(open_).size()) + " members";
        if (!c->topic.empty()) m.dialog_title += " · " + c->topic;
      }
      auto mine = account_.me();
      for (const Message& msg : page_.messages) m.messages.push_back(row_of(msg, mine ? mine->id : 0));
      m.more_above = page_.more_in_store || page_.more_on_server;
      if (auto t = typing_.find(open_); t != typing_.end()) {
        m.typing = session_.sender_name(open_, t->second.user) + " is typing…";
      }
    } else {
      m.dialog_title = conversations_.empty() ? "Welcome to parley" : "";
      if (conversations_.empty()) {
        MessageRow hint;
        hint.info = true;
        hint.text =
            "No conversations yet. Invite someone with /invite USERNAME; accept invitations with /accept USERNAME.";
        hint.created_at = now_ms();
        m.messages.push_back(hint);
      }
    }
    m.notice = notice_;
    m.status = status_;
    m.status_tone = status_tone_;
    return m;
  }

  MessageRow row_of(const Message& msg, UserId me) {
    MessageRow r;
    r.number = msg.seq;
    r.created_at = msg.created_at;
    r.sender = session_.sender_name(msg.conversation_id, msg.sender_id);
    r.text = msg.text;
    r.own = msg.sender_id == me;
    r.pending = msg.state == MessageState::pending;
    r.failed = msg.state == MessageState::failed;
    r.error = msg.error;
    r.edited = msg.edited_at.has_value();
    r.deleted = msg.deleted;
    if (msg.reply_to) {
      if (auto original = account_.message(*msg.reply_to)) {
        r.reply_to_number = original->seq;
        r.reply_excerpt = session_.sender_name(original->conversation_id, original->sender_id) + ": " +
                          one_line(original->deleted ? "(deleted)" : original->text, 60);
      } else {
        r.reply_to_number = -1;
        r.reply_excerpt = "(an older message)";
      }
    }
    for (const Reaction& reaction : msg.reactions) {
      if (!r.reactions.empty()) r.reactions += "  ";
      r.reactions += reaction.emoji + " " + std::to_string(reaction.user_ids.size());
    }
    for (const Attachment& a : msg.attachments) r.files.push_back(a.name + " (" + human_bytes(a.size) + ")");
    if (msg.sticker_id) r.text = r.text.empty() ? "[sticker]" : r.text;
    return r;
  }

  void draw() {
    dirty_ = false;
    scroll_ = screen_.draw(model(), input_, scroll_, now_ms());
  }

  // --- Keys -----------------------------------------------------------------
  void handle_key(const KeyPress& key) {
    dirty_ = true;
    switch (key.type) {
      case KeyPress::Type::character:
        input_.insert(key.character);
        if (open_ != 0 && !input_.text().empty() && input_.text()[0] != L'/' &&
            Clock::now() - last_typing_ > std::chrono::seconds(3)) {
          account_.typing(open_);
          last_typing_ = Clock::now();
        }
        break;
      case KeyPress::Type::edit:
        if (auto line = input_.key(key.edit)) execute(*line);
        break;
      case KeyPress::Type::next_conversation:
      case KeyPress::Type::previous_conversation: {
        if (conversations_.empty()) break;
        // Tab goes to the conversation the notification line names first.
        if (key.type == KeyPress::Type::next_conversation && notice_conversation_ != 0 &&
            notice_conversation_ != open_) {
          open(notice_conversation_);
          break;
        }
        auto it = std::find_if(conversations_.begin(), conversations_.end(),
                               [&](const Conversation& c) { return c.id == open_; });
        std::ptrdiff_t index = it == conversations_.end() ? 0 : it - conversations_.begin();
        std::ptrdiff_t n = static_cast<std::ptrdiff_t>(conversations_.size());
        index = (index + (key.type == KeyPress::Type::next_conversation ? 1 : n - 1)) % n;
        open(conversations_[static_cast<std::size_t>(index)].id);
        break;
      }
      case KeyPress::Type::page_up:
        scroll_ += std::max(screen_.dialog_rows() - 2, 1);
        if (screen_.at_top()) load_more();
        break;
      case KeyPress::Type::page_down:
        scroll_ = std::max(0, scroll_ - std::max(screen_.dialog_rows() - 2, 1));
        if (scroll_ == 0) mark_read();
        break;
      case KeyPress::Type::escape:
        overlay_.reset();
        clear_notice();
        break;
      case KeyPress::Type::redraw:
        screen_.force_redraw();
        break;
    }
  }

  void load_more() {
    if (open_ == 0 || overlay_) return;
    if (page_.more_in_store) {
      loaded_ += 200;
      reload_messages();
      return;
    }
    if (!page_.more_on_server || loading_older_ || page_.messages.empty()) return;
    loading_older_ = true;
    set_status("loading older messages…", Tone::normal);
    ConversationId id = open_;
    account_.load_older(id, page_.messages.front().seq, [this, id](Result<HistoryPage> r) {
      loading_older_ = false;
      if (!r) {
        set_status("older messages: " + r.error().message, Tone::error);
        return;
      }
      set_status("", Tone::normal);
      if (id == open_) {
        loaded_ += static_cast<int>(r.value().messages.size());
        reload_messages();
      }
    });
  }

  void set_status(const std::string& text, Tone tone) {
    status_ = text;
    status_tone_ = tone;
    dirty_ = true;
  }
  void clear_notice() {
    notice_.clear();
    notice_conversation_ = 0;
    dirty_ = true;
  }

  void expire() {
    auto now = Clock::now();
    for (auto it = typing_.begin(); it != typing_.end();) {
      if (it->second.until <= now) {
        it = typing_.erase(it);
        dirty_ = true;
      } else {
        ++it;
      }
    }
    if (!notice_.empty() && now > notice_until_) clear_notice();
  }

  // A message of the open conversation by its number, or nullopt (status says why).
  std::optional<Message> numbered(std::int64_t number) {
    if (open_ == 0) {
      set_status("open a conversation first (Tab)", Tone::error);
      return std::nullopt;
    }
    for (const Message& m : page_.messages) {
      if (m.seq == number) return m;
    }
    HistoryPage p = account_.history(open_, number + 1, 1);
    if (!p.messages.empty() && p.messages.back().seq == number) return p.messages.back();
    set_status("no message " + std::to_string(number) + " here", Tone::error);
    return std::nullopt;
  }

  Callback<Done> report(const std::string& what) {
    return [this, what](Result<Done> r) {
      if (r) {
        set_status(what + ": done", Tone::good);
      } else {
        set_status(what + ": " + r.error().message, Tone::error);
      }
    };
  }

  std::optional<ConversationId> find_conversation(const std::string& name) {
    std::string target = name;
    for (const Conversation& c : conversations_) {
      if (c.title() == target || (c.peer && c.peer->username == target) || "#" + std::to_string(c.id) == target) {
        return c.id;
      }
    }
    return std::nullopt;
  }

  void execute(const std::string& line) {
    InputCommand command = parse_input(line);
    std::visit([this](auto& c) { run(c); }, command);
  }

  void run(const Nothing&) {}
  void run(const Invalid& c) { set_status(c.message, Tone::error); }
  void run(const Quit&) { quit_ = true; }
  void run(const Help&) {
    overlay_title_ = "Help (Esc to go back)";
    overlay_.emplace();
    for (const char* text :
         {"TEXT  send TEXT to the open conversation (//TEXT sends a text starting with /)",
          "/edit N TEXT  change your message N (N: the number left of a message)", "/reply N TEXT  reply to message N",
          "/react N EMOJI  react to message N (again: remove)", "/delete N  delete your message N",
          "/file PATH  send a file", "/download N [DIR]  save message N's files",
          "/invite USER, /accept USER, /decline USER  contacts", "/open NAME  open a conversation",
          "/group NAME USER...  create a group", "/search TEXT  search this device's history",
          "/mute [HOURS], /unmute  the open conversation's notifications", "/sticker ID  send a sticker",
          "Tab / Shift-Tab  next / previous conversation (Tab first goes where the notification line points)",
          "PgUp / PgDn  scroll the history · Up / Down  input history · ^U ^K ^W  erase · ^L  redraw",
          "/quit or ^C  leave (what is queued is sent at the next start)"}) {
      MessageRow r;
      r.info = true;
      r.text = text;
      overlay_->push_back(r);
    }
  }

  void run(const SendText& c) {
    if (open_ == 0) return set_status("no conversation open: /open NAME, or Tab", Tone::error);
    auto sent = account_.send_text(open_, c.text);
    if (!sent) return set_status("not sent: " + sent.error().message, Tone::error);
    scroll_ = 0;
    if (account_.state() != ConnectionState::online)
      set_status("queued: sent when the connection returns", Tone::warning);
    reload_messages();
  }

  void run(const ReplyTo& c) {
    auto m = numbered(c.number);
    if (!m) return;
    auto sent = account_.send_text(open_, c.text, m->id);
    if (!sent) return set_status("not sent: " + sent.error().message, Tone::error);
    scroll_ = 0;
    reload_messages();
  }

  void run(const EditMessage& c) {
    auto m = numbered(c.number);
    if (!m) return;
    account_.edit(m->id, c.text, report("edit " + std::to_string(c.number)));
  }

  void run(const DeleteMessage& c) {
    auto m = numbered(c.number);
    if (!m) return;
    account_.delete_message(m->id, report("delete " + std::to_string(c.number)));
  }

  void run(const React& c) {
    auto m = numbered(c.number);
    if (!m) return;
    bool remove = false;
    auto me = account_.me();
    for (const Reaction& r : m->reactions) {
      if (r.emoji == c.emoji && me && std::find(r.user_ids.begin(), r.user_ids.end(), me->id) != r.user_ids.end()) {
        remove = true;
      }
    }
    account_.react(m->id, c.emoji, remove,
                   report(std::string(remove ? "unreact " : "react ") + std::to_string(c.number)));
  }

  void run(const SendFile& c) {
    if (open_ == 0) return set_status("no conversation open", Tone::error);
    std::error_code ec;
    if (!fs::is_regular_file(c.path, ec)) return set_status(c.path + ": not a readable file", Tone::error);
    std::string name = fs::path(c.path).filename().string();
    set_status("uploading " + name + "…", Tone::normal);
    account_.send_file(
        open_, c.path, "",
        [this, name](Progress p) {
          set_status(render_progress("uploading " + name, p.done, p.total, screen_.columns() - 1), Tone::normal);
        },
        [this, name](Result<std::string> r) {
          if (r) {
            set_status("sent " + name, Tone::good);
          } else {
            set_status(name + ": " + r.error().message, Tone::error);
          }
        });
  }

  void run(const Download& c) {
    auto m = numbered(c.number);
    if (!m) return;
    if (m->attachments.empty()) return set_status("message " + std::to_string(c.number) + " has no file", Tone::error);
    fs::path folder = c.directory.empty() ? download_folder() : fs::path(c.directory);
    for (const Attachment& a : m->attachments) {
      std::string name = fs::path(a.name).filename().string();
      if (name.empty() || name == "." || name == "..") name = a.id;
      fs::path target = folder / name;
      account_.download(
          a.id, Account::Variant::original,
          [this, name](Progress p) {
            set_status(render_progress("downloading " + name, p.done, p.total, screen_.columns() - 1), Tone::normal);
          },
          [this, target](Result<fs::path> r) {
            if (!r) return set_status(target.filename().string() + ": " + r.error().message, Tone::error);
            std::error_code ec;
            fs::copy_file(r.value(), target, fs::copy_options::overwrite_existing, ec);
            if (ec) return set_status(target.string() + ": " + ec.message(), Tone::error);
            set_status("saved " + target.string(), Tone::good);
          });
    }
  }

  void run(const Invite& c) { account_.invite(c.username, report("invite " + c.username)); }

  void run(const Mute& c) {
    if (open_ == 0) return set_status("no conversation open: /open NAME, or Tab", Tone::error);
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    const auto span = c.hours > 0 ? std::chrono::hours(c.hours) : std::chrono::hours(24 * 3650);
    account_.mute(open_, (now + std::chrono::duration_cast<std::chrono::milliseconds>(span)).count(),
                  report(c.hours > 0 ? "muted for " + std::to_string(c.hours) + " h" : "muted"));
  }
  void run(const Unmute&) {
    if (open_ == 0) return set_status("no conversation open: /open NAME, or Tab", Tone::error);
    account_.unmute(open_, report("unmuted"));
  }
  void run(const SendSticker& c) {
    if (open_ == 0) return set_status("no conversation open: /open NAME, or Tab", Tone::error);
    auto sent = account_.send_sticker(open_, c.id);
    if (!sent) return set_status("not sent: " + sent.error().message, Tone::error);
    scroll_ = 0;
    reload_messages();
  }

  void answer(const std::string& username, bool accept) {
    for (const Invitation& i : account_.invitations()) {
      if (i.incoming && i.user.username == username) {
        auto done = report(std::string(accept ? "accept " : "decline ") + username);
        if (accept) {
          account_.accept(i.id, std::move(done));
        } else {
          account_.decline(i.id, std::move(done));
        }
        return;
      }
    }
    set_status("no invitation from " + username, Tone::error);
  }
  void run(const AcceptInvitation& c) { answer(c.username, true); }
  void run(const DeclineInvitation& c) { answer(c.username, false); }

  void run(const OpenConversation& c) {
    if (auto id = find_conversation(c.name)) return open(*id);
    for (const Contact& contact : account_.contacts()) {
      if (contact.user.username == c.name) {
        account_.open_direct(c.name, [this, name = c.name](Result<ConversationId> r) {
          if (!r) return set_status("open " + name + ": " + r.error().message, Tone::error);
          reload_conversations();
          open(r.value());
        });
        return;
      }
    }
    set_status("no conversation or contact '" + c.name + "'", Tone::error);
  }

  void run(const CreateGroup& c) {
    account_.create_group(c.name, c.members, [this, name = c.name](Result<ConversationId> r) {
      if (!r) return set_status("group " + name + ": " + r.error().message, Tone::error);
      reload_conversations();
      open(r.value());
      set_status("created group " + name, Tone::good);
    });
  }

  void run(const Search& c) {
    auto hits = account_.search_local(prefix_query(c.query), 100);
    overlay_title_ = "Search: " + c.query + " · " + std::to_string(hits.size()) + " found (Esc to go back)";
    overlay_.emplace();
    auto me = account_.me();
    for (auto it = hits.rbegin(); it != hits.rend(); ++it) {
      MessageRow r = row_of(it->message, me ? me->id : 0);
      auto conv = account_.conversation(it->message.conversation_id);
      r.sender = (conv ? conv->title() + " · " : std::string()) + r.sender;
      overlay_->push_back(std::move(r));
    }
  }

  struct Typing {
    UserId user = 0;
    Clock::time_point until;
  };

  Session& session_;
  Account& account_;
  Screen& screen_;
  InputLine input_;
  std::vector<Conversation> conversations_;
  ConversationId open_ = 0;
  HistoryPage page_;
  int loaded_ = 200;
  int scroll_ = 0;
  bool loading_older_ = false;
  std::map<ConversationId, Typing> typing_;
  std::map<UserId, bool> presence_;
  std::string notice_;
  ConversationId notice_conversation_ = 0;
  Clock::time_point notice_until_;
  std::string status_;
  Tone status_tone_ = Tone::normal;
  std::optional<std::vector<MessageRow>> overlay_;  // help or search results instead of the dialog
  std::string overlay_title_;
  Clock::time_point last_typing_;
  bool dirty_ = true;
  bool quit_ = false;
};

}  // namespace

int run_interactive(const GlobalOptions& options) {
  if (::isatty(STDIN_FILENO) != 1 || ::isatty(STDOUT_FILENO) != 1) {
    throw CliError(kExitUsage, "the interactive client needs a terminal; see parley --help for the commands");
  }
  Loop::install_signal_handlers();
  auto session = Session::open_profile(options);
  Screen screen;
  Interactive app(*session, screen);
  return app.run();
}

}  // namespace parley::cli
