// What the interactive client shows, as plain data: the app fills a
// ScreenModel from the engine's device store, and the screen only draws it.
// Keeping the two apart lets the layout be tested without a terminal and
// keeps every ncurses call on one thread (the UI thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace parley::cli {

struct ConversationRow {
  std::int64_t id = 0;  // 0: a contact with no conversation yet (/open them)
  std::string title;
  std::int64_t unread = 0;
  bool online = false;  // direct conversations: the peer is online
  bool group = false;
  bool muted = false;
};

struct MessageRow {
  std::int64_t number = 0;      // the conversation's sequence number; 0 while pending
  std::int64_t created_at = 0;  // Unix ms
  std::string sender;           // display name
  std::string text;
  bool own = false;
  bool pending = false;  // in the outbox: not yet stored by the server
  bool failed = false;   // refused by the server; `error` says why
  std::string error;
  bool edited = false;
  bool deleted = false;
  std::int64_t reply_to_number = 0;  // 0: not a reply
  std::string reply_excerpt;
  std::string reactions;           // "👍 2  ❤ 1"
  std::vector<std::string> files;  // "photo.jpg (1.2 MiB)"
  bool info = false;               // not a message: help or a hint, drawn as plain text
};

enum class Tone { normal, good, warning, error };

struct ScreenModel {
  std::string header;  // who, where, connection state
  Tone header_tone = Tone::normal;
  std::vector<ConversationRow> conversations;
  std::int64_t open_conversation = 0;    // id, or 0 when none is open
  std::vector<std::string> invitations;  // lines for the contact pane: "bob (/accept bob)"
  std::string dialog_title;
  std::vector<MessageRow> messages;  // ascending
  bool more_above = false;           // older history exists (PgUp loads it)
  std::string typing;                // "bob is typing…", or empty
  std::string notice;                // in-app notification of another conversation, or empty
  std::string status;                // the result of the last command, progress, errors
  Tone status_tone = Tone::normal;
};

// One drawn line of the dialog pane.
struct DialogLine {
  enum class Kind {
    meta,
    own,
    other,
    body,
    reply,
    file,
    reactions,
    pending,
    failed,
    deleted,
    more,
    info
  } kind = Kind::body;
  std::wstring text;
  std::wstring prefix;  // the number/time/sender part, drawn in its own colour
};

// Lays the messages out for a pane `width` columns wide: every message's
// header and text wrapped, then its reply, files and reactions lines. Text
// from the network is sanitized (no control characters reach the terminal).
// `now_ms` decides how times are shown (HH:MM today, else with the date).
[[nodiscard]] std::vector<DialogLine> layout_dialog(const std::vector<MessageRow>& messages, bool more_above, int width,
                                                    std::int64_t now_ms);

// "10:42" for today, "Nov 30 10:42" otherwise, in local time.
[[nodiscard]] std::string format_time(std::int64_t ms, std::int64_t now_ms);

}  // namespace parley::cli
