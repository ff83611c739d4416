#include "support/http_client.hpp"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace parley::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

boost::json::value Reply::json() const { return boost::json::parse(body); }

std::string Reply::error_code() const {
  boost::system::error_code ec;
  auto value = boost::json::parse(body, ec);
  if (ec || !value.is_object()) return "";
  const auto* error = value.as_object().if_contains("error");
  if (error == nullptr || !error->is_object()) return "";
  const auto* code = error->as_object().if_contains("code");
  return code != nullptr && code->is_string() ? std::string(code->as_string()) : "";
}

Reply HttpClient::request(const std::string& method, const std::string& target, const std::string& body,
                          const std::string& token, const std::string& content_type,
                          const std::map<std::string, std::string>& headers) const {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(30));
  stream.connect(tcp::endpoint(asio::ip::make_address(host_), port_));

  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, host_);
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty() && !content_type.empty()) req.set(http::field::content_type, content_type);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(stream, buffer, parser);
  auto& res = parser.get();
  Reply reply;
  reply.status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  reply.body = res.body();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return reply;
}

Reply HttpClient::post(const std::string& target, const boost::json::value& body, const std::string& token) const {
  return request("POST", target, boost::json::serialize(body), token);
}

Reply HttpClient::patch(const std::string& target, const boost::json::value& body, const std::string& token) const {
  return request("PATCH", target, boost::json::serialize(body), token);
}

Reply HttpClient::put(const std::string& target, const boost::json::value& body, const std::string& token) const {
  return request("PUT", target, boost::json::serialize(body), token);
}

std::string HttpClient::raw(const std::string& bytes, std::chrono::milliseconds timeout) const {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(asio::ip::make_address(host_), port_));
  beast::error_code ec;
  asio::write(stream.socket(), asio::buffer(bytes), ec);
  std::string received;
  char chunk[4096];
  stream.expires_after(timeout);
  for (;;) {
    std::size_t n = stream.read_some(asio::buffer(chunk), ec);
    received.append(chunk, n);
    if (ec) break;
  }
  return received;
}

TestUser login(const HttpClient& client, const std::string& username, const std::string& password,
               const std::string& device) {
  auto reply = client.post("/api/v1/sessions",
                           boost::json::object{{"username", username}, {"password", password}, {"device_name", device}});
  if (reply.status != 201) throw std::runtime_error("login failed: " + std::to_string(reply.status) + " " + reply.body);
  auto json = reply.json();
  TestUser user;
  user.username = username;
  user.password = password;
  user.token = std::string(json.at("token").as_string());
  user.id = json.at("user").at("id").as_int64();
  user.session_id = json.at("session").at("id").as_int64();
  return user;
}

TestUser register_and_login(const HttpClient& client, const std::string& username) {
  std::string password = "password-" + username;
  auto reply = client.post(
      "/api/v1/accounts",
      boost::json::object{{"username", username}, {"password", password}, {"display_name", "User " + username}});
  if (reply.status != 201) {
    throw std::runtime_error("register failed: " + std::to_string(reply.status) + " " + reply.body);
  }
  return login(client, username, password);
}

namespace {

boost::json::value expect_json(const Reply& reply, int status, const char* what) {
  if (reply.status != status) {
    throw std::runtime_error(std::string(what) + ": " + std::to_string(reply.status) + " " + reply.body);
  }
  return reply.body.empty() ? boost::json::value() : reply.json();
}

}  // namespace

void make_contacts(const HttpClient& client, const TestUser& a, const TestUser& b) {
  auto invitation = expect_json(client.post("/api/v1/contacts/invitations", boost::json::object{{"username", b.username}}, a.token),
                                201, "invite");
  auto id = invitation.at("invitation").at("id").as_int64();
  expect_json(client.post("/api/v1/contacts/invitations/" + std::to_string(id) + "/accept", boost::json::object{}, b.token),
              200, "accept");
}

std::int64_t direct_conversation(const HttpClient& client, const TestUser& a, const TestUser& b) {
  auto reply = client.post("/api/v1/conversations/direct", boost::json::object{{"username", b.username}}, a.token);
  if (reply.status != 200 && reply.status != 201) {
    throw std::runtime_error("direct conversation: " + std::to_string(reply.status) + " " + reply.body);
  }
  return reply.json().at("conversation").at("id").as_int64();
}

std::int64_t create_group(const HttpClient& client, const TestUser& owner, const std::string& name,
                          const std::vector<TestUser>& members) {
  boost::json::array usernames;
  for (const auto& member : members) usernames.push_back(boost::json::value(member.username));
  auto created = expect_json(
      client.post("/api/v1/conversations/groups", boost::json::object{{"name", name}, {"members", usernames}}, owner.token),
      201, "create group");
  return created.at("conversation").at("id").as_int64();
}

}  // namespace parley::test
