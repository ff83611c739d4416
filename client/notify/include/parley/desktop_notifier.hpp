// A Notifier (parley/account.hpp) that shows each message as a desktop
// notification through libnotify (the freedesktop.org notification
// service on the D-Bus session bus), with a Reply action where the
// notification server supports actions.
//
// What it shows: the conversation's title as the summary (the sender's name,
// or "Sender in Group"), the engine's preview as the body (escaped: servers
// read the body as markup). One notification per conversation: a new message
// replaces that conversation's notification rather than stacking another.
// withdraw() closes a conversation's notification once it is read anywhere.
//
// QUICK REPLY. Where the server supports KDE Plasma's inline reply (the
// capability "inline-reply"), the notification carries an "inline-reply"
// action with the x-kde-reply-placeholder-text hint: Plasma shows a text
// field in the notification and sends the text with its NotificationReplied
// signal, which the notifier hands to `on_reply`. Elsewhere (the
// specification itself has no text field: servers only report which action
// was chosen, ActionInvoked), the action fallback applies: when the user
// chooses Reply, the notifier runs `reply_command` (by default
// `zenity --entry`, a small text dialog, when zenity is installed) and
// sends its first line of output as the reply, through `on_reply`. The
// command gets the context in its environment: PARLEY_SENDER,
// PARLEY_CONVERSATION (the title) and PARLEY_PREVIEW. An empty answer, or a
// failing command, sends nothing. No command and no zenity: no Reply action.
//
// THREADING. The notifier runs its own thread with a GLib main loop: every
// libnotify call and every D-Bus signal is handled there. notify() and
// withdraw() may be called from any thread (they post to it). on_reply is
// called on the notifier's thread: post it to your own loop, or call
// Account::quick_reply, which may be called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "parley/account.hpp"

namespace parley {

class DesktopNotifier : public Notifier {
 public:
  struct Options {
    std::string app_name = "Parley";
    // The reply to a notification: the conversation, the message it
    // answers, and the text.
    std::function<void(ConversationId, MessageId, const std::string&)> on_reply;
    // argv of the command that asks for the reply text; empty: zenity when
    // installed. Ignored when offer_reply is false.
    std::vector<std::string> reply_command;
    bool offer_reply = true;
    // Called (notifier thread) for each notification shown, and for each
    // reply command's outcome: for logs and diagnostics.
    std::function<void(const std::string&)> log;
  };

  // Connects to the session bus and the notification server. Fails with
  // Errc::network when there is no session bus or no notification server.
  static Result<std::shared_ptr<DesktopNotifier>> create(Options options);
  ~DesktopNotifier() override;  // closes what it shows, stops its thread

  void notify(const Notification& notification) override;
  void withdraw(ConversationId conversation, std::int64_t seq) override;

  // The server's name and whether it supports actions, as it reported them.
  [[nodiscard]] std::string server_name() const;
  [[nodiscard]] bool supports_actions() const;
  [[nodiscard]] bool offers_reply() const;
  // The server takes the reply text in the notification (KDE inline reply).
  [[nodiscard]] bool inline_reply() const;

  struct Impl;

 private:
  explicit DesktopNotifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace parley
