"""A tiny TLS backend behind the stand-in's aggregator, for tests of the aggregation itself (not a
broker): it serves the broker's discovery document for debug.lambda-cntr.io/v1alpha1, records
what each request carried (path, headers, the client certificate's CN), requires a client
certificate of the front-proxy CA like an aggregated API server, and answers a WebSocket upgrade
with 101 and then either echoes (`command=echo`: every chunk received comes back as one
channel-1 message) or says hello on channel 1, sends a Success Status on channel 3 and closes."""

import base64
import hashlib
import json
import os
import socket
import socketserver
import ssl
import struct
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler

GROUP_VERSION = "debug.lambda-cntr.io/v1alpha1"
DISCOVERY = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION, "resources": [
    {"name": "pods/attach", "singularName": "", "namespaced": True, "kind": "PodAttachOptions",
     "verbs": ["create", "get"]},
    {"name": "nodes/attach", "singularName": "", "namespaced": False, "kind": "NodeAttachOptions",
     "verbs": ["create", "get"]}]}
HELLO = b"fixture backend: attach\n"


def server_frame(opcode, payload):
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 65536:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # a refused handshake is what some tests do on purpose


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        self.request = self.server.backend.tls.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, fmt, *args):
        pass

    def record(self):
        cert = self.connection.getpeercert() or {}
        cn = next((v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"), None)
        self.server.backend.seen.append({"method": self.command, "path": self.path, "client_cn": cn,
                                         "headers": list(self.headers.items())})

    def do_GET(self):
        self.record()
        path = urllib.parse.urlsplit(self.path).path
        if self.headers.get("Upgrade", "").lower() == "websocket":
            return self.upgrade()
        if path == "/apis/" + GROUP_VERSION:
            return self.reply(200, DISCOVERY)
        return self.reply(404, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": "the server could not find the requested resource",
                                "reason": "NotFound", "code": 404})

    def do_POST(self):
        self.record()
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        self.reply(201, {"echo": body.decode()})

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def upgrade(self):
        offered = [p.strip() for p in (self.headers.get("Sec-WebSocket-Protocol") or "").split(",") if p.strip()]
        key = self.headers.get("Sec-WebSocket-Key", "")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
                                  .digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        if offered:
            self.send_header("Sec-WebSocket-Protocol", offered[0])
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        if "command=echo" in self.path:
            while True:
                try:
                    data = self.connection.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                self.connection.sendall(server_frame(2, b"\x01" + data))
        self.connection.sendall(server_frame(2, b"\x01" + HELLO))
        self.connection.sendall(server_frame(2, b"\x03" + json.dumps({"metadata": {}, "status": "Success"}).encode()))
        self.connection.sendall(server_frame(8, struct.pack("!H", 1000)))
        try:
            self.connection.settimeout(5)
            while self.connection.recv(65536):
                pass
        except OSError:
            pass


class Backend:
    def __init__(self, pki, client_ca="front-proxy-ca.crt"):
        self.seen = []
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(os.path.join(pki, "broker.crt"), os.path.join(pki, "broker.key"))
        self.tls.load_verify_locations(os.path.join(pki, client_ca))
        self.tls.verify_mode = ssl.CERT_REQUIRED
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.backend = self
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def headers_of(self, index, name):
        return [v for k, v in self.seen[index]["headers"] if k.lower() == name.lower()]


def free_port():
    """A port nothing listens on (for the unreachable-backend case)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
