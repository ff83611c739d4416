// The public facade: argument checks on the caller's thread, then the work
// on the engine thread (account_impl.hpp).
#include "parley/account.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <fstream>
#include <future>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "engine/account_impl.hpp"

namespace parley {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using namespace protocol;

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Percent-encodes a query parameter or path segment (RFC 3986 unreserved kept).
std::string encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string media_key(const MediaId& id, Account::Variant variant) {
  switch (variant) {
    case Account::Variant::original: return id + ".original";
    case Account::Variant::thumbnail_small: return id + ".small";
    case Account::Variant::thumbnail_large: return id + ".large";
  }
  return id;
}

std::string media_target(const MediaId& id, Account::Variant variant) {
  switch (variant) {
    case Account::Variant::original: return "/api/v1/media/" + id;
    case Account::Variant::thumbnail_small: return "/api/v1/media/" + id + "/thumbnail?size=small";
    case Account::Variant::thumbnail_large: return "/api/v1/media/" + id + "/thumbnail?size=large";
  }
  return {};
}

// Sticker images share the media cache (same LRU and limit) under keys
// that no media id can take: media keys are 22 base64url characters and a
// dot, these start with "sticker-".
std::string sticker_key(std::int64_t sticker_id) { return "sticker-" + std::to_string(sticker_id) + ".image"; }

// The server refuses sticker images over 512 KiB (media/sticker_pack.hpp);
// twice that bounds what a hostile server can make us write.
constexpr std::int64_t kMaxStickerImageBytes = 1 << 20;

template <typename T>
Result<T> storage_failure(const std::exception& error) {
  return Error{Errc::storage, error.what(), 0};
}

// Stores a message in the outbox (durable before this returns, so a crash
// loses nothing), then, on the engine's thread, tells the app its
// conversation changed and tries to send. Returns the client message id.
Result<std::string> queue_message(const std::shared_ptr<Account::Impl>& impl, store::OutboxEntry entry) {
  try {
    store::Store::Write write(*impl->store);
    impl->store->outbox_add(write, entry);
    write.commit();
  } catch (const std::exception& error) {
    return storage_failure<std::string>(error);
  }
  impl->runtime.run([impl, conversation = entry.conversation_id] {
    if (impl->closed) return;
    Changes changes;
    changes.conversations.push_back(conversation);
    impl->emit_changes(changes);
    impl->flush_outbox();
  });
  return std::move(entry.client_id);
}

}  // namespace

std::string Conversation::title() const {
  if (kind == ConversationKind::group || !peer) return name;
  return peer->display_name.empty() ? peer->username : peer->display_name;
}

void register_account(Runtime& runtime, const std::string& server_url, const std::string& username,
                      const std::string& password, const std::string& display_name, Callback<User> done,
                      const TlsTrust& tls) {
  auto endpoint = rest::parse_server_url(server_url, tls);
  if (!endpoint) {
    done(endpoint.error());
    return;
  }
  auto& io = runtime.impl().io;
  json::object body{{"username", username}, {"password", password}};
  if (!display_name.empty()) body["display_name"] = display_name;
  asio::co_spawn(
      io,
      [endpoint = endpoint.value(), body = std::move(body)]() -> awaitable<User> {
        rest::Request request;
        request.method = "POST";
        request.target = "/api/v1/accounts";
        request.body = json::serialize(body);
        auto reply = co_await rest::perform(endpoint, std::move(request), std::chrono::seconds(30));
        json::value parsed;
        try {
          parsed = parse_json(reply.body);
        } catch (const ProtocolError&) {
          throw Failure(Error{Errc::bad_response, "HTTP " + std::to_string(reply.status), reply.status});
        }
        if (reply.status != 201) throw Failure(parse_error(parsed, reply.status));
        co_return parse_user(get_object(as_object(parsed, "reply"), "user"));
      },
      [done = std::move(done)](std::exception_ptr exception, User user) {
        if (exception) {
          done(error_of(exception));
        } else {
          done(std::move(user));
        }
      });
}

Result<std::unique_ptr<Account>> Account::open(Runtime& runtime, AccountOptions options) {
  if (options.data_dir.empty()) return Error{Errc::invalid_argument, "data_dir is required", 0};
  auto endpoint = rest::parse_server_url(options.server_url, options.tls);
  if (!endpoint) return endpoint.error();
  if (options.store_limit_bytes < (1 << 20) || options.media_cache_limit_bytes < 0) {
    return Error{Errc::invalid_argument, "store_limit_bytes must be at least 1 MiB", 0};
  }
  std::error_code error;
  std::filesystem::create_directories(options.data_dir, error);
  if (error) return Error{Errc::storage, "cannot create " + options.data_dir.string() + ": " + error.message(), 0};
  // One user of a folder at a time, in this process or another.
  const auto lock_path = options.data_dir / "lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Error{Errc::storage, "cannot open " + lock_path.string(), 0};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    // The holder wrote its process id into the lock file (for this message only).
    char holder[32] = {};
    const auto n = ::pread(fd, holder, sizeof holder - 1, 0);
    ::close(fd);
    std::string who = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : "";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    return Error{Errc::in_use,
                 options.data_dir.string() + " is open in another process" + (who.empty() ? "" : " (pid " + who + ")") +
                     " or account; only reading it is possible meanwhile",
                 0};
  }
  {
    const auto pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
      // Only the in_use message would lack the pid: not worth failing for.
    }
  }
  auto impl = std::make_shared<Impl>(runtime.impl(), options, endpoint.value(), fd);
  try {
    impl->store = std::make_unique<store::Store>(options.data_dir / "store.db", options.encryption_key);
    impl->cache = std::make_unique<media::Cache>(*impl->store, options.data_dir / "media", options.media_cache_limit_bytes);
  } catch (const std::exception& failure) {
    return Error{Errc::storage, failure.what(), 0};
  }
  if (auto user = impl->store->meta("user_id")) impl->me = std::stoll(*user);
  std::unique_ptr<Account> account(new Account(impl));
  if (auto session = impl->store->session()) {
    impl->state = ConnectionState::offline;
    runtime.impl().run([impl, token = session->token] {
      if (impl->closed) return;
      impl->token = token;
      impl->start_connection();
    });
  }
  return account;
}

Result<std::unique_ptr<Account>> Account::open_read_only(Runtime& runtime, AccountOptions options) {
  if (options.data_dir.empty()) return Error{Errc::invalid_argument, "data_dir is required", 0};
  auto endpoint = rest::parse_server_url(options.server_url, options.tls);
  if (!endpoint) return endpoint.error();
  auto impl = std::make_shared<Impl>(runtime.impl(), options, endpoint.value(), -1);
  try {
    impl->store = std::make_unique<store::Store>(options.data_dir / "store.db", options.encryption_key, true);
  } catch (const std::exception& failure) {
    return Error{Errc::storage, failure.what(), 0};
  }
  if (auto user = impl->store->meta("user_id")) impl->me = std::stoll(*user);
  return std::unique_ptr<Account>(new Account(impl));
}

bool Account::read_only() const { return impl_->store->read_only(); }

Account::Account(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Account::~Account() {
  impl_->alive->store(false);
  auto& runtime = impl_->runtime;
  if (runtime.io.get_executor().running_in_this_thread()) {
    impl_->shutdown();
    return;
  }
  std::promise<void> done;
  auto finished = done.get_future();
  runtime.run([impl = impl_, &done] {
    impl->shutdown();
    done.set_value();
  });
  // The engine thread is gone only if the Runtime was destroyed first, which
  // the contract forbids; bounded anyway so that a misuse cannot hang.
  if (finished.wait_for(std::chrono::seconds(30)) != std::future_status::ready) impl_->shutdown();
}

void Account::set_listener(std::shared_ptr<Listener> listener) {
  std::lock_guard lock(impl_->listeners_mutex);
  impl_->listener = std::move(listener);
}

void Account::set_notifier(std::shared_ptr<Notifier> notifier) {
  std::lock_guard lock(impl_->listeners_mutex);
  impl_->notifier = std::move(notifier);
}

// --- session --------------------------------------------------------------------

void Account::sign_in(const std::string& username, const std::string& password, Callback<User> done,
                      const std::string& two_factor_code) {
  auto impl = impl_;
  impl->spawn<User>(std::move(done), [impl, username, password, two_factor_code]() -> awaitable<User> {
    if (impl->store->read_only()) throw Failure(Errc::storage, "the store is open read-only: cannot sign in");
    json::value reply;
    if (!two_factor_code.empty() && !impl->two_factor_challenge.empty()) {
      json::value body = json::object{{"challenge", impl->two_factor_challenge}, {"code", two_factor_code}};
      reply = co_await impl->rest("POST", "/api/v1/sessions/two-factor", &body, false);
    } else {
      json::object body{{"username", username}, {"password", password}, {"device_name", impl->options.device_name}};
      if (auto device_token = impl->store->meta("device_token")) body["device_token"] = *device_token;
      json::value value = body;
      reply = co_await impl->rest("POST", "/api/v1/sessions", &value, false);
      const auto& object = as_object(reply, "reply");
      if (get_bool(object, "two_factor_required", false)) {
        impl->two_factor_challenge = get_string(object, "challenge");
        if (two_factor_code.empty()) throw Failure(Errc::two_factor_required, "enter the two-factor code");
        json::value second = json::object{{"challenge", impl->two_factor_challenge}, {"code", two_factor_code}};
        reply = co_await impl->rest("POST", "/api/v1/sessions/two-factor", &second, false);
      }
    }
    impl->two_factor_challenge.clear();
    const auto& object = as_object(reply, "reply");
    auto user = parse_user(object.at("user"));
    const auto token = get_string(object, "token");
    const auto session_id = get_int(get_object(object, "session"), "id");
    const auto previous = impl->store->meta("user_id");
    if (previous && *previous != std::to_string(user.id)) impl->wipe_data();  // another user's data
    {
      store::Store::Write write(*impl->store);
      store::Store& s = *impl->store;
      s.set_meta(write, "token", token);
      s.set_meta(write, "user_id", std::to_string(user.id));
      s.set_meta(write, "session_id", std::to_string(session_id));
      if (auto device_token = get_optional_string(object, "device_token")) s.set_meta(write, "device_token", *device_token);
      s.put_user(write, user);
      write.commit();
    }
    impl->me = user.id;
    impl->token = token;
    impl->set_state(ConnectionState::offline);
    impl->start_connection();
    co_return user;
  });
}

void Account::Impl::wipe_data() {
  {
    store::Store::Write write(*store);
    // Everything but the device token (it belongs to the device, not the user).
    store->clear_contacts(write);
    store->clear_invitations(write);
    store->clear_blocks(write);
    for (auto id : store->conversation_ids()) store->remove_conversation(write, id);
    store->erase_meta(write, "position");
    store->erase_meta(write, "user_id");
    store->erase_meta(write, "session_id");
    store->erase_meta(write, "token");
    write.commit();
  }
  store->clear_outbox_and_users();
  cache->clear();
}

void Account::sign_out(bool keep_data, Callback<Done> done) {
  auto impl = impl_;
  impl->spawn<Done>(std::move(done), [impl, keep_data]() -> awaitable<Done> {
    if (!impl->token.empty()) {
      try {
        co_await impl->rest("DELETE", "/api/v1/sessions/current");
      } catch (const Failure&) {
        // Best effort: offline, or already revoked. The token is forgotten anyway.
      }
    }
    impl->forget_session();
    if (!keep_data) impl->wipe_data();
    co_return Done{};
  });
}

ConnectionState Account::state() const { return impl_->state.load(); }

std::optional<User> Account::me() const {
  const auto id = impl_->me.load();
  if (id == 0) return std::nullopt;
  try {
    return impl_->store->user(id);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void Account::reconnect_now() {
  auto impl = impl_;
  impl->runtime.run([impl] {
    if (impl->closed) return;
    impl->backoff.reset();
    impl->wake.cancel();
    impl->start_connection();
  });
}

// --- reads ------------------------------------------------------------------------

std::vector<Conversation> Account::conversations() const { return impl_->store->conversations(impl_->me.load()); }

std::optional<Conversation> Account::conversation(ConversationId id) const {
  auto list = impl_->store->conversations(impl_->me.load(), id);
  if (list.empty()) return std::nullopt;
  return list.front();
}

std::vector<Member> Account::members(ConversationId id) const { return impl_->store->members(id); }

HistoryPage Account::history(ConversationId id, std::int64_t before_seq, int limit) const {
  return impl_->store->history(id, before_seq, limit, impl_->me.load());
}

std::optional<Message> Account::message(MessageId id) const { return impl_->store->message(id); }
std::vector<Contact> Account::contacts() const { return impl_->store->contacts(); }
std::vector<Invitation> Account::invitations() const { return impl_->store->invitations(); }

std::vector<SearchHit> Account::search_local(const std::string& query, int limit,
                                             std::optional<ConversationId> in) const {
  return impl_->store->search(query, limit, in);
}

std::int64_t Account::position() const { return impl_->store->position(); }

// --- messages ---------------------------------------------------------------------

Result<std::string> Account::send_text(ConversationId conversation, const std::string& text,
                                       std::optional<MessageId> reply_to) {
  if (conversation <= 0) return Error{Errc::invalid_argument, "conversation: must be positive", 0};
  if (auto problem = check_message_text(text, false)) return Error{Errc::invalid_argument, *problem, 0};
  store::OutboxEntry entry;
  entry.client_id = new_client_id();
  entry.conversation_id = conversation;
  entry.text = text;
  entry.reply_to = reply_to;
  entry.created_at = now_ms();
  return queue_message(impl_, std::move(entry));
}

Result<std::string> Account::quick_reply(ConversationId conversation, MessageId message, const std::string& text) {
  return send_text(conversation, text, message);
}

void Account::send_file(ConversationId conversation, const std::filesystem::path& file, const std::string& caption,
                        std::function<void(Progress)> progress, Callback<std::string> done) {
  if (auto problem = check_message_text(caption, true)) {
    if (done) done(Error{Errc::invalid_argument, *problem, 0});
    return;
  }
  if (conversation <= 0) {
    if (done) done(Error{Errc::invalid_argument, "conversation: must be positive", 0});
    return;
  }
  std::error_code error;
  const auto path = std::filesystem::absolute(file, error);
  if (error) {
    if (done) done(Error{Errc::invalid_argument, "cannot use " + file.string() + ": " + error.message(), 0});
    return;
  }
  auto impl = impl_;
  impl->spawn<std::string>(std::move(done), [impl, conversation, path, caption, progress]() -> awaitable<std::string> {
    // Recorded before the first byte goes out: a restart continues it.
    store::UploadRecord record;
    record.client_id = new_client_id();
    record.conversation_id = conversation;
    record.path = path;
    record.caption = caption;
    record.created_at = now_ms();
    {
      store::Store::Write write(*impl->store);
      impl->store->put_upload(write, record);
      write.commit();
    }
    co_return co_await impl->send_upload(std::move(record), progress);
  });
}

std::vector<PendingUpload> Account::pending_uploads() const {
  std::vector<PendingUpload> pending;
  for (auto& record : impl_->store->uploads()) {
    pending.push_back(PendingUpload{record.client_id, record.conversation_id, record.path, record.caption,
                                    Progress{record.offset, record.size}});
  }
  return pending;
}

void Account::edit(MessageId message, const std::string& text, Callback<Done> done) {
  if (auto problem = check_message_text(text, false)) {
    if (done) done(Error{Errc::invalid_argument, *problem, 0});
    return;
  }
  auto impl = impl_;
  impl->runtime.run([impl, message, text, done] {
    if (impl->closed) return;
    impl->request_frame(json::object{{"type", "edit"}, {"message_id", message}, {"text", text}}, done);
  });
}

void Account::delete_message(MessageId message, Callback<Done> done) {
  auto impl = impl_;
  impl->runtime.run([impl, message, done] {
    if (impl->closed) return;
    impl->request_frame(json::object{{"type", "delete"}, {"message_id", message}}, done);
  });
}

void Account::react(MessageId message, const std::string& emoji, bool remove, Callback<Done> done) {
  auto impl = impl_;
  impl->runtime.run([impl, message, emoji, remove, done] {
    if (impl->closed) return;
    impl->request_frame(
        json::object{{"type", "react"}, {"message_id", message}, {"emoji", emoji}, {"remove", remove}}, done);
  });
}

void Account::mark_read(ConversationId conversation, std::int64_t seq) {
  if (conversation <= 0 || seq <= 0) return;
  auto impl = impl_;
  try {
    seq = std::min(seq, impl->store->max_seq(conversation));
    if (seq <= 0) return;
    store::Store::Write write(*impl->store);
    impl->store->pending_read_set(write, conversation, seq);
    // The read mark moves at once (unread counts drop); the delivered mark
    // follows from the server's receipt event, as on every other device.
    impl->store->raise_receipt(write, conversation, impl->me.load(), seq, store::Store::Mark::read_only,
                               impl->me.load());
    write.commit();
  } catch (const std::exception& error) {
    impl->emit_error(Error{Errc::storage, error.what(), 0});
    return;
  }
  impl->runtime.run([impl, conversation] {
    if (impl->closed) return;
    Changes changes;
    changes.conversations.push_back(conversation);
    changes.conversation_list = true;
    impl->emit_changes(changes);
    impl->flush_reads();
  });
}

void Account::typing(ConversationId conversation) {
  auto impl = impl_;
  impl->runtime.run([impl, conversation] {
    if (impl->closed || !impl->online) return;
    impl->send_frame(json::object{{"type", "typing"}, {"conversation_id", conversation}});
  });
}

void Account::load_older(ConversationId conversation, std::int64_t before_seq, Callback<HistoryPage> done) {
  auto impl = impl_;
  impl->spawn<HistoryPage>(std::move(done), [impl, conversation, before_seq]() -> awaitable<HistoryPage> {
    std::string target = "/api/v1/conversations/" + std::to_string(conversation) + "/messages?limit=50";
    if (before_seq > 0) target += "&before=" + std::to_string(before_seq);
    auto page = co_await impl->rest("GET", target);
    {
      store::Store::Write write(*impl->store);
      if (!impl->store->has_conversation(write, conversation)) {
        throw Failure(Errc::not_found, "no such conversation on this device");
      }
      for (const auto& entry : get_array(as_object(page, "page"), "messages")) {
        impl->store->put_message(write, parse_message(entry));
      }
      write.commit();
    }
    co_return impl->store->history(conversation, before_seq, 50, impl->me.load());
  });
}

// --- contacts, groups, settings ----------------------------------------------------------

namespace {

// A REST call whose effect reaches the store through the event stream.
void rest_call(const std::shared_ptr<Account::Impl>& impl, std::string method, std::string target,
               std::optional<json::value> body, Callback<Done> done) {
  impl->spawn<Done>(std::move(done), [impl, method, target, body]() -> awaitable<Done> {
    co_await impl->rest(method, target, body ? &*body : nullptr);
    co_return Done{};
  });
}

}  // namespace

void Account::invite(const std::string& username, Callback<Done> done) {
  rest_call(impl_, "POST", "/api/v1/contacts/invitations", json::value(json::object{{"username", username}}),
            std::move(done));
}

void Account::accept(InvitationId invitation, Callback<Done> done) {
  rest_call(impl_, "POST", "/api/v1/contacts/invitations/" + std::to_string(invitation) + "/accept", std::nullopt,
            std::move(done));
}

void Account::decline(InvitationId invitation, Callback<Done> done) {
  rest_call(impl_, "POST", "/api/v1/contacts/invitations/" + std::to_string(invitation) + "/decline", std::nullopt,
            std::move(done));
}

void Account::cancel_invitation(InvitationId invitation, Callback<Done> done) {
  rest_call(impl_, "DELETE", "/api/v1/contacts/invitations/" + std::to_string(invitation), std::nullopt,
            std::move(done));
}

void Account::remove_contact(const std::string& username, Callback<Done> done) {
  rest_call(impl_, "DELETE", "/api/v1/contacts/" + encode(username), std::nullopt, std::move(done));
}

void Account::block(const std::string& username, Callback<Done> done) {
  rest_call(impl_, "PUT", "/api/v1/blocks/" + encode(username), std::nullopt, std::move(done));
}

void Account::unblock(const std::string& username, Callback<Done> done) {
  rest_call(impl_, "DELETE", "/api/v1/blocks/" + encode(username), std::nullopt, std::move(done));
}

void Account::open_direct(const std::string& username, Callback<ConversationId> done) {
  auto impl = impl_;
  impl->spawn<ConversationId>(std::move(done), [impl, username]() -> awaitable<ConversationId> {
    json::value body = json::object{{"username", username}};
    auto reply = co_await impl->rest("POST", "/api/v1/conversations/direct", &body);
    const auto id = get_int(get_object(as_object(reply, "reply"), "conversation"), "id");
    // Loaded now, so that the app can render it before the event arrives.
    co_await impl->load_conversation(id, true);
    co_return id;
  });
}

void Account::create_group(const std::string& name, const std::vector<std::string>& usernames,
                           Callback<ConversationId> done) {
  auto impl = impl_;
  impl->spawn<ConversationId>(std::move(done), [impl, name, usernames]() -> awaitable<ConversationId> {
    json::array members;
    for (const auto& username : usernames) members.emplace_back(username);
    json::value body = json::object{{"name", name}, {"members", std::move(members)}};
    auto reply = co_await impl->rest("POST", "/api/v1/conversations/groups", &body);
    const auto id = get_int(get_object(as_object(reply, "reply"), "conversation"), "id");
    co_await impl->load_conversation(id, false);
    co_return id;
  });
}

void Account::rename_group(ConversationId group, const std::string& name, const std::string& topic,
                           Callback<Done> done) {
  rest_call(impl_, "PATCH", "/api/v1/conversations/" + std::to_string(group),
            json::value(json::object{{"name", name}, {"topic", topic}}), std::move(done));
}

void Account::add_member(ConversationId group, const std::string& username, Callback<Done> done) {
  rest_call(impl_, "POST", "/api/v1/conversations/" + std::to_string(group) + "/members",
            json::value(json::object{{"username", username}}), std::move(done));
}

void Account::remove_member(ConversationId group, UserId user, Callback<Done> done) {
  rest_call(impl_, "DELETE", "/api/v1/conversations/" + std::to_string(group) + "/members/" + std::to_string(user),
            std::nullopt, std::move(done));
}

void Account::set_role(ConversationId group, UserId user, Role role, Callback<Done> done) {
  rest_call(impl_, "PATCH", "/api/v1/conversations/" + std::to_string(group) + "/members/" + std::to_string(user),
            json::value(json::object{{"role", std::string(role_name(role))}}), std::move(done));
}

void Account::leave(ConversationId group, Callback<Done> done) {
  rest_call(impl_, "POST", "/api/v1/conversations/" + std::to_string(group) + "/leave", std::nullopt,
            std::move(done));
}

void Account::mute(ConversationId conversation, Millis until, Callback<Done> done) {
  auto impl = impl_;
  impl->spawn<Done>(std::move(done), [impl, conversation, until]() -> awaitable<Done> {
    const auto target = "/api/v1/me/settings/mutes/" + std::to_string(conversation);
    if (until > 0) {
      json::value body = json::object{{"muted_until", until}};
      co_await impl->rest("PUT", target, &body);
    } else {
      try {
        co_await impl->rest("DELETE", target);
      } catch (const Failure& failure) {
        if (failure.error().code != Errc::not_found) throw;  // not muted: nothing to undo
      }
    }
    {
      store::Store::Write write(*impl->store);
      impl->store->set_mute(write, conversation, until > 0 ? std::optional<Millis>(until) : std::nullopt);
      write.commit();
    }
    Changes changes;
    changes.settings = true;
    changes.conversations.push_back(conversation);
    impl->emit_changes(changes);
    co_return Done{};
  });
}

void Account::set_notifications_enabled(bool enabled, Callback<Done> done) {
  auto impl = impl_;
  impl->spawn<Done>(std::move(done), [impl, enabled]() -> awaitable<Done> {
    json::value body = json::object{{"notifications_enabled", enabled}};
    co_await impl->rest("PATCH", "/api/v1/me/settings", &body);
    {
      store::Store::Write write(*impl->store);
      impl->store->set_meta(write, "notifications_enabled", enabled ? "1" : "0");
      write.commit();
    }
    Changes changes;
    changes.settings = true;
    impl->emit_changes(changes);
    co_return Done{};
  });
}

bool Account::notifications_enabled() const {
  return impl_->store->meta("notifications_enabled").value_or("1") == "1";
}

void Account::search_server(const std::string& query, std::optional<ConversationId> in,
                            Callback<std::vector<SearchHit>> done) {
  auto impl = impl_;
  impl->spawn<std::vector<SearchHit>>(std::move(done), [impl, query, in]() -> awaitable<std::vector<SearchHit>> {
    auto reply = co_await impl->rest("GET", "/api/v1/search?limit=50&q=" + encode(query));
    std::vector<SearchHit> hits;
    for (const auto& entry : get_array(as_object(reply, "reply"), "results")) {
      const auto& object = as_object(entry, "result");
      SearchHit hit;
      hit.message = parse_message(object.at("message"));
      if (in && hit.message.conversation_id != *in) continue;
      hit.snippet = get_optional_string(object, "snippet").value_or(hit.message.text);
      hits.push_back(std::move(hit));
    }
    co_return hits;
  });
}

// --- media ---------------------------------------------------------------------------------

std::optional<std::filesystem::path> Account::cached_media(const MediaId& media, Variant variant) const {
  if (!media::valid_media_id(media) || !impl_->cache) return std::nullopt;
  try {
    return impl_->cache->lookup(media_key(media, variant));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void Account::download(const MediaId& media, Variant variant, std::function<void(Progress)> progress,
                       Callback<std::filesystem::path> done) {
  if (!media::valid_media_id(media)) {
    if (done) done(Error{Errc::invalid_argument, "not a media id", 0});
    return;
  }
  auto impl = impl_;
  impl->spawn<std::filesystem::path>(std::move(done),
                                     [impl, media, variant, progress]() -> awaitable<std::filesystem::path> {
                                       co_return co_await impl->fetch_media(media, variant, progress);
                                     });
}

awaitable<std::filesystem::path> Account::Impl::fetch_media(const MediaId& media, Account::Variant variant,
                                                            std::function<void(Progress)> progress) {
  // Bounded by the cache's limit at most (or 1 GiB, the server's largest
  // upload), so that a hostile server cannot fill the disk.
  const auto cap = std::max<std::int64_t>(options.media_cache_limit_bytes, 1LL << 30);
  co_return co_await fetch_to_cache(media_key(media, variant), media_target(media, variant), cap, std::move(progress));
}

awaitable<std::filesystem::path> Account::Impl::fetch_to_cache(std::string key, std::string target, std::int64_t cap,
                                                               std::function<void(Progress)> progress) {
  auto impl = shared_from_this();
  if (!impl->cache) throw Failure(Errc::storage, "the store is open read-only");
  if (auto cached = impl->cache->lookup(key)) co_return *cached;
  if (impl->token.empty()) throw Failure(Errc::not_signed_in, "not signed in");
  const auto temporary = impl->cache->temporary(key);
  rest::Request request;
  request.target = std::move(target);
  request.token = impl->token;
  std::function<void(Progress)> report;
  if (progress) {
    report = [impl, progress](Progress p) { impl->deliver([progress, p] { progress(p); }); };
  }
  int status = 0;
  try {
    status = co_await rest::download(impl->endpoint, request, temporary, cap, report, std::chrono::seconds(60));
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw;
  }
  if (impl->closed) throw Failure(Errc::cancelled, "the account was closed");
  if (status != 200) {
    std::string body;
    {
      std::ifstream in(temporary, std::ios::binary);
      body.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    json::value parsed;
    try {
      parsed = parse_json(body);
    } catch (const ProtocolError&) {
    }
    throw Failure(parse_error(parsed, status));
  }
  co_return impl->cache->admit(key, temporary);
}

std::optional<std::filesystem::path> Account::cached_sticker_image(std::int64_t sticker_id) const {
  if (sticker_id <= 0 || !impl_->cache) return std::nullopt;
  try {
    return impl_->cache->lookup(sticker_key(sticker_id));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void Account::sticker_image(std::int64_t sticker_id, Callback<std::filesystem::path> done) {
  if (sticker_id <= 0) {
    if (done) done(Error{Errc::invalid_argument, "not a sticker id", 0});
    return;
  }
  auto impl = impl_;
  impl->spawn<std::filesystem::path>(std::move(done), [impl, sticker_id]() -> awaitable<std::filesystem::path> {
    co_return co_await impl->fetch_to_cache(sticker_key(sticker_id),
                                            "/api/v1/stickers/" + std::to_string(sticker_id) + "/image",
                                            kMaxStickerImageBytes, nullptr);
  });
}

std::int64_t Account::media_cache_bytes() const { return impl_->cache ? impl_->cache->total_bytes() : 0; }

std::string Account::canonical_dump() const { return impl_->store->canonical_dump(); }

}  // namespace parley

// --- the account's own data: profile, settings, sessions, two-factor, stickers, export ---------

namespace parley {

namespace {

std::string_view visibility_name(LastSeenVisibility visibility) {
  switch (visibility) {
    case LastSeenVisibility::everyone: return "everyone";
    case LastSeenVisibility::contacts: return "contacts";
    case LastSeenVisibility::nobody: return "nobody";
  }
  return "contacts";
}

LastSeenVisibility parse_visibility(const std::string& name) {
  if (name == "everyone") return LastSeenVisibility::everyone;
  if (name == "nobody") return LastSeenVisibility::nobody;
  if (name == "contacts") return LastSeenVisibility::contacts;
  throw ProtocolError("last_seen_visibility: unknown value " + name);
}

Sticker parse_sticker(const json::value& value) {
  const auto& object = as_object(value, "sticker");
  Sticker sticker;
  sticker.id = get_int(object, "id");
  sticker.emoji = get_optional_string(object, "emoji").value_or("");
  sticker.width = static_cast<int>(get_optional_int(object, "width").value_or(0));
  sticker.height = static_cast<int>(get_optional_int(object, "height").value_or(0));
  return sticker;
}

StickerPack parse_pack(const json::value& value) {
  const auto& object = as_object(value, "sticker pack");
  StickerPack pack;
  pack.name = get_string(object, "name");
  pack.title = get_optional_string(object, "title").value_or(pack.name);
  pack.count = static_cast<int>(get_optional_int(object, "count").value_or(0));
  if (const auto* stickers = object.if_contains("stickers"); stickers != nullptr && stickers->is_array()) {
    for (const auto& entry : stickers->get_array()) pack.stickers.push_back(parse_sticker(entry));
  }
  return pack;
}

std::vector<StickerPack> parse_packs(const json::value& reply) {
  std::vector<StickerPack> packs;
  for (const auto& entry : get_array(as_object(reply, "reply"), "packs")) packs.push_back(parse_pack(entry));
  return packs;
}

DataExport parse_export(const json::value& reply) {
  const auto& outer = as_object(reply, "reply");
  const auto* inner = outer.if_contains("export");
  const auto& object = inner != nullptr && inner->is_object() ? inner->get_object() : outer;
  DataExport data;
  data.id = get_string(object, "id");
  data.state = get_string(object, "state");
  data.progress = static_cast<int>(get_optional_int(object, "progress").value_or(0));
  data.size = get_optional_int(object, "size");
  data.sha256 = get_optional_string(object, "sha256").value_or("");
  data.error = get_optional_string(object, "error").value_or("");
  return data;
}

// The user as the server answered it (UserResponse), stored as this user.
awaitable<User> store_me(const std::shared_ptr<Account::Impl>& impl, const json::value& reply) {
  auto user = parse_user(get_object(as_object(reply, "reply"), "user"));
  {
    store::Store::Write write(*impl->store);
    impl->store->put_user(write, user);
    write.commit();
  }
  Changes changes;
  changes.conversation_list = true;
  changes.settings = true;
  impl->emit_changes(changes);
  co_return user;
}

}  // namespace

void Account::settings(Callback<Settings> done) {
  auto impl = impl_;
  impl->spawn<Settings>(std::move(done), [impl]() -> awaitable<Settings> {
    auto reply = co_await impl->rest("GET", "/api/v1/me/settings");
    const auto& object = get_object(as_object(reply, "reply"), "settings");
    Settings settings;
    settings.last_seen = parse_visibility(get_string(object, "last_seen_visibility"));
    settings.notifications_enabled = get_bool(object, "notifications_enabled");
    for (const auto& entry : get_array(object, "conversation_mutes")) {
      const auto& mute = as_object(entry, "mute");
      settings.mutes.emplace_back(get_int(mute, "conversation_id"), get_int(mute, "muted_until"));
    }
    {
      store::Store::Write write(*impl->store);
      impl->store->set_meta(write, "notifications_enabled", settings.notifications_enabled ? "1" : "0");
      impl->store->clear_mutes(write);
      for (auto [conversation, until] : settings.mutes) impl->store->set_mute(write, conversation, until);
      write.commit();
    }
    co_return settings;
  });
}

void Account::set_last_seen_visibility(LastSeenVisibility visibility, Callback<Done> done) {
  rest_call(impl_, "PATCH", "/api/v1/me/settings",
            json::value(json::object{{"last_seen_visibility", std::string(visibility_name(visibility))}}),
            std::move(done));
}

void Account::update_profile(std::optional<std::string> display_name, std::optional<std::string> status_text,
                             Callback<User> done) {
  json::object body;
  if (display_name) body["display_name"] = *display_name;
  if (status_text) body["status_text"] = *status_text;
  if (body.empty()) {
    if (done) done(Error{Errc::invalid_argument, "nothing to change", 0});
    return;
  }
  auto impl = impl_;
  impl->spawn<User>(std::move(done), [impl, patch = json::value(std::move(body))]() -> awaitable<User> {
    auto reply = co_await impl->rest("PATCH", "/api/v1/me", &patch);
    co_return co_await store_me(impl, reply);
  });
}

void Account::set_avatar(const std::filesystem::path& image, Callback<User> done) {
  std::error_code error;
  const auto path = std::filesystem::absolute(image, error);
  if (error) {
    if (done) done(Error{Errc::invalid_argument, "cannot use " + image.string() + ": " + error.message(), 0});
    return;
  }
  auto impl = impl_;
  impl->spawn<User>(std::move(done), [impl, path]() -> awaitable<User> {
    store::UploadRecord record;  // no client id: not recorded, not resumed
    record.path = path;
    auto uploaded = co_await impl->upload(record, nullptr);
    json::value body = json::object{{"avatar_media_id", uploaded.id}};
    auto reply = co_await impl->rest("PATCH", "/api/v1/me", &body);
    co_return co_await store_me(impl, reply);
  });
}

void Account::remove_avatar(Callback<User> done) {
  auto impl = impl_;
  impl->spawn<User>(std::move(done), [impl]() -> awaitable<User> {
    json::value body = json::object{{"avatar_media_id", nullptr}};
    auto reply = co_await impl->rest("PATCH", "/api/v1/me", &body);
    co_return co_await store_me(impl, reply);
  });
}

void Account::lookup_user(const std::string& username, Callback<User> done) {
  auto impl = impl_;
  impl->spawn<User>(std::move(done), [impl, username]() -> awaitable<User> {
    auto reply = co_await impl->rest("GET", "/api/v1/users/" + encode(username));
    co_return parse_user(get_object(as_object(reply, "reply"), "user"));
  });
}

void Account::change_password(const std::string& current_password, const std::string& new_password,
                              Callback<Done> done) {
  rest_call(impl_, "POST", "/api/v1/me/password",
            json::value(json::object{{"current_password", current_password}, {"new_password", new_password}}),
            std::move(done));
}

void Account::sessions(Callback<std::vector<SessionInfo>> done) {
  auto impl = impl_;
  impl->spawn<std::vector<SessionInfo>>(std::move(done), [impl]() -> awaitable<std::vector<SessionInfo>> {
    auto reply = co_await impl->rest("GET", "/api/v1/sessions");
    std::vector<SessionInfo> sessions;
    for (const auto& entry : get_array(as_object(reply, "reply"), "sessions")) {
      const auto& object = as_object(entry, "session");
      SessionInfo session;
      session.id = get_int(object, "id");
      session.device_name = get_optional_string(object, "device_name").value_or("");
      session.created_at = get_int(object, "created_at");
      session.last_seen_at = get_optional_int(object, "last_seen_at").value_or(0);
      session.current = get_bool(object, "current", false);
      sessions.push_back(std::move(session));
    }
    co_return sessions;
  });
}

void Account::revoke_session(std::int64_t session_id, Callback<Done> done) {
  rest_call(impl_, "DELETE", "/api/v1/sessions/" + std::to_string(session_id), std::nullopt, std::move(done));
}

void Account::revoke_other_sessions(Callback<int> done) {
  auto impl = impl_;
  impl->spawn<int>(std::move(done), [impl]() -> awaitable<int> {
    auto reply = co_await impl->rest("POST", "/api/v1/sessions/revoke-others");
    co_return static_cast<int>(get_int(as_object(reply, "reply"), "revoked"));
  });
}

void Account::two_factor_status(Callback<TwoFactorStatus> done) {
  auto impl = impl_;
  impl->spawn<TwoFactorStatus>(std::move(done), [impl]() -> awaitable<TwoFactorStatus> {
    auto reply = co_await impl->rest("GET", "/api/v1/me/two-factor");
    const auto& object = as_object(reply, "reply");
    TwoFactorStatus status;
    status.enabled = get_bool(object, "enabled");
    status.pending = get_bool(object, "pending", false);
    status.recovery_codes_left = static_cast<int>(get_optional_int(object, "recovery_codes_left").value_or(0));
    co_return status;
  });
}

void Account::begin_two_factor(const std::string& password, Callback<TwoFactorEnrolment> done) {
  auto impl = impl_;
  impl->spawn<TwoFactorEnrolment>(std::move(done), [impl, password]() -> awaitable<TwoFactorEnrolment> {
    json::value body = json::object{{"password", password}};
    auto reply = co_await impl->rest("POST", "/api/v1/me/two-factor", &body);
    const auto& object = as_object(reply, "reply");
    TwoFactorEnrolment enrolment;
    enrolment.secret = get_string(object, "secret");
    enrolment.otpauth_uri = get_string(object, "otpauth_uri");
    enrolment.qr_svg = get_optional_string(object, "qr_svg").value_or("");
    enrolment.qr_text = get_optional_string(object, "qr_text").value_or("");
    co_return enrolment;
  });
}

void Account::confirm_two_factor(const std::string& code, Callback<std::vector<std::string>> done) {
  auto impl = impl_;
  impl->spawn<std::vector<std::string>>(std::move(done), [impl, code]() -> awaitable<std::vector<std::string>> {
    json::value body = json::object{{"code", code}};
    auto reply = co_await impl->rest("POST", "/api/v1/me/two-factor/confirm", &body);
    std::vector<std::string> codes;
    for (const auto& entry : get_array(as_object(reply, "reply"), "recovery_codes")) {
      if (!entry.is_string()) throw ProtocolError("recovery_codes: not a string");
      codes.emplace_back(entry.get_string());
    }
    co_return codes;
  });
}

void Account::disable_two_factor(const std::string& password, const std::string& code, Callback<Done> done) {
  rest_call(impl_, "POST", "/api/v1/me/two-factor/disable",
            json::value(json::object{{"password", password}, {"code", code}}), std::move(done));
}

void Account::sticker_packs(bool installed, Callback<std::vector<StickerPack>> done) {
  auto impl = impl_;
  impl->spawn<std::vector<StickerPack>>(std::move(done), [impl, installed]() -> awaitable<std::vector<StickerPack>> {
    auto reply = co_await impl->rest("GET", installed ? "/api/v1/me/sticker-packs" : "/api/v1/sticker-packs");
    co_return parse_packs(reply);
  });
}

void Account::sticker_pack(const std::string& name, Callback<StickerPack> done) {
  auto impl = impl_;
  impl->spawn<StickerPack>(std::move(done), [impl, name]() -> awaitable<StickerPack> {
    auto reply = co_await impl->rest("GET", "/api/v1/sticker-packs/" + encode(name));
    const auto& object = as_object(reply, "reply");
    const auto* inner = object.if_contains("pack");
    co_return parse_pack(inner != nullptr ? *inner : reply);
  });
}

void Account::add_sticker_pack(const std::string& name, Callback<Done> done) {
  rest_call(impl_, "PUT", "/api/v1/me/sticker-packs/" + encode(name), std::nullopt, std::move(done));
}

void Account::remove_sticker_pack(const std::string& name, Callback<Done> done) {
  rest_call(impl_, "DELETE", "/api/v1/me/sticker-packs/" + encode(name), std::nullopt, std::move(done));
}

Result<std::string> Account::send_sticker(ConversationId conversation, std::int64_t sticker_id) {
  if (conversation <= 0 || sticker_id <= 0) return Error{Errc::invalid_argument, "conversation and sticker: ids", 0};
  store::OutboxEntry entry;
  entry.client_id = new_client_id();
  entry.conversation_id = conversation;
  entry.sticker_id = sticker_id;
  entry.created_at = now_ms();
  return queue_message(impl_, std::move(entry));
}

void Account::delete_account(const std::string& password, const std::string& two_factor_code, Callback<Done> done) {
  auto impl = impl_;
  impl->spawn<Done>(std::move(done), [impl, password, two_factor_code]() -> awaitable<Done> {
    json::object body{{"password", password}};
    if (!two_factor_code.empty()) body["two_factor_code"] = two_factor_code;
    json::value value = std::move(body);
    co_await impl->rest("DELETE", "/api/v1/me", &value);
    // The account is gone: so are its session and this device's copy of it.
    impl->forget_session();
    impl->wipe_data();
    co_return Done{};
  });
}

void Account::request_export(Callback<DataExport> done) {
  auto impl = impl_;
  impl->spawn<DataExport>(std::move(done), [impl]() -> awaitable<DataExport> {
    auto reply = co_await impl->rest("POST", "/api/v1/me/export");
    co_return parse_export(reply);
  });
}

void Account::export_status(Callback<DataExport> done) {
  auto impl = impl_;
  impl->spawn<DataExport>(std::move(done), [impl]() -> awaitable<DataExport> {
    auto reply = co_await impl->rest("GET", "/api/v1/me/export");
    co_return parse_export(reply);
  });
}

void Account::download_export(const std::string& export_id, const std::filesystem::path& to,
                              std::function<void(Progress)> progress, Callback<Done> done) {
  if (!media::valid_media_id(export_id)) {
    if (done) done(Error{Errc::invalid_argument, "not an export id", 0});
    return;
  }
  auto impl = impl_;
  impl->spawn<Done>(std::move(done), [impl, export_id, to, progress]() -> awaitable<Done> {
    if (impl->token.empty()) throw Failure(Errc::not_signed_in, "not signed in");
    rest::Request request;
    request.target = "/api/v1/me/exports/" + export_id + "/download";
    request.token = impl->token;
    std::function<void(Progress)> report;
    if (progress) report = [impl, progress](Progress p) { impl->deliver([progress, p] { progress(p); }); };
    auto partial = to;
    partial += ".part";
    const auto status = co_await rest::download(impl->endpoint, request, partial, 4LL << 30, report,
                                                std::chrono::seconds(60));
    if (status != 200) {
      std::error_code ignored;
      std::filesystem::remove(partial, ignored);
      throw Failure(Error{status == 404 ? Errc::not_found : Errc::bad_response,
                          "export download: HTTP " + std::to_string(status), status});
    }
    std::filesystem::rename(partial, to);
    co_return Done{};
  });
}

}  // namespace parley
