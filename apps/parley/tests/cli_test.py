#!/usr/bin/env python3
"""The scriptable subcommands of `parley`, black box: the real parleyd, the
real binary, two (or three) people each with their own HOME.

    cli_test.py --parleyd PATH --parley PATH [unittest args]
"""

import argparse
import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Parleyd, User, stop  # noqa: E402

ARGS = None


class CliTest(unittest.TestCase):
    def setUp(self):
        self.server = Parleyd(ARGS.parleyd)
        self.addCleanup(self.server.close)

    def user(self, name):
        u = User(ARGS.parley, name, self.server.url)
        self.addCleanup(u.close)
        u.register_and_login()
        return u

    def befriend(self, a, b):
        a.run("invite", b.name)
        b.run("accept", a.name)

    def test_two_users_invite_accept_chat_and_send_a_file(self):
        alice, bob = self.user("alice"), self.user("bob")
        alice.run("invite", "bob")
        listed = bob.json("contacts")
        self.assertEqual([(i["username"], i["incoming"]) for i in listed["invitations"]], [("alice", True)])
        self.assertIn("invitation from alice", bob.run("contacts").stdout)
        bob.run("accept", "alice")
        self.assertEqual([c["username"] for c in alice.json("contacts")["contacts"]], ["bob"])

        # bob follows his messages while alice writes.
        tail, out, err = bob.spawn("--json", "tail")
        self.addCleanup(stop, tail)
        err.wait_for(r"connected")
        for text in ["one", "two", "three — ünïcode ✓"]:
            self.assertRegex(alice.run("send", "bob", text).stdout, r"^sent \d+")
        got = [json.loads(out.wait_for(r"^\{.*\"text\":\"%s.*$" % word).group(0)) for word in ["one", "two", "three"]]
        self.assertEqual([m["text"] for m in got], ["one", "two", "three — ünïcode ✓"])
        self.assertEqual([m["sender"] for m in got], ["alice"] * 3)
        seqs = [m["seq"] for m in got]
        self.assertEqual(seqs, sorted(seqs))
        # ...and nothing else arrived before them: tail prints in order, once.
        lines = [json.loads(line) for line in out.text().splitlines()]
        self.assertEqual([m["text"] for m in lines], [m["text"] for m in got])

        # A file, with its bytes intact at the other end.
        data = os.urandom(300_000)
        path = os.path.join(alice.home, "random.bin")
        with open(path, "wb") as f:
            f.write(data)
        sent = json.loads(alice.run("--json", "send", "bob", "--file", path, "the file").stdout)
        self.assertEqual(sent["attachments"][0]["name"], "random.bin")
        self.assertEqual(sent["attachments"][0]["size"], len(data))
        line = json.loads(out.wait_for(r"^\{.*random\.bin.*$").group(0))
        self.assertEqual(line["text"], "the file")
        # One process at a time uses a device's store: bob stops following.
        self.assertEqual(stop(tail), 0)
        target = os.path.join(bob.home, "got")
        os.mkdir(target)
        bob.run("download", "alice", str(line["seq"]), "-o", target)
        with open(os.path.join(target, "random.bin"), "rb") as f:
            self.assertEqual(f.read(), data)

        history = [json.loads(l) for l in bob.run("--json", "history", "alice").stdout.splitlines()]
        self.assertEqual([m["text"] for m in history], ["one", "two", "three — ünïcode ✓", "the file"])
        self.assertIn("alice: two", bob.run("history", "alice", "-n", "3").stdout)
        self.assertEqual(len(bob.run("history", "alice", "-n", "2").stdout.splitlines()), 2)

        # Replies and search.
        alice.run("send", "bob", "--reply-to", str(history[0]["seq"]), "about one")
        hits = bob.run("search", "about")
        self.assertIn("about one", hits.stdout)
        self.assertEqual(bob.run("search", "nothingmatchesthis", check=False).returncode, 1)

    def test_groups(self):
        alice, bob, carol = self.user("alice"), self.user("bob"), self.user("carol")
        self.befriend(alice, bob)
        self.befriend(alice, carol)
        # carol follows while she is added (one process at a time may use
        # a device's store: she stops following before the next command).
        tail, out, err = carol.spawn("tail")
        err.wait_for(r"connected")
        created = alice.json("groups", "create", "team", "bob")
        self.assertEqual(created["name"], "team")
        alice.run("groups", "add", "team", "carol")
        members = {m["username"]: m["role"] for m in alice.json("groups", "members", "team")}
        self.assertEqual(members, {"alice": "owner", "bob": "member", "carol": "member"})
        alice.run("send", "team", "hello team")
        out.wait_for(r"^\[team\] \d+ .* alice: hello team$")
        self.assertEqual(stop(tail), 0)
        self.assertIn("alice: hello team", carol.run("history", "team").stdout)
        alice.run("groups", "rename", "team", "crew", "--topic", "ships")
        listed = bob.json("groups", "list")
        self.assertEqual([(g["name"], g["topic"]) for g in listed], [("crew", "ships")])
        carol.run("groups", "leave", "crew")
        self.assertEqual(carol.json("groups", "list"), [])
        alice.run("groups", "remove", "crew", "bob")
        self.assertEqual(sorted(m["username"] for m in alice.json("groups", "members", "crew")), ["alice"])

    def test_history_of_a_new_device_pages_back_to_the_server(self):
        alice, bob = self.user("alice"), self.user("bob")
        self.befriend(alice, bob)
        for i in range(1, 71):
            bob.run("send", "alice", "m%d" % i)
        # A second device of alice's starts with an empty store.
        alice.run("--profile", "phone", "--server", self.server.url, "login", "alice", "--password-stdin",
                  input=alice.password + "\n")
        texts = [json.loads(l)["text"] for l in alice.run("--profile", "phone", "--json", "history", "bob", "-n",
                                                           "65").stdout.splitlines()]
        self.assertEqual(texts, ["m%d" % i for i in range(6, 71)])
        texts = [json.loads(l)["text"] for l in alice.run("--profile", "phone", "--json", "history", "bob", "-n",
                                                           "1000").stdout.splitlines()]
        self.assertEqual(texts, ["m%d" % i for i in range(1, 71)])

    def test_offline_send_is_queued_then_delivered(self):
        alice, bob = self.user("alice"), self.user("bob")
        self.befriend(alice, bob)
        alice.run("send", "bob", "before")
        self.server.stop()
        queued = alice.run("--timeout", "3", "send", "bob", "while down", check=False)
        self.assertEqual(queued.returncode, 75, queued.stderr)
        self.assertIn("queued", queued.stderr)
        # The device shows it, pending, without the server.
        offline = alice.run("history", "bob")
        self.assertIn("while down (pending)", offline.stdout)
        self.assertIn("offline", offline.stderr)
        self.server.start()
        # The next run sends what the outbox holds, once.
        alice.run("history", "bob")
        texts = [json.loads(l)["text"] for l in bob.run("--json", "history", "alice").stdout.splitlines()]
        self.assertEqual(texts, ["before", "while down"])

    def test_one_process_per_device_store(self):
        alice = self.user("alice")
        tail, _, err = alice.spawn("tail")
        self.addCleanup(stop, tail)
        err.wait_for(r"connected")
        # A second writer is refused, saying why and what to do...
        busy = alice.run("send", "nobody", "hi", check=False)
        self.assertEqual(busy.returncode, 74)
        self.assertRegex(busy.stderr, r"open in another process \(pid \d+\)")
        self.assertIn("--profile", busy.stderr)
        # ...while commands that only read work beside it (the store read-only).
        beside = alice.run("contacts")
        self.assertIn("open in another process", beside.stderr)
        self.assertEqual(alice.run("search", "anything", check=False).returncode, 1)  # no match, not an error
        self.assertEqual(stop(tail), 0)
        alice.run("contacts")

    def test_read_only_history_beside_the_interactive_client(self):
        alice, bob = self.user("alice"), self.user("bob")
        self.befriend(alice, bob)
        bob.run("send", "alice", "before")
        tail, out, err = alice.spawn("--json", "tail")
        self.addCleanup(stop, tail)
        err.wait_for(r"connected")
        bob.run("send", "alice", "while it runs")
        out.wait_for(r"while it runs")
        # What the running parley stored is readable at once.
        history = alice.run("--json", "history", "bob")
        self.assertEqual([json.loads(l)["text"] for l in history.stdout.splitlines()], ["before", "while it runs"])
        self.assertEqual(json.loads(alice.run("--json", "search", "runs").stdout.splitlines()[0])["text"],
                         "while it runs")

    def test_mute_profile_and_sessions(self):
        alice, bob = self.user("alice"), self.user("bob")
        self.befriend(alice, bob)
        alice.run("send", "bob", "hi")
        muted = alice.json("mute", "bob", "--hours", "8")
        self.assertIsNotNone(muted["muted_until"])
        self.assertIn("unmuted bob", alice.run("unmute", "bob").stdout)
        self.assertEqual(alice.run("mute", "nobody", check=False).returncode, 1)

        me = alice.json("profile", "--name", "Alice A.", "--status", "out for lunch")
        self.assertEqual((me["display_name"], me["status_text"]), ("Alice A.", "out for lunch"))
        self.assertEqual(alice.json("profile")["display_name"], "Alice A.")
        refused = alice.run("profile", "--name", "x" * 300, check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertTrue(refused.stderr.startswith("parley: profile: "), refused.stderr)
        self.assertEqual(alice.json("profile")["display_name"], "Alice A.")  # nothing changed

        # A second device of alice, then signed out from the first.
        other = User(ARGS.parley, "alice", self.server.url)
        self.addCleanup(other.close)
        other.run("--server", self.server.url, "login", "alice", "--password-stdin", input=alice.password + "\n")
        sessions = alice.json("sessions")["sessions"]
        self.assertEqual(sum(1 for s in sessions if s["current"]), 1)
        others = [s for s in sessions if not s["current"]]
        self.assertEqual(len(others), 1)
        alice.run("sessions", "--revoke", str(others[0]["id"]))
        self.assertEqual(len(alice.json("sessions")["sessions"]), 1)
        self.assertEqual(other.run("contacts", check=False).returncode, 77)  # its session ended

    def test_two_factor_setup_login_and_disable(self):
        alice = self.user("alice")
        setup = json.loads(alice.run("--json", "2fa", "setup", "--password-stdin",
                                     input=alice.password + "\n").stdout)
        secret = setup["secret"]

        def code(later=0):
            # Each code works once: a later step (within the server's one-step skew) for a second use.
            return subprocess.run(["oathtool", "--totp", "-b", "-N", "now + %d seconds" % (30 * later), secret],
                                  capture_output=True, text=True, check=True).stdout.strip()
        wrong = alice.run("2fa", "confirm", "000000" if code() != "000000" else "111111", check=False)
        self.assertEqual(wrong.returncode, 1)  # forbidden: the code is wrong
        confirmed = alice.json("2fa", "confirm", code())
        self.assertEqual(len(confirmed["recovery_codes"]), 10)
        self.assertTrue(alice.json("2fa", "status")["enabled"])
        # A new device needs the code.
        other = User(ARGS.parley, "alice", self.server.url)
        self.addCleanup(other.close)
        needs = other.run("--server", self.server.url, "login", "alice", "--password-stdin",
                          input=alice.password + "\n", check=False)
        self.assertEqual(needs.returncode, 77)
        self.assertIn("--code", needs.stderr)
        other.run("--server", self.server.url, "login", "alice", "--password-stdin", "--code",
                  confirmed["recovery_codes"][0], input=alice.password + "\n")
        alice.run("2fa", "disable", code(1), "--password-stdin", input=alice.password + "\n")
        self.assertFalse(alice.json("2fa", "status")["enabled"])

    def test_errors_exit_codes_and_stderr(self):
        alice = self.user("alice")
        # Unknown conversation: failure, message on stderr, nothing on stdout.
        r = alice.run("send", "nobody", "hi", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn("parley: no conversation with 'nobody'", r.stderr)
        # Usage.
        self.assertEqual(alice.run("history", check=False).returncode, 2)
        self.assertEqual(alice.run("frobnicate", check=False).returncode, 2)
        # Inviting oneself or someone unknown: the server's refusal.
        r = alice.run("invite", "ghost", check=False)
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith("parley: invite ghost:"), r.stderr)
        # Wrong password: no permission, no profile saved.
        mallory = User(ARGS.parley, "mallory", self.server.url)
        self.addCleanup(mallory.close)
        r = mallory.run("--server", self.server.url, "login", "alice", "--password-stdin", input="wrong\n",
                        check=False)
        self.assertEqual(r.returncode, 77, r.stderr)
        self.assertEqual(mallory.run("contacts", check=False).returncode, 77)
        # An unreachable server.
        r = mallory.run("--server", "http://127.0.0.1:9", "--timeout", "3", "register", "x", "--password-stdin",
                        input="password-x\n", check=False)
        self.assertEqual(r.returncode, 69, r.stderr)

    def test_profiles_file_is_private_and_checked(self):
        alice = self.user("alice")
        profiles = os.path.join(alice.home, ".config", "parley", "profiles.toml")
        self.assertEqual(stat.S_IMODE(os.stat(profiles).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(profiles)).st_mode), 0o700)
        store = os.path.join(alice.home, ".local", "share", "parley", "alice")
        self.assertEqual(stat.S_IMODE(os.stat(store).st_mode), 0o700)
        with open(profiles) as f:
            self.assertNotIn("password", f.read())
        os.chmod(profiles, 0o644)
        r = alice.run("contacts", check=False)
        self.assertEqual(r.returncode, 78)
        self.assertIn("chmod 600", r.stderr)
        os.chmod(profiles, 0o600)
        alice.run("contacts")
        # Two profiles: choose with --profile; logout removes one.
        alice2 = User(ARGS.parley, "alice2", self.server.url)
        self.addCleanup(alice2.close)
        alice2.register_and_login()
        alice.run("--server", self.server.url, "login", "alice2", "--password-stdin", input=alice2.password + "\n")
        self.assertEqual(alice.json("--profile", "alice2", "contacts")["contacts"], [])
        alice.run("--profile", "alice2", "logout")
        self.assertEqual(alice.run("--profile", "alice2", "contacts", check=False).returncode, 77)
        alice.run("contacts")  # the default profile is still there


class StickerCliTest(unittest.TestCase):
    def setUp(self):
        self.server = Parleyd(ARGS.parleyd, stickers=True)
        self.addCleanup(self.server.close)

    def test_sticker_packs_and_a_sticker_message(self):
        alice = User(ARGS.parley, "alice", self.server.url)
        bob = User(ARGS.parley, "bob", self.server.url)
        for u in (alice, bob):
            self.addCleanup(u.close)
            u.register_and_login()
        alice.run("invite", "bob")
        bob.run("accept", "alice")
        catalogue = alice.json("stickers", "catalogue")["packs"]
        self.assertTrue(catalogue)
        name = catalogue[0]["name"]
        if not any(p["name"] == name for p in alice.json("stickers")["packs"]):
            alice.run("stickers", "add", name)
        pack = [p for p in alice.json("stickers")["packs"] if p["name"] == name][0]
        sticker = pack["stickers"][0]["id"]
        sent = alice.json("send", "bob", "--sticker", str(sticker))
        self.assertEqual(sent["sticker_id"], sticker)
        got = [json.loads(l) for l in bob.run("--json", "history", "alice").stdout.splitlines()]
        self.assertEqual(got[-1]["sticker_id"], sticker)
        self.assertEqual(alice.run("send", "bob", "text", "--sticker", str(sticker), check=False).returncode, 2)


def make_ca_and_cert(directory, san):
    """A throwaway CA and a server certificate it signed for `san`; returns (ca, cert, key)."""
    def openssl(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True)
    ca, ca_key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca.key")
    cert, key, csr = (os.path.join(directory, n) for n in ("server.pem", "server.key", "server.csr"))
    ext = os.path.join(directory, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % san)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-sha256",
            "-days", "2", "-subj", "/CN=Test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign", "-keyout", ca_key, "-out", ca)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-sha256",
            "-subj", "/CN=parleyd", "-keyout", key, "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2", "-sha256",
            "-extfile", ext, "-out", cert)
    return ca, cert, key


class HttpsCliTest(unittest.TestCase):
    def setUp(self):
        self.pki = tempfile.mkdtemp(prefix="parley-pki-")
        self.ca, cert, key = make_ca_and_cert(self.pki, "DNS:localhost")
        self.server = Parleyd(ARGS.parleyd, tls=(cert, key))
        self.addCleanup(self.server.close)

    def test_login_to_an_https_server_with_its_ca(self):
        url = self.server.url
        self.assertTrue(url.startswith("https://localhost:"))
        alice = User(ARGS.parley, "alice", url)
        bob = User(ARGS.parley, "bob", url, extra_env={"PARLEY_CA_FILE": self.ca})
        for u in (alice, bob):
            self.addCleanup(u.close)
        # Without the CA, the certificate is refused, clearly.
        refused = alice.run("--server", url, "register", "alice", "--password-stdin", input="password-of-alice\n",
                            check=False)
        self.assertEqual(refused.returncode, 69)
        self.assertIn("not trusted", refused.stderr)
        alice.run("--server", url, "--ca-file", self.ca, "register", "alice", "--password-stdin",
                  input=alice.password + "\n")
        logged = json.loads(alice.run("--json", "--server", url, "--ca-file", self.ca, "login", "alice",
                                      "--password-stdin", input=alice.password + "\n").stdout)
        self.assertEqual(logged["server"], url)
        bob.register_and_login()  # the CA from $PARLEY_CA_FILE
        # The profile keeps the CA: later commands need no option.
        alice.run("invite", "bob")
        bob.run("accept", "alice")
        self.assertRegex(alice.run("send", "bob", "over TLS").stdout, r"^sent \d+")
        got = [json.loads(l)["text"] for l in bob.run("--json", "history", "alice").stdout.splitlines()]
        self.assertEqual(got, ["over TLS"])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--parleyd", required=True)
    parser.add_argument("--parley", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
