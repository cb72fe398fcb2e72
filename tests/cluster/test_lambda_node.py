#!/usr/bin/python3
"""`lambda-cntr node NODE [-- CMD]` against the API stand-in: the agent on the node runs
`cntr attach --host`, so the session is in the node's namespaces with the node's root at
/var/lib/cntr. The stand-in's node is this machine seen from a pid namespace the test owns
(harness.run_as_node): its processes are this test's and the pods'.

Run one test: test_lambda_node.py NodeTests.test_node_session_sees_the_nodes_processes_and_root
(env LAMBDA_CNTR_BIN, CNTR_BIN; exits 77 = skipped when they are not built, unless CI=true)."""

import os
import secrets
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import AGENT_NS, ClusterTestCase, run_as_node  # noqa: E402

LIST_PROCESSES = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done"


class NodeTests(ClusterTestCase):
    def start_marker(self):
        """A process on the node with a unique command line."""
        marker = "lambda-node-marker-" + secrets.token_hex(6)
        proc = subprocess.Popen([marker, "600"], executable="/bin/sleep")
        self.addCleanup(lambda: (proc.kill(), proc.wait()))
        return marker

    def test_node_session_sees_the_nodes_processes_and_root(self):
        c = self.cluster
        marker = self.start_marker()
        web = c.target_pod("web")  # a pod's processes are the node's too
        container_id = web["status"]["containerStatuses"][0]["containerID"].split("//")[1]
        r = c.run("node", "node-1", "--", "sh", "-c",
                  LIST_PROCESSES + "; echo ==; cat /var/lib/cntr/etc/hostname; readlink /proc/self/ns/pid "
                  "/proc/self/ns/net /proc/self/ns/uts")
        self.assertExit(r, 0)
        processes, _, rest = r.stdout.decode().partition("==\n")
        self.assertIn(marker + " 600", processes)
        self.assertIn(container_id, processes, "the pod's container (its runc) runs on the node")
        hostname, pid_ns, net_ns, uts_ns = rest.split("\n")[:4]
        with open("/etc/hostname") as f:
            self.assertEqual(hostname, f.read().strip())
        self.assertEqual([pid_ns, net_ns, uts_ns], [os.readlink("/proc/1/ns/" + n) for n in ("pid", "net", "uts")],
                         "the node's namespaces (its init's)")
        self.assertEqual(c.wait_no_agents(), [], "the agent this command created was deleted")

    def test_exit_status_and_profile_reach_the_node_session(self):
        c = self.cluster
        self.assertExit(c.run("node", "node-1", "--", "sh", "-c", "exit 7"), 7)
        r = c.run("node", "--profile", "restricted", "node-1", "--", "grep", "-E", "^(CapEff|NoNewPrivs)",
                  "/proc/self/status")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout.split(), [b"CapEff:", b"0000000000000000", b"NoNewPrivs:", b"1"])
        self.assertExit(c.run("node", "node-1", "--", "no-such-command"), 127)

    def test_node_on_a_terminal_is_an_interactive_shell(self):
        c = self.cluster
        status, seen = c.run_in_pty(["node", "node-1"], ["echo answer=$((6*7)); tty", "exit 3"])
        self.assertEqual(status, 3, seen)
        self.assertIn("answer=42", seen)
        self.assertRegex(seen, r"/dev/pts/\d+")

    def test_warm_agent_is_shared_with_pod_sessions(self):
        c = self.cluster
        c.target_pod("web")
        self.assertExit(c.run("node", "--keep", "node-1", "--", "true"), 0)
        self.assertExit(c.run("execute", "web", "--", "true"), 0)
        self.assertEqual(c.agent_creates(), 1, "one agent per node serves both")

    def test_unknown_node_is_one_line_naming_it(self):
        c = self.cluster
        r = c.run("node", "node-9", "--", "true")
        self.assertExit(r, 125)
        self.assertEqual(r.stderr, b'lambda-cntr: error: node "node-9" not found (kubectl get nodes lists them)\n')
        self.assertEqual(c.agent_creates(), 0)
        self.assertEqual(c.agents(AGENT_NS), [])

    def test_node_usage_errors_exit_2(self):
        c = self.cluster
        for args, words in ((["node"], b"missing NODE"), (["node", "-c", "x", "node-1"], b"no container"),
                            (["node", "node-1", "extra"], b"after \"--\""), (["node", "Node_1"], b"not a node name")):
            with self.subTest(args=args):
                r = c.run(*args)
                self.assertExit(r, 2)
                self.assertIn(words, r.stderr)


if __name__ == "__main__":
    run_as_node()
    unittest.main(verbosity=2)
