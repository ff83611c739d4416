#!/usr/bin/env python3
"""Black-box tests of parleyd's TLS: the real server over real sockets, with
Python's ssl module as an independent client.

    tls_test.py --parleyd PATH --make-cert scripts/make-cert.sh [unittest args]
"""

import argparse
import json
import os
import socket
import ssl
import sys
import time
import unittest
import warnings

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from parleyd import (Parleyd, client_context, fingerprint_of_file, http_request, make_cert,  # noqa: E402
                     peer_fingerprint, read_head, recv_exact, tls_connect, ws_recv, ws_send, ws_upgrade)

ARGS = None
HANDSHAKE_TIMEOUT = 2  # seconds, set in the servers' config below


def new_server(extra=""):
    return Parleyd(ARGS.parleyd, ARGS.make_cert, "handshake_timeout_seconds = %d\n%s" % (HANDSHAKE_TIMEOUT, extra))


def register_and_login(sock, username):
    password = "password-" + username
    status, _, body = http_request(sock, "POST", "/api/v1/accounts",
                                   json.dumps({"username": username, "password": password, "display_name": username}))
    assert status == 201, (status, body)
    status, _, body = http_request(sock, "POST", "/api/v1/sessions",
                                   json.dumps({"username": username, "password": password, "device_name": "test"}))
    assert status == 201, (status, body)
    return json.loads(body)["token"]


def ws_hello(port, context, token):
    """A WebSocket over TLS that has said hello and been welcomed and synced."""
    sock = tls_connect(port, context)
    status, accepted, _ = ws_upgrade(sock)
    assert status == 101 and accepted, status
    ws_send(sock, json.dumps({"type": "hello", "token": token}))
    frames = []
    while not frames or frames[-1].get("type") != "synced":
        opcode, payload = ws_recv(sock)
        assert opcode == 1, (opcode, payload)
        frames.append(json.loads(payload))
    assert frames[0]["type"] == "welcome", frames
    return sock


def ws_ping(sock, ref):
    ws_send(sock, json.dumps({"type": "ping", "ref": ref}))
    opcode, payload = ws_recv(sock)
    return opcode, json.loads(payload) if opcode == 1 else payload


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = new_server()
        cls.verified = client_context(cafile=cls.server.cert)

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_tls13_handshake_with_a_verified_certificate(self):
        with tls_connect(self.server.port, client_context(self.server.cert, minimum=ssl.TLSVersion.TLSv1_3)) as sock:
            self.assertEqual(sock.version(), "TLSv1.3")

    def test_tls12_handshake_uses_ecdhe_and_aead(self):
        context = client_context(self.server.cert, maximum=ssl.TLSVersion.TLSv1_2)
        with tls_connect(self.server.port, context) as sock:
            self.assertEqual(sock.version(), "TLSv1.2")
            name = sock.cipher()[0]
            self.assertTrue(name.startswith("ECDHE-"), name)
            self.assertTrue("GCM" in name or "CHACHA20" in name, name)

    def test_tls12_without_aead_is_refused(self):
        # A CBC suite with ECDHE: OpenSSL clients still offer it, the server must not take it.
        context = client_context(maximum=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA")
        with self.assertRaises(ssl.SSLError) as caught:
            tls_connect(self.server.port, context)
        self.assertIn("HANDSHAKE_FAILURE", caught.exception.reason or "", caught.exception)

    def test_tls10_and_tls11_are_refused_by_the_server(self):
        for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            with self.subTest(version=version), warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                # Security level 0 lets this client offer the old versions, so
                # that the refusal seen is the server's (a protocol_version alert).
                context = client_context(minimum=version, maximum=version, ciphers="ALL:@SECLEVEL=0")
                with self.assertRaises(ssl.SSLError) as caught:
                    tls_connect(self.server.port, context)
                self.assertEqual(caught.exception.reason, "TLSV1_ALERT_PROTOCOL_VERSION", caught.exception)

    def test_https_rest_request_carries_hsts(self):
        with tls_connect(self.server.port, self.verified) as sock:
            status, headers, body = http_request(sock, "GET", "/healthz")
            self.assertEqual(status, 200, body)
            self.assertEqual(headers.get("strict-transport-security"), "max-age=31536000")
            # Errors too, and the connection is kept alive between requests.
            status, headers, _ = http_request(sock, "GET", "/api/v1/nowhere")
            self.assertEqual(status, 404)
            self.assertIn("strict-transport-security", headers)

    def test_media_upload_and_download_over_tls_byte_exact(self):
        # A file response over TLS goes through a bounded buffer, not
        # sendfile: the bytes, a range, and the next request on the same
        # connection must all come back intact and in order.
        content = os.urandom(3 * 1024 * 1024 + 17)
        with tls_connect(self.server.port, self.verified) as sock:
            token = register_and_login(sock, "media_tls")
            head = ("POST /api/v1/media?name=blob.bin HTTP/1.1\r\nHost: localhost\r\n"
                    "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n" % (token, len(content)))
            sock.sendall(head.encode() + content)
            status, headers = read_head(sock)
            body = recv_exact(sock, int(headers.get("content-length", "0")))
            self.assertEqual(status, 201, body)
            media_id = json.loads(body)["media"]["id"]
            status, headers, body = http_request(sock, "GET", "/api/v1/media/" + media_id, token=token)
            self.assertEqual(status, 200)
            self.assertEqual(body, content)
            self.assertIn("strict-transport-security", headers)
            sock.sendall(("GET /api/v1/media/%s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
                          "Range: bytes=1000000-1999999\r\n\r\n" % (media_id, token)).encode())
            status, headers = read_head(sock)
            self.assertEqual(status, 206)
            self.assertEqual(recv_exact(sock, int(headers["content-length"])), content[1000000:2000000])
            status, _, _ = http_request(sock, "GET", "/healthz")
            self.assertEqual(status, 200)

    def test_plain_http_on_the_tls_port_is_answered_400(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            reply = b""
            while chunk := sock.recv(4096):
                reply += chunk
        self.assertTrue(reply.startswith(b"HTTP/1.1 400"), reply)
        self.assertIn(b"HTTPS", reply)

    def test_websocket_over_tls_says_hello_and_gets_frames(self):
        with tls_connect(self.server.port, self.verified) as rest:
            token = register_and_login(rest, "wsuser")
        with ws_hello(self.server.port, self.verified, token) as ws:
            opcode, frame = ws_ping(ws, "p1")
            self.assertEqual(opcode, 1)
            self.assertEqual(frame, {"type": "pong", "ref": "p1"})

    def test_websocket_over_tls_compresses_each_frame_on_its_own(self):
        # A compression window shared across frames would be an oracle on
        # earlier frames' text through the encrypted sizes (CRIME).
        with tls_connect(self.server.port, self.verified) as sock:
            status, accepted, headers = ws_upgrade(sock, "permessage-deflate; client_max_window_bits")
            self.assertEqual((status, accepted), (101, True))
            extensions = headers.get("sec-websocket-extensions", "")
            self.assertIn("permessage-deflate", extensions)
            self.assertIn("server_no_context_takeover", extensions)

    def test_handshake_not_finished_in_time_is_cut(self):
        # Nothing at all, and a handshake begun and left hanging (slowloris).
        for first_bytes in (b"", b"\x16\x03\x01\x02\x00"):
            with self.subTest(first_bytes=first_bytes), \
                    socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as sock:
                started = time.monotonic()
                sock.sendall(first_bytes)
                self.assertEqual(sock.recv(1), b"")  # closed by the server
                elapsed = time.monotonic() - started
                self.assertGreater(elapsed, HANDSHAKE_TIMEOUT - 0.5)
                self.assertLess(elapsed, 20)


class TlsConnectionLimitTest(unittest.TestCase):
    def test_handshakes_in_progress_count_toward_max_connections(self):
        server = new_server("[http]\nmax_connections = 2\n")
        try:
            held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
            for sock in held:  # each is accepted and waits in its handshake
                sock.sendall(b"\x16")
            refused = server.mark()
            with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                tls_connect(server.port, client_context()).close()
            server.wait_for(r"connection refused reason=limit_or_shutdown", start=refused)
            for sock in held:
                sock.close()
            server.wait_for(r"TLS handshake failed", start=refused, count=2)
            with tls_connect(server.port, client_context()) as sock:
                self.assertEqual(http_request(sock, "GET", "/healthz")[0], 200)
        finally:
            server.close()


class TlsReloadTest(unittest.TestCase):
    """SIGHUP: a new certificate for new connections, open ones untouched."""

    def test_reload_swaps_the_certificate_for_new_connections_only(self):
        server = new_server()
        try:
            old_fingerprint = fingerprint_of_file(server.cert)
            unverified = client_context()
            before = tls_connect(server.port, unverified)
            self.assertEqual(peer_fingerprint(before), old_fingerprint)
            token = register_and_login(before, "reloader")
            ws_before = ws_hello(server.port, unverified, token)

            make_cert(server.make_cert_script, server.cert_dir)  # a new key and certificate
            new_fingerprint = fingerprint_of_file(server.cert)
            self.assertNotEqual(new_fingerprint, old_fingerprint)
            start = server.reload()
            server.wait_for(r"tls certificate reloaded .*sha256=" + new_fingerprint, start=start)

            with tls_connect(server.port, client_context(cafile=server.cert)) as after:
                self.assertEqual(peer_fingerprint(after), new_fingerprint)
                self.assertEqual(http_request(after, "GET", "/healthz")[0], 200)
            # Opened before the reload: still served, by the old context.
            self.assertEqual(http_request(before, "GET", "/healthz")[0], 200)
            self.assertEqual(peer_fingerprint(before), old_fingerprint)
            self.assertEqual(ws_ping(ws_before, "after-reload"), (1, {"type": "pong", "ref": "after-reload"}))

            # A key that does not match the certificate: refused, the current pair stays.
            other_cert, other_key = make_cert(server.make_cert_script, os.path.join(server.dir, "other"))
            with open(other_key, "rb") as src, open(server.key, "wb") as dst:
                dst.write(src.read())
            start = server.reload()
            server.wait_for(r"tls reload failed, keeping the current certificate.*does not match|"
                            r"tls reload failed, keeping the current certificate.*mismatch", start=start)
            with tls_connect(server.port, client_context(cafile=server.cert)) as sock:
                self.assertEqual(peer_fingerprint(sock), new_fingerprint)

            # A broken certificate file: logged, and the current one stays.
            with open(server.cert, "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
            start = server.reload()
            server.wait_for(r"tls reload failed, keeping the current certificate", start=start)
            with tls_connect(server.port, unverified) as sock:
                self.assertEqual(peer_fingerprint(sock), new_fingerprint)
                self.assertEqual(http_request(sock, "GET", "/healthz")[0], 200)
            self.assertEqual(ws_ping(ws_before, "after-failed-reload")[1]["type"], "pong")
            before.close()
            ws_before.close()
        finally:
            server.close()


class TlsShutdownTest(unittest.TestCase):
    def test_graceful_shutdown_closes_tls_and_websockets_cleanly(self):
        server = new_server()
        try:
            # suppress_ragged_eofs=False: an EOF without close_notify raises.
            idle = tls_connect(server.port, client_context(), suppress_ragged_eofs=False)
            self.assertEqual(http_request(idle, "GET", "/healthz")[0], 200)
            token = register_and_login(idle, "leaver")
            ws = ws_hello(server.port, client_context(), token)
            server.proc.send_signal(15)
            opcode, payload = ws_recv(ws)
            self.assertEqual(opcode, 8)  # close frame: 1001 going away
            self.assertEqual(int.from_bytes(payload[:2], "big"), 1001)
            self.assertEqual(idle.recv(1), b"")  # close_notify, not a truncation
            self.assertEqual(server.stop(), 0, server.log())
            idle.close()
            ws.close()
        finally:
            server.close()


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--parleyd", required=True)
    parser.add_argument("--make-cert", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
