"""Soak: many attach/exit cycles against one target, then many under SIGKILL at random moments.
Afterwards: no mount left (host and target mount tables as before), no process left in the
target or anywhere running cntr, no descriptor gained by the target, the target's mountinfo
byte-identical. `make check` runs a short version; `make soak` the full one (1000 cycles,
200 kills): CNTR_SOAK_CYCLES and CNTR_SOAK_KILLS set the counts."""
import os
import random
import subprocess
import time
import unittest

from cntrtest import (CMD_TIMEOUT, CntrTestCase, cntr_binary, cntr_env, host_mount_table,
                      pid_namespace_members, processes_running, read_file, start, wait_for)
from test_containment import SESSION_SECONDS, set_child_subreaper

CYCLES = int(os.environ.get("CNTR_SOAK_CYCLES", "100"))
KILLS = int(os.environ.get("CNTR_SOAK_KILLS", "20"))


class Soak(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = start(cls, "docker")  # a seccomp filter: every cycle copies it too

    def snapshot(self):
        pid = self.target.pid
        return {"members": pid_namespace_members(pid),
                "target mountinfo": read_file("/proc/%d/mountinfo" % pid, "rb"),
                "target fds": sorted(os.listdir("/proc/%d/fd" % pid)),
                "host mounts": host_mount_table()}

    def assertSettled(self, before):
        def settled():
            try:
                while os.waitpid(-1, os.WNOHANG)[0]:
                    pass
            except ChildProcessError:
                pass
            return pid_namespace_members(self.target.pid) <= before["members"] and \
                not processes_running(cntr_binary())
        wait_for(settled, "the sessions' processes to end")
        after = self.snapshot()
        for key in ("target mountinfo", "target fds", "host mounts"):
            with self.subTest(what=key):
                self.assertEqual(after[key], before[key])

    def test_attach_and_exit_cycles_leave_nothing(self):
        before = self.snapshot()
        failures = []
        for i in range(CYCLES):
            mode = "exec" if i % 4 == 3 else "attach"
            proc = subprocess.run([cntr_binary(), mode, str(self.target.pid), "--", "true"],
                                  env=cntr_env(), stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=CMD_TIMEOUT)
            if proc.returncode != 0:
                failures.append((i, proc.returncode, proc.stderr[-300:]))
        self.assertEqual(failures, [], "%d of %d cycles failed" % (len(failures), CYCLES))
        self.assertSettled(before)

    def test_sigkill_at_random_moments_leaves_nothing(self):
        rng = random.Random(11)
        before = self.snapshot()
        set_child_subreaper(True)
        self.addCleanup(set_child_subreaper, False)
        for i in range(KILLS):
            mode = "exec" if i % 2 else "attach"
            proc = subprocess.Popen([cntr_binary(), mode, str(self.target.pid), "--", "sleep",
                                     SESSION_SECONDS], env=cntr_env(), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0, 0.03))
            proc.kill()
            proc.wait(timeout=CMD_TIMEOUT)
        self.assertSettled(before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
