// What a line typed in the interactive client's input line asks for. Plain
// text is a message to the open conversation; a line starting with '/' is a
// command. Parsing is separate from doing, so that every form (and every
// mistake) is tested without a terminal or a server.
//
//   /edit N TEXT      replace the text of my message N (N: the number shown beside it)
//   /reply N TEXT     send TEXT as a reply to message N
//   /react N EMOJI    add a reaction (again with the same emoji: remove it)
//   /delete N         delete my message N
//   /file PATH        send a file (with progress in the status line)
//   /download N [DIR] save message N's files (default: the download folder)
//   /invite USER      invite a user to be a contact
//   /accept USER      accept USER's invitation (/decline USER refuses it)
//   /open NAME        open the conversation whose title or username is NAME
//   /group NAME USER...  create a group with these contacts
//   /search TEXT      search the history the device holds
//   /mute [HOURS]     mute the open conversation (for HOURS, else until unmuted); /unmute
//   /sticker ID       send sticker ID (ids: `parley stickers`)
//   /help, /quit
//
// "//text" sends "/text" as a message.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace parley::cli {

struct SendText {
  std::string text;
};
struct EditMessage {
  std::int64_t number = 0;
  std::string text;
};
struct ReplyTo {
  std::int64_t number = 0;
  std::string text;
};
struct React {
  std::int64_t number = 0;
  std::string emoji;
};
struct DeleteMessage {
  std::int64_t number = 0;
};
struct SendFile {
  std::string path;
};
struct Download {
  std::int64_t number = 0;
  std::string directory;
};
struct Invite {
  std::string username;
};
struct AcceptInvitation {
  std::string username;
};
struct DeclineInvitation {
  std::string username;
};
struct OpenConversation {
  std::string name;
};
struct CreateGroup {
  std::string name;
  std::vector<std::string> members;
};
struct Search {
  std::string query;
};
struct Mute {
  std::int64_t hours = 0;  // 0: until unmuted
};
struct Unmute {};
struct SendSticker {
  std::int64_t id = 0;
};
struct Help {};
struct Quit {};
// A line that is not a valid command: `message` says what is wrong, for
// people (shown in the status line; nothing is sent).
struct Invalid {
  std::string message;
};
// An empty or blank line: nothing to do.
struct Nothing {};

using InputCommand =
    std::variant<Nothing, SendText, EditMessage, ReplyTo, React, DeleteMessage, SendFile, Download, Invite,
                 AcceptInvitation, DeclineInvitation, OpenConversation, CreateGroup, Search, Mute, Unmute, SendSticker,
                 Help, Quit, Invalid>;

[[nodiscard]] InputCommand parse_input(const std::string& line);

// What people mean by a search typed in the input line: every plain word
// also matches as the start of a word ("rep" finds "report"), as the
// device's full-text index (FTS5) matches whole words only. A query that
// already uses the index's syntax (quotes, *, parentheses, AND/OR/NOT) is
// left as it is.
[[nodiscard]] std::string prefix_query(const std::string& query);

// The one-line summary of the commands, for /help and the status line.
[[nodiscard]] const char* input_help();

}  // namespace parley::cli
