// The upgrade of a TLS connection (see http/upgrade.hpp). Separate because
// it needs the SSL headers: included only where TLS streams are served.
#pragma once

#include "http/upgrade.hpp"
#include "net/tls_stream.hpp"

namespace parley::http {

struct TlsUpgrade : BasicUpgrade<net::TlsStream> {};

}  // namespace parley::http
