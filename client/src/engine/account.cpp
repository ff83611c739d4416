// Skeleton: the facade compiles and links; the engine comes next.
#include "parley/account.hpp"

namespace parley {

struct Runtime::Impl {};
Runtime::Runtime() : impl_(std::make_unique<Impl>()) {}
Runtime::~Runtime() = default;

struct Account::Impl {};

namespace {
Error not_yet() { return Error{Errc::internal, "not implemented yet", 0}; }
}  // namespace

std::string Conversation::title() const { return kind == ConversationKind::group || !peer ? name : peer->display_name; }

void register_account(Runtime&, const std::string&, const std::string&, const std::string&, const std::string&,
                      Callback<User> done) { done(not_yet()); }

Account::Account(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Account::~Account() = default;

Result<std::unique_ptr<Account>> Account::open(Runtime& runtime, AccountOptions options) { (void)runtime; (void)options; return std::unique_ptr<Account>(new Account(std::make_shared<Impl>())); }

void Account::set_listener(std::shared_ptr<Listener> listener) { (void)listener;  }

void Account::set_notifier(std::shared_ptr<Notifier> notifier) { (void)notifier;  }

void Account::sign_in(const std::string& username, const std::string& password, Callback<User> done, const std::string& two_factor_code) { (void)username; (void)password; (void)two_factor_code; done(not_yet()); }

void Account::sign_out(bool keep_data, Callback<Done> done) { (void)keep_data; done(not_yet()); }

ConnectionState Account::state() const { return ConnectionState::signed_out; }

std::optional<User> Account::me() const { return {}; }

void Account::reconnect_now() {  }

std::vector<Conversation> Account::conversations() const { return {}; }

std::optional<Conversation> Account::conversation(ConversationId id) const { (void)id; return {}; }

std::vector<Member> Account::members(ConversationId id) const { (void)id; return {}; }

HistoryPage Account::history(ConversationId id, std::int64_t before_seq, int limit) const { (void)id; (void)before_seq; (void)limit; return {}; }

std::optional<Message> Account::message(MessageId id) const { (void)id; return {}; }

std::vector<Contact> Account::contacts() const { return {}; }

std::vector<Invitation> Account::invitations() const { return {}; }

std::vector<SearchHit> Account::search_local(const std::string& query, int limit, std::optional<ConversationId> in) const { (void)query; (void)limit; (void)in; return {}; }

std::int64_t Account::position() const { return {}; }

Result<std::string> Account::send_text(ConversationId conversation, const std::string& text, std::optional<MessageId> reply_to) { (void)conversation; (void)text; (void)reply_to; return not_yet(); }

void Account::send_file(ConversationId conversation, const std::filesystem::path& file, const std::string& caption, std::function<void(Progress)> progress, Callback<std::string> done) { (void)conversation; (void)file; (void)caption; (void)progress; done(not_yet()); }

Result<std::string> Account::quick_reply(ConversationId conversation, MessageId message, const std::string& text) { (void)conversation; (void)message; (void)text; return not_yet(); }

void Account::edit(MessageId message, const std::string& text, Callback<Done> done) { (void)message; (void)text; done(not_yet()); }

void Account::delete_message(MessageId message, Callback<Done> done) { (void)message; done(not_yet()); }

void Account::react(MessageId message, const std::string& emoji, bool remove, Callback<Done> done) { (void)message; (void)emoji; (void)remove; done(not_yet()); }

void Account::mark_read(ConversationId conversation, std::int64_t seq) { (void)conversation; (void)seq;  }

void Account::typing(ConversationId conversation) { (void)conversation;  }

void Account::load_older(ConversationId conversation, std::int64_t before_seq, Callback<HistoryPage> done) { (void)conversation; (void)before_seq; done(not_yet()); }

void Account::invite(const std::string& username, Callback<Done> done) { (void)username; done(not_yet()); }

void Account::accept(InvitationId invitation, Callback<Done> done) { (void)invitation; done(not_yet()); }

void Account::decline(InvitationId invitation, Callback<Done> done) { (void)invitation; done(not_yet()); }

void Account::cancel_invitation(InvitationId invitation, Callback<Done> done) { (void)invitation; done(not_yet()); }

void Account::remove_contact(const std::string& username, Callback<Done> done) { (void)username; done(not_yet()); }

void Account::block(const std::string& username, Callback<Done> done) { (void)username; done(not_yet()); }

void Account::unblock(const std::string& username, Callback<Done> done) { (void)username; done(not_yet()); }

void Account::open_direct(const std::string& username, Callback<ConversationId> done) { (void)username; done(not_yet()); }

void Account::create_group(const std::string& name, const std::vector<std::string>& usernames, Callback<ConversationId> done) { (void)name; (void)usernames; done(not_yet()); }

void Account::rename_group(ConversationId group, const std::string& name, const std::string& topic, Callback<Done> done) { (void)group; (void)name; (void)topic; done(not_yet()); }

void Account::add_member(ConversationId group, const std::string& username, Callback<Done> done) { (void)group; (void)username; done(not_yet()); }

void Account::remove_member(ConversationId group, UserId user, Callback<Done> done) { (void)group; (void)user; done(not_yet()); }

void Account::set_role(ConversationId group, UserId user, Role role, Callback<Done> done) { (void)group; (void)user; (void)role; done(not_yet()); }

void Account::leave(ConversationId group, Callback<Done> done) { (void)group; done(not_yet()); }

void Account::mute(ConversationId conversation, Millis until, Callback<Done> done) { (void)conversation; (void)until; done(not_yet()); }

void Account::set_notifications_enabled(bool enabled, Callback<Done> done) { (void)enabled; done(not_yet()); }

bool Account::notifications_enabled() const { return {}; }

void Account::search_server(const std::string& query, std::optional<ConversationId> in, Callback<std::vector<SearchHit>> done) { (void)query; (void)in; done(not_yet()); }

std::optional<std::filesystem::path> Account::cached_media(const MediaId& media, Account::Variant variant) const { (void)media; (void)variant; return {}; }

void Account::download(const MediaId& media, Account::Variant variant, std::function<void(Progress)> progress, Callback<std::filesystem::path> done) { (void)media; (void)variant; (void)progress; done(not_yet()); }

std::int64_t Account::media_cache_bytes() const { return {}; }

std::string Account::canonical_dump() const { return {}; }


}  // namespace parley
