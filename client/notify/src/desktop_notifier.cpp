#include "parley/desktop_notifier.hpp"

#include <gio/gio.h>
#include <libnotify/notify.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace parley {

namespace {

// Notification bodies are markup for most servers: escape what came from
// the network so that "<b>" in a message is shown, not applied.
std::string escape_markup(const std::string& text) {
  gchar* escaped = g_markup_escape_text(text.c_str(), static_cast<gssize>(text.size()));
  std::string out(escaped);
  g_free(escaped);
  return out;
}

struct Shown {
  NotifyNotification* notification = nullptr;
  Notification last;  // what it shows now: the newest message
  int count = 0;      // messages since it was first shown
};

}  // namespace

struct DesktopNotifier::Impl {
  Options options;
  GMainContext* context = nullptr;
  GMainLoop* loop = nullptr;
  std::thread thread;
  std::string server_name;
  bool actions = false;
  bool inline_reply = false;  // the server takes the reply text itself (KDE Plasma)
  bool reply = false;
  GDBusConnection* bus = nullptr;
  guint replied_subscription = 0;
  std::vector<std::string> reply_argv;
  std::map<ConversationId, Shown> shown;  // notifier thread only

  // Runs `task` on the notifier's thread.
  void post(std::function<void()> task) {
    auto* heap = new std::function<void()>(std::move(task));
    g_main_context_invoke_full(
        context, G_PRIORITY_DEFAULT,
        [](gpointer data) -> gboolean {
          (*static_cast<std::function<void()>*>(data))();
          return G_SOURCE_REMOVE;
        },
        heap, [](gpointer data) { delete static_cast<std::function<void()>*>(data); });
  }

  void log(const std::string& line) const {
    if (options.log) options.log(line);
  }

  static void on_closed(NotifyNotification* n, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    for (auto it = self->shown.begin(); it != self->shown.end(); ++it) {
      if (it->second.notification == n) {
        g_object_unref(n);
        self->shown.erase(it);
        return;
      }
    }
  }

  // KDE Plasma's inline reply: the server shows a text field and reports
  // what was typed with NotificationReplied(id, text).
  static void on_notification_replied(GDBusConnection* /*bus*/, const gchar* /*sender*/, const gchar* /*path*/,
                                      const gchar* /*interface*/, const gchar* /*signal*/, GVariant* parameters,
                                      gpointer data) {
    auto* self = static_cast<Impl*>(data);
    if (!g_variant_is_of_type(parameters, G_VARIANT_TYPE("(us)"))) return;
    guint32 id = 0;
    const gchar* text = nullptr;
    g_variant_get(parameters, "(u&s)", &id, &text);
    for (auto& [conversation, entry] : self->shown) {
      gint shown_id = 0;
      g_object_get(entry.notification, "id", &shown_id, nullptr);
      if (static_cast<guint32>(shown_id) != id) continue;
      std::string reply = text != nullptr ? text : "";
      if (const auto newline = reply.find('\n'); newline != std::string::npos) reply.resize(newline);
      if (reply.empty()) {
        self->log("reply cancelled");
        return;
      }
      self->log("reply sent conversation=" + std::to_string(conversation) + " inline");
      if (self->options.on_reply) self->options.on_reply(conversation, entry.last.message_id, reply);
      notify_notification_close(entry.notification, nullptr);
      return;
    }
  }

  static void on_inline_reply_action(NotifyNotification* /*n*/, char* /*action*/, gpointer /*data*/) {
    // The text comes with NotificationReplied; the action itself says nothing.
  }

  static void on_reply_action(NotifyNotification* n, char* /*action*/, gpointer data) {
    auto* self = static_cast<Impl*>(data);
    for (auto& [conversation, shown] : self->shown) {
      if (shown.notification == n) {
        self->ask_reply(shown.last);
        return;
      }
    }
  }

  // Runs the reply command without blocking the loop; sends its first line.
  void ask_reply(const Notification& to) {
    log("reply requested conversation=" + std::to_string(to.conversation_id));
    GSubprocessLauncher* launcher =
        g_subprocess_launcher_new(static_cast<GSubprocessFlags>(G_SUBPROCESS_FLAGS_STDOUT_PIPE));
    g_subprocess_launcher_setenv(launcher, "PARLEY_SENDER", to.sender.display_name.c_str(), TRUE);
    g_subprocess_launcher_setenv(launcher, "PARLEY_CONVERSATION", to.conversation_title.c_str(), TRUE);
    g_subprocess_launcher_setenv(launcher, "PARLEY_PREVIEW", to.preview.c_str(), TRUE);
    std::vector<const gchar*> argv;
    for (const std::string& arg : reply_argv) argv.push_back(arg.c_str());
    argv.push_back(nullptr);
    GError* error = nullptr;
    GSubprocess* process = g_subprocess_launcher_spawnv(launcher, argv.data(), &error);
    g_object_unref(launcher);
    if (process == nullptr) {
      log(std::string("reply command failed to start: ") + error->message);
      g_error_free(error);
      return;
    }
    struct Pending {
      Impl* self;
      Notification to;
    };
    g_subprocess_communicate_utf8_async(
        process, nullptr, nullptr,
        [](GObject* source, GAsyncResult* result, gpointer data) {
          std::unique_ptr<Pending> pending(static_cast<Pending*>(data));
          auto* proc = G_SUBPROCESS(source);
          gchar* out = nullptr;
          GError* err = nullptr;
          bool ok = g_subprocess_communicate_utf8_finish(proc, result, &out, nullptr, &err) &&
                    g_subprocess_get_if_exited(proc) && g_subprocess_get_exit_status(proc) == 0;
          std::string text = out != nullptr ? out : "";
          g_free(out);
          if (err != nullptr) g_error_free(err);
          g_object_unref(proc);
          if (auto nl = text.find('\n'); nl != std::string::npos) text.resize(nl);
          if (!ok || text.find_first_not_of(" \t\r") == std::string::npos) {
            pending->self->log("reply cancelled");
            return;
          }
          pending->self->log("reply sent conversation=" + std::to_string(pending->to.conversation_id));
          if (pending->self->options.on_reply) {
            pending->self->options.on_reply(pending->to.conversation_id, pending->to.message_id, text);
          }
          // Answered: the notification has done its job.
          auto it = pending->self->shown.find(pending->to.conversation_id);
          if (it != pending->self->shown.end()) notify_notification_close(it->second.notification, nullptr);
        },
        new Pending{this, to});
  }

  void show(const Notification& n) {
    std::string summary = n.group ? n.sender.display_name + " in " + n.conversation_title : n.conversation_title;
    if (summary.empty()) summary = n.sender.username;
    Shown& entry = shown[n.conversation_id];
    entry.count += 1;
    entry.last = n;
    std::string body = escape_markup(n.preview);
    if (entry.count > 1) body += "\n(" + std::to_string(entry.count) + " new messages)";
    if (entry.notification == nullptr) {
      entry.notification = notify_notification_new(summary.c_str(), body.c_str(), "mail-message-new");
      notify_notification_set_category(entry.notification, "im.received");
      notify_notification_set_hint(entry.notification, "desktop-entry", g_variant_new_string("parley"));
      g_signal_connect(entry.notification, "closed", G_CALLBACK(on_closed), this);
      if (inline_reply) {
        // The server draws a text field for the "inline-reply" action.
        notify_notification_add_action(entry.notification, "inline-reply", "Reply", on_inline_reply_action, this,
                                       nullptr);
        const std::string placeholder = "Reply to " + (n.group ? n.conversation_title : summary);
        notify_notification_set_hint(entry.notification, "x-kde-reply-placeholder-text",
                                     g_variant_new_string(placeholder.c_str()));
        notify_notification_set_hint(entry.notification, "x-kde-reply-submit-button-text",
                                     g_variant_new_string("Send"));
      } else if (reply) {
        notify_notification_add_action(entry.notification, "reply", "Reply", on_reply_action, this, nullptr);
      }
    } else {
      notify_notification_update(entry.notification, summary.c_str(), body.c_str(), "mail-message-new");
    }
    notify_notification_set_urgency(entry.notification,
                                    n.mentions_me ? NOTIFY_URGENCY_CRITICAL : NOTIFY_URGENCY_NORMAL);
    GError* error = nullptr;
    if (!notify_notification_show(entry.notification, &error)) {
      log(std::string("notification failed: ") + (error != nullptr ? error->message : "?"));
      if (error != nullptr) g_error_free(error);
      return;
    }
    log("notified conversation=" + std::to_string(n.conversation_id) + " summary=" + summary);
  }
};

Result<std::shared_ptr<DesktopNotifier>> DesktopNotifier::create(Options options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->context = g_main_context_new();
  impl->loop = g_main_loop_new(impl->context, FALSE);

  // libnotify's proxy delivers its signals to the thread-default context of
  // the thread that made it: initialise on the notifier's own thread.
  std::mutex mutex;
  std::condition_variable ready;
  bool started = false;
  std::string failure;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw, &mutex, &ready, &started, &failure] {
    g_main_context_push_thread_default(raw->context);
    std::string why;
    if (!notify_is_initted() && !notify_init(raw->options.app_name.c_str())) {
      why = "cannot initialise libnotify";
    } else {
      char *name = nullptr, *vendor = nullptr, *version = nullptr, *spec = nullptr;
      if (!notify_get_server_info(&name, &vendor, &version, &spec)) {
        why = "no desktop notification server on the session bus";
      } else {
        raw->server_name = name != nullptr ? name : "";
        g_free(name);
        g_free(vendor);
        g_free(version);
        g_free(spec);
        GList* caps = notify_get_server_caps();
        for (GList* c = caps; c != nullptr; c = c->next) {
          if (g_strcmp0(static_cast<const char*>(c->data), "actions") == 0) raw->actions = true;
          if (g_strcmp0(static_cast<const char*>(c->data), "inline-reply") == 0) raw->inline_reply = true;
        }
        g_list_free_full(caps, g_free);
        if (raw->inline_reply && raw->options.offer_reply) {
          // Subscribed from this thread: the signal is dispatched on its context.
          raw->bus = g_bus_get_sync(G_BUS_TYPE_SESSION, nullptr, nullptr);
          if (raw->bus != nullptr) {
            raw->replied_subscription = g_dbus_connection_signal_subscribe(
                raw->bus, nullptr, "org.freedesktop.Notifications", "NotificationReplied",
                "/org/freedesktop/Notifications", nullptr, G_DBUS_SIGNAL_FLAGS_NONE, Impl::on_notification_replied, raw,
                nullptr);
          } else {
            raw->inline_reply = false;  // the action fallback below
          }
        } else {
          raw->inline_reply = false;
        }
      }
    }
    {
      std::lock_guard lock(mutex);
      started = true;
      failure = why;
    }
    ready.notify_one();
    if (why.empty()) g_main_loop_run(raw->loop);
    g_main_context_pop_thread_default(raw->context);
  });
  {
    std::unique_lock lock(mutex);
    ready.wait(lock, [&] { return started; });
  }
  if (!failure.empty()) {
    impl->thread.join();
    g_main_loop_unref(impl->loop);
    g_main_context_unref(impl->context);
    return Error{Errc::network, failure, 0};
  }
  if (impl->inline_reply) {
    impl->reply = true;
  } else if (impl->options.offer_reply && impl->actions) {
    impl->reply_argv = impl->options.reply_command;
    if (impl->reply_argv.empty()) {
      if (gchar* zenity = g_find_program_in_path("zenity")) {
        impl->reply_argv = {zenity, "--entry", "--title=Reply", "--text=Reply:"};
        g_free(zenity);
      }
    }
    impl->reply = !impl->reply_argv.empty();
  }
  return std::shared_ptr<DesktopNotifier>(new DesktopNotifier(std::move(impl)));
}

DesktopNotifier::DesktopNotifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DesktopNotifier::~DesktopNotifier() {
  Impl* impl = impl_.get();
  impl->post([impl] {
    for (auto& [conversation, shown] : impl->shown) {
      notify_notification_close(shown.notification, nullptr);
      g_object_unref(shown.notification);
    }
    impl->shown.clear();
    if (impl->bus != nullptr) {
      if (impl->replied_subscription != 0) g_dbus_connection_signal_unsubscribe(impl->bus, impl->replied_subscription);
      g_object_unref(impl->bus);
      impl->bus = nullptr;
    }
    g_main_loop_quit(impl->loop);
  });
  impl->thread.join();
  g_main_loop_unref(impl->loop);
  g_main_context_unref(impl->context);
}

void DesktopNotifier::notify(const Notification& notification) {
  Impl* impl = impl_.get();
  impl->post([impl, notification] { impl->show(notification); });
}

void DesktopNotifier::withdraw(ConversationId conversation, std::int64_t /*seq*/) {
  // The notification shows the conversation's newest messages; a read mark
  // anywhere in it means the user has seen the conversation.
  Impl* impl = impl_.get();
  impl->post([impl, conversation] {
    auto it = impl->shown.find(conversation);
    if (it != impl->shown.end()) notify_notification_close(it->second.notification, nullptr);
  });
}

std::string DesktopNotifier::server_name() const { return impl_->server_name; }
bool DesktopNotifier::supports_actions() const { return impl_->actions; }
bool DesktopNotifier::offers_reply() const { return impl_->reply; }
bool DesktopNotifier::inline_reply() const { return impl_->inline_reply; }

}  // namespace parley
