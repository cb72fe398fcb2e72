"""`cntr attach|exec --host`: a session on the node itself (like `kubectl debug node/NAME`): the
init of cntr's own pid namespace is the target. Here the "node" is a fresh pid and mount
namespace made with unshare(1), whose PID 1 we own (the real PID 1 of these machines denies
even root its /proc entries), and cntr runs inside it as it runs in a hostPID agent."""
import os
import signal
import subprocess
import unittest

from cntrtest import (CMD_TIMEOUT, CntrTestCase, cntr_binary, cntr_env, describe, ns_inodes,
                      wait_for, _children)


class HostSession(CntrTestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "sleep", "3600"],
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        cls.addClassCleanup(lambda: (os.killpg(cls.node.pid, signal.SIGKILL), cls.node.wait()))
        cls.init = wait_for(lambda: (_children(cls.node.pid) or [None])[0], "the node's init")

    def on_node(self, *args, expect=0):
        """cntr run inside the node's pid and mount namespaces."""
        proc = subprocess.run(["nsenter", "-t", str(self.init), "-p", "-m", cntr_binary()] + list(args),
                              env=cntr_env(), stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=CMD_TIMEOUT)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, describe(proc))
        return proc

    def test_attach_host_is_in_the_nodes_namespaces_with_its_root_at_var_lib_cntr(self):
        out = self.on_node("attach", "--host", "--", "/bin/sh", "-c",
                           "readlink /proc/self/ns/pid; readlink /proc/self/ns/net; "
                           "cat /proc/1/comm; ls -A /var/lib/cntr").stdout.decode().split("\n")
        want = ns_inodes(self.init)
        self.assertEqual(out[0], want["pid"])
        self.assertEqual(out[1], want["net"])
        self.assertEqual(out[2], "sleep", "PID 1 in the session is the node's init")
        self.assertEqual(sorted(filter(None, out[3:])), sorted(os.listdir("/")))

    def test_exec_host_runs_in_the_nodes_root(self):
        out = self.on_node("exec", "--host", "--", "/bin/sh", "-c", "cat /etc/hostname")
        self.assertEqual(out.stdout, open("/etc/hostname", "rb").read())

    def test_host_takes_no_target(self):
        proc = self.on_node("attach", "--host", "1234", "--", "true", expect=None)
        self.assertIn("--host takes no TARGET", self.assertOneLineError(proc, 2))


if __name__ == "__main__":
    unittest.main(verbosity=2)
