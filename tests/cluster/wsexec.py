"""Server side of `pods/exec` over WebSocket (RFC 6455) with the Kubernetes channel protocols:
every binary message starts with a channel byte — 0 stdin, 1 stdout, 2 stderr, 3 status (a
metav1.Status JSON), 4 resize ({"Width":…, "Height":…}); v5.channel.k8s.io adds 255 "close
channel". Frames from the client are masked and may be fragmented; pings are answered. Test
faults: a session can be cut mid-way (cut_after) and can ping its client (ping_every)."""

import base64
import hashlib
import json
import os
import random
import select
import struct
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
CH_STDIN, CH_STDOUT, CH_STDERR, CH_STATUS, CH_RESIZE, CH_CLOSE = 0, 1, 2, 3, 4, 255


def accept_key(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def exit_status_json(code, command):
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: error executing command %s, "
                       "exit code %d" % ("[" + " ".join(command) + "]", code),
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


class ProtocolError(Exception):
    pass


class Session:
    """One exec stream. A single thread multiplexes the socket and the process's output with
    select(): OpenSSL connections must not be read and written from two threads at once."""

    def __init__(self, sock, prebuffered, protocol, proc, command, cut_after=None, ping_every=None,
                 on_pong=None):
        self.cut_after = cut_after      # drop the connection this many seconds in (a test fault)
        self.ping_every = ping_every    # ping the client this often (seconds)
        self.on_pong = on_pong or (lambda: None)
        self.cut = False
        self.sock = sock
        self.inbuf = bytearray(prebuffered)
        self.v5 = protocol.startswith("v5.")
        self.proc = proc
        self.command = command
        self.hung_up = False
        self.rng = random.Random(os.getpid() ^ id(self))
        self.resizes = []
        self.message, self.message_op = b"", None

    # -- framing ------------------------------------------------------------------------------
    def send_frame(self, opcode, payload):
        if self.hung_up:
            return
        header = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            header += bytes([n])
        elif n < 65536:
            header += bytes([126]) + struct.pack("!H", n)
        else:
            header += bytes([127]) + struct.pack("!Q", n)
        try:
            self.sock.sendall(header + payload)
        except OSError:
            self._hang_up()

    def send_channel(self, channel, data):
        self.send_frame(OP_BINARY, bytes([channel]) + data)

    def _next_frame(self):
        """Parse one complete frame off inbuf: (fin, opcode, payload), or None if incomplete."""
        buf = self.inbuf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        if b0 & 0x70:
            raise ProtocolError("reserved bits set")
        if not b1 & 0x80:
            raise ProtocolError("client frame not masked")
        n, pos = b1 & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return None
            n, pos = struct.unpack("!H", bytes(buf[2:4]))[0], 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n, pos = struct.unpack("!Q", bytes(buf[2:10]))[0], 10
        if len(buf) < pos + 4 + n:
            return None
        mask = buf[pos:pos + 4]
        data = bytearray(buf[pos + 4:pos + 4 + n])
        for i in range(n):
            data[i] ^= mask[i % 4]
        del buf[:pos + 4 + n]
        return bool(b0 & 0x80), b0 & 0x0F, bytes(data)

    # -- the session --------------------------------------------------------------------------
    def run(self):
        # The apiserver's stream code of old sent an empty message per channel when it opened
        # the stream; clients must accept empty messages.
        for ch in (CH_STDOUT, CH_STDERR):
            self.send_channel(ch, b"")
        outputs = {fd: ch for fd, ch in ((self.proc.stdout_fd, CH_STDOUT),
                                         (self.proc.stderr_fd, CH_STDERR)) if fd is not None}
        self._handle_input()
        start = last_ping = time.monotonic()
        while outputs:
            now = time.monotonic()
            if self.cut_after is not None and now - start >= self.cut_after:
                self._hang_up()   # as if the network went away: the process is not killed
                self.cut = True
                return None
            if self.ping_every is not None and now - last_ping >= self.ping_every:
                last_ping = now
                self.send_frame(OP_PING, b"lambda?")
            watch = list(outputs) + ([] if self.hung_up else [self.sock])
            readable, _, _ = select.select(watch, [], [], min(0.5, self.ping_every or 0.5, self.cut_after or 0.5))
            if not readable and self.proc.popen.poll() is not None:
                break  # exited; whatever still holds its output open is not the command
            if self.sock in readable or (not self.hung_up and self.sock.pending()):
                self._receive()
                if self.hung_up and self.proc.tty:
                    break  # the terminal is closed: nothing more to read; wait for the end
            for fd in [fd for fd in readable if fd in outputs]:
                if not self._pump(fd, outputs[fd]):
                    del outputs[fd]
        code = _status(self.proc.wait())
        self.proc.close()
        self.send_channel(CH_STATUS, json.dumps(exit_status_json(code, self.command)).encode())
        self.send_frame(OP_CLOSE, struct.pack("!H", 1000))
        self._await_close()
        return code

    def _await_close(self, timeout=5.0):
        """The closing handshake: read until the client's close frame (or EOF) before the socket
        is closed. Closing with unread input makes the kernel send a RST, which can destroy the
        status message still on its way to the client."""
        deadline = time.monotonic() + timeout
        while not self.hung_up and time.monotonic() < deadline:
            if not self.sock.pending():
                readable, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
                if not readable:
                    return
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            self.inbuf += data
            try:
                while True:
                    frame = self._next_frame()
                    if frame is None:
                        break
                    if frame[1] == OP_CLOSE:
                        return
            except ProtocolError:
                return

    def _pump(self, fd, channel):
        try:
            data = os.read(fd, 32768)
        except OSError:  # EIO: the PTY slave side is gone
            return False
        if not data:
            return False
        # Sometimes deliver one read as two messages, as real servers do under load.
        if len(data) > 1 and self.rng.random() < 0.3:
            cut = self.rng.randrange(1, len(data))
            self.send_channel(channel, data[:cut])
            self.send_channel(channel, data[cut:])
        else:
            self.send_channel(channel, data)
        return True

    def _receive(self):
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._hang_up()
            return
        self.inbuf += data
        self._handle_input()

    def _handle_input(self):
        try:
            while not self.hung_up:
                frame = self._next_frame()
                if frame is None:
                    return
                fin, opcode, data = frame
                if opcode == OP_PING:
                    self.send_frame(OP_PONG, data)
                elif opcode == OP_PONG:
                    self.on_pong()
                elif opcode == OP_CLOSE:
                    self.send_frame(OP_CLOSE, data[:2])
                    self._hang_up()
                else:
                    if opcode == OP_CONT:
                        if self.message_op is None:
                            raise ProtocolError("continuation without a message")
                        self.message += data
                    else:
                        self.message, self.message_op = data, opcode
                    if fin:
                        self._dispatch(self.message_op, self.message)
                        self.message, self.message_op = b"", None
        except (ProtocolError, ValueError, KeyError):
            self._hang_up()

    def _dispatch(self, opcode, message):
        if opcode != OP_BINARY or not message:
            return
        channel, data = message[0], message[1:]
        if channel == CH_STDIN and self.proc.stdin_fd is not None:
            try:
                os.write(self.proc.stdin_fd, data)
            except OSError:
                pass
        elif channel == CH_RESIZE:
            size = json.loads(data)
            self.resizes.append((size["Width"], size["Height"]))
            self.proc.resize(size["Width"], size["Height"])
        elif channel == CH_CLOSE and self.v5 and data[:1] == bytes([CH_STDIN]):
            self.proc.close_stdin()

    def _hang_up(self):
        """The client went away. Like the kubelet, do not kill the process: with a TTY, closing
        the terminal's master side hangs it up (the kernel sends SIGHUP); without one, only its
        stdin is closed and it runs on until it ends or its pod is deleted."""
        if self.hung_up:
            return
        self.hung_up = True
        if self.proc is None:
            return
        if self.proc.tty:
            self.proc.close()
        else:
            self.proc.close_stdin()


def _status(returncode):
    return 128 - returncode if returncode < 0 else returncode


