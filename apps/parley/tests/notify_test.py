#!/usr/bin/env python3
"""`parley notify`, the push handler, end to end: the real parleyd, the real
`parley` binary, and a real notification server (dunst on Xvfb) on a private
D-Bus session bus. A message arrives, dunst shows it, the user picks Reply,
and the reply lands in the conversation.

    notify_test.py --parleyd PATH --parley PATH [unittest args]
"""

import argparse
import json
import os
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Desktop, Parleyd, User, stop  # noqa: E402

ARGS = None


class NotifyTest(unittest.TestCase):
    def setUp(self):
        self.server = Parleyd(ARGS.parleyd)
        self.addCleanup(self.server.close)
        self.desktop = Desktop()
        self.addCleanup(self.desktop.close)

    def user(self, name):
        u = User(ARGS.parley, name, self.server.url,
                 extra_env={k: self.desktop.env[k] for k in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS")})
        self.addCleanup(u.close)
        u.register_and_login()
        return u

    def test_message_is_notified_and_quick_reply_lands_in_the_conversation(self):
        alice, bob = self.user("alice"), self.user("bob")
        alice.run("invite", "bob")
        bob.run("accept", "alice")

        handler, _, log = alice.spawn("notify", "--reply-command", "echo 'sure, from the notification'")
        self.addCleanup(stop, handler)
        log.wait_for(r"through dunst \(with quick reply\)")
        log.wait_for(r"connected")

        tail, out, err = bob.spawn("--json", "tail")
        self.addCleanup(stop, tail)
        err.wait_for(r"connected")
        mark = self.desktop.shown.mark()
        # bob writes from a second device, while his first follows.
        bob.run("--profile", "phone", "--server", self.server.url, "login", "bob", "--password-stdin",
                input=bob.password + "\n")
        asked = json.loads(bob.run("--profile", "phone", "--json", "send", "alice",
                                   "are you there? <i>really</i>").stdout)
        shown = self.desktop.wait_notification(start=mark)
        self.assertEqual(shown["summary"], "bob")
        self.assertEqual(shown["body"], "are you there? &lt;i&gt;really&lt;/i&gt;")
        self.assertEqual(shown.get("action:reply"), "Reply")

        self.desktop.invoke_action(0)
        log.wait_for(r"reply sent")
        reply = json.loads(out.wait_for(r"^\{.*sure, from the notification.*$").group(0))
        self.assertEqual(reply["text"], "sure, from the notification")
        self.assertEqual(reply["sender"], "alice")
        self.assertEqual(reply["reply_to"], asked["id"])
        self.assertEqual(reply["conversation_id"], asked["conversation_id"])

    def test_own_messages_do_not_notify(self):
        alice, bob = self.user("alice"), self.user("bob")
        alice.run("invite", "bob")
        bob.run("accept", "alice")
        handler, _, log = alice.spawn("notify", "--no-reply")
        self.addCleanup(stop, handler)
        log.wait_for(r"through dunst \(no quick reply\)")
        log.wait_for(r"connected")
        mark = self.desktop.shown.mark()
        # alice writes from another device: her own words notify no one.
        alice.run("--profile", "laptop", "--server", self.server.url, "login", "alice", "--password-stdin",
                  input=alice.password + "\n")
        alice.run("--profile", "laptop", "send", "bob", "my own words")
        bob.run("send", "alice", "second")
        shown = self.desktop.wait_notification(start=mark)
        # The first notification shown is bob's: alice's own message made none.
        self.assertEqual(shown["body"], "second")
        self.assertNotIn("action:reply", shown)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--parleyd", required=True)
    parser.add_argument("--parley", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
