// What request handlers are given: the long-lived components of the server,
// created once at start-up (see app/server_app.cpp) and shared by all
// threads. Each component is itself thread-safe.
#pragma once

#include "core/config.hpp"

namespace parley::storage {
class Store;
}
namespace parley::metrics {
class Metrics;
}
namespace parley::auth {
class PasswordHasher;
class LoginThrottle;
class Authenticator;
}  // namespace parley::auth

namespace parley::realtime {
class Hub;
}
namespace parley::media {
class MediaService;
}
namespace parley::account {
class ExportService;
}

namespace parley::api {

struct Services {
  const Config& config;
  storage::Store& store;
  auth::PasswordHasher& hasher;
  auth::LoginThrottle& throttle;
  auth::Authenticator& authenticator;
  metrics::Metrics& metrics;
  realtime::Hub& hub;
  media::MediaService& media;
  account::ExportService& exports;
};

}  // namespace parley::api
