#include "profiles.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace parley::cli {
namespace fs = std::filesystem;

namespace {

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string get_string(const toml::table& table, std::string_view key, const fs::path& file) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return {};
  if (!node->is_string()) {
    throw ProfileError(file.string() + ": '" + std::string(key) + "' must be a string");
  }
  return node->value<std::string>().value_or("");
}

fs::path xdg(const char* variable, const char* fallback_under_home) {
  const char* value = std::getenv(variable);
  // The XDG spec: relative values are invalid and must be ignored.
  if (value != nullptr && value[0] == '/') return fs::path(value) / "parley";
  const char* home = std::getenv("HOME");
  return fs::path(home != nullptr && home[0] != '\0' ? home : "/") / fallback_under_home / "parley";
}

}  // namespace

bool valid_profile_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Profiles Profiles::load(const fs::path& file) {
  Profiles result;
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    if (errno == ENOENT) return result;
    throw ProfileError(file.string() + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    throw ProfileError(file.string() + " says which accounts this machine holds, but its mode is " +
                       octal_mode(st.st_mode) + ": others may read it; run chmod 600 " + file.string());
  }
  if (st.st_uid != ::geteuid()) {
    throw ProfileError(file.string() + " belongs to another user; refusing to use it");
  }
  toml::table root;
  try {
    root = toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    std::ostringstream message;
    message << file.string() << ": not valid TOML: " << e.description() << " (line " << e.source().begin.line << ")";
    throw ProfileError(message.str());
  }
  result.default_profile = get_string(root, "default", file);
  if (const toml::node* node = root.get("profiles")) {
    const toml::table* profiles = node->as_table();
    if (profiles == nullptr) throw ProfileError(file.string() + ": 'profiles' must be a table");
    for (const auto& [key, value] : *profiles) {
      const toml::table* entry = value.as_table();
      std::string name(key.str());
      if (entry == nullptr || !valid_profile_name(name)) {
        throw ProfileError(file.string() + ": profile '" + name + "' is not a valid profile");
      }
      Profile profile;
      profile.server = get_string(*entry, "server", file);
      profile.username = get_string(*entry, "username", file);
      if (entry->contains("ca_file")) profile.ca_file = get_string(*entry, "ca_file", file);
      result.profiles.emplace(std::move(name), std::move(profile));
    }
  }
  return result;
}

void Profiles::save(const fs::path& file) const {
  fs::path dir = file.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw ProfileError(dir.string() + ": " + ec.message());
  // Tighten a folder we may have just made; leave an existing one the user
  // chose alone unless others could write into it.
  ::chmod(dir.c_str(), 0700);

  toml::table root;
  if (!default_profile.empty()) root.insert("default", default_profile);
  toml::table all;
  for (const auto& [name, profile] : profiles) {
    toml::table entry;
    entry.insert("server", profile.server);
    entry.insert("username", profile.username);
    if (!profile.ca_file.empty()) entry.insert("ca_file", profile.ca_file);
    all.insert(name, std::move(entry));
  }
  root.insert("profiles", std::move(all));
  std::ostringstream text;
  text << "# parley terminal client: accounts on this machine. Keep this file private (mode 0600).\n" << root << "\n";
  const std::string data = text.str();

  fs::path temp = file;
  temp += ".tmp";
  ::unlink(temp.c_str());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw ProfileError(temp.string() + ": " + std::strerror(errno));
  std::size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int saved = errno;
      ::close(fd);
      ::unlink(temp.c_str());
      throw ProfileError(temp.string() + ": " + std::strerror(saved));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int saved = errno;
    ::unlink(temp.c_str());
    throw ProfileError(temp.string() + ": " + std::strerror(saved));
  }
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    int saved = errno;
    ::unlink(temp.c_str());
    throw ProfileError(file.string() + ": " + std::strerror(saved));
  }
}

std::optional<std::string> Profiles::choose(const std::string& requested) const {
  if (!requested.empty()) {
    if (profiles.count(requested) != 0) return requested;
    return std::nullopt;
  }
  if (!default_profile.empty() && profiles.count(default_profile) != 0) return default_profile;
  if (profiles.size() == 1) return profiles.begin()->first;
  return std::nullopt;
}

void ensure_private_dir(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) throw ProfileError(dir.string() + ": " + ec.message());
    ::chmod(dir.c_str(), 0700);
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) throw ProfileError(dir.string() + ": " + std::strerror(errno));
  if ((st.st_mode & 077) != 0) {
    throw ProfileError(dir.string() + " holds a session token but its mode is " + octal_mode(st.st_mode) +
                       ": others may enter it; run chmod 700 " + dir.string());
  }
}

Paths Paths::from_environment() {
  return Paths{xdg("XDG_CONFIG_HOME", ".config"), xdg("XDG_DATA_HOME", ".local/share"),
               xdg("XDG_CACHE_HOME", ".cache")};
}

}  // namespace parley::cli
