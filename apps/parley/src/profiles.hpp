// The terminal client's accounts on this machine: which server, which user,
// and the session token, per profile, in one file that only its owner may
// read.
//
//   $XDG_CONFIG_HOME/parley/credentials.toml   (~/.config/parley/ by default)
//
//   default = "alice"
//   [profiles.alice]
//   server = "http://127.0.0.1:8080"
//   username = "alice"
//   token = "..."            # a device session's bearer token
//
// The file holds bearer tokens, so it is created 0600 in a 0700 folder and
// refused (EX_CONFIG, with the chmod to run) when group or others may read or
// write it, as ssh does with its keys: a token another local user could read
// is a session they could use. Writes go through a temporary file, fsync and
// rename, so a crash leaves the old file or the new one, never half of one.
//
// The device store and the media cache of a profile live apart from the
// credentials, under $XDG_DATA_HOME/parley/PROFILE and
// $XDG_CACHE_HOME/parley/PROFILE: a logout deletes the token but not the
// history the device holds unless asked to (`parley logout --forget`).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace parley::cli {

struct Profile {
  std::string server;    // base URL, e.g. http://127.0.0.1:8080
  std::string username;
  std::string token;     // empty when logged out
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
  [[nodiscard]] std::filesystem::path credentials() const { return config_dir / "credentials.toml"; }
  [[nodiscard]] std::filesystem::path store_dir(const std::string& profile) const { return data_dir / profile; }
  [[nodiscard]] std::filesystem::path cache(const std::string& profile) const { return cache_dir / profile; }
  static Paths from_environment();
};

// A profile name is also a folder name: 1-64 of [A-Za-z0-9._-], not "." or "..".
[[nodiscard]] bool valid_profile_name(const std::string& name);

}  // namespace parley::cli
