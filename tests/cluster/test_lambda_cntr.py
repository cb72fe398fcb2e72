#!/usr/bin/python3
"""lambda-cntr against the API stand-in: the real binary, the real cntr, real runc containers.

Run one test: test_lambda_cntr.py LambdaCntrTests.test_attach_runs_a_shell_in_the_target_on_a_tty
(env LAMBDA_CNTR_BIN, CNTR_BIN; exits 77 = skipped when they are not built, unless CI=true)."""

import base64
import errno
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (AGENT_NS, PROMPT, ClusterTestCase, binaries_or_skip, pids_with_cmdline, read_until,  # noqa: E402
                     set_winsize, sleeper)

FORBIDDEN_CREATE = ('pods is forbidden: User "alice" cannot create resource "pods" in API group "" '
                    'in the namespace "lambda-cntr-system"')


def wait_for_process(cmdline, timeout=30):
    deadline = time.monotonic() + timeout
    while not pids_with_cmdline(cmdline) and time.monotonic() < deadline:
        time.sleep(0.02)


class ConnectProxy:
    """A minimal HTTP CONNECT proxy (what corporate proxies and `proxy-url` speak): records the
    targets it tunnelled to and relays bytes both ways."""

    def __init__(self):
        self.targets = []
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.listener.close()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        method, target = head.split(b" ")[:2]
        if method != b"CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        host, port = target.decode().rsplit(":", 1)
        self.targets.append(target.decode())
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class LambdaCntrTests(ClusterTestCase):
    # -- sessions -----------------------------------------------------------------------------
    def test_attach_runs_a_shell_in_the_target_on_a_tty(self):
        c = self.cluster
        c.target_pod("web")
        status, screen = c.run_in_pty(["attach", "web"], [
            "stty size; tr '\\0' ' ' < /proc/1/cmdline; echo; echo $((6*7))-marker; "
            "ls /var/lib/cntr/bin/busybox; exit 7"])
        self.assertEqual(status, 7, screen)
        self.assertIn("33 101", screen, "the terminal size did not reach the session")
        self.assertIn("sleep 2147483647", screen, "/proc is not the target's")
        self.assertIn("42-marker", screen)
        self.assertIn("/var/lib/cntr/bin/busybox", screen.replace("ls /var/lib/cntr/bin/busybox", ""))
        self.assertIn("attaching to default/web", screen, "phase messages missing on a terminal")
        self.assertEqual(c.wait_no_agents(), [], "the agent this attach created was not deleted")

    def test_the_local_terminal_type_reaches_the_session(self):
        c = self.cluster
        c.target_pod("web")
        status, screen = c.run_in_pty(["attach", "web"], ['echo "term=$TERM="; exit 0'], term="screen-256color")
        self.assertEqual(status, 0, screen)
        self.assertIn("term=screen-256color=", screen)

    def test_ctrl_c_and_resize_on_a_terminal_go_to_the_session(self):
        c = self.cluster
        c.target_pod("web")
        status, screen = c.run_pty_steps(["attach", "web"], [
            (PROMPT, b"sleep 4711\r"),
            # Ctrl-C once sleep runs (in raw mode the byte goes to the session's terminal).
            (rb"sleep 4711", lambda master: wait_for_process(b"sleep\x004711\x00") or os.write(master, b"\x03")),
            (PROMPT, b"echo rc-$?\r"),
            (PROMPT, lambda master: set_winsize(master, 40, 120)),  # SIGWINCH reaches lambda-cntr
            # The resize travels separately from typed bytes: allow it to arrive (up to 5 s).
            (rb"", b"i=0; while [ \"$(stty size)\" != \"40 120\" ] && [ $i -lt 50 ]; do sleep 0.1; "
                   b"i=$((i+1)); done; stty size; exit 4\r"),
        ])
        self.assertEqual(status, 4, "Ctrl-C must interrupt the remote command, not lambda-cntr:\n" + screen)
        self.assertIn("rc-130", screen)
        self.assertIn("40 120", screen, "the new terminal size did not reach the session")
        self.assertEqual(c.wait_no_agents(), [])

    def test_attach_with_a_command_and_no_terminal_is_quiet_and_binary_safe(self):
        c = self.cluster
        c.target_pod("web")
        payload = bytes(range(256)) * 64
        r = c.run("attach", "web", "--", "cat", input=payload)
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, payload, "bytes changed on the way through")
        self.assertEqual(r.stderr, b"", "phase messages must stay off a non-terminal stderr")

    def test_attach_without_a_terminal_reads_the_shell_script_from_stdin_and_v_shows_steps(self):
        c = self.cluster
        c.target_pod("web")
        r = c.run("attach", "-v", "web", input=b"echo from-stdin; exit 6\n")
        self.assertExit(r, 6)
        self.assertEqual(r.stdout, b"from-stdin\n")
        for step in (b"target default/web container main: containerd://", b"created for node node-1",
                     b"ready", b"attaching to default/web", b"deleted agent"):
            self.assertIn(step, r.stderr)

    def test_execute_propagates_exit_codes_0_3_and_137(self):
        c = self.cluster
        c.target_pod("web")
        for script, code in (("true", 0), ("exit 3", 3), ("kill -9 $$", 137)):
            with self.subTest(script=script):
                r = c.run("execute", "--keep", "web", "--", "sh", "-c", script)
                self.assertExit(r, code)
        r = c.run("execute", "web", "--", "sh", "-c", "echo out; echo err >&2; exit 5")
        self.assertExit(r, 5)
        self.assertEqual(r.stdout, b"out\n")
        self.assertIn(b"err\n", r.stderr)

    def test_execute_reports_command_not_found_as_127(self):
        c = self.cluster
        c.target_pod("web")
        r = c.run("execute", "web", "--", "no-such-command-anywhere")
        self.assertExit(r, 127)

    def test_agent_image_without_cntr_is_named_not_taken_for_a_missing_command(self):
        c = self.cluster
        c.target_pod("web")
        r = c.run("execute", "-i", "debian:bookworm", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b"agent image debian:bookworm has no `cntr` on its PATH", r.stderr)
        self.assertEqual(c.wait_no_agents(), [])

    def test_profile_reaches_cntr_and_adds_exactly_its_capabilities(self):
        c = self.cluster
        c.target_pod("web")
        plain = c.run("execute", "web", "--", "grep", "CapEff", "/proc/self/status")
        self.assertExit(plain, 0)
        net = c.run("execute", "--profile", "netadmin", "web", "--", "grep", "CapEff", "/proc/self/status")
        self.assertExit(net, 0)
        before, after = (int(r.stdout.split()[1], 16) for r in (plain, net))
        self.assertEqual(after, before | 1 << 12 | 1 << 13)  # NET_ADMIN, NET_RAW
        restricted = c.run("execute", "--profile", "restricted", "web", "--", "grep", "CapEff",
                           "/proc/self/status")
        self.assertEqual(int(restricted.stdout.split()[1], 16), 0)
        bogus = c.run("execute", "--profile", "root", "web", "--", "true")
        self.assertExit(bogus, 2)
        self.assertIn(b"--profile", bogus.stderr)

    def test_execute_needs_a_command(self):
        r = self.cluster.run("execute", "web")
        self.assertExit(r, 2)
        self.assertIn(b"needs a command", r.stderr)

    # -- target lookup ------------------------------------------------------------------------
    def test_multi_container_pod_needs_a_container_and_lists_them(self):
        c = self.cluster
        c.target_pod("duo", [sleeper("app"), sleeper("sidecar", ["sh", "-c", "exec sleep 4242"])])
        r = c.run("execute", "duo", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b'pod "duo" in namespace "default" has 2 containers, choose one with -c: app, sidecar',
                      r.stderr)
        for args in (["-c", "sidecar", "duo"], ["duo", "sidecar"]):
            r = c.run("execute", *args, "--", "cat", "/proc/1/cmdline")
            self.assertExit(r, 0)
            self.assertEqual(r.stdout, b"sleep\x004242\x00")
        r = c.run("execute", "-c", "nope", "duo", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b'has no container "nope"; its containers: app, sidecar', r.stderr)
        self.assertEqual(c.agent_creates(), 2, "lookup failures must not create agents")

    def test_sidecar_is_attachable_by_name_and_default_container_annotation_is_honoured(self):
        # 1.29+ sidecars are init containers with restartPolicy Always, reported in
        # initContainerStatuses; kubectl picks kubectl.kubernetes.io/default-container.
        c = self.cluster
        c.target_pod("mesh", [sleeper("app", ["sh", "-c", "exec sleep 4241"])],
                     initContainers=[sleeper("setup", ["true"]),
                                     sleeper("proxy", ["sh", "-c", "exec sleep 4243"], restartPolicy="Always")])
        r = c.run("execute", "-c", "proxy", "mesh", "--", "cat", "/proc/1/cmdline")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"sleep\x004243\x00")
        r = c.run("execute", "-c", "setup", "mesh", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b'container "setup" of pod "mesh" in namespace "default" is not running: '
                      b'Terminated: Completed (exit code 0)', r.stderr)

        c.server.create_pod({"metadata": {"name": "duo", "annotations": {
            "kubectl.kubernetes.io/default-container": "log"}}, "spec": {"containers": [
                sleeper("app"), sleeper("log", ["sh", "-c", "exec sleep 4244"])]}})
        c.server.wait_pod("default", "duo", lambda p: p["status"].get("phase") == "Running")
        r = c.run("execute", "-v", "duo", "--", "cat", "/proc/1/cmdline")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"sleep\x004244\x00")
        self.assertIn(b'defaulted container "log" (kubectl.kubernetes.io/default-container) out of: app, log',
                      r.stderr)

    def test_pod_not_found_names_pod_and_namespace(self):
        c = self.cluster
        r = c.run("execute", "ghost", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b'pod "ghost" not found in namespace "default"', r.stderr)
        r = c.run("execute", "-n", "kube-system", "ghost", "--", "true")
        self.assertIn(b'pod "ghost" not found in namespace "kube-system"', r.stderr)
        self.assertEqual(c.agent_creates(), 0)

    def test_pod_not_running_reports_phase_and_state(self):
        c = self.cluster
        c.target_pod("done", [sleeper("job", ["true"])], wait_running=False, restartPolicy="Never")
        c.server.wait_pod("default", "done", lambda p: p["status"].get("phase") == "Succeeded")
        r = c.run("execute", "done", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b'pod "done" in namespace "default" is not running: Succeeded', r.stderr)
        self.assertIn(b"Terminated: Completed (exit code 0)", r.stderr)

        c.target_pod("elsewhere", wait_running=False, nodeName="node-without-kubelet")
        r = c.run("execute", "elsewhere", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b'pod "elsewhere" in namespace "default" is not running: Pending', r.stderr)

        c.target_pod("crashing", [sleeper("app", ["sh", "-c", "exit 1"])], wait_running=False)
        c.server.wait_pod("default", "crashing", lambda p: "CrashLoopBackOff" in str(p["status"]))
        r = c.run("execute", "crashing", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b'container "app" of pod "crashing" in namespace "default" is not running: '
                      b'Waiting: CrashLoopBackOff', r.stderr)
        self.assertEqual(c.agent_creates(), 0)

    # -- agent start failures -----------------------------------------------------------------
    def test_forbidden_agent_creation_gives_the_api_message(self):
        c = self.cluster
        c.target_pod("web")
        c.server.forbid("create", "pods", user="alice")
        r = c.run("execute", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(FORBIDDEN_CREATE.encode(), r.stderr)
        self.assertEqual(c.agent_creates(), 0)

    def test_user_who_cannot_list_pods_gets_an_agent_of_its_own(self):
        c = self.cluster
        c.target_pod("web")
        c.server.forbid("list", "pods", user="alice")
        for _ in range(2):
            self.assertExit(c.run("execute", "--keep", "web", "--", "true"), 0)
        self.assertEqual(c.agent_creates(), 2, "without list there is no reuse, but no failure either")
        self.assertEqual(len(c.agents()), 2)

    def test_user_who_cannot_watch_pods_waits_by_polling(self):
        c = self.cluster
        c.target_pod("web")
        c.server.forbid("watch", "pods", user="alice")
        r = c.run("execute", "-v", "web", "--", "echo", "polled")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"polled\n")
        self.assertIn(b'cannot watch resource "pods"', r.stderr)
        self.assertIn(b"polling the agent pod instead", r.stderr)
        self.assertEqual(c.wait_no_agents(), [])
        # Failures are still recognised while polling.
        r = c.run("execute", "-i", "registry.invalid/agent:1", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b"ErrImagePull", r.stderr)
        self.assertEqual(c.wait_no_agents(), [])

    def test_forbidden_exec_gives_the_api_message_and_cleans_up(self):
        c = self.cluster
        c.target_pod("web")
        for verb in ("create", "get"):  # a WebSocket exec needs both (before 1.31: get)
            with self.subTest(verb=verb):
                c.server.forbidden.clear()
                c.server.forbid(verb, "pods/exec", user="alice")
                r = c.run("execute", "web", "--", "true")
                self.assertExit(r, 125)
                self.assertRegex(r.stderr, rb'pods "lambda-cntr-node-1-[a-z0-9]{5}" is forbidden: User "alice" '
                                           rb'cannot ' + verb.encode() +
                                           rb' resource "pods/exec" in API group "" in the namespace "lambda-cntr-system"')
                self.assertEqual(c.wait_no_agents(), [], "the agent we created was left behind")

    def test_pod_security_refusal_names_the_fix_and_agent_namespace_works(self):
        c = self.cluster
        c.target_pod("web")
        c.server.pod_security[AGENT_NS] = "baseline"  # an agent namespace not labelled privileged
        r = c.run("execute", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b'violates PodSecurity "baseline:latest": host namespaces (hostPID=true), privileged '
                      b'(container "agent" must not set securityContext.privileged=true)', r.stderr)
        self.assertIn(b"--agent-namespace", r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1, "one line, not a stack of messages")
        c.store.namespaces.add("debug")
        self.assertExit(c.run("execute", "--agent-namespace", "debug", "web", "--", "true"), 0)
        self.assertEqual(c.wait_no_agents("debug"), [])

    def test_err_image_pull_fails_fast_with_the_reason_and_cleans_up(self):
        c = self.cluster
        c.target_pod("web")
        r = c.run("execute", "--keep", "--timeout", "5m", "-i", "registry.invalid/agent:1", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b"cannot start: Waiting: ErrImagePull: rpc error: code = NotFound", r.stderr)
        self.assertIn(b"registry.invalid/agent:1", r.stderr)
        self.assertNotIn(b"not ready after", r.stderr, "it waited for the timeout instead of failing fast")
        self.assertEqual(c.wait_no_agents(), [], "the failed agent was left behind (even --keep must not keep it)")

    def test_cntr_image_env_selects_the_agent_image(self):
        c = self.cluster
        c.target_pod("web")
        r = c.run("execute", "web", "--", "true", env={"CNTR_IMAGE": "registry.invalid/from-env"})
        self.assertExit(r, 125)
        self.assertIn(b"registry.invalid/from-env", r.stderr)

    def test_unschedulable_agent_fails_with_the_scheduler_message(self):
        c = self.cluster
        c.target_pod("web")
        c.server.kubelet.unschedulable_message = "0/1 nodes are available: 1 Insufficient memory."
        r = c.run("execute", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b"Pending: Unschedulable: 0/1 nodes are available: 1 Insufficient memory.", r.stderr)
        self.assertEqual(c.wait_no_agents(), [])

    def test_agent_rejected_by_the_kubelet_fails_fast_with_its_reason(self):
        c = self.cluster
        c.target_pod("web")
        c.server.kubelet.admission_failure = (
            "OutOfcpu", "Pod Node didn't have enough resource: cpu, requested: 1, used: 3999, capacity: 4000")
        r = c.run("execute", "--timeout", "60s", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b"cannot start: Failed: OutOfcpu: Pod Node didn't have enough resource: cpu", r.stderr)
        self.assertNotIn(b"not ready after", r.stderr)
        self.assertEqual(c.wait_no_agents(), [])

    def test_agent_never_ready_times_out_with_its_last_state(self):
        c = self.cluster
        c.target_pod("web")
        c.server.kubelet.pause()
        r = c.run("execute", "--timeout", "2s", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b"not ready after 2s (last state: Pending, no kubelet has reported on it: is node node-1 "
                      b"Ready? (`kubectl get node node-1`))", r.stderr)
        self.assertEqual(c.wait_no_agents(), [])

    def test_watch_that_expires_is_resumed(self):
        """A 410 on the agent watch (etcd compaction) must not fail the start."""
        c = self.cluster
        c.target_pod("web")
        c.server.kubelet.pause()  # the agent stays Pending until we let it go
        proc = c.start("execute", "web", "--", "echo", "resumed")
        deadline = time.monotonic() + 30
        while not (c.agents() and c.server.open_watches) and time.monotonic() < deadline:
            time.sleep(0.02)
        c.store.expire_watches()
        while c.server.expired_watches == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(c.server.expired_watches, 1, "the watch was not expired")
        c.server.kubelet.resume()
        out, err = proc.communicate(timeout=60)
        self.assertEqual((proc.returncode, out), (0, b"resumed\n"), err.decode(errors="replace"))
        watches = [q for _, m, _, q in c.server.requests if m == "GET" and q.get("watch")]
        self.assertGreaterEqual(len(watches), 2, "no re-watch after the 410")

    # -- agent reuse, sharing, cleanup --------------------------------------------------------
    def test_warm_agent_is_reused_without_a_second_create(self):
        c = self.cluster
        c.target_pod("web")
        self.assertExit(c.run("execute", "--keep", "web", "--", "true"), 0)
        agents = c.agents()
        self.assertEqual(len(agents), 1, "--keep must leave the agent running")
        self.assertExit(c.run("execute", "web", "--", "sh", "-c", "exit 4"), 4)
        self.assertEqual(c.agent_creates(), 1, "a ready agent on the node was not reused")
        self.assertEqual([a["metadata"]["name"] for a in c.agents()], [agents[0]["metadata"]["name"]],
                         "a reused agent was deleted without --rm")
        self.assertExit(c.run("execute", "--rm", "web", "--", "true"), 0)
        self.assertEqual(c.wait_no_agents(), [], "--rm did not delete the unused agent")
        self.assertEqual(c.agent_creates(), 1)

    def test_agent_that_goes_away_before_the_session_is_replaced(self):
        c = self.cluster
        c.target_pod("web")
        self.assertExit(c.run("execute", "--keep", "web", "--", "true"), 0)
        c.server.kubelet.vanish_on_next_exec = True
        r = c.run("execute", "web", "--", "echo", "second-agent")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"second-agent\n")
        self.assertEqual(c.agent_creates(), 2)
        deadline = time.monotonic() + 20
        while len(c.agents()) > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual([a["status"]["phase"] for a in c.agents()], ["Failed"],
                         "only the dead agent should remain (the next run collects it)")

    def test_warm_agent_with_another_image_is_not_reused(self):
        c = self.cluster
        c.target_pod("web")
        self.assertExit(c.run("execute", "--keep", "web", "--", "true"), 0)
        self.assertExit(c.run("execute", "-i", "tools:2", "web", "--", "true"), 0)
        self.assertEqual(c.agent_creates(), 2, "an agent with other tools was reused")
        images = lambda: sorted(a["spec"]["containers"][0]["image"] for a in c.agents())
        deadline = time.monotonic() + 20
        while len(images()) > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(images(), ["lambda-cntr-agent:" + c.version()],
                         "the warm agent must stay and the new one must go")

    def test_sigint_and_sigterm_clean_up_the_agent(self):
        c = self.cluster
        c.target_pod("web")
        for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            with self.subTest(signal=sig):
                marker = b"session-up-%d" % sig
                proc = c.start("execute", "web", "--", "sh", "-c", "echo %s; exec sleep 7%d" % (
                    marker.decode(), sig))
                self.assertIn(marker, read_until(proc.stdout, marker))
                proc.send_signal(sig)
                proc.communicate(timeout=60)
                self.assertEqual(proc.returncode, code)
                self.assertEqual(c.wait_no_agents(), [], "the agent survived the interrupt")
                deadline = time.monotonic() + 20
                while pids_with_cmdline(b"sleep\x007%d" % sig) and time.monotonic() < deadline:
                    time.sleep(0.1)
                self.assertEqual(pids_with_cmdline(b"sleep\x007%d" % sig), [],
                                 "the session's command outlived the interrupted session")

    def test_interrupted_session_on_a_shared_agent_is_ended_and_the_agent_kept(self):
        """The API server does not kill an exec'd process when its stream closes: after Ctrl-C
        lambda-cntr must end its own session itself, without touching the agent it reused."""
        c = self.cluster
        c.target_pod("web")
        self.assertExit(c.run("execute", "--keep", "web", "--", "true"), 0)
        (agent,) = c.agents()
        proc = c.start("execute", "web", "--", "sh", "-c", "echo up; exec sleep 7333")
        self.assertIn(b"up", read_until(proc.stdout, b"up"))
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 130)
        self.assertEqual(pids_with_cmdline(b"sleep\x007333\x00"), [], "the interrupted session runs on")
        self.assertEqual([a["metadata"]["name"] for a in c.agents()], [agent["metadata"]["name"]])
        self.assertFalse(c.agents()[0]["metadata"].get("deletionTimestamp"))

    def test_two_sessions_on_one_node_never_cut_each_other_off(self):
        c = self.cluster
        c.target_pod("web")
        first = c.start("execute", "web", "--", "sh", "-c", "echo first-up; read line; echo first-$line")
        self.assertIn(b"first-up", read_until(first.stdout, b"first-up"))
        second = c.start("execute", "web", "--", "sh", "-c", "echo second-up; read line; echo second-$line")
        self.assertIn(b"second-up", read_until(second.stdout, b"second-up"))
        self.assertEqual(c.agent_creates(), 1, "the second session did not share the ready agent")

        # The creator ends first: its agent must stay for the second session.
        out, err = first.communicate(b"done\n", timeout=60)
        self.assertEqual((first.returncode, out), (0, b"first-done\n"), err)
        self.assertEqual(len(c.agents()), 1, "the agent was deleted under the second session")

        out, err = second.communicate(b"alive\n", timeout=60)
        self.assertEqual((second.returncode, out), (0, b"second-alive\n"), err)

        # The second one reused the agent: without --rm it leaves it warm; with --rm it goes.
        self.assertEqual(len(c.agents()), 1)
        self.assertExit(c.run("execute", "--rm", "web", "--", "true"), 0)
        self.assertEqual(c.wait_no_agents(), [])

    def test_idle_agent_exits_by_itself(self):
        c = self.cluster
        c.target_pod("web")
        self.assertExit(c.run("execute", "--keep", "--idle-timeout", "4s", "web", "--", "true"), 0)
        name = c.agents()[0]["metadata"]["name"]
        pod = c.server.wait_pod(AGENT_NS, name, lambda p: p["status"].get("phase") == "Succeeded", timeout=60)
        self.assertEqual(pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"], 0)
        # A finished agent of another node, as an idle exit leaves it there.
        c.server.create_pod({"metadata": {"name": "lambda-cntr-node-2-xxxxx", "labels": {
            "app.kubernetes.io/managed-by": "lambda-cntr"}}, "spec": {
                "nodeName": "node-2", "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                "containers": [sleeper("agent")]}}, AGENT_NS)
        # Once its kubelet has started it (which would overwrite the phase set before).
        c.server.wait_pod(AGENT_NS, "lambda-cntr-node-2-xxxxx", lambda p: p["status"].get("phase") == "Running")
        c.store.update(AGENT_NS, "lambda-cntr-node-2-xxxxx", lambda p: p["status"].update(phase="Succeeded"))
        # The next run garbage-collects the finished agents and starts a new one.
        self.assertExit(c.run("execute", "web", "--", "true"), 0)
        self.assertEqual(c.wait_no_agents(), [])

    def test_agent_namespace_flag(self):
        c = self.cluster
        c.store.namespaces.add("debug")
        c.target_pod("web")
        self.assertExit(c.run("execute", "--keep", "--agent-namespace", "debug", "web", "--", "true"), 0)
        self.assertEqual(len(c.agents("debug")), 1)
        self.assertEqual(c.agents(AGENT_NS), [])
        self.assertEqual(c.agents("default"), [])

    # -- configuration ------------------------------------------------------------------------
    def test_kubeconfig_token_exec_plugin_and_cert(self):
        c = self.cluster
        c.target_pod("web")
        for name, kubeconfig, user in (
                ("client cert", c.kubeconfig_cert("bob"), "bob"),
                ("token, inline CA", c.kubeconfig_token("tok-carol"), "carol"),
                ("exec plugin", c.kubeconfig_exec_plugin("tok-dave"), "dave")):
            with self.subTest(name):
                before = len(c.server.requests)
                r = c.run("execute", "--kubeconfig", kubeconfig, "web", "--", "echo", "hi")
                self.assertExit(r, 0)
                self.assertEqual(r.stdout, b"hi\n")
                users = {u for u, *_ in c.server.requests[before:]}
                self.assertEqual(users, {user})

    def counting_plugin_kubeconfig(self, expiry):
        """An exec plugin that issues tok-run-N on its Nth run (N counted in a file)."""
        c = self.cluster
        runs = os.path.join(c.tmp, "plugin-runs")
        plugin = c.write("counting-plugin", (
            "#!/bin/sh\n"
            "n=$(cat %s 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s\n"
            "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
            "\"status\":{\"token\":\"tok-run-%%s\",\"expirationTimestamp\":\"%s\"}}\\n' $n\n") % (
                runs, runs, expiry), mode=0o755)
        kubeconfig = c.kubeconfig_from("kc-counting", [(
            "- name: me\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
            "      command: %s\n      interactiveMode: Never\n") % plugin])

        def run_count():
            with open(runs) as f:
                return int(f.read())
        return kubeconfig, run_count

    def test_exec_plugin_with_endless_output_is_stopped_with_one_line(self):
        c = self.cluster
        c.target_pod("web")
        plugin = c.write("endless-plugin", "#!/bin/sh\nexec yes '{\"kind\":\"ExecCredential\"}'\n", mode=0o755)
        kubeconfig = c.kubeconfig_from("kc-endless", [(
            "- name: me\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
            "      command: %s\n      interactiveMode: Never\n") % plugin])
        r = c.run("execute", "--kubeconfig", kubeconfig, "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn("exec plugin %s: its output is larger than" % plugin, r.stderr.decode())
        self.assertEqual(len(r.stderr.decode().strip().splitlines()), 1, r.stderr.decode())

    def test_exec_plugin_token_revoked_during_a_session_is_renewed_for_the_cleanup(self):
        # EKS tokens live 15 minutes: a longer session must still clean up after itself.
        c = self.cluster
        c.target_pod("web")
        kubeconfig, run_count = self.counting_plugin_kubeconfig("2099-01-01T00:00:00Z")
        c.server.tokens["tok-run-1"] = "erin"
        p = c.start("execute", "--kubeconfig", kubeconfig, "web", "--", "sh", "-c", "echo started; read x; exit 4")
        self.assertEqual(p.stdout.readline(), b"started\n")
        del c.server.tokens["tok-run-1"]
        c.server.tokens["tok-run-2"] = "erin"
        p.stdin.write(b"go\n")
        p.stdin.flush()
        self.assertEqual(p.wait(timeout=60), 4)
        self.assertEqual(run_count(), 2)
        self.assertEqual(c.wait_no_agents(), [], "the agent was not deleted with the renewed token")

    def test_expired_exec_credential_is_renewed_before_each_request(self):
        c = self.cluster
        c.target_pod("web")
        kubeconfig, run_count = self.counting_plugin_kubeconfig("2001-01-01T00:00:00.25Z")
        for n in range(1, 100):
            c.server.tokens["tok-run-%d" % n] = "erin"
        before = len(c.server.requests)
        r = c.run("execute", "--kubeconfig", kubeconfig, "web", "--", "echo", "ok")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"ok\n")
        requests = len(c.server.requests) - before
        self.assertGreaterEqual(run_count(), requests, "a request went out with an expired credential")

    def test_client_keys_in_pkcs1_rsa_and_sec1_ec_forms(self):
        # kubeadm writes "BEGIN RSA PRIVATE KEY" (PKCS#1), k3s EC keys ("BEGIN EC PRIVATE KEY");
        # the stand-in's own are PKCS#8.
        c = self.cluster
        c.target_pod("web")
        pkcs1 = os.path.join(c.tmp, "bob-pkcs1.key")
        subprocess.run(["openssl", "rsa", "-traditional", "-in", os.path.join(c.pki, "bob.key"),
                        "-out", pkcs1], check=True, capture_output=True)
        ec_key, ec_csr, ec_crt = (os.path.join(c.tmp, "frank." + e) for e in ("key", "csr", "crt"))
        ext = c.write("client.ext", "extendedKeyUsage=clientAuth\n")
        for argv in (["openssl", "ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", ec_key],
                     ["openssl", "req", "-new", "-key", ec_key, "-subj", "/O=system:masters/CN=frank",
                      "-out", ec_csr],
                     ["openssl", "x509", "-req", "-in", ec_csr, "-CA", os.path.join(c.pki, "ca.crt"),
                      "-CAkey", os.path.join(c.pki, "ca.key"), "-CAcreateserial", "-CAserial",
                      os.path.join(c.tmp, "ca.srl"), "-days", "1", "-extfile", ext, "-out", ec_crt]):
            subprocess.run(argv, check=True, capture_output=True)
        with open(ec_key, "rb") as f:
            self.assertIn(b"BEGIN EC PRIVATE KEY", f.read())
        b64 = {}
        for name, path in (("crt", ec_crt), ("key", ec_key)):
            with open(path, "rb") as f:
                b64[name] = base64.b64encode(f.read()).decode()
        for name, user_yaml, user in (
                ("PKCS#1 RSA file", "- name: me\n  user:\n    client-certificate: %s\n    client-key: %s\n" % (
                    os.path.join(c.pki, "bob.crt"), pkcs1), "bob"),
                ("SEC1 EC inline data", "- name: me\n  user:\n    client-certificate-data: %s\n"
                 "    client-key-data: %s\n" % (b64["crt"], b64["key"]), "frank")):
            with self.subTest(name):
                before = len(c.server.requests)
                r = c.run("execute", "--kubeconfig", c.kubeconfig_from("kc-" + user, [user_yaml]),
                          "web", "--", "echo", "hi")
                self.assertExit(r, 0)
                self.assertEqual(r.stdout, b"hi\n")
                self.assertEqual({u for u, *_ in c.server.requests[before:]}, {user})

    def test_proxy_url_and_https_proxy_carry_rest_watch_and_exec(self):
        c = self.cluster
        c.target_pod("web")
        proxy = ConnectProxy()
        self.addCleanup(proxy.close)
        server = "127.0.0.1:%d" % c.server.port
        cluster = c.cluster_yaml().replace("    server:", "    proxy-url: %s\n    server:" % proxy.url)
        kubeconfig = c.kubeconfig_from("kc-proxy", ["- name: me\n  user:\n    client-certificate: %s\n"
                                                    "    client-key: %s\n" % (os.path.join(c.pki, "bob.crt"),
                                                                             os.path.join(c.pki, "bob.key"))],
                                       clusters=[cluster])
        # proxy-url wins over $NO_PROXY, as in kubectl.
        r = c.run("attach", "--kubeconfig", kubeconfig, "web", "--", "echo", "via-proxy",
                  env={"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"})
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"via-proxy\n")
        tunnels = len(proxy.targets)
        # GET pod, POST agent, WATCH, exec, count sessions, DELETE: all tunnelled (the REST calls
        # share kept-alive tunnels, the POST has its own, so has each exec).
        self.assertGreaterEqual(tunnels, 4)
        self.assertGreaterEqual(len(c.server.requests), 7)
        self.assertEqual(set(proxy.targets), {server})

        # Without proxy-url: $HTTPS_PROXY, unless $NO_PROXY names the server.
        plain = c.kubeconfig_cert("bob")
        r = c.run("execute", "--kubeconfig", plain, "web", "--", "echo", "env-proxy",
                  env={"HTTPS_PROXY": proxy.url})
        self.assertExit(r, 0)
        self.assertGreater(len(proxy.targets), tunnels)
        tunnels = len(proxy.targets)
        r = c.run("execute", "--kubeconfig", plain, "web", "--", "echo", "direct",
                  env={"HTTPS_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"})
        self.assertExit(r, 0)
        self.assertEqual(len(proxy.targets), tunnels)

    def test_server_url_with_a_path_prefix(self):
        # Rancher and other proxies serve a cluster's API under https://host/k8s/clusters/ID.
        c = self.cluster
        c.target_pod("web")
        c.server.path_prefix = "/k8s/clusters/c-xyz"
        cluster = c.cluster_yaml().replace(c.server.url, c.server.url + "/k8s/clusters/c-xyz/")
        kubeconfig = c.kubeconfig_from("kc-prefix", ["- name: me\n  user:\n    token: tok-carol\n"],
                                       clusters=[cluster])
        r = c.run("execute", "--kubeconfig", kubeconfig, "web", "--", "echo", "prefixed")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"prefixed\n")
        self.assertEqual(c.wait_no_agents(), [])
        r = c.run("execute", "--kubeconfig", c.kubeconfig_token("tok-carol"), "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b"looking up pod \"web\" in namespace \"default\": GET https://127.0.0.1:", r.stderr)
        self.assertIn(b"/api/v1/namespaces/default/pods/web: HTTP 404: 404 page not found", r.stderr)

    def test_insecure_skip_tls_verify_and_an_untrusted_server(self):
        c = self.cluster
        c.target_pod("web")
        user = ["- name: me\n  user:\n    token: tok-carol\n"]
        insecure = c.kubeconfig_from("kc-insecure", user, clusters=[
            "- name: standin\n  cluster:\n    server: %s\n    insecure-skip-tls-verify: true\n" % c.server.url])
        r = c.run("execute", "--kubeconfig", insecure, "web", "--", "echo", "unverified")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"unverified\n")
        # No CA and no insecure flag: the system trust store does not know the cluster's CA.
        untrusted = c.kubeconfig_from("kc-untrusted", user, clusters=[
            "- name: standin\n  cluster:\n    server: %s\n" % c.server.url])
        r = c.run("execute", "--kubeconfig", untrusted, "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b"the server certificate is not trusted: check certificate-authority(-data) and "
                      b"tls-server-name", r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1)

    def test_token_file_and_in_cluster_service_account(self):
        c = self.cluster
        c.store.namespaces.add("team")
        c.target_pod("api", namespace="team")
        token_file = c.write("token", "tok-carol\n")
        kubeconfig = c.kubeconfig_from("kc-tokenfile", ["- name: me\n  user:\n    tokenFile: %s\n" % token_file])
        r = c.run("execute", "-n", "team", "--kubeconfig", kubeconfig, "api", "--", "echo", "file")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"file\n")

        # In a pod: no kubeconfig anywhere, the service account and its namespace instead.
        sa = os.path.join(c.tmp, "serviceaccount")
        os.mkdir(sa)
        c.write("serviceaccount/token", "tok-dave")
        c.write("serviceaccount/namespace", "team")
        with open(os.path.join(c.pki, "ca.crt")) as src:
            c.write("serviceaccount/ca.crt", src.read())
        before = len(c.server.requests)
        r = c.run("execute", "api", "--", "echo", "in-cluster", env={
            "KUBECONFIG": "", "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(c.server.port), "KUBE_SERVICEACCOUNT_DIR": sa})
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"in-cluster\n")
        self.assertEqual({u for u, *_ in c.server.requests[before:]}, {"dave"})

    def unix_socket(self, name):
        path = os.path.join(self.cluster.tmp, name)
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(path)
        self.addCleanup(sock.close)
        return path

    def agent_pid(self, agent):
        _, ctr = self.cluster.server.kubelet.running_container(
            agent["metadata"]["namespace"], agent["metadata"]["name"], "agent")
        self.assertIsNotNone(ctr, "the agent is not running")
        return ctr.process.popen.pid

    def test_socket_path_mounts_the_runtime_socket_into_the_agent(self):
        c = self.cluster
        c.target_pod("web")
        containerd, crio = self.unix_socket("containerd.sock"), self.unix_socket("crio.sock")
        for args, env, path in ((["-s", containerd], None, containerd),
                                ([], {"SOCKET_PATH": crio}, crio)):
            self.assertExit(c.run("execute", "--keep", *args, "web", "--", "true", env=env), 0)
            (agent,) = c.agents()
            self.assertEqual(agent["spec"]["volumes"], [{"name": "runtime-socket", "hostPath": {
                "path": path, "type": "Socket"}}])
            # Wherever it is on the node, the socket is at one path under /run in the agent.
            self.assertEqual(agent["spec"]["containers"][0]["volumeMounts"], [
                {"name": "runtime-socket", "mountPath": "/run/lambda-cntr/runtime.sock", "readOnly": True}])
            self.assertIn({"name": "DOCKER_HOST", "value": "unix:///run/lambda-cntr/runtime.sock"},
                          agent["spec"]["containers"][0]["env"])
            in_agent = "/proc/%d/root/run/lambda-cntr/runtime.sock" % self.agent_pid(agent)
            self.assertTrue(stat.S_ISSOCK(os.stat(in_agent).st_mode))
            self.assertEqual(os.stat(in_agent).st_ino, os.stat(path).st_ino)
            self.assertExit(c.run("execute", "--rm", "web", "--", "true"), 0)
            self.assertEqual(c.wait_no_agents(), [])

    def test_agent_root_is_read_only_and_sessions_still_work(self):
        c = self.cluster
        c.target_pod("web")
        sock = self.unix_socket("containerd.sock")
        r = c.run("execute", "--keep", "-s", sock, "web", "--", "sh", "-c",
                  "echo written > /var/lib/cntr/tmp/in-target && cat /var/lib/cntr/tmp/in-target")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"written\n")
        (agent,) = c.agents()
        self.assertTrue(agent["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"])
        root = "/proc/%d/root" % self.agent_pid(agent)
        for path in ("tmp/planted", "usr/local/bin/cntr-planted", "var/lib/cntr/planted"):
            with self.subTest(path=path):
                with self.assertRaises(OSError) as caught:
                    open(os.path.join(root, path), "w").close()
                self.assertEqual(caught.exception.errno, errno.EROFS)
        # The agent's own program keeps running (it writes nothing) and counts sessions.
        status, screen = c.run_in_pty(["attach", "web"], ["echo tty-$((6*7)); exit 3"])
        self.assertEqual(status, 3, screen)
        self.assertIn("tty-42", screen)
        self.assertEqual(c.agent_creates(), 1, "the read-only agent was not reused")
        # Nothing under /run (the socket) is part of a session's tree.
        r = c.run("execute", "web", "--", "sh", "-c",
                  "for p in /run/lambda-cntr/runtime.sock /var/lib/cntr/run/lambda-cntr/runtime.sock; do "
                  "[ -e $p ] && echo visible: $p; done; ls / | tr '\\n' ' '; echo end")
        self.assertExit(r, 0)
        self.assertIn(b"end\n", r.stdout)
        self.assertNotIn(b"visible", r.stdout)

    def test_warm_agent_without_read_only_root_is_not_reused(self):
        c = self.cluster
        c.target_pod("web")
        self.assertExit(c.run("execute", "--keep", "web", "--", "true"), 0)
        (agent,) = c.agents()
        # An agent as an older lambda-cntr created it: writable root.
        c.store.update(AGENT_NS, agent["metadata"]["name"], lambda p: p["spec"]["containers"][0][
            "securityContext"].pop("readOnlyRootFilesystem"))
        r = c.run("execute", "-v", "web", "--", "true")
        self.assertExit(r, 0)
        self.assertIn(b"agent " + agent["metadata"]["name"].encode() + b" ignored"
                      b": its securityContext is not this version's (privileged, read-only root filesystem)",
                      r.stderr)
        self.assertEqual(c.agent_creates(), 2)

    # -- values from the API are data ---------------------------------------------------------
    def test_container_id_that_is_not_an_id_is_refused_before_any_agent(self):
        c = self.cluster
        c.target_pod("web")
        for bad in ("containerd://1", "containerd://-v", "containerd://" + "A" * 64):
            with self.subTest(containerID=bad):
                c.store.update("default", "web", lambda p: p["status"]["containerStatuses"][0].update(
                    containerID=bad))
                r = c.run("execute", "web", "--", "true")
                self.assertExit(r, 125)
                self.assertIn(('container "main" of pod "web" in namespace "default" has an invalid '
                               'containerID "%s"' % bad).encode(), r.stderr)
                self.assertEqual(r.stderr.count(b"\n"), 1, "one line")
        self.assertEqual(c.agent_creates(), 0, "an agent was created for an invalid container ID")
        self.assertEqual(c.agents(), [])

    def test_terminal_escapes_in_container_messages_reach_stderr_escaped(self):
        c = self.cluster
        c.target_pod("web")
        hostile = "\x1b]0;pwned\x07 \x9b31m red \u65e5\u672c"
        c.store.update("default", "web", lambda p: p["status"]["containerStatuses"][0].update(
            state={"waiting": {"reason": "CrashLoopBackOff\x1b[2J", "message": hostile}},
            lastState={"terminated": {"reason": "Error", "exitCode": 1, "message": "boom\x1b[8m\n"}},
            restartCount=1))
        r = c.run("execute", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b"Waiting: CrashLoopBackOff\\x1b[2J: \\x1b]0;pwned\\x07 \\u009b31m red "
                      + "\u65e5\u672c".encode(), r.stderr)
        self.assertIn(b"last Terminated: Error (exit code 1): boom\\x1b[8m; restarts: 1", r.stderr)
        for raw in (b"\x1b", b"\x07", b"\xc2\x9b", b"\x9b"):
            self.assertNotIn(raw, r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1)
        self.assertEqual(c.agent_creates(), 0)

    def test_terminal_escapes_in_the_agents_events_reach_stderr_escaped(self):
        c = self.cluster
        c.target_pod("web")
        c.server.kubelet.unschedulable_message = "0/1 nodes \x1b]0;pwned\x07 \x9b31m"
        r = c.run("execute", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b"Pending: Unschedulable: 0/1 nodes \\x1b]0;pwned\\x07 \\u009b31m", r.stderr)
        for raw in (b"\x1b", b"\x07", b"\xc2\x9b"):
            self.assertNotIn(raw, r.stderr)
        self.assertEqual(c.wait_no_agents(), [])

    def test_missing_socket_path_times_out_with_the_kubelet_warning(self):
        # A failing mount leaves the pod in ContainerCreating; only an event says why.
        c = self.cluster
        c.target_pod("web")
        r = c.run("execute", "--timeout", "3s", "-s", "/run/no-such-runtime.sock", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b"not ready after 3s (last state: Waiting: ContainerCreating; last warning: FailedMount: "
                      b'MountVolume.SetUp failed for volume "runtime-socket" : hostPath type check failed: '
                      b"/run/no-such-runtime.sock is not a socket file)", r.stderr)
        self.assertEqual(c.wait_no_agents(), [])

    def test_throttled_requests_are_retried_after_the_servers_delay(self):
        c = self.cluster
        c.target_pod("web")
        c.server.throttle_next = 2
        # --mode pod: the throttled requests are the pod's GETs, not auto mode's discovery.
        r = c.run("execute", "--mode", "pod", "-v", "web", "--", "echo", "ok")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"ok\n")
        self.assertEqual(r.stderr.count(b"Too many requests, please try again later.; trying again in 1s"), 2)
        self.assertEqual(c.server.count("GET", r"/pods/web$"), 3)
        # A server that keeps refusing: the answer is its message, after a bounded number of tries.
        c.server.throttle_next = 100
        r = c.run("execute", "--mode", "pod", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b"Too many requests, please try again later.", r.stderr)
        self.assertEqual(c.server.throttle_next, 95)

    def test_unauthenticated_client_gets_401_message(self):
        c = self.cluster
        r = c.run("execute", "--kubeconfig", c.kubeconfig_token("wrong-token"), "web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn(b"Unauthorized", r.stderr)

    def test_merged_kubeconfig_files_and_context_flag(self):
        c = self.cluster
        c.store.namespaces.add("team")
        c.target_pod("web")
        c.target_pod("api", namespace="team")
        users = c.kubeconfig_from("kc-users", [
            "- name: carol\n  user:\n    token: tok-carol\n",
            "- name: me\n  user:\n    token: does-not-matter-first-file-wins\n"], contexts=[], current=None)
        contexts = c.kubeconfig_from("kc-contexts", [
            "- name: me\n  user:\n    token: tok-dave\n"], contexts=[
            c.context_yaml("main", "standin", "me"),
            c.context_yaml("team", "standin", "carol", namespace="team")], current="main")
        merged = users + ":" + os.path.join(c.tmp, "missing-file") + ":" + contexts
        r = c.run("execute", "web", "--", "true", kubeconfig=merged)
        self.assertExit(r, 125)  # "me" comes from the first file: a token the server rejects
        self.assertIn(b"Unauthorized", r.stderr)
        r = c.run("execute", "--context", "team", "api", "--", "cat", "/proc/1/cmdline", kubeconfig=merged)
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"sleep\x002147483647\x00")
        self.assertIn("carol", {u for u, *_ in c.server.requests})
        self.assertEqual(c.wait_no_agents("team"), [])
        r = c.run("execute", "--context", "nope", "api", "--", "true", kubeconfig=merged)
        self.assertExit(r, 125)
        self.assertIn(b"nope", r.stderr)

    def test_kubectl_plugin_name(self):
        c = self.cluster
        c.target_pod("web")
        plugin = os.path.join(c.tmp, "kubectl-cntr")
        os.symlink(c.lambda_bin, plugin)
        r = c.run("--help", argv0=plugin)
        self.assertExit(r, 0)
        self.assertIn(b"kubectl cntr attach  [flags] POD", r.stdout)
        r = c.run("execute", "web", "--", "echo", "via-plugin", argv0=plugin)
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"via-plugin\n")

    def test_usage_errors_exit_2(self):
        c = self.cluster
        for args, text in ((["frobnicate", "web"], b"unknown command"),
                           (["attach"], b"missing POD"),
                           (["attach", "--timeout", "soon", "web"], b"--timeout"),
                           (["attach", "--keep", "--rm", "web"], b"contradict"),
                           (["attach", "web", "c1", "extra"], b"unexpected argument"),
                           (["attach", "--bogus", "web"], b"unknown option")):
            with self.subTest(args=args):
                r = c.run(*args)
                self.assertExit(r, 2)
                self.assertIn(text, r.stderr)
        self.assertEqual(len(c.server.requests), 0, "usage errors must not talk to the API")


class ConnectionReuseTests(ClusterTestCase):
    def test_warm_execute_reuses_one_connection_for_its_rest_calls(self):
        """Keep-alive: the REST calls of one command share a connection; the exec WebSocket has
        its own. Warm agent: GET the pod, list the agents, exec = 2 connections."""
        c = self.cluster
        c.target_pod("web")
        self.assertExit(c.run("execute", "--keep", "web", "--", "true"), 0)
        before, requests = c.server.connections, len(c.server.requests)
        r = c.run("execute", "web", "--", "echo", "warm")
        self.assertExit(r, 0)
        made, asked = c.server.connections - before, len(c.server.requests) - requests
        self.assertGreaterEqual(asked, 3, "GET pod, list agents, exec")
        self.assertLessEqual(made, 2, "%d connections for %d requests" % (made, asked))
        # --rm adds the agent program (its own WebSocket) and a DELETE on the kept-alive connection.
        before, requests = c.server.connections, len(c.server.requests)
        self.assertExit(c.run("execute", "--rm", "web", "--", "true"), 0)
        made, asked = c.server.connections - before, len(c.server.requests) - requests
        self.assertLessEqual(made, 3, "%d connections for %d requests" % (made, asked))
        self.assertEqual(c.wait_no_agents(), [])


class FaultInjectionTests(ClusterTestCase):
    """The API misbehaves at each step (apiserver.inject): the user sees a transparent retry or
    one clean line naming what failed (exit 125), and no agent pod is ever left behind."""

    SESSION = r"command=attach"  # the session's exec, not the agent's small programs

    def assertOneLineFailure(self, r, *needles):
        self.assertExit(r, 125)
        lines = [l for l in r.stderr.decode(errors="replace").splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, "not one line: %r" % lines)
        for needle in needles:
            self.assertIn(needle, lines[0])
        self.assertTrue(lines[0].startswith("lambda-cntr: "), lines[0])

    def assertNoAgentLeft(self):
        self.assertEqual(self.cluster.wait_no_agents(), [], "an agent pod was left behind")

    def test_pod_get_dropped_or_reset_once_is_retried(self):
        c = self.cluster
        c.target_pod("web")
        for action in ("drop", "reset"):
            with self.subTest(action=action):
                fault = c.server.inject("GET", r"/pods/web$", action)
                r = c.run("execute", "web", "--", "echo", "ok")
                self.assertExit(r, 0)
                self.assertEqual(r.stdout, b"ok\n")
                self.assertEqual(fault.fired, 1)
        self.assertNoAgentLeft()

    def test_pod_get_that_keeps_failing_is_one_line_naming_the_request(self):
        c = self.cluster
        c.target_pod("web")
        c.server.inject("GET", r"/pods/web$", "reset", times=100)
        r = c.run("execute", "web", "--", "true")
        self.assertOneLineFailure(r, "GET %s/api/v1/namespaces/default/pods/web: " % c.server.url)
        self.assertEqual(c.agent_creates(), 0)

    def test_agent_create_dropped_or_reset_fails_cleanly(self):
        c = self.cluster
        c.target_pod("web")
        for action in ("drop", "reset"):
            with self.subTest(action=action):
                c.server.inject("POST", r"/pods$", action)
                r = c.run("execute", "web", "--", "true")
                self.assertOneLineFailure(r, "creating the agent pod on node node-1 in namespace lambda-cntr-system: POST ")
        self.assertNoAgentLeft()

    def test_agent_created_but_its_answer_lost_is_not_left_behind(self):
        c = self.cluster
        c.target_pod("web")
        c.server.inject("POST", r"/pods$", "lose-answer")
        r = c.run("execute", "web", "--", "true")
        self.assertOneLineFailure(r, "creating the agent pod on node node-1 in namespace lambda-cntr-system: POST ")
        self.assertEqual(c.agent_creates(), 1, "the stand-in did not create the agent")
        self.assertNoAgentLeft()

    def test_500_and_429_with_retry_after_are_retried(self):
        c = self.cluster
        c.target_pod("web")
        c.server.inject("GET", r"/pods/web$", "status", code=500, retry_after=1)
        c.server.inject("POST", r"/pods$", "status", code=429, retry_after=1)
        c.server.inject("DELETE", r"/pods/lambda-cntr-", "status", code=503, retry_after=1)
        r = c.run("execute", "-v", "web", "--", "echo", "ok")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"ok\n")
        self.assertIn(b"Internal error occurred: etcdserver: request timed out; trying again in 1s", r.stderr)
        self.assertIn(b"Too many requests, please try again later.; trying again in 1s", r.stderr)
        self.assertEqual([f.fired for f in c.server.faults], [1, 1, 1])
        self.assertNoAgentLeft()

    def test_500_without_retry_after_is_the_servers_message(self):
        c = self.cluster
        c.target_pod("web")
        c.server.inject("POST", r"/pods$", "status", code=500)
        r = c.run("execute", "web", "--", "true")
        self.assertOneLineFailure(r, "creating the agent pod on node node-1 in namespace lambda-cntr-system: "
                                     "Internal error occurred: etcdserver: request timed out")
        self.assertEqual(c.agent_creates(), 0)

    def wait_with_paused_kubelet(self, *faults, hold=1.5):
        """Start an execute while the agent cannot become ready, let the faults strike its watch,
        then let the kubelet go."""
        c = self.cluster
        c.target_pod("web")
        c.server.kubelet.pause()
        for kind, action, kw in faults:
            c.server.inject(kind, r"/pods$", action, **kw)
        proc = c.start("execute", "-v", "web", "--", "echo", "through")
        deadline = time.monotonic() + 30
        while not c.agents() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(hold)
        c.server.kubelet.resume()
        out, err = proc.communicate(timeout=60)
        self.assertEqual((proc.returncode, out), (0, b"through\n"), err.decode(errors="replace"))
        return err

    def watches(self):
        return [q for _, m, _, q in self.cluster.server.requests if m == "GET" and q.get("watch")]

    def test_watch_dropped_reset_or_cut_mid_stream_is_resumed(self):
        self.wait_with_paused_kubelet(("WATCH", "drop", {}), ("WATCH", "reset", {}),
                                      ("WATCH", "cut", {"after": 0.3}), hold=2)
        self.assertEqual(len(self.cluster.server.fault_log), 3)
        self.assertGreaterEqual(len(self.watches()), 4, "no re-watch after each failure")
        self.assertNoAgentLeft()

    def test_watch_answered_410_gone_as_http_status_relists(self):
        self.wait_with_paused_kubelet(("WATCH", "status", {"code": 410}))
        self.assertEqual(len(self.cluster.server.fault_log), 1)
        self.assertGreaterEqual(len(self.watches()), 2)
        self.assertNoAgentLeft()

    def test_watch_bookmarks_are_asked_for_and_followed(self):
        self.wait_with_paused_kubelet(("WATCH", "bookmarks", {"times": 10}), ("WATCH", "cut", {"after": 1.0}),
                                      hold=2)
        self.assertGreater(self.cluster.server.bookmarks_sent, 0)
        watches = self.watches()
        self.assertTrue(all(q.get("allowWatchBookmarks") == ["true"] for q in watches), watches)
        self.assertNoAgentLeft()

    def test_exec_upgrade_dropped_or_reset_fails_cleanly(self):
        c = self.cluster
        c.target_pod("web")
        for action in ("drop", "reset"):
            with self.subTest(action=action):
                c.server.inject("EXEC", r"/exec$", action, query_re=self.SESSION)
                r = c.run("execute", "web", "--", "true")
                self.assertOneLineFailure(r, "exec: ")
                self.assertNoAgentLeft()

    def test_exec_cut_mid_session_fails_cleanly_and_ends_the_session(self):
        c = self.cluster
        c.target_pod("web")
        self.assertExit(c.run("execute", "--keep", "web", "--", "true"), 0)
        (warm,) = c.agents()
        for keep in (False, True):
            with self.subTest(reused_agent=keep):
                c.server.inject("EXEC", r"/exec$", "cut", after=1.0, query_re=self.SESSION)
                args = ["execute", "web", "--", "sh", "-c", "echo up; exec sleep 7444"]
                if not keep:
                    args.insert(1, "--rm")
                r = c.run(*args)
                self.assertOneLineFailure(r, "exec: the connection to the API server ended before the "
                                             "command's exit status arrived")
                self.assertEqual(r.stdout, b"up\n")
                deadline = time.monotonic() + 20
                while pids_with_cmdline(b"sleep\x007444") and time.monotonic() < deadline:
                    time.sleep(0.1)
                self.assertEqual(pids_with_cmdline(b"sleep\x007444"), [],
                                 "the session's command outlived the lost connection")
                if not keep:
                    self.assertNoAgentLeft()
                    self.assertExit(c.run("execute", "--keep", "web", "--", "true"), 0)
                else:
                    self.assertEqual(len(c.agents()), 1)
        del warm

    def test_post_upgrade_error_on_channel_3_is_one_line(self):
        c = self.cluster
        c.target_pod("web")
        c.server.inject("EXEC", r"/exec$", "exec-failure", query_re=self.SESSION)
        r = c.run("execute", "web", "--", "true")
        self.assertOneLineFailure(r, "error executing command in container: failed to exec in container: "
                                     "failed to start exec: OCI runtime exec failed: container is stopped")
        self.assertNoAgentLeft()

    def test_pings_mid_session_are_answered_and_the_output_is_intact(self):
        c = self.cluster
        c.target_pod("web")
        c.server.inject("EXEC", r"/exec$", "ping", every=0.1, query_re=self.SESSION)
        payload = bytes(range(256)) * 512
        r = c.run("execute", "web", "--", "sh", "-c", "sleep 1; cat; sleep 0.5", input=payload)
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, payload)
        self.assertGreaterEqual(c.server.pongs, 5)
        self.assertNoAgentLeft()


class V4OnlyServerTests(ClusterTestCase):
    """API servers before 1.29 speak only v4.channel.k8s.io."""
    v4_only = True

    def test_execute_and_attach_over_v4(self):
        c = self.cluster
        c.target_pod("web")
        r = c.run("execute", "web", "--", "sh", "-c", "echo v4; exit 3")
        self.assertExit(r, 3)
        self.assertEqual(r.stdout, b"v4\n")
        status, screen = c.run_in_pty(["attach", "web"], ["stty size; exit 9"], rows=20, cols=70)
        self.assertEqual(status, 9, screen)
        self.assertIn("20 70", screen)


if __name__ == "__main__":
    binaries_or_skip()
    unittest.main()
