#include "account/export_archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

#include "api/views.hpp"
#include "core/clock.hpp"
#include "core/unique_fd.hpp"
#include "storage/blob_store.hpp"
#include "storage/store.hpp"

namespace parley::account {
namespace fs = std::filesystem;
using boost::json::array;
using boost::json::object;

namespace {

// Messages read per query: large enough that a big history costs few
// statements, small enough that a page of long messages stays a few MiB.
constexpr std::size_t kMessagePage = 500;
constexpr std::size_t kCopyChunk = 1 << 20;

[[noreturn]] void fail_errno(const std::string& what, const fs::path& path) {
  throw std::runtime_error(fmt::format("{} {}: {}", what, path.string(), std::strerror(errno)));
}

std::string hex(const unsigned char* data, unsigned size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 15]);
  }
  return out;
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) throw std::runtime_error("no sha256");
  }
  void update(const void* data, std::size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }
  std::string hex_digest() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned size = 0;
    EVP_DigestFinal_ex(ctx_.get(), md.data(), &size);
    return hex(md.data(), size);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

std::string iso_utc(UnixMillis millis) {
  std::time_t seconds = millis / 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

bool is_media_id_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::string archive_media_name(std::string_view media_id, std::string_view display_name) {
  if (media_id.size() != 22 || !std::all_of(media_id.begin(), media_id.end(), is_media_id_char)) {
    throw std::invalid_argument("not a media id");
  }
  std::string name = fmt::format("media/{}", media_id);
  auto dot = display_name.rfind('.');
  if (dot == std::string_view::npos) return name;
  auto ext = display_name.substr(dot + 1);
  if (ext.empty() || ext.size() > 16) return name;
  std::string lower;
  for (char c : ext) {
    bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    bool digit = c >= '0' && c <= '9';
    if (!letter && !digit) return name;
    lower.push_back(letter && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return name + "." + lower;
}

// --- ArchiveWriter -----------------------------------------------------------

struct ArchiveWriter::Impl {
  fs::path path;
  UniqueFd fd;
  std::int64_t mtime = 0;
  struct archive* archive = nullptr;
  Sha256 file_digest;
  std::int64_t file_size = 0;
  bool finished = false;

  // libarchive's output goes through here: to the file, and into the whole
  // file's digest, in one pass.
  static la_ssize_t write_cb(struct archive*, void* client, const void* buffer, size_t length) {
    auto* self = static_cast<Impl*>(client);
    const char* data = static_cast<const char*>(buffer);
    for (size_t done = 0; done < length;) {
      ssize_t n = ::write(self->fd.get(), data + done, length - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        archive_set_error(self->archive, errno, "write: %s", std::strerror(errno));
        return -1;
      }
      done += static_cast<size_t>(n);
    }
    self->file_digest.update(buffer, length);
    self->file_size += static_cast<std::int64_t>(length);
    return static_cast<la_ssize_t>(length);
  }

  void check(int rc, std::string_view what) const {
    if (rc < ARCHIVE_OK) {
      const char* message = archive_error_string(archive);
      throw std::runtime_error(fmt::format("archive {}: {}", what, message != nullptr ? message : "failed"));
    }
  }

  // Writes the header of a regular file entry of `size` bytes.
  void header(std::string_view name, std::int64_t size) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(), &archive_entry_free);
    archive_entry_set_pathname(entry.get(), std::string(name).c_str());
    archive_entry_set_size(entry.get(), size);
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0600);
    archive_entry_set_mtime(entry.get(), mtime, 0);
    check(archive_write_header(archive, entry.get()), "header");
  }

  void data(const void* bytes, std::size_t size) {
    if (size == 0) return;
    la_ssize_t n = archive_write_data(archive, bytes, size);
    if (n < 0 || static_cast<std::size_t>(n) != size) check(ARCHIVE_FATAL, "data");
  }
};

ArchiveWriter::ArchiveWriter(const fs::path& path, std::int64_t mtime) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  impl_->mtime = mtime;
  impl_->fd = UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!impl_->fd) fail_errno("create", path);
  impl_->archive = archive_write_new();
  if (impl_->archive == nullptr) throw std::runtime_error("archive_write_new failed");
  impl_->check(archive_write_set_format_zip(impl_->archive), "format");
  // Deflate: JSON shrinks to a fraction. No padding of the last block: the
  // file is exactly the zip.
  impl_->check(archive_write_set_options(impl_->archive, "zip:compression=deflate"), "options");
  impl_->check(archive_write_set_bytes_in_last_block(impl_->archive, 1), "block");
  impl_->check(archive_write_open2(impl_->archive, impl_.get(), nullptr, &Impl::write_cb, nullptr, nullptr), "open");
}

ArchiveWriter::~ArchiveWriter() {
  if (impl_->archive != nullptr) archive_write_free(impl_->archive);
  if (!impl_->finished) {
    std::error_code ec;
    fs::remove(impl_->path, ec);
  }
}

void ArchiveWriter::add_bytes(std::string_view name, std::string_view bytes) {
  impl_->header(name, static_cast<std::int64_t>(bytes.size()));
  impl_->data(bytes.data(), bytes.size());
  Sha256 digest;
  digest.update(bytes.data(), bytes.size());
  entries_.push_back({std::string(name), static_cast<std::int64_t>(bytes.size()), digest.hex_digest()});
}

void ArchiveWriter::add_fd(std::string_view name, int fd, std::int64_t size) {
  impl_->header(name, size);
  std::vector<char> buffer(kCopyChunk);
  Sha256 digest;
  std::int64_t left = size;
  while (left > 0) {
    ssize_t n = ::read(fd, buffer.data(), static_cast<std::size_t>(std::min<std::int64_t>(left, kCopyChunk)));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(fmt::format("read {}: {}", name, std::strerror(errno)));
    }
    if (n == 0) throw std::runtime_error(fmt::format("read {}: ended early", name));
    impl_->data(buffer.data(), static_cast<std::size_t>(n));
    digest.update(buffer.data(), static_cast<std::size_t>(n));
    left -= n;
  }
  entries_.push_back({std::string(name), size, digest.hex_digest()});
}

void ArchiveWriter::add_file(std::string_view name, const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail_errno("open", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail_errno("stat", path);
  add_fd(name, fd.get(), st.st_size);
}

ArchiveWriter::Result ArchiveWriter::finish(object manifest) {
  array list;
  for (const auto& entry : entries_) {
    list.push_back(object{{"name", entry.name}, {"size", entry.size}, {"sha256", entry.sha256}});
  }
  manifest["entries"] = std::move(list);
  std::string text = boost::json::serialize(manifest);
  impl_->header("manifest.json", static_cast<std::int64_t>(text.size()));
  impl_->data(text.data(), text.size());
  impl_->check(archive_write_close(impl_->archive), "close");
  archive_write_free(impl_->archive);
  impl_->archive = nullptr;
  if (::fsync(impl_->fd.get()) != 0) fail_errno("fsync", impl_->path);
  impl_->fd.reset();
  impl_->finished = true;
  return {impl_->file_size, impl_->file_digest.hex_digest()};
}

// --- build_export ------------------------------------------------------------

namespace {

// A scratch file for one large JSON entry, written as it is read.
class ScratchJson {
 public:
  explicit ScratchJson(fs::path path) : path_(std::move(path)) {
    out_.open(path_, std::ios::binary | std::ios::trunc);
    if (!out_) fail_errno("create", path_);
    ::chmod(path_.c_str(), 0600);
  }
  ~ScratchJson() {
    out_.close();
    std::error_code ec;
    fs::remove(path_, ec);
  }
  std::ofstream& out() { return out_; }
  // Flushes and closes; the file can then be added to the archive.
  const fs::path& close() {
    out_.close();
    if (out_.fail()) throw std::runtime_error(fmt::format("write {} failed", path_.string()));
    return path_;
  }

 private:
  fs::path path_;
  std::ofstream out_;
};

struct MediaToCopy {
  std::string archive_name;
  std::string sha256;
  std::int64_t size = 0;
};

std::string json(const object& value) { return boost::json::serialize(value); }

}  // namespace

ArchiveWriter::Result build_export(storage::Store& store, storage::BlobStore& blobs, storage::UserId user,
                                   const fs::path& target, const std::function<void(double)>& progress) {
  using storage::Transaction;
  UnixMillis created = now_millis();
  fs::path temporary = target;
  temporary += ".tmp";
  fs::path scratch_path = target;
  scratch_path += ".part";
  std::error_code ec;
  fs::remove(temporary, ec);
  ArchiveWriter archive(temporary, created / 1000);
  progress(0);

  object manifest{{"format", "parley-export"},
                  {"format_version", kExportFormatVersion},
                  {"created_at", iso_utc(created)},
                  {"created_at_ms", created},
                  {"user_id", user}};
  std::map<std::string, MediaToCopy> media;  // by media id: each file once

  // The database part: one snapshot.
  store.read([&](Transaction& tx) {
    auto me = tx.user_by_id(user);
    if (!me) throw std::runtime_error("the account is gone");
    manifest["username"] = me->username;

    // A file of the user's own, by id; nullopt for anyone else's.
    auto own_media = [&](const std::string& id) -> std::optional<std::string> {
      if (auto found = media.find(id); found != media.end()) return found->second.archive_name;
      auto row = tx.media_by_id(id);
      if (!row || row->owner_id != user) return std::nullopt;
      auto name = archive_media_name(row->id, row->name);
      media.emplace(id, MediaToCopy{name, row->sha256, row->size});
      return name;
    };

    object profile{{"user", api::me_view(*me)}, {"settings", api::settings_view(*me, tx.mutes(user))}};
    if (me->avatar_media_id) {
      auto name = own_media(*me->avatar_media_id);
      profile["avatar_file"] = name ? boost::json::value(*name) : boost::json::value(nullptr);
    }
    array sessions;
    for (const auto& session : tx.sessions(user)) sessions.push_back(api::session_view(session, false));
    profile["sessions"] = std::move(sessions);
    auto factor = tx.two_factor(user);
    profile["two_factor"] = object{{"enabled", factor && factor->enabled}};
    array packs;
    for (const auto& pack : tx.user_sticker_packs(user)) {
      packs.push_back(object{{"name", pack.pack.name}, {"title", pack.pack.title}});
    }
    profile["sticker_packs"] = std::move(packs);
    archive.add_bytes("profile.json", json(profile));

    // Contacts: the user's own relations, each other side as its public
    // profile (what every signed-in user may see).
    auto person = [&](storage::UserId id) -> boost::json::value {
      auto other = tx.user_by_id(id);
      return other ? boost::json::value(api::public_user_view(*other)) : boost::json::value(nullptr);
    };
    array contacts;
    for (const auto& contact : tx.contacts(user)) {
      contacts.push_back(object{{"user", api::public_user_view(contact.user)}, {"since", contact.since}});
    }
    array received;
    for (const auto& invitation : tx.invitations_to(user)) {
      received.push_back(object{
          {"id", invitation.id}, {"from", person(invitation.from_user_id)}, {"created_at", invitation.created_at}});
    }
    array sent;
    for (const auto& invitation : tx.invitations_from(user)) {
      sent.push_back(
          object{{"id", invitation.id}, {"to", person(invitation.to_user_id)}, {"created_at", invitation.created_at}});
    }
    array blocks;
    for (const auto& block : tx.blocks(user)) {
      blocks.push_back(object{{"user", api::public_user_view(block.user)}, {"since", block.since}});
    }
    archive.add_bytes("contacts.json", json(object{{"contacts", std::move(contacts)},
                                                   {"invitations_received", std::move(received)},
                                                   {"invitations_sent", std::move(sent)},
                                                   {"blocks", std::move(blocks)}}));

    // Conversations: current ones as the user sees them now; ended ones by
    // id and kind only (their name, topic and members now are not theirs
    // to see: the API answers 404 for them).
    auto current = tx.conversations_of(user);
    auto past = tx.past_conversations(user);
    std::size_t total = current.size() + past.size();
    std::size_t done = 0;
    std::set<storage::UserId> senders;
    array conversations;

    // Streams messages/<id>.json; returns how many messages it holds.
    auto write_messages = [&](storage::ConversationId id, storage::Seq last_seq) -> std::int64_t {
      ScratchJson scratch(scratch_path);
      auto& out = scratch.out();
      out << "{\"conversation_id\":" << id << ",\"messages\":[";
      std::int64_t count = 0;
      storage::Seq after = 0;
      for (;;) {
        auto page = tx.readable_messages(user, id, after, kMessagePage);
        for (const auto& message : page.messages) {
          object view = api::message_view(message);
          if (message.sender_id == user && !message.attachments.empty()) {
            array files;
            for (const auto& file : message.attachments) {
              auto name = own_media(file.media_id);
              files.push_back(name ? boost::json::value(*name) : boost::json::value(nullptr));
            }
            view["attachment_files"] = std::move(files);
          }
          senders.insert(message.sender_id);
          out << (count++ == 0 ? "" : ",") << boost::json::serialize(view);
        }
        after = page.last_seq;
        if (page.done) break;
        // Within a long conversation too (by seq), and interruptible there.
        double within = last_seq > 0 ? std::min(1.0, static_cast<double>(after) / static_cast<double>(last_seq)) : 0;
        progress((static_cast<double>(done) + within) / static_cast<double>(total + 1));
      }
      out << "]}";
      archive.add_file(fmt::format("messages/{}.json", id), scratch.close());
      return count;
    };

    for (const auto& summary : current) {
      object view = api::conversation_view(summary.conversation);
      array members;
      for (const auto& member : tx.members(summary.conversation.id)) {
        if (auto other = tx.user_by_id(member.user_id)) members.push_back(api::member_view(member, *other));
      }
      view["members"] = std::move(members);
      view["member"] = true;
      view["role"] = api::role_name(summary.membership.role);
      view["joined_at"] = summary.membership.joined_at;
      view["message_count"] = write_messages(summary.conversation.id, summary.conversation.last_seq);
      view["messages_file"] = fmt::format("messages/{}.json", summary.conversation.id);
      conversations.push_back(std::move(view));
      progress(static_cast<double>(++done) / static_cast<double>(total + 1));
    }
    for (const auto& ended : past) {
      object view{{"id", ended.conversation.id},
                  {"kind", ended.conversation.kind == storage::ConversationKind::kDirect ? "direct" : "group"},
                  {"member", false}};
      view["message_count"] = write_messages(ended.conversation.id, ended.conversation.last_seq);
      view["messages_file"] = fmt::format("messages/{}.json", ended.conversation.id);
      conversations.push_back(std::move(view));
      progress(static_cast<double>(++done) / static_cast<double>(total + 1));
    }
    array people;
    for (auto id : senders) {
      if (auto other = tx.user_by_id(id)) people.push_back(api::public_user_view(*other));
    }
    archive.add_bytes("conversations.json",
                      json(object{{"conversations", std::move(conversations)}, {"senders", std::move(people)}}));
  });

  // The media bytes, after the snapshot: blobs never change.
  array missing;
  for (const auto& [id, file] : media) {
    progress(static_cast<double>(1) - 0.5 / static_cast<double>(media.size() + 1));
    auto blob = blobs.open(file.sha256);
    if (!blob) {
      missing.push_back(object{{"media_id", id}, {"name", file.archive_name}});
      continue;
    }
    archive.add_fd(file.archive_name, blob->fd.get(), blob->size);
  }
  manifest["missing_media"] = std::move(missing);
  auto result = archive.finish(std::move(manifest));
  fs::rename(temporary, target);
  UniqueFd dir(::open(target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir) ::fsync(dir.get());
  progress(1);
  return result;
}

}  // namespace parley::account
