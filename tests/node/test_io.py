"""I/O through cntr: binary-safe pipes and stdin EOF without a terminal; under a terminal a pty
in the session, the window size at start and after SIGWINCH, TERM passed in, and the caller's
terminal modes restored on exit."""
import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time
import unittest

from cntrtest import CMD_TIMEOUT, CntrTestCase, cntr_binary, cntr_env, sha256, start

MIB = 1 << 20


class PipeIO(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "unshare")

    def test_one_mib_of_random_bytes_passes_unchanged(self):
        data = os.urandom(MIB)
        for mode, cat in (("attach", "/bin/cat"), ("exec", "/bin/cat")):
            with self.subTest(mode=mode):
                out = self.cntr(mode, str(self.target.pid), "--", cat, input=data).stdout
                self.assertEqual(len(out), len(data))
                self.assertEqual(sha256(out), sha256(data))

    def test_stdin_eof_reaches_the_command(self):
        out = self.shell_with_input("wc -c; echo eof-seen", b"x" * 12345)
        self.assertEqual(out.split(), ["12345", "eof-seen"])

    def test_empty_stdin_is_eof_at_once(self):
        self.assertEqual(self.shell_with_input("cat; echo done", b""), "done\n")

    def test_stdout_and_stderr_stay_apart(self):
        proc = self.cntr("attach", str(self.target.pid), "--", "/bin/sh", "-c",
                         "echo to-out; echo to-err >&2")
        self.assertEqual(proc.stdout, b"to-out\n")
        self.assertIn(b"to-err\n", proc.stderr)
        self.assertNotIn(b"to-err", proc.stdout)

    def test_no_tty_without_a_terminal(self):
        proc = self.cntr("attach", str(self.target.pid), "--", "/usr/bin/tty", expect=1)
        self.assertEqual(proc.stdout, b"not a tty\n")

    def shell_with_input(self, script, data):
        proc = self.cntr("attach", str(self.target.pid), "--", "/bin/sh", "-c", script, input=data)
        return proc.stdout.decode()


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Terminal:
    """cntr running on the slave side of a fresh pty, as in an interactive terminal."""

    def __init__(self, args, rows, cols, env):
        self.master, self.slave = os.openpty()
        set_winsize(self.slave, rows, cols)
        self.modes_before = termios.tcgetattr(self.slave)
        self.output = b""
        self.proc = subprocess.Popen(
            [cntr_binary()] + args, stdin=self.slave, stdout=self.slave, stderr=self.slave,
            env=cntr_env(env), start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        self.deadline = time.monotonic() + CMD_TIMEOUT

    def read_until(self, marker):
        """Read the terminal until marker appears; returns everything read up to it."""
        while marker not in self.output:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r from the session; got %r" % (marker, self.output))
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # EIO: every slave fd closed
                    chunk = b""
                if not chunk:
                    raise AssertionError("terminal closed before %r; got %r"
                                         % (marker, self.output))
                self.output += chunk
        head, _, self.output = self.output.partition(marker)
        return head.decode(errors="replace")

    def type(self, data):
        os.write(self.master, data)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


class TerminalIO(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "unshare")

    def open_terminal(self, script, rows=37, cols=111):
        term = Terminal(["attach", str(self.target.pid), "--", "/bin/sh", "-c", script],
                        rows, cols, {"TERM": "xterm-cntrtest"})
        self.addCleanup(term.close)
        return term

    def test_session_gets_a_pty_of_the_callers_size_and_term(self):
        term = self.open_terminal('tty; stty size; echo "TERM=$TERM"; echo END-OF-INFO')
        lines = term.read_until(b"END-OF-INFO").split()
        self.assertEqual(term.proc.wait(timeout=CMD_TIMEOUT), 0)
        self.assertTrue(lines[0].startswith("/dev/pts/"), lines)
        self.assertEqual(lines[1:4], ["37", "111", "TERM=xterm-cntrtest"])

    def test_window_resize_reaches_the_session(self):
        term = self.open_terminal('stty size; echo READY; '
                                  'while read line; do stty size; echo ROUND-DONE; done')
        self.assertEqual(term.read_until(b"READY").split(), ["37", "111"])
        set_winsize(term.master, 50, 150)  # the kernel sends SIGWINCH to cntr
        # SIGWINCH and the typed line race inside cntr: ask until the new size shows.
        seen = []
        while ["50", "150"] not in seen:
            term.type(b"again\n")
            seen.append(term.read_until(b"ROUND-DONE").split()[-2:])
            self.assertLess(len(seen), 200, "size never changed: %s" % seen[-3:])
        term.type(b"\x04")  # EOF ends the read loop, the shell, the session
        self.assertEqual(term.proc.wait(timeout=CMD_TIMEOUT), 0)

    def test_terminal_modes_are_restored_on_exit(self):
        for script, status in (("exit 0", 0), ("exit 5", 5), ("kill -9 $$", 137)):
            with self.subTest(script=script):
                term = self.open_terminal(script)
                self.assertEqual(term.proc.wait(timeout=CMD_TIMEOUT), status)
                self.assertEqual(termios.tcgetattr(term.slave), term.modes_before)

    def test_sigterm_to_cntr_reaches_the_command_and_the_terminal_is_restored(self):
        term = self.open_terminal('trap "echo GOT-TERM; exit 7" TERM; echo READY; '
                                  'while :; do sleep 0.05; done')
        term.read_until(b"READY")
        term.proc.send_signal(signal.SIGTERM)
        term.read_until(b"GOT-TERM")
        self.assertEqual(term.proc.wait(timeout=CMD_TIMEOUT), 7)
        self.assertEqual(termios.tcgetattr(term.slave), term.modes_before)

    def test_input_typed_on_the_terminal_reaches_the_command(self):
        term = self.open_terminal('echo READY; read word; echo "GOT:$word:"')
        term.read_until(b"READY")
        term.type(b"hello-cntr\r")
        term.read_until(b"GOT:hello-cntr:")
        self.assertEqual(term.proc.wait(timeout=CMD_TIMEOUT), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
