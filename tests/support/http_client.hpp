// A small synchronous HTTP client over real sockets, for black-box tests.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

namespace parley::test {

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  // The body parsed as JSON; a test failure (exception) if it is not JSON.
  [[nodiscard]] boost::json::value json() const;
  // body.error.code, or "" when the body has no error object.
  [[nodiscard]] std::string error_code() const;
};

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port, std::string host = "127.0.0.1") : host_(std::move(host)), port_(port) {}

  // One request on a new connection. `token` adds "Authorization: Bearer".
  // The body is sent as application/json unless content_type says otherwise.
  Reply request(const std::string& method, const std::string& target, const std::string& body = "",
                const std::string& token = "", const std::string& content_type = "application/json",
                const std::map<std::string, std::string>& headers = {}) const;

  Reply get(const std::string& target, const std::string& token = "") const { return request("GET", target, "", token); }
  Reply post(const std::string& target, const boost::json::value& body, const std::string& token = "") const;
  Reply patch(const std::string& target, const boost::json::value& body, const std::string& token = "") const;
  Reply put(const std::string& target, const boost::json::value& body, const std::string& token = "") const;
  Reply del(const std::string& target, const std::string& token = "") const { return request("DELETE", target, "", token); }

  // Writes raw bytes, then reads until the server closes or `timeout`;
  // returns everything read. For malformed and abusive requests.
  std::string raw(const std::string& bytes, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  [[nodiscard]] std::uint16_t port() const { return port_; }

 private:
  std::string host_;
  std::uint16_t port_;
};

// Registers `username` (password "password-<username>") and logs in; returns
// the token. Fails the calling test via exception on any unexpected status.
struct TestUser {
  std::string username;
  std::string password;
  std::string token;
  std::int64_t id = 0;
  std::int64_t session_id = 0;
};
TestUser register_and_login(const HttpClient& client, const std::string& username);
// Logs in again as an existing user (a new device session).
TestUser login(const HttpClient& client, const std::string& username, const std::string& password,
               const std::string& device = "test device");

// Makes `a` and `b` contacts (a invites, b accepts).
void make_contacts(const HttpClient& client, const TestUser& a, const TestUser& b);
// The direct conversation of two contacts; returns its id.
std::int64_t direct_conversation(const HttpClient& client, const TestUser& a, const TestUser& b);
// A group owned by `owner` with `members` (who must be owner's contacts).
std::int64_t create_group(const HttpClient& client, const TestUser& owner, const std::string& name,
                          const std::vector<TestUser>& members);

}  // namespace parley::test
