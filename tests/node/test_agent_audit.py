"""A session the broker starts in a DaemonSet agent is recorded in the agent's own log (issue 8,
"Audit"; docs/broker.md step 8): `cntr agent idle` publishes its pid in LAMBDA_CNTR_RUN_DIR (the
DaemonSet sets it), and
`cntr attach` with LAMBDA_CNTR_AUDIT writes one line to that process's stdout when the session
starts and one when it ends, whatever the way out. Only to `cntr agent idle` of the same agent;
never failing or holding the session; nothing of it reaches the command."""
import fcntl
import os
import re
import secrets
import select
import shutil
import subprocess
import tempfile
import time
import unittest

from cntrtest import CntrTestCase, cntr_binary, cntr_env, describe, run_cntr, start, wait_for

PREFIX = "lambda-cntr agent: audit: "
WHAT = 'user "erin" on pod "a/web" container "main" with profile "general", broker "b-1"'


def nonblocking(stream):
    fcntl.fcntl(stream.fileno(), fcntl.F_SETFL, fcntl.fcntl(stream.fileno(), fcntl.F_GETFL) | os.O_NONBLOCK)
    return stream


def read_available(stream):
    """What the process wrote to its pipe so far (the session's lines are written before cntr
    exits, so after it exited they are all there)."""
    data = b""
    while select.select([stream], [], [], 0)[0]:
        chunk = stream.read(65536)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace")


class AgentLog(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "unshare")

    def setUp(self):
        self.run_dir = tempfile.mkdtemp(prefix="cntr-agent-run-")
        self.addCleanup(shutil.rmtree, self.run_dir, ignore_errors=True)
        self.name = "lambda-cntr-agent-" + secrets.token_hex(3)
        self.agent = self.start_agent(self.name)
        pidfile = os.path.join(self.run_dir, "agent.pid")
        wait_for(lambda: os.path.exists(pidfile), "the agent's pidfile")
        self.assertEqual(open(pidfile).read(), "%d\n" % self.agent.pid)

    def start_agent(self, name, run_dir=None):
        """`cntr agent idle` as the DaemonSet runs it, its stdout a pipe as under a runtime."""
        proc = subprocess.Popen([cntr_binary(), "agent", "idle"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=cntr_env({"LAMBDA_CNTR_AGENT": name, "LAMBDA_CNTR_IDLE_SECONDS": "never",
                                              "LAMBDA_CNTR_RUN_DIR": run_dir or self.run_dir}))
        self.addCleanup(self.stop, proc)
        nonblocking(proc.stdout)
        nonblocking(proc.stderr)
        return proc

    @staticmethod
    def stop(proc):
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()

    def session(self, *args, what=WHAT, mode="attach", run_dir=True):
        env = {"LAMBDA_CNTR_AGENT": self.name}
        if run_dir:
            env["LAMBDA_CNTR_RUN_DIR"] = self.run_dir
        if what is not None:
            env["LAMBDA_CNTR_AUDIT"] = what
        return run_cntr([mode] + list(args), env=env)

    def agent_log(self):
        return read_available(self.agent.stdout).splitlines()

    def assertEnded(self, line, what, outcome):
        m = re.fullmatch(re.escape(PREFIX + "session ended: " + what + ": ") + r"(.*) after (\d+\.\d)s", line)
        self.assertIsNotNone(m, line)
        self.assertEqual(m.group(1), outcome)

    def test_a_session_writes_its_start_and_end_to_the_agents_log(self):
        for mode in ("attach", "exec"):
            with self.subTest(mode=mode):
                proc = self.session(str(self.target.pid), "--", "/bin/sh", "-c", "env; exit 3", mode=mode)
                self.assertEqual(proc.returncode, 3, describe(proc))
                self.assertEqual(proc.stderr, b"")
                # Nothing of the audit reaches the command: the agent's variables are cntr's own.
                self.assertNotIn(b"LAMBDA_CNTR_AUDIT", proc.stdout)
                self.assertNotIn(b"LAMBDA_CNTR_RUN_DIR", proc.stdout)
                log = self.agent_log()
                self.assertEqual(len(log), 2, log)
                self.assertEqual(log[0], PREFIX + "session started: " + WHAT)
                self.assertEnded(log[1], WHAT, "exit status 3")
        self.assertIsNone(self.agent.poll())
        self.assertEqual(read_available(self.agent.stderr), "")

    def test_cntr_failing_to_attach_is_recorded_with_its_reason(self):
        proc = self.session("999999999", "--", "true")
        self.assertOneLineError(proc, 125)
        reason = proc.stderr.decode().strip()[len("cntr: error: "):]
        log = self.agent_log()
        self.assertEqual(len(log), 2, log)
        self.assertEqual(log[0], PREFIX + "session started: " + WHAT)
        self.assertEnded(log[1], WHAT, "cntr failed: %s: exit status 125" % reason)

    def test_a_session_without_an_audit_line_leaves_the_log_alone(self):
        proc = self.session(str(self.target.pid), "--", "true", what=None)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(self.agent_log(), [])

    def test_control_characters_come_out_escaped_on_one_line(self):
        what = 'user "ev\nil\x1b[31m" \\ on node "n\r1"\x7f'
        proc = self.session(str(self.target.pid), "--", "/bin/sh", "-c", "exit 0", what=what)
        self.assertEqual(proc.returncode, 0, describe(proc))
        escaped = 'user "ev\\x0ail\\x1b[31m" \\\\ on node "n\\x0d1"\\x7f'
        log = self.agent_log()
        self.assertEqual(len(log), 2, log)
        self.assertEqual(log[0], PREFIX + "session started: " + escaped)
        self.assertEnded(log[1], escaped, "exit status 0")

    def test_a_long_line_is_cut_and_each_stays_one_write(self):
        what = "user \"erin\" " + "x" * 10000
        proc = self.session(str(self.target.pid), "--", "/bin/sh", "-c", "exit 4", what=what)
        self.assertEqual(proc.returncode, 4, describe(proc))
        log = self.agent_log()
        self.assertEqual(len(log), 2, [line[:80] for line in log])
        for line in log:
            self.assertLess(len(line), 4096)
        self.assertTrue(log[0].endswith("x..."), log[0][-80:])
        self.assertRegex(log[1], r"x\.\.\.: exit status 4 after \d+\.\ds$")

    def assertNotRecorded(self, proc, code, why):
        self.assertEqual(proc.returncode, code, describe(proc))
        err = proc.stderr.decode()
        self.assertEqual(len(err.splitlines()), 1, err)  # one warning per session, not per line
        self.assertIn("cntr: warning: audit: the session is not recorded in the agent's log: ", err)
        self.assertIn(why, err)

    def test_a_pidfile_naming_another_process_gets_nothing_and_the_session_runs(self):
        other = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        self.addCleanup(lambda: (other.kill(), other.wait(), other.stdout.close()))
        nonblocking(other.stdout)
        with open(os.path.join(self.run_dir, "agent.pid"), "w") as f:
            f.write("%d\n" % other.pid)
        proc = self.session(str(self.target.pid), "--", "/bin/sh", "-c", "exit 3")
        self.assertNotRecorded(proc, 3, "pid %d (from %s/agent.pid) is not `cntr agent idle` of agent %s"
                               % (other.pid, self.run_dir, self.name))
        self.assertEqual(read_available(other.stdout), "")
        self.assertEqual(self.agent_log(), [])

    def test_another_agents_idle_process_gets_nothing(self):
        # A stale pidfile whose pid is now another agent's main process (or a copy of it).
        other_dir = tempfile.mkdtemp(prefix="cntr-agent-run-")
        self.addCleanup(shutil.rmtree, other_dir, ignore_errors=True)
        other = self.start_agent("lambda-cntr-agent-other", run_dir=other_dir)
        wait_for(lambda: os.path.exists(os.path.join(other_dir, "agent.pid")), "the other agent's pidfile")
        with open(os.path.join(self.run_dir, "agent.pid"), "w") as f:
            f.write("%d\n" % other.pid)
        proc = self.session(str(self.target.pid), "--", "/bin/sh", "-c", "exit 3")
        self.assertNotRecorded(proc, 3, "is not `cntr agent idle` of agent %s" % self.name)
        self.assertEqual(read_available(other.stdout), "")

    def test_no_run_dir_no_pidfile_or_a_dead_agent_only_warns(self):
        proc = self.session(str(self.target.pid), "--", "/bin/sh", "-c", "exit 3", run_dir=False)
        self.assertNotRecorded(proc, 3, "LAMBDA_CNTR_RUN_DIR is not set: agent %s publishes no pid" % self.name)
        os.unlink(os.path.join(self.run_dir, "agent.pid"))
        proc = self.session(str(self.target.pid), "--", "/bin/sh", "-c", "exit 3")
        self.assertNotRecorded(proc, 3, "agent.pid")
        os.mkfifo(os.path.join(self.run_dir, "agent.pid"))  # a read would block forever
        proc = self.session(str(self.target.pid), "--", "/bin/sh", "-c", "exit 3")
        self.assertNotRecorded(proc, 3, "agent.pid is not a small regular file")
        os.unlink(os.path.join(self.run_dir, "agent.pid"))
        dead = subprocess.Popen(["true"])
        dead.wait()
        with open(os.path.join(self.run_dir, "agent.pid"), "w") as f:
            f.write("%d\n" % dead.pid)
        proc = self.session(str(self.target.pid), "--", "/bin/sh", "-c", "exit 3")
        self.assertNotRecorded(proc, 3, "(pid %d) is gone" % dead.pid)

    def test_a_full_log_pipe_never_holds_the_session(self):
        # Nobody reads the agent's log: fill its pipe to the brim.
        fd = os.open("/proc/%d/fd/1" % self.agent.pid, os.O_WRONLY | os.O_NONBLOCK)
        try:
            while True:
                os.write(fd, b"." * 4096)
        except BlockingIOError:
            pass
        finally:
            os.close(fd)
        started = time.monotonic()
        proc = self.session(str(self.target.pid), "--", "/bin/sh", "-c", "exit 3")
        self.assertLess(time.monotonic() - started, 30)
        self.assertEqual(proc.returncode, 3, describe(proc))
        err = proc.stderr.decode().splitlines()
        self.assertEqual(err, ["cntr: warning: audit: writing to the log of agent %s failed: its log pipe is full"
                               % self.name])


if __name__ == "__main__":
    unittest.main()
