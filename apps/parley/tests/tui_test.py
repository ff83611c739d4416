#!/usr/bin/env python3
"""The interactive client as a person uses it: `parley` running in tmux,
driven with send-keys and read with capture-pane, against the real parleyd,
with other people writing through the `parley` subcommands.

    tui_test.py --parleyd PATH --parley PATH [unittest args]

A terminal has no event to wait for, so the screen is read again until it
shows what is expected (or a deadline passes, and the test fails showing
the last screen).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Parleyd, User  # noqa: E402

ARGS = None


class Terminal:
    """One tmux server of our own (its own socket) running one program."""

    def __init__(self, user, command, width=110, height=32, history=False):
        # history: read the lines scrolled off the screen too (a command's
        # output may scroll while tmux settles the window's size).
        self.history = history
        self.dir = tempfile.mkdtemp(prefix="parley-tmux-")
        self.socket = os.path.join(self.dir, "tmux.sock")
        env_args = []
        for key in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "LANG", "LC_ALL"):
            env_args += ["-e", "%s=%s" % (key, user.env[key])]
        # The program's exit status is printed by the shell that waits for
        # it, not read from tmux's "Pane is dead" line: tmux 3.3 sometimes
        # leaves an exited pane process unreaped (a zombie) for a minute or
        # more under load, so the line comes late or never.
        wrapped = '%s; echo "[exited with status $?]"; exec sleep 3600' % command
        subprocess.run(["tmux", "-S", self.socket, "-f", "/dev/null", "new-session", "-d", "-x", str(width), "-y",
                        str(height)] + env_args + [wrapped], check=True, env=user.env)
        # Keep the pane when the program exits, to read what it left.
        subprocess.run(["tmux", "-S", self.socket, "set-option", "-g", "remain-on-exit", "on"], check=True)

    def screen(self):
        return subprocess.run(["tmux", "-S", self.socket, "capture-pane", "-p"] + (["-S", "-"] if self.history else []),
                              capture_output=True, text=True, check=True).stdout

    def keys(self, *keys):
        subprocess.run(["tmux", "-S", self.socket, "send-keys"] + list(keys), check=True)

    def type(self, text):
        subprocess.run(["tmux", "-S", self.socket, "send-keys", "-l", text], check=True)
        self.keys("Enter")

    def wait(self, pattern, timeout=30):
        """Reads the screen until `pattern` (a regex) is on it; returns the screen."""
        regex = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if regex.search(shown):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError("not on screen: %r\n----\n%s----" % (pattern, shown))
            time.sleep(0.05)  # tmux has no "screen changed" event to wait on

    def press_until(self, key, pattern, presses=12):
        """Presses `key` (a page of scrolling each) until `pattern` shows, as a person would."""
        for _ in range(presses):
            self.keys(key)
            try:
                return self.wait(pattern, timeout=2)
            except AssertionError:
                pass
        return self.wait(pattern)

    def wait_gone(self, pattern, timeout=30):
        regex = re.compile(pattern, re.M)
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if not regex.search(shown):
                return shown
            if time.monotonic() > deadline:
                raise AssertionError("still on screen: %r\n----\n%s----" % (pattern, shown))
            time.sleep(0.05)

    def close(self):
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class TuiTest(unittest.TestCase):
    def setUp(self):
        self.server = Parleyd(ARGS.parleyd)
        self.addCleanup(self.server.close)

    def user(self, name):
        u = User(ARGS.parley, name, self.server.url)
        self.addCleanup(u.close)
        u.register_and_login()
        return u

    def terminal(self, user):
        t = Terminal(user, ARGS.parley)
        self.addCleanup(t.close)
        return t

    def test_chat_notification_line_and_offline(self):
        alice, bob, carol = self.user("alice"), self.user("bob"), self.user("carol")
        for friend in (bob, carol):
            alice.run("invite", friend.name)
            friend.run("accept", "alice")
        bob.run("send", "alice", "hi alice")

        term = self.terminal(alice)
        term.wait(r"alice@127\.0\.0\.1:\d+ · online")
        term.wait(r"bob")
        term.wait(r"carol")

        # Open bob's conversation and send.
        term.type("/open bob")
        term.wait(r"bob \(@bob\)")
        term.wait(r"bob: hi alice")
        term.type("hello bob, ça va? 世界")
        term.wait(r"\d+ \d\d:\d\d alice: hello bob, ça va\? 世界")
        self.assertIn("hello bob, ça va? 世界", bob.run("history", "alice").stdout)

        # Receive from another client while the conversation is open.
        bob.run("send", "alice", "answer from bob")
        term.wait(r"bob: answer from bob")

        # A message in another conversation: the in-app notification line.
        carol.run("send", "alice", "psst, over here")
        shown = term.wait(r"✉ carol: psst, over here")
        self.assertNotIn("carol: psst", shown.split("✉")[0])  # not in the dialog pane
        term.keys("Tab")  # goes where the notification points
        term.wait(r"carol \(@carol\)")
        term.wait(r"carol: psst, over here")
        term.wait_gone(r"✉ carol")

        # Commands: reply, edit, react, with their errors in the status line.
        seq = re.search(r"(\d+) \d\d:\d\d carol: psst", term.screen()).group(1)
        term.type("/reply %s on my way" % seq)
        term.wait(r"↳ re %s: carol: psst" % seq)
        mine = re.search(r"(\d+) \d\d:\d\d alice: on my way", term.wait(r"\d+ \d\d:\d\d alice: on my way")).group(1)
        term.type("/edit %s on my way, 5 min" % mine)
        term.wait(r"alice: on my way, 5 min \(edited\)")
        term.type("/react %s 👍" % seq)
        term.wait(r"👍 1")
        # Search the device's history: words match as prefixes.
        term.type("/search pss")
        term.wait(r"Search: pss · 1 found")
        term.wait(r"carol · carol: psst, over here")
        term.keys("Escape")
        term.wait(r"carol \(@carol\)")
        term.type("/edit 99999 nope")
        term.wait(r"no message 99999 here")
        term.type("/frobnicate")
        term.wait(r"unknown command /frobnicate")
        # Mute and unmute the open conversation (the server confirms each).
        term.type("/mute 2")
        term.wait(r"muted for 2 h: done")
        term.type("/unmute")
        term.wait(r"unmuted: done")
        # Commands that only read work beside the running client.
        beside = alice.run("history", "carol")
        self.assertIn("psst, over here", beside.stdout)
        self.assertIn("open in another process", beside.stderr)

        # Files both ways.
        notes = os.path.join(carol.home, "notes.txt")
        with open(notes, "w") as f:
            f.write("the notes\n")
        carol.run("send", "alice", "--file", notes, "here")
        shown = term.wait(r"\[file\] notes\.txt \(10 B\)")
        number = re.search(r"(\d+) \d\d:\d\d carol: here", shown).group(1)
        downloads = os.path.join(alice.home, "dl")
        os.mkdir(downloads)
        term.type("/download %s %s" % (number, downloads))
        term.wait(r"saved .*notes\.txt")
        with open(os.path.join(downloads, "notes.txt")) as f:
            self.assertEqual(f.read(), "the notes\n")
        photo = os.path.join(alice.home, "photo.bin")
        with open(photo, "wb") as f:
            f.write(os.urandom(20000))
        term.type("/file %s" % photo)
        term.wait(r"sent photo\.bin")
        term.wait(r"\[file\] photo\.bin \(19\.5 KiB\)")

        # Offline: the server goes away; history stays, what is typed is queued.
        self.server.stop()
        term.wait(r"offline")
        term.type("written offline")
        term.wait(r"alice: written offline \(sending…\)")
        self.server.start()
        # The engine retries with backoff (at most 30 s apart, with jitter).
        term.wait(r"· online", timeout=60)
        term.wait_gone(r"sending…")
        self.assertIn("alice: written offline", carol.run("history", "alice").stdout)

        term.type("/quit")
        term.wait(r"\[exited with status 0\]")

    def test_starts_with_the_server_down_and_queues(self):
        alice, bob = self.user("alice"), self.user("bob")
        alice.run("invite", "bob")
        bob.run("accept", "alice")
        bob.run("send", "alice", "stored before the outage")
        alice.run("history", "bob")  # the device has it now
        self.server.stop()

        term = self.terminal(alice)
        term.wait(r"offline")
        term.type("/open bob")
        term.wait(r"bob: stored before the outage")
        term.type("queued at start")
        term.wait(r"alice: queued at start \(sending…\)")
        self.server.start()
        term.wait_gone(r"sending…", timeout=60)
        self.assertIn("alice: queued at start", bob.run("history", "alice").stdout)

    def test_scrolling_invitations_and_typing(self):
        alice, bob, dave = self.user("alice"), self.user("bob"), self.user("dave")
        alice.run("invite", "bob")
        bob.run("accept", "alice")
        for i in range(1, 61):
            bob.run("send", "alice", "message number %d" % i)
        dave.run("invite", "alice")

        term = self.terminal(alice)
        term.wait(r"· online")
        term.type("/open bob")
        shown = term.wait(r"bob: message number 60")
        self.assertNotIn("message number 1\n", shown)
        # History scrolls back with PgUp, and forward again with PgDn.
        term.press_until("PPage", r"bob: message number 1$")
        term.wait(r"↓ more \(PgDn\)")
        term.press_until("NPage", r"bob: message number 60")
        term.wait_gone(r"↓ more")

        # The invitation waits in the contact pane until accepted.
        term.wait(r"dave: /accept dave")
        term.type("/accept dave")
        term.wait(r"accept dave: done")
        term.wait_gone(r"dave: /accept dave")
        self.assertEqual([c["username"] for c in dave.json("contacts")["contacts"]], ["alice"])

        # bob types in his own terminal: alice sees it while he types.
        bob_term = self.terminal(bob)
        bob_term.wait(r"bob@127\.0\.0\.1:\d+ · online")
        bob_term.type("/open alice")
        bob_term.wait(r"alice \(@alice\)")
        term.wait(r"● bob")  # bob is online now
        bob_term.keys("-l", "I am wri")
        term.wait(r"bob is typing…")
        bob_term.keys("-l", "ting")
        bob_term.keys("Enter")
        term.wait(r"bob: I am writing")
        term.wait_gone(r"bob is typing…")

    def test_progress_bars_on_a_terminal_only(self):
        alice, bob = self.user("alice"), self.user("bob")
        alice.run("invite", "bob")
        bob.run("accept", "alice")
        path = os.path.join(alice.home, "big.bin")
        with open(path, "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024))
        # On a terminal: a bar that ends at 100%.
        term = self.terminal_running(alice, "%s send bob --file %s" % (ARGS.parley, path))
        term.wait(r"^big\.bin  \[#+\]  100%  3\.0 MiB / 3\.0 MiB$")
        term.wait(r"^sent \d+$")
        # Into a pipe: only the result.
        piped = alice.run("send", "bob", "--file", path)
        self.assertRegex(piped.stdout, r"^sent \d+\n$")

    def terminal_running(self, user, command):
        t = Terminal(user, command, history=True)
        self.addCleanup(t.close)
        return t


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--parleyd", required=True)
    parser.add_argument("--parley", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
