"""The target dies at each phase of a session (docs/design.md §1, exit codes): cntr stops itself
at a test-only pause point (CNTR_TEST_PAUSE_AT=PHASE, src/node/pause_point.h), the test kills
the target, continues cntr and checks what the user sees -- exit 125 and one line saying the
target exited -- and that nothing is left: no process, no mount. Deterministic: no sleeps."""
import os
import signal
import subprocess
import unittest

from cntrtest import (CMD_TIMEOUT, CntrTestCase, cntr_binary, cntr_env, describe,
                      host_mount_table, processes_running, proc_status, start_runc, wait_for)
from test_containment import find_session_process

PHASES = ("resolved", "opened", "view", "joined")


def stopped_cntr():
    """PID of a cntr process (the relay, or the command before its exec) stopped at a pause point."""
    for pid in processes_running(cntr_binary()):
        try:
            if proc_status(pid)["State"][0] == "T":
                return pid
        except OSError:
            pass
    return None


def continue_paused(pid):
    """The command is born in the target's pid namespace: when the target was its init, the
    kernel has killed the paused command with it, and there is nothing left to continue."""
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


def gone(pid):
    try:
        return proc_status(pid)["State"][0] in "ZX"
    except OSError:
        return True


class TargetDiesDuringAttach(CntrTestCase):
    def fresh_target(self):
        target = start_runc()
        self.addCleanup(target.stop)
        return target

    def assertNothingLeft(self, host_mounts):
        wait_for(lambda: not processes_running(cntr_binary()), "cntr's processes to end")
        self.assertEqual(host_mount_table(), host_mounts)

    def test_target_killed_at_each_phase_is_a_one_line_125(self):
        for mode in ("attach", "exec"):
            for phase in PHASES:
                with self.subTest(mode=mode, phase=phase):
                    target = self.fresh_target()
                    host_mounts = host_mount_table()
                    proc = subprocess.Popen(
                        [cntr_binary(), mode, str(target.pid), "--", "sleep", "3607"],
                        env=cntr_env({"CNTR_TEST_PAUSE_AT": phase}), stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    paused = wait_for(stopped_cntr, "cntr to pause at " + phase)
                    os.kill(target.pid, signal.SIGKILL)
                    wait_for(lambda: gone(target.pid), "the target to exit")
                    continue_paused(paused)
                    out, err = proc.communicate(timeout=CMD_TIMEOUT)
                    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
                    message = self.assertOneLineError(result, 125)
                    self.assertIn("exited", message, describe(result))
                    self.assertNothingLeft(host_mounts)

    def test_pause_point_without_a_fault_changes_nothing(self):
        target = self.fresh_target()
        proc = subprocess.Popen([cntr_binary(), "attach", str(target.pid), "--", "echo", "ok"],
                                env=cntr_env({"CNTR_TEST_PAUSE_AT": "view"}),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        os.kill(wait_for(stopped_cntr, "cntr to pause"), signal.SIGCONT)
        out, err = proc.communicate(timeout=CMD_TIMEOUT)
        self.assertEqual((proc.returncode, out), (0, b"ok\n"), err)

    def test_target_that_exits_during_the_session_is_named_not_137(self):
        for mode in ("attach", "exec"):
            with self.subTest(mode=mode):
                target = self.fresh_target()
                host_mounts = host_mount_table()
                proc = subprocess.Popen([cntr_binary(), mode, str(target.pid), "--", "sleep", "3607"],
                                        env=cntr_env(), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                wait_for(lambda: find_session_process(target.pid), "the session's command")
                os.kill(target.pid, signal.SIGKILL)
                out, err = proc.communicate(timeout=CMD_TIMEOUT)
                result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
                message = self.assertOneLineError(result, 125)
                self.assertIn("exited during the session", message)
                self.assertNothingLeft(host_mounts)

    def test_command_killed_by_the_user_is_still_137(self):
        target = self.fresh_target()
        proc = self.cntr("attach", str(target.pid), "--", "/bin/sh", "-c", "kill -9 $$", expect=None)
        self.assertEqual(proc.returncode, 137, describe(proc))


if __name__ == "__main__":
    unittest.main(verbosity=2)
