"""Exit status (docs/design.md §1 and "Exit codes of cntr itself"): the command's own status, 128+N
for signal N, 126/127, 125 with a one-line message for cntr's failures, 2 for usage errors;
signals sent to cntr reach the command; an unprivileged caller gets a clear 125."""
import signal
import subprocess
import unittest

from cntrtest import (CMD_TIMEOUT, CntrTestCase, cntr_binary, cntr_env, run_cntr, run_reaped,
                      read_file, start, wait_for, zombie_pid)

MODES = ("attach", "exec")


class CommandStatus(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "unshare")

    def status(self, mode, *command):
        return run_cntr([mode, str(self.target.pid), "--"] + list(command)).returncode

    def test_status_of_the_command_is_passed_through(self):
        for mode in MODES:
            for code in (0, 1, 3, 42, 255):
                with self.subTest(mode=mode, code=code):
                    self.assertEqual(self.status(mode, "/bin/sh", "-c", "exit %d" % code), code)

    def test_killed_by_a_signal_is_128_plus_the_signal(self):
        for mode in MODES:
            for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSEGV):
                with self.subTest(mode=mode, signal=sig.name):
                    self.assertEqual(self.status(mode, "/bin/sh", "-c", "kill -%d $$" % sig),
                                     128 + sig)

    def test_command_not_found_is_127(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                self.assertEqual(self.status(mode, "/no/such/command"), 127)
                self.assertEqual(self.status(mode, "no-such-command-in-path"), 127)

    def test_command_not_executable_is_126(self):
        # /etc/hostname exists on both sides (the target's, bind-mounted) and is not executable.
        for mode in MODES:
            with self.subTest(mode=mode):
                self.assertEqual(self.status(mode, "/etc/hostname"), 126)

    def test_default_command_is_a_shell(self):
        proc = run_cntr(["attach", str(self.target.pid)], input=b"echo from-default-shell\n")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, b"from-default-shell\n")


class CntrFailures(CntrTestCase):
    def test_exited_target_is_125_with_one_line(self):
        pid, reap = zombie_pid()
        self.addCleanup(reap)
        for mode in MODES:
            with self.subTest(mode=mode):
                proc, leftovers = run_reaped([mode, str(pid), "--", "true"])
                self.assertOneLineError(proc, 125)
                self.assertEqual(leftovers, [])

    def test_unknown_target_is_125_with_one_line(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                self.assertOneLineError(run_cntr([mode, "4194303", "--", "true"]), 125)

    def test_target_dying_during_the_session_ends_it(self):
        target = start(self.__class__, "unshare")
        proc = subprocess.Popen([cntr_binary(), "attach", str(target.pid), "--", "/bin/sh", "-c",
                                 "echo attached; exec sleep 1000000"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=cntr_env())
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        self.assertEqual(proc.stdout.readline(), b"attached\n")
        target.stop()
        out, err = proc.communicate(timeout=CMD_TIMEOUT)
        # The pid namespace's init died and the kernel killed the command with SIGKILL: that is
        # the target's exit, reported as cntr's 125 with the reason, not as the command's 137.
        self.assertEqual(proc.returncode, 125, err)
        self.assertIn(b"exited during the session", err)

    def test_usage_errors_are_2(self):
        for args in ([], ["attach"], ["exec"], ["frobnicate"], ["attach", "--no-such-flag", "1"],
                     ["attach", "-t"], ["attach", "-t", "bogus", "1"]):
            with self.subTest(args=args):
                proc = run_cntr(args)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                self.assertTrue(proc.stderr.strip(), "usage errors say what is wrong")

    def test_help_documents_commands_and_exit_codes(self):
        proc = run_cntr(["--help"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        text = proc.stdout.decode()
        for word in ("attach", "exec", "list", "--type", "CNTR_BASE_DIR", "125", "126", "127"):
            self.assertIn(word, text)

    def test_version(self):
        proc = run_cntr(["--version"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stdout.decode(), r"\d+\.\d+")


class AgentIdle(CntrTestCase):
    """`cntr agent idle`, the agent's main process: LAMBDA_CNTR_IDLE_SECONDS seconds without a
    session end it (the agent-pod mode), "never" keeps it until SIGTERM (the DaemonSet)."""

    def idle(self, value):
        env = dict(cntr_env(), LAMBDA_CNTR_AGENT="lambda-cntr-test-agent", LAMBDA_CNTR_IDLE_SECONDS=value)
        return subprocess.Popen([cntr_binary(), "agent", "idle"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def test_a_limit_of_zero_exits_at_once_and_never_stays_until_sigterm(self):
        proc = self.idle("0")
        out, _ = proc.communicate(timeout=CMD_TIMEOUT)
        self.assertEqual((proc.returncode, out), (0, b"lambda-cntr agent: idle for 0s, exiting\n"))
        proc = self.idle("never")
        try:
            with self.assertRaises(subprocess.TimeoutExpired, msg="never is not a limit"):
                proc.wait(timeout=5)  # longer than the 2 s between counts of a limited agent
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=CMD_TIMEOUT)
        self.assertEqual((proc.returncode, out, err), (0, b"", b""))

    def test_a_limit_that_is_not_a_number_is_a_usage_error(self):
        proc = self.idle("forever")
        out, err = proc.communicate(timeout=CMD_TIMEOUT)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"LAMBDA_CNTR_IDLE_SECONDS='forever' is neither a number of seconds nor \"never\"", err)


class Signals(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "unshare")

    def test_signals_to_cntr_reach_the_command(self):
        for sig, code in ((signal.SIGTERM, 7), (signal.SIGINT, 8), (signal.SIGHUP, 9)):
            with self.subTest(signal=sig.name):
                script = ('trap "echo got-%s; exit %d" %s; echo ready; '
                          'while :; do sleep 0.05; done' % (sig.name, code, sig.name[3:]))
                proc = subprocess.Popen([cntr_binary(), "attach", str(self.target.pid), "--",
                                         "/bin/sh", "-c", script], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                        env=cntr_env())
                self.addCleanup(lambda p=proc: p.poll() is None and p.kill())
                self.assertEqual(proc.stdout.readline(), b"ready\n")
                proc.send_signal(sig)
                out, err = proc.communicate(timeout=CMD_TIMEOUT)
                self.assertEqual(out, ("got-%s\n" % sig.name).encode(), err)
                self.assertEqual(proc.returncode, code, err)


class NotRoot(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "unshare")

    def test_unprivileged_caller_gets_125_and_a_clear_message(self):
        for mode in MODES:
            with self.subTest(mode=mode):
                proc = subprocess.run(
                    ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                     "--inh-caps=-all", cntr_binary(), mode, str(self.target.pid), "--", "true"],
                    capture_output=True, env=cntr_env(), stdin=subprocess.DEVNULL,
                    timeout=CMD_TIMEOUT)
                err = self.assertOneLineError(proc, 125).lower()
                self.assertTrue(any(w in err for w in ("root", "permi", "privilege", "capab")),
                                err)


class VmIsolatedTargets(CntrTestCase):
    """A PID that leads to a VM monitor or a gVisor sandbox (a Kata, Firecracker or runsc pod's
    process on the node) has no namespaces of the container: 125 naming the runtime. The
    processes are real, only their program names are those of the runtimes."""

    def start_named(self, argv0):
        proc = subprocess.Popen(["/bin/bash", "-c", 'exec -a "$0" sleep 600', argv0],
                                stdin=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.kill(), proc.wait()))
        wait_for(lambda: read_file("/proc/%d/cmdline" % proc.pid, "rb").startswith(argv0.encode()),
                 "the process to take its name")
        return proc.pid

    def test_vm_monitors_and_sandboxes_are_refused_naming_the_runtime(self):
        for argv0, word in (("/usr/bin/qemu-system-x86_64", "QEMU"), ("/opt/kata/bin/firecracker", "Firecracker"),
                            ("runsc-sandbox", "gVisor"), ("/usr/bin/cloud-hypervisor", "Cloud Hypervisor")):
            with self.subTest(program=argv0):
                pid = self.start_named(argv0)
                for mode in MODES:
                    proc = self.cntr(mode, str(pid), "--", "true", expect=None)
                    self.assertIn(word, self.assertOneLineError(proc, 125))

    def test_an_ordinary_program_is_not_mistaken_for_one(self):
        pid = self.start_named("/usr/bin/qemu-img-helper")
        self.cntr("exec", str(pid), "--", "true")


if __name__ == "__main__":
    unittest.main(verbosity=2)
