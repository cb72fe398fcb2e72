#!/usr/bin/python3
"""The ephemeral-container fallback for pods cntr cannot enter (VM-isolated, gVisor), against the
API stand-in: a real process in the target's namespaces (ephemeral.py), attached over
pods/attach with the real lambda-cntr. Run one: test_lambda_ephemeral.py EphemeralTests.test_..."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import PROMPT, ClusterTestCase, set_winsize, sleeper  # noqa: E402

NOTICE = "ephemeral-container mode, not a cntr session"


class EphemeralTests(ClusterTestCase):
    def vm_pod(self, name="vm", handler="kata-qemu"):
        self.cluster.server.objects.put("node.k8s.io/v1", "runtimeclasses",
                                        {"metadata": {"name": "kata"}, "handler": handler})
        self.cluster.server.create_pod({"metadata": {"name": name, "labels": {"app": name}},
                                        "spec": {"runtimeClassName": "kata", "containers": [sleeper("main")]}},
                                       "default")
        return self.cluster.server.wait_pod("default", name, lambda p: p and p["status"].get("phase") == "Running")

    def ephemeral_containers(self, name="vm"):
        return self.cluster.store.get("default", name)["spec"].get("ephemeralContainers") or []

    def test_fallback_ephemeral_runs_the_command_beside_the_target_and_returns_its_exit_code(self):
        self.vm_pod()
        r = self.cluster.run("-v", "execute", "--fallback", "ephemeral", "vm", "--", "sh", "-c",
                             "cat /proc/1/cmdline; exit 7")
        self.assertExit(r, 7)
        self.assertEqual(r.stdout, b"sleep\x002147483647\x00", r.stderr.decode())
        err = r.stderr.decode()
        self.assertEqual(err.count(NOTICE), 1, err)
        notice = next(line for line in err.splitlines() if NOTICE in line)
        for what in ("/var/lib/cntr", "/proc/1/root", "credentials", "cannot be removed"):
            self.assertIn(what, notice)
        eph = self.ephemeral_containers()
        self.assertEqual(len(eph), 1)
        self.assertRegex(eph[0]["name"], r"^lambda-cntr-[bcdfghjklmnpqrstvwxz2456789]{5}$")
        self.assertEqual(eph[0]["targetContainerName"], "main")
        self.assertEqual(eph[0]["command"], ["sh", "-c", "cat /proc/1/cmdline; exit 7"])
        self.assertTrue(eph[0]["stdin"])
        self.assertFalse(eph[0]["tty"])
        self.assertEqual(self.cluster.agent_creates(), 0, "the fallback needs no agent")
        patches = [q for q in self.cluster.server.requests if q[1] == "PATCH"]
        self.assertEqual([q[2] for q in patches], ["/api/v1/namespaces/default/pods/vm/ephemeralcontainers"])

    def test_stdin_reaches_the_command_and_a_second_session_adds_a_second_container(self):
        self.vm_pod()
        r = self.cluster.run("execute", "--fallback", "ephemeral", "vm", "--", "sh", "-c",
                             "read line; echo got-$line", input=b"hello\n")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"got-hello\n")
        r = self.cluster.run("execute", "--fallback", "ephemeral", "vm", "--", "true")
        self.assertExit(r, 0)
        self.assertEqual(len(self.ephemeral_containers()), 2, "the first one must stay, unchanged")

    def test_tty_session_gets_the_size_and_its_resizes(self):
        self.vm_pod()
        status, screen = self.cluster.run_pty_steps(["attach", "--fallback", "ephemeral", "vm"], [
            # The shell's first prompt came before the attach: ask for another, as kubectl says.
            (rb"try pressing enter", b"\r"),
            (PROMPT, b"stty size; tr '\\0' ' ' < /proc/1/cmdline; echo\r"),
            (rb"33 101[\s\S]*" + PROMPT.replace(b"$", b""), lambda master: set_winsize(master, 40, 120)),
            (rb"", b"i=0; while [ \"$(stty size)\" != \"40 120\" ] && [ $i -lt 50 ]; do sleep 0.1; "
                   b"i=$((i+1)); done; echo \"SZ:$(stty size)\"; exit 5\r"),
        ])
        self.assertEqual(status, 5, screen)
        self.assertIn("33 101", screen, "the terminal size did not reach the session")
        self.assertIn("sleep 2147483647", screen)
        self.assertIn("SZ:40 120", screen, "the new terminal size did not reach the session")
        self.assertIn(NOTICE, screen)
        self.assertTrue(self.ephemeral_containers()[0]["tty"])

    def test_fallback_none_refuses_and_adds_nothing(self):
        self.vm_pod()
        r = self.cluster.run("execute", "--fallback", "none", "vm", "--", "true")
        self.assertExit(r, 125)
        self.assertIn("--fallback ephemeral", r.stderr.decode())
        self.assertEqual(self.ephemeral_containers(), [])

    def test_image_that_cannot_be_pulled_fails_fast_naming_the_container(self):
        self.vm_pod()
        start = time.monotonic()
        r = self.cluster.run("execute", "--fallback", "ephemeral", "-i", "registry.invalid/agent:1", "vm",
                             "--", "true")
        self.assertExit(r, 125)
        self.assertLess(time.monotonic() - start, 20, "not fast")
        err = r.stderr.decode()
        name = self.ephemeral_containers()[0]["name"]
        self.assertIn("ephemeral container %s of pod default/vm cannot start" % name, err)
        self.assertIn("ErrImagePull", err)

    def test_command_not_found_is_127(self):
        self.vm_pod()
        r = self.cluster.run("execute", "--fallback", "ephemeral", "vm", "--", "no-such-command-4711")
        self.assertExit(r, 127)

    def test_forbidden_patch_names_the_permission(self):
        self.vm_pod()
        self.cluster.server.forbid("patch", "pods/ephemeralcontainers")
        r = self.cluster.run("execute", "--fallback", "ephemeral", "vm", "--", "true")
        self.assertExit(r, 125)
        self.assertIn('cannot patch resource "pods/ephemeralcontainers"', r.stderr.decode())
        self.assertIn("RBAC", r.stderr.decode())

    def test_on_a_terminal_it_asks_and_y_falls_back(self):
        self.vm_pod()
        status, screen = self.cluster.run_pty_steps(["attach", "vm"], [
            (rb"\[y/N\] $", b"y\r"),
            (rb"try pressing enter", b"\r"),
            (PROMPT, b"exit 4\r"),
        ])
        self.assertEqual(status, 4, screen)
        self.assertIn("VM", screen.split("[y/N]")[0], "the question comes after the reason")
        self.assertIn(NOTICE, screen)
        self.assertEqual(len(self.ephemeral_containers()), 1)

    def test_on_a_terminal_any_other_answer_refuses_and_adds_nothing(self):
        self.vm_pod()
        status, screen = self.cluster.run_pty_steps(["attach", "vm"], [(rb"\[y/N\] $", b"\r")])
        self.assertEqual(status, 125, screen)
        self.assertIn("--fallback ephemeral", screen)
        self.assertEqual(self.ephemeral_containers(), [])

    def test_without_a_terminal_it_does_not_ask_and_refuses(self):
        self.vm_pod()
        r = self.cluster.run("execute", "vm", "--", "true", input=b"y\n")
        self.assertExit(r, 125)
        self.assertNotIn("[y/N]", r.stderr.decode())
        self.assertEqual(self.ephemeral_containers(), [])


class EphemeralOverV4Tests(ClusterTestCase):
    """An API server older than 1.29 speaks only v4.channel.k8s.io on pods/attach: no close
    frame, so stdin's end and the exit code travel differently."""
    v4_only = True

    vm_pod = EphemeralTests.vm_pod
    ephemeral_containers = EphemeralTests.ephemeral_containers

    def test_v4_attach_carries_stdin_tty_and_exit_code(self):
        self.vm_pod()
        r = self.cluster.run("execute", "--fallback", "ephemeral", "vm", "--", "sh", "-c",
                             "read line; echo got-$line; exit 6", input=b"hi\n")
        self.assertExit(r, 6)
        self.assertEqual(r.stdout, b"got-hi\n")
        status, screen = self.cluster.run_pty_steps(["attach", "--fallback", "ephemeral", "vm"], [
            (rb"try pressing enter", b"\r"),
            (PROMPT, b"stty size; exit 3\r"),
        ])
        self.assertEqual(status, 3, screen)
        self.assertIn("33 101", screen)


if __name__ == "__main__":
    unittest.main()
