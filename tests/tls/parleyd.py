"""Starts the real parleyd with TLS for the black-box tests in this folder.

The server runs on a free loopback port with a fresh data folder and a
certificate made by scripts/make-cert.sh; its log is read on a thread so
that a test can wait for a line (an event) instead of sleeping.
"""

import base64
import hashlib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def make_cert(script, directory):
    """Runs scripts/make-cert.sh; returns (cert_path, key_path)."""
    subprocess.run([script, directory], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")


def fingerprint_of_file(cert_path):
    with open(cert_path, "rb") as f:
        der = ssl.PEM_cert_to_DER_cert(f.read().decode())
    return hashlib.sha256(der).hexdigest()


class Parleyd:
    def __init__(self, binary, make_cert_script, extra_config=""):
        self.dir = tempfile.mkdtemp(prefix="parley-tls-test-")
        self.cert_dir = os.path.join(self.dir, "tls")
        self.cert, self.key = make_cert(make_cert_script, self.cert_dir)
        self.make_cert_script = make_cert_script
        config = os.path.join(self.dir, "test.toml")
        with open(config, "w") as f:
            # The minimum argon2 cost parleyd accepts keeps each hash fast.
            f.write('log_level = "debug"\n[auth]\npassword_memory_kib = 19456\npassword_passes = 2\n')
            f.write('[tls]\ncert_file = "%s"\nkey_file = "%s"\n%s\n' % (self.cert, self.key, extra_config))
        self.lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen(
            [binary, "--config", config, "--listen", "127.0.0.1:0", "--data-dir", os.path.join(self.dir, "data")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, errors="replace")
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        match = self.wait_for(r"listening address=127\.0\.0\.1:(\d+)")
        self.port = int(match.group(1))

    def _read_log(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)  # end of the log: the process is gone
            self.cond.notify_all()

    def mark(self):
        """A position in the log, for wait_for(start=...)."""
        with self.cond:
            return len(self.lines)

    def wait_for(self, pattern, start=0, timeout=20, count=1):
        """Waits for `count` log lines matching `pattern` at or after `start`; returns the last match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            index = start
            while True:
                while index < len(self.lines):
                    line = self.lines[index]
                    if line is None:
                        raise AssertionError("parleyd exited before logging %r:\n%s" % (pattern, self.log()))
                    found = regex.search(line)
                    index += 1
                    if found:
                        count -= 1
                        if count == 0:
                            return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("no log line %r in time:\n%s" % (pattern, self.log()))
                self.cond.wait(remaining)

    def log(self):
        return "".join(line for line in self.lines if line)

    def reload(self):
        """SIGHUP; returns the log position before it."""
        start = self.mark()
        self.proc.send_signal(signal.SIGHUP)
        return start

    def stop(self):
        """SIGTERM and wait; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def close(self):
        self.stop()
        self.reader.join(timeout=10)
        self.proc.stderr.close()
        if not os.environ.get("PARLEY_TEST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)


def client_context(cafile=None, minimum=None, maximum=None, ciphers=None):
    """A client context; with `cafile` the server must present that certificate for 'localhost'."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cafile:
        context.load_verify_locations(cafile)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if minimum:
        context.minimum_version = minimum
    if maximum:
        context.maximum_version = maximum
    if ciphers:
        context.set_ciphers(ciphers)
    return context


def tls_connect(port, context, timeout=10, suppress_ragged_eofs=True):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return context.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=suppress_ragged_eofs)
    except Exception:
        raw.close()
        raise


def peer_fingerprint(sock):
    return hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


def read_head(sock):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise ConnectionError("connection closed in the response head: %r" % head)
        head += chunk
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return status, headers


def http_request(sock, method, path, body=None, token=None):
    """One HTTP/1.1 request on a kept-alive connection; returns (status, headers, body)."""
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: localhost"]
    payload = body.encode() if body is not None else b""
    if body is not None:
        lines += ["Content-Type: application/json", "Content-Length: %d" % len(payload)]
    if token:
        lines.append("Authorization: Bearer " + token)
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
    status, headers = read_head(sock)
    content = recv_exact(sock, int(headers.get("content-length", "0")))
    return status, headers, content


def ws_upgrade(sock, extensions=None):
    """Upgrades to a WebSocket; returns (status, accept key right, response headers)."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = ("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % key)
    if extensions:
        request += "Sec-WebSocket-Extensions: %s\r\n" % extensions
    sock.sendall((request + "\r\n").encode())
    status, headers = read_head(sock)
    accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    return status, headers.get("sec-websocket-accept") == accept, headers


def ws_send(sock, text, opcode=1):
    payload = text.encode()
    mask = os.urandom(4)
    header = bytes([0x80 | opcode])
    if len(payload) < 126:
        header += bytes([0x80 | len(payload)])
    else:
        header += bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(header + mask + masked)


def ws_recv(sock):
    """The next frame from the server as (opcode, payload bytes); answers pings."""
    while True:
        first, second = recv_exact(sock, 2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(recv_exact(sock, 2), "big")
        elif length == 127:
            length = int.from_bytes(recv_exact(sock, 8), "big")
        payload = recv_exact(sock, length)
        opcode = first & 0x0F
        if opcode == 9:  # ping
            ws_send(sock, payload.decode("latin-1"), opcode=10)
            continue
        return opcode, payload
