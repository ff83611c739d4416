#!/usr/bin/env python3
"""The desktop notifier against a real notification server: dunst on Xvfb,
on a private D-Bus session bus. What dunst prints is what it shows; its
`dunstctl action` is a user choosing the notification's action, which dunst
reports to the notifier with the ActionInvoked signal.

    desktop_notifier_test.py --probe PATH [unittest args]
"""

import argparse
import json
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "apps", "parley",
                                "tests"))
from harness import Desktop, LineReader, stop  # noqa: E402

ARGS = None


class DesktopNotifierTest(unittest.TestCase):
    def setUp(self):
        self.desktop = Desktop()
        self.addCleanup(self.desktop.close)

    def start_probe(self, reply_command):
        proc = subprocess.Popen([ARGS.probe, reply_command], env=self.desktop.env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(stop, proc)
        out = LineReader(proc.stdout, "probe")
        return proc, out

    def send(self, proc, *fields):
        proc.stdin.write("\t".join(str(f) for f in fields) + "\n")
        proc.stdin.flush()

    def test_message_is_shown_escaped_and_quick_reply_comes_back(self):
        answer = os.path.join(self.desktop.dir, "asked")
        # The reply command sees the context in its environment.
        proc, out = self.start_probe('echo "$PARLEY_SENDER|$PARLEY_PREVIEW" > %s; echo "on my way"' % answer)
        ready = out.wait_for(r"^ready server=(\S+) actions=(\d) reply=(\d)")
        self.assertEqual(ready.groups(), ("dunst", "1", "1"))

        mark = self.desktop.shown.mark()
        self.send(proc, "notify", 7, 42, 0, "Bob", "Bob", "see <b>this</b> & that")
        shown = self.desktop.wait_notification(start=mark)
        self.assertEqual(shown["summary"], "Bob")
        # The body is markup to the server: the message's own tags are escaped.
        self.assertEqual(shown["body"], "see &lt;b&gt;this&lt;/b&gt; &amp; that")
        self.assertEqual(shown["appname"], "parley-test")
        self.assertEqual(shown.get("action:reply"), "Reply")

        self.desktop.invoke_action(0)
        reply = out.wait_for(r"^reply (\d+) (\d+) (.*)$")
        self.assertEqual(reply.groups(), ("7", "42", "on my way"))
        with open(answer) as f:
            self.assertEqual(f.read().strip(), "Bob|see <b>this</b> & that")

    def test_group_messages_replace_one_notification_per_conversation(self):
        proc, out = self.start_probe("true")
        out.wait_for(r"^ready")
        mark = self.desktop.shown.mark()
        self.send(proc, "notify", 9, 1, 1, "Carol", "Team", "first")
        first = self.desktop.wait_notification(start=mark)
        self.assertEqual(first["summary"], "Carol in Team")
        mark = self.desktop.shown.mark()
        self.send(proc, "notify", 9, 2, 1, "Dave", "Team", "second")
        second = self.desktop.wait_notification(start=mark)
        self.assertEqual(second["summary"], "Dave in Team")
        self.assertIn("second", second["body"])
        # Same notification, updated in place: dunst shows one, not two.
        self.assertEqual(second["id"], first["id"])
        count = subprocess.run(["dunstctl", "count", "displayed"], env=self.desktop.env, capture_output=True,
                               text=True, check=True)
        self.assertEqual(count.stdout.strip(), "1")

    def test_empty_answer_sends_nothing(self):
        proc, out = self.start_probe("printf ''")
        out.wait_for(r"^ready")
        mark = self.desktop.shown.mark()
        self.send(proc, "notify", 3, 5, 0, "Eve", "Eve", "hello?")
        self.desktop.wait_notification(start=mark)
        log_mark = out.mark()
        self.desktop.invoke_action(0)
        out.wait_for(r"^log reply cancelled", start=log_mark)
        self.assertNotRegex(out.text(), r"(?m)^reply ")

    def test_withdraw_closes_the_conversations_notification(self):
        proc, out = self.start_probe("true")
        out.wait_for(r"^ready")
        mark = self.desktop.shown.mark()
        self.send(proc, "notify", 4, 8, 0, "Finn", "Finn", "read me")
        self.desktop.wait_notification(start=mark)
        monitor = subprocess.Popen(["dbus-monitor", "--session",
                                    "type='signal',interface='org.freedesktop.Notifications',"
                                    "member='NotificationClosed'"],
                                   env=self.desktop.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(stop, monitor)
        signals = LineReader(monitor.stdout, "dbus-monitor")
        # The monitor is listening once the bus has told it its name.
        signals.wait_for(r"member=NameAcquired|string \"")
        self.send(proc, "withdraw", 4)
        signals.wait_for(r"member=NotificationClosed")
        count = subprocess.run(["dunstctl", "count", "displayed"], env=self.desktop.env, capture_output=True,
                               text=True, check=True)
        self.assertEqual(count.stdout.strip(), "0")

class InlineReplyTest(unittest.TestCase):
    """KDE Plasma's inline reply, against inline_reply_server.py on a private
    bus (dunst has no inline reply; Plasma needs a whole desktop). The
    protocol is what is tested: the capability is read, the notification
    carries the "inline-reply" action and the placeholder hint, and the
    NotificationReplied signal becomes the reply."""

    def setUp(self):
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        self.addCleanup(stop, bus)
        self.env = dict(os.environ)
        self.env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        server = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inline_reply_server.py")
        # Debian's interpreter: python3-gi is installed for it.
        self.server = subprocess.Popen(["/usr/bin/python3", server], env=self.env, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(stop, self.server)
        self.server_out = LineReader(self.server.stdout, "inline server")
        self.server_out.wait_for(r'"ready"')

    def test_the_reply_typed_in_the_notification_comes_back(self):
        proc = subprocess.Popen([ARGS.probe, "echo not this"], env=self.env, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(stop, proc)
        out = LineReader(proc.stdout, "probe")
        ready = out.wait_for(r"^ready server=(\S+) actions=(\d) reply=(\d) inline=(\d)")
        self.assertEqual(ready.groups(), ("inline-test", "1", "1", "1"))
        proc.stdin.write("\t".join(["notify", "7", "42", "0", "Bob", "Bob", "lunch?"]) + "\n")
        proc.stdin.flush()
        shown = json.loads(self.server_out.wait_for(r'^\{"notify"').string)
        self.assertEqual(shown["summary"], "Bob")
        # The inline-reply action (with its label), not the command fallback.
        self.assertEqual(shown["actions"], ["inline-reply", "Reply"])
        self.assertEqual(shown["hints"].get("x-kde-reply-placeholder-text"), "Reply to Bob")
        self.server.stdin.write("reply %d on my way\n" % shown["notify"])
        self.server.stdin.flush()
        reply = out.wait_for(r"^reply (\d+) (\d+) (.*)$")
        self.assertEqual(reply.groups(), ("7", "42", "on my way"))
        # Answered: the notification is closed.
        self.server_out.wait_for(r'^\{"closed": %d\}' % shown["notify"])
        self.assertNotIn("not this", out.text())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--probe", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
