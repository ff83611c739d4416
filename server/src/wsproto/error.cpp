#include "wsproto/error.hpp"

#include <string>

namespace parley::wsproto {
namespace {

// boost::system::error_category's destructor is not virtual by design (its
// categories are never deleted through a base pointer); the warning about
// it says nothing here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "parley.wsproto"; }
  std::string message(int value) const override {
    switch (static_cast<Error>(value)) {
      case Error::kOk:
        return "success";
      case Error::kReservedBits:
        return "reserved bits set";
      case Error::kReservedOpcode:
        return "reserved opcode";
      case Error::kUnmaskedFrame:
        return "client frame not masked";
      case Error::kFragmentedControl:
        return "fragmented control frame";
      case Error::kControlTooLong:
        return "control frame payload over 125 bytes";
      case Error::kBadLength:
        return "invalid payload length";
      case Error::kUnexpectedContinuation:
        return "continuation frame without a message";
      case Error::kExpectedContinuation:
        return "new message before the last one ended";
      case Error::kBadCloseFrame:
        return "invalid close frame";
      case Error::kInvalidUtf8:
        return "text is not valid UTF-8";
      case Error::kBadDeflate:
        return "compressed data does not inflate";
      case Error::kFrameTooBig:
        return "frame too big";
      case Error::kMessageTooBig:
        return "message too big";
      case Error::kClosed:
        return "connection closed";
      case Error::kHandshakeFailed:
        return "invalid WebSocket handshake";
      case Error::kTimeout:
        return "timed out";
      case Error::kQueueFull:
        return "outbound queue full";
    }
    return "unknown wsproto error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

std::uint16_t close_code_for(Error e) noexcept {
  switch (e) {
    case Error::kInvalidUtf8:
    case Error::kBadDeflate:
      return close_code::kInvalidPayload;
    case Error::kFrameTooBig:
    case Error::kMessageTooBig:
      return close_code::kMessageTooBig;
    case Error::kTimeout:
    case Error::kQueueFull:
      return close_code::kPolicyViolation;
    case Error::kOk:
    case Error::kClosed:
      return close_code::kNormal;
    default:
      return close_code::kProtocolError;
  }
}

bool is_valid_close_code(std::uint16_t code) noexcept {
  if (code >= 1000 && code <= 1003) return true;
  if (code >= 1007 && code <= 1014) return true;  // 1012-1014: IANA registry
  return code >= 3000 && code <= 4999;
}

}  // namespace parley::wsproto
