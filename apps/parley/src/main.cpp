// parley: the terminal client. Without a subcommand it opens the interactive
// screen; with one it does that one thing, for people and scripts alike.
// docs/parley-cli.md is the user guide.
#include <CLI/CLI.hpp>
#include <clocale>
#include <cstdlib>
#include <iostream>

#include "commands.hpp"

int main(int argc, char** argv) {
  using namespace parley::cli;
  std::setlocale(LC_ALL, "");

  CLI::App app{"parley: the Parley chat client for the terminal. Without a command: the interactive client."};
  app.set_help_all_flag("--help-all", "all commands and their options");
  GlobalOptions options;
  if (const char* profile = std::getenv("PARLEY_PROFILE")) options.profile = profile;
  if (const char* server = std::getenv("PARLEY_SERVER")) options.server = server;
  if (const char* ca_file = std::getenv("PARLEY_CA_FILE")) options.ca_file = ca_file;
  app.add_option("--server", options.server, "server URL, e.g. http://127.0.0.1:8080 ($PARLEY_SERVER)");
  app.add_option("--profile,-p", options.profile, "the account to use ($PARLEY_PROFILE; default: the default one)");
  app.add_option("--ca-file", options.ca_file,
                 "a CA certificate (PEM) to trust for an https:// server, besides the system's; kept in the profile "
                 "at login ($PARLEY_CA_FILE)");
  app.add_flag("--json", options.json, "machine-readable output (JSON; one object per line for tail and history)");
  app.add_option("--timeout", options.timeout_seconds, "longest wait for the server, seconds")
      ->check(CLI::Range(1, 3600));

  std::function<int()> action = [&] { return run_interactive(options); };

  RegisterArgs reg;
  auto* c = app.add_subcommand("register", "create an account on the server (password on stdin or asked)");
  c->add_option("username", reg.username)->required();
  c->add_option("--display-name", reg.display_name);
  c->add_flag("--password-stdin", reg.password_stdin, "read the password from stdin even on a terminal");
  c->callback([&] { action = [&] { return run_register(options, reg); }; });

  LoginArgs login;
  c = app.add_subcommand("login", "log in (a new profile, named after the user, needs --server)");
  c->add_option("username", login.username)->required();
  c->add_flag("--password-stdin", login.password_stdin, "read the password from stdin even on a terminal");
  c->add_option("--code", login.two_factor_code, "two-factor code (or a recovery code)");
  c->add_flag("--default", login.make_default, "make this profile the default");
  c->callback([&] { action = [&] { return run_login(options, login); }; });

  bool forget = false;
  c = app.add_subcommand("logout", "end the session; the device keeps its history unless --forget");
  c->add_flag("--forget", forget, "also erase this device's store and media cache");
  c->callback([&] { action = [&] { return run_logout(options, forget); }; });

  c = app.add_subcommand("contacts", "list contacts (with presence) and invitations");
  c->callback([&] { action = [&] { return run_contacts(options); }; });

  std::string user;
  c = app.add_subcommand("invite", "invite a user to be a contact");
  c->add_option("username", user)->required();
  c->callback([&] { action = [&] { return run_invite(options, user); }; });
  c = app.add_subcommand("accept", "accept a user's invitation");
  c->add_option("username", user)->required();
  c->callback([&] { action = [&] { return run_answer_invitation(options, user, true); }; });
  c = app.add_subcommand("decline", "decline a user's invitation");
  c->add_option("username", user)->required();
  c->callback([&] { action = [&] { return run_answer_invitation(options, user, false); }; });

  SendArgs send;
  c = app.add_subcommand("send", "send a message (TEXT, or stdin) or a file to a contact or group");
  c->add_option("to", send.to, "a contact's username, a group's name, or #ID")->required();
  c->add_option("text", send.words, "the text (\"-\" or nothing: read stdin)");
  c->add_option("--file,-f", send.file, "send this file (the text is its caption)");
  c->add_option("--reply-to", send.reply_to, "reply to the message with this number");
  c->add_flag("--no-wait", send.no_wait, "return once stored in the outbox, before the server has it");
  c->add_option("--sticker", send.sticker, "send this sticker (ids: parley stickers)");
  c->callback([&] { action = [&] { return run_send(options, send); }; });

  HistoryArgs history;
  c = app.add_subcommand("history", "print a conversation's messages, oldest first");
  c->add_option("conversation", history.of, "a contact's username, a group's name, or #ID")->required();
  c->add_option("--limit,-n", history.limit, "how many of the newest messages (50)");
  c->callback([&] { action = [&] { return run_history(options, history); }; });

  TailArgs tail;
  c = app.add_subcommand("tail", "print new messages as they arrive, until interrupted");
  c->add_option("conversations", tail.conversations, "only these conversations");
  c->callback([&] { action = [&] { return run_tail(options, tail); }; });

  SearchArgs search;
  c = app.add_subcommand("search", "search messages (on this device; --server: on the server); exit 1 if none");
  c->add_option("query", search.query)->required();
  c->add_option("--in", search.in, "only this conversation");
  c->add_flag("--on-server", search.on_server, "ask the server (all history, not only what the device holds)");
  c->add_option("--limit,-n", search.limit);
  c->callback([&] { action = [&] { return run_search(options, search); }; });

  DownloadArgs download;
  c = app.add_subcommand("download", "save a message's files (CONVERSATION NUMBER) or one file (--media ID)");
  c->add_option("conversation", download.conversation);
  c->add_option("number", download.seq);
  c->add_option("--media", download.media, "a media id");
  c->add_option("--output,-o", download.output, "folder (or file name for one file); default: here");
  c->callback([&] {
    if (download.media.empty() && (download.conversation.empty() || download.seq <= 0)) {
      throw CLI::ValidationError("download", "give CONVERSATION NUMBER, or --media ID");
    }
    action = [&] { return run_download(options, download); };
  });

  GroupArgs groups;
  auto* g = app.add_subcommand("groups", "manage groups");
  g->require_subcommand(1);
  g->add_subcommand("list", "groups this user is in")->callback([&] { groups.action = "list"; });
  auto* gc = g->add_subcommand("create", "create a group with some contacts");
  gc->add_option("name", groups.group)->required();
  gc->add_option("users", groups.users);
  gc->callback([&] { groups.action = "create"; });
  auto* gm = g->add_subcommand("members", "list a group's members");
  gm->add_option("group", groups.group)->required();
  gm->callback([&] { groups.action = "members"; });
  auto* ga = g->add_subcommand("add", "add contacts to a group");
  ga->add_option("group", groups.group)->required();
  ga->add_option("users", groups.users)->required();
  ga->callback([&] { groups.action = "add"; });
  auto* gr = g->add_subcommand("remove", "remove members from a group");
  gr->add_option("group", groups.group)->required();
  gr->add_option("users", groups.users)->required();
  gr->callback([&] { groups.action = "remove"; });
  auto* gn = g->add_subcommand("rename", "rename a group (and set its topic)");
  gn->add_option("group", groups.group)->required();
  gn->add_option("name", groups.name)->required();
  gn->add_option("--topic", groups.topic);
  gn->callback([&] { groups.action = "rename"; });
  auto* gl = g->add_subcommand("leave", "leave a group");
  gl->add_option("group", groups.group)->required();
  gl->callback([&] { groups.action = "leave"; });
  g->final_callback([&] { action = [&] { return run_groups(options, groups); }; });

  NotifyArgs notify;
  c = app.add_subcommand("notify", "run the push handler: desktop notifications with quick reply, until stopped");
  c->add_option("--reply-command", notify.reply_command,
                "command printing the reply text (default: zenity --entry when installed)");
  c->add_flag("--no-reply", notify.no_reply, "no Reply action on notifications");
  c->callback([&] { action = [&] { return run_notify(options, notify); }; });

  AccountArgs account;
  const auto account_action = [&](const std::string& name) {
    return [&, name] {
      account.action = name;
      action = [&] { return run_account(options, account); };
    };
  };
  c = app.add_subcommand("mute", "mute a conversation's notifications");
  c->add_option("conversation", account.target)->required();
  c->add_option("--hours", account.hours, "for this many hours (default: until unmuted)")->check(CLI::Range(1, 87600));
  c->callback(account_action("mute"));
  c = app.add_subcommand("unmute", "unmute a conversation");
  c->add_option("conversation", account.target)->required();
  c->callback(account_action("unmute"));
  c = app.add_subcommand("profile", "show or change this user's profile");
  c->add_option("--name", account.display_name, "display name");
  c->add_option("--status", account.status_text, "status text");
  c->add_option("--avatar", account.avatar, "an image file to use as avatar");
  c->add_flag("--remove-avatar", account.remove_avatar);
  c->callback(account_action("profile"));
  c = app.add_subcommand("sessions", "this user's signed-in devices");
  c->add_option("--revoke", account.revoke, "sign this session out (its id)");
  c->add_flag("--revoke-others", account.revoke_others, "sign every other device out");
  c->callback(account_action("sessions"));
  auto* tf = app.add_subcommand("2fa", "two-factor login (an authenticator app's codes)");
  tf->require_subcommand(1);
  tf->add_subcommand("status", "whether it is on")->callback(account_action("2fa status"));
  auto* tfs = tf->add_subcommand("setup", "begin: shows the secret as a QR code (password on stdin or asked)");
  tfs->add_flag("--password-stdin", account.password_stdin);
  tfs->callback(account_action("2fa setup"));
  auto* tfc = tf->add_subcommand("confirm", "finish with a code from the app; prints recovery codes");
  tfc->add_option("code", account.target)->required();
  tfc->callback(account_action("2fa confirm"));
  auto* tfd = tf->add_subcommand("disable", "turn it off (a current code, and the password)");
  tfd->add_option("code", account.target)->required();
  tfd->add_flag("--password-stdin", account.password_stdin);
  tfd->callback(account_action("2fa disable"));
  auto* st = app.add_subcommand("stickers", "this user's sticker packs and their sticker ids");
  st->add_subcommand("catalogue", "the server's packs")->callback(account_action("stickers catalogue"));
  auto* sta = st->add_subcommand("add", "add a pack");
  sta->add_option("pack", account.target)->required();
  sta->callback(account_action("stickers add"));
  auto* str = st->add_subcommand("remove", "remove a pack");
  str->add_option("pack", account.target)->required();
  str->callback(account_action("stickers remove"));
  st->callback([&] {
    if (account.action.empty()) account_action("stickers")();
  });

  c = app.add_subcommand("chat", "the interactive client (the default)");
  c->callback([&] { action = [&] { return run_interactive(options); }; });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  try {
    return action();
  } catch (const CliError& e) {
    std::cerr << "parley: " << e.what() << "\n";
    return e.code;
  } catch (const std::exception& e) {
    std::cerr << "parley: " << e.what() << "\n";
    return kExitFailure;
  }
}
