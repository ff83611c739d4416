"""What the terminal client's black-box tests share: the real parleyd on a
loopback port with a fresh data folder, the real `parley` binary with its own
HOME and XDG folders per user, and a private desktop (Xvfb, a D-Bus session
bus and the dunst notification server) for the push handler.

Nothing here sleeps to wait: every wait is for a line of output (a log line,
a notification printed by dunst, a message printed by `parley tail`), with a
deadline after which the test fails showing what was seen.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time

KEEP = bool(os.environ.get("PARLEY_TEST_KEEP"))


class LineReader:
    """Collects the lines a pipe gives, in a thread; wait_for() waits for one."""

    def __init__(self, stream, name):
        self.name = name
        self.lines = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream):
        for line in stream:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)
            self.cond.notify_all()

    def mark(self):
        with self.cond:
            return len(self.lines)

    def text(self):
        with self.cond:
            return "\n".join(line for line in self.lines if line is not None)

    def wait_for(self, pattern, start=0, timeout=30):
        """The first match of `pattern` in a line at or after `start`."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            index = start
            while True:
                while index < len(self.lines):
                    line = self.lines[index]
                    index += 1
                    if line is None:
                        raise AssertionError("%s ended before %r:\n%s" % (self.name, pattern, self.text()))
                    found = regex.search(line)
                    if found:
                        return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("%s: no %r in time:\n%s" % (self.name, pattern, self.text()))
                self.cond.wait(remaining)


class Parleyd:
    """The real server. stop() and start() keep the data folder and the port,
    so that clients configured with its URL find it again."""

    def __init__(self, binary, stickers=False, tls=None):
        """`tls`: (cert_file, key_file) to serve https/wss; `stickers`: install the default pack."""
        self.binary = binary
        self.tls = tls
        self.dir = tempfile.mkdtemp(prefix="parley-cli-test-")
        self.config = os.path.join(self.dir, "test.toml")
        with open(self.config, "w") as f:
            # The minimum argon2 cost parleyd accepts keeps each login fast.
            f.write('log_level = "debug"\n[auth]\npassword_memory_kib = 19456\npassword_passes = 2\n'
                    '[stickers]\ninstall_default_pack = %s\n' % ("true" if stickers else "false"))
            if tls:
                f.write('[tls]\ncert_file = "%s"\nkey_file = "%s"\n' % tls)
        self.port = 0
        self.proc = None
        self.start()

    def start(self):
        listen = "127.0.0.1:%d" % self.port
        self.proc = subprocess.Popen(
            [self.binary, "--config", self.config, "--listen", listen, "--data-dir", os.path.join(self.dir, "data")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
        self.log = LineReader(self.proc.stderr, "parleyd")
        self.port = int(self.log.wait_for(r"listening address=127\.0\.0\.1:(\d+)").group(1))

    @property
    def url(self):
        if self.tls:
            return "https://localhost:%d" % self.port
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        if self.proc:
            stop(self.proc)

    def close(self):
        self.stop()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)


class User:
    """One person with their own HOME (config, store, downloads) running the
    real `parley` binary."""

    def __init__(self, parley, name, server, extra_env=None):
        self.parley = parley
        self.name = name
        self.password = "password-of-" + name
        self.home = tempfile.mkdtemp(prefix="parley-home-%s-" % name)
        self.server = server
        self.env = dict(os.environ)
        self.env.update({
            "HOME": self.home,
            "XDG_CONFIG_HOME": os.path.join(self.home, ".config"),
            "XDG_DATA_HOME": os.path.join(self.home, ".local", "share"),
            "XDG_CACHE_HOME": os.path.join(self.home, ".cache"),
            "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "xterm-256color",
        })
        self.env.pop("PARLEY_PROFILE", None)
        self.env.pop("PARLEY_SERVER", None)
        if extra_env:
            self.env.update(extra_env)

    def run(self, *args, input=None, check=True, timeout=60):
        """Runs `parley ARGS`; returns the CompletedProcess (text)."""
        result = subprocess.run([self.parley] + list(args), input=input, env=self.env, capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError("parley %s: exit %d\nstdout: %s\nstderr: %s" %
                                 (" ".join(args), result.returncode, result.stdout, result.stderr))
        return result

    def json(self, *args):
        return json.loads(self.run("--json", *args).stdout)

    def register_and_login(self):
        self.run("--server", self.server, "register", self.name, "--password-stdin", input=self.password + "\n")
        self.run("--server", self.server, "login", self.name, "--password-stdin", input=self.password + "\n")

    def spawn(self, *args):
        """Starts `parley ARGS` in the background; returns (process, stdout reader, stderr reader)."""
        proc = subprocess.Popen([self.parley] + list(args), env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace")
        return proc, LineReader(proc.stdout, "parley %s (stdout)" % " ".join(args)), \
            LineReader(proc.stderr, "parley %s (stderr)" % " ".join(args))

    def close(self):
        if not KEEP:
            shutil.rmtree(self.home, ignore_errors=True)


def stop(proc, sig=signal.SIGTERM, timeout=20):
    """Stops a process we started (and closes its pipes); returns its exit status."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream:
            try:
                stream.close()
            except OSError:
                pass
    return proc.returncode


class Desktop:
    """A private desktop: Xvfb, a D-Bus session bus of its own, and the dunst
    notification server printing every notification it shows (-print).
    `env` is what a program needs to use it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="parley-desktop-")
        self.procs = []
        # Xvfb picks a free display and writes its number to the pipe.
        read_fd, write_fd = os.pipe()
        xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1024x768x24", "-nolisten",
                                 "tcp"], pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_fd)
        self.procs.append(xvfb)
        with os.fdopen(read_fd) as f:
            display = f.readline().strip()
        if not display:
            raise AssertionError("Xvfb did not start")
        self.env = dict(os.environ)
        self.env["DISPLAY"] = ":" + display
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        self.procs.append(bus)
        self.env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        if not self.env["DBUS_SESSION_BUS_ADDRESS"]:
            raise AssertionError("dbus-daemon did not start")
        config = os.path.join(self.dir, "dunstrc")
        with open(config, "w") as f:
            # Nothing times out during a test: a notification stays until acted on.
            f.write("[global]\n    font = Monospace 8\n[urgency_normal]\n    timeout = 0\n"
                    "[urgency_critical]\n    timeout = 0\n")
        self.dunst = subprocess.Popen(["dunst", "-config", config, "-print"], env=self.env, stdout=subprocess.PIPE,
                                      stderr=subprocess.DEVNULL, text=True, errors="replace")
        self.procs.append(self.dunst)
        self.shown = LineReader(self.dunst.stdout, "dunst")
        # Ready once dunst owns the notification service's name on the bus.
        waited = subprocess.run(["gdbus", "wait", "--session", "--timeout", "20", "org.freedesktop.Notifications"],
                                env=self.env, capture_output=True, text=True)
        if waited.returncode != 0:
            raise AssertionError("dunst did not start: " + waited.stderr)

    def wait_notification(self, start=0, timeout=30):
        """The next notification dunst printed after `start`: a dict of its fields."""
        self.shown.wait_for(r"^\{", start=start, timeout=timeout)
        end = self.shown.wait_for(r"^\}", start=start, timeout=timeout)
        del end
        with self.shown.cond:
            lines = [line for line in self.shown.lines[start:] if line is not None]
        fields = {}
        key, value = None, None
        for line in lines:
            if key is not None:  # a value over several lines
                value += "\n" + line
                if value.endswith("'"):
                    fields[key], key = value[:-1], None
                continue
            if line.strip() == "}":
                break
            m = re.match(r"\s*(\w+): '(.*)$", line)
            if m:
                if m.group(2).endswith("'"):
                    fields[m.group(1)] = m.group(2)[:-1]
                else:
                    key, value = m.group(1), m.group(2)
                continue
            m = re.match(r"\s*(\w+): ([^'{].*)$", line)
            if m:
                fields[m.group(1)] = m.group(2)
                continue
            m = re.match(r'\s*"([^"]+)": "(.*)",?$', line)
            if m:
                fields["action:" + m.group(1)] = m.group(2)
        return fields

    def invoke_action(self, position=0):
        """What a click on the notification's action does: dunst emits ActionInvoked."""
        subprocess.run(["dunstctl", "action", str(position)], env=self.env, check=True, capture_output=True)

    def close(self):
        for proc in reversed(self.procs):
            stop(proc)
        shutil.rmtree(self.dir, ignore_errors=True)
