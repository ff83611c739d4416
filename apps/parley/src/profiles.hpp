// The terminal client's accounts on this machine: which server and which
// user, per profile, in one file that only its owner may read.
//
//   $XDG_CONFIG_HOME/parley/profiles.toml   (~/.config/parley/ by default)
//
//   default = "alice"
//   [profiles.alice]
//   server = "http://127.0.0.1:8080"
//   username = "alice"
//
// The session token itself is kept by the client engine in the profile's
// device store ($XDG_DATA_HOME/parley/PROFILE/store.db), the one place the
// engine reads it from, so that it can never disagree with a copy here.
// Both are private: this file is created 0600 in a 0700 folder, the store's
// folder 0700, and either is refused (EX_CONFIG, with the chmod to run) when
// group or others may read or write it, as ssh does with its keys: a token
// another local user could read is a session they could use. Writes go
// through a temporary file, fsync and rename, so a crash leaves the old file
// or the new one, never half of one.
//
// `parley logout` ends the session (the token is deleted) and keeps the
// history the device holds; `parley logout --forget` erases it too.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace parley::cli {

struct Profile {
  std::string server;  // base URL, e.g. http://127.0.0.1:8080 or https://chat.example.org
  std::string username;
  std::string ca_file;  // a CA (PEM) to trust for this https server, besides the system's; optional
};

// Thrown when the file cannot be used: unsafe mode, not valid TOML, a value
// of the wrong type. The message names the file and what to do.
struct ProfileError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Profiles {
  std::string default_profile;
  std::map<std::string, Profile> profiles;

  // Reads the file; a missing file is an empty set of profiles.
  static Profiles load(const std::filesystem::path& file);
  // Writes the file (and its folder) with the modes above.
  void save(const std::filesystem::path& file) const;

  // The profile to use: `requested` when given, else the default, else the
  // only one. Nullopt when there is none to choose (none, or several and no
  // default); `requested` naming no profile is also nullopt.
  [[nodiscard]] std::optional<std::string> choose(const std::string& requested) const;
};

// Where things live, from the XDG variables (falling back to $HOME).
struct Paths {
  std::filesystem::path config_dir;  // .../parley
  std::filesystem::path data_dir;    // .../parley
  std::filesystem::path cache_dir;   // .../parley
  [[nodiscard]] std::filesystem::path credentials() const { return config_dir / "profiles.toml"; }
  [[nodiscard]] std::filesystem::path store_dir(const std::string& profile) const { return data_dir / profile; }
  [[nodiscard]] std::filesystem::path cache(const std::string& profile) const { return cache_dir / profile; }
  static Paths from_environment();
};

// Creates `dir` (and parents) for private data, mode 0700, and refuses one
// that group or others may enter (ProfileError naming the chmod to run).
void ensure_private_dir(const std::filesystem::path& dir);

// A profile name is also a folder name: 1-64 of [A-Za-z0-9._-], not "." or "..".
[[nodiscard]] bool valid_profile_name(const std::string& name);

}  // namespace parley::cli
