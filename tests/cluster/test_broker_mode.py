#!/usr/bin/python3
"""Installed (broker) mode, end to end (issue 8): lambda-cntr against the stand-in acting as
kube-apiserver and aggregator, deploy/ applied as an admin would, the broker
(lambda-cntr-broker, env LAMBDA_CNTR_BROKER_BIN or build/lambda-cntr-broker next to
lambda-cntr) running as a local process registered as the endpoint of Service
lambda-cntr-system/lambda-cntr-broker, and its agent DaemonSet's pod running on the stand-in's
node with the real cntr.

ModeChoiceTests need no broker: auto mode's discovery (404 = pod mode as before, 503 = an error
naming the unavailable broker, 200 = the broker path, seen through a fixture backend and the
stand-in's request log) and the API server's own refusal. BrokerModeTests need the broker and
FAIL when it is missing: they are the contract the broker is held to."""

import http.client
import json
import os
import re
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import aggregator  # noqa: E402
import backend_fixture  # noqa: E402
import nodes  # noqa: E402
from harness import PROMPT, ClusterTestCase, pids_with_cmdline, read_until, sleeper  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# deploy/ of this tree, or another install (env LAMBDA_CNTR_DEPLOY) to try the tests against.
DEPLOY = os.environ.get("LAMBDA_CNTR_DEPLOY") or os.path.join(os.path.dirname(os.path.dirname(HERE)), "deploy")
SYSTEM_NS = "lambda-cntr-system"
GROUP_VERSION = "debug.lambda-cntr.io/v1alpha1"
VERSION_PATH = "/apis/" + GROUP_VERSION
APISERVICE = "v1alpha1.debug.lambda-cntr.io"
# The ClusterRole of deploy/ a broker-mode user is bound to in a namespace: get pods and
# create pods/exec, nothing more (README, "Installed mode (broker)").
USER_ROLE = "lambda-cntr-user"
RBAC = "rbac.authorization.k8s.io"
AGENT_LABEL = "app.kubernetes.io/name=lambda-cntr-agent"
BROKER_SA = "system:serviceaccount:%s:lambda-cntr-broker" % SYSTEM_NS
# A capsule image of the stand-in's nodes (nodes.py): its root has /capsule-marker.
CAPSULE_IMAGE = nodes.CAPSULE_IMAGE_PREFIX + ":1"
CAPSULE_POD_PREFIX = "lambda-cntr-capsule-"


def broker_binary():
    env = os.environ.get("LAMBDA_CNTR_BROKER_BIN")
    if env:
        return env
    return os.path.join(os.path.dirname(os.environ.get("LAMBDA_CNTR_BIN", "")), "lambda-cntr-broker")


def register_apiservice(server, **spec):
    """The APIService deploy/ creates, as the tests' admin creates it."""
    body = {"metadata": {"name": APISERVICE}, "spec": dict({
        "group": "debug.lambda-cntr.io", "version": "v1alpha1",
        "service": {"namespace": SYSTEM_NS, "name": "lambda-cntr-broker", "port": 443},
        "groupPriorityMinimum": 1000, "versionPriority": 15,
        "caBundle": aggregator.ca_bundle(os.path.join(server.pki, "ca.crt"))}, **spec)}
    return server.create_object("apiregistration.k8s.io/v1", "apiservices", body)


def cntr_argv(command):
    """The cntr command line of an exec into the agent: itself, or after `env NAME=VALUE...`
    (how pod mode marks its sessions); anything else (a shell...) is returned as it is and
    fails the callers' checks."""
    if command[:1] == ["env"]:
        rest = command[1:]
        while rest and re.match(r"^[A-Z_][A-Z0-9_]*=", rest[0]):
            rest = rest[1:]
        return rest
    return command


class ModeChoiceTests(ClusterTestCase):
    def setUp(self):
        super().setUp()
        self.cluster.target_pod("web")

    def discovery_requests(self):
        return [r for r in self.cluster.server.requests if r[1] == "GET" and r[2] == VERSION_PATH]

    def test_auto_mode_is_pod_mode_when_the_group_is_not_served(self):
        c = self.cluster
        c.server.throttle_next = 1  # discovery is retried like any request (429 + Retry-After)
        r = c.run("-v", "execute", "web", "--", "echo", "ok")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, b"ok\n")
        self.assertIn("mode: pod (the API server does not serve debug.lambda-cntr.io/v1alpha1", r.stderr.decode())
        self.assertEqual(len(self.discovery_requests()), 2)
        self.assertGreater(c.agent_creates(), 0)  # today's agent pod flow

    def test_auto_mode_stops_with_one_line_when_the_broker_is_registered_but_unavailable(self):
        c = self.cluster
        register_apiservice(c.server)
        r = c.run("execute", "web", "--", "echo", "ok")
        self.assertExit(r, 125)
        self.assertEqual(r.stdout, b"")
        lines = r.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("the lambda-cntr broker (APIService v1alpha1.debug.lambda-cntr.io) is registered but "
                      "unavailable (", lines[0])
        self.assertIn("HTTP 503: service unavailable)", lines[0])
        self.assertIn("--mode pod", lines[0])
        self.assertEqual(c.agent_creates(), 0)
        self.assertEqual(c.server.count("GET", r"/exec$"), 0)

    def test_mode_pod_and_its_environment_variable_skip_discovery(self):
        c = self.cluster
        register_apiservice(c.server)  # would stop auto mode
        self.assertExit(c.run("--mode", "pod", "execute", "web", "--", "true"), 0)
        self.assertExit(c.run("execute", "web", "--", "true", env={"LAMBDA_CNTR_MODE": "pod"}), 0)
        self.assertEqual(self.discovery_requests(), [])
        r = c.run("--mode", "sideways", "execute", "web", "--", "true")
        self.assertExit(r, 2)
        self.assertIn('--mode: "sideways" is not auto, pod or broker', r.stderr.decode())

    def fake_broker(self):
        """The APIService registered and served by a recording backend (not the real broker)."""
        c = self.cluster
        register_apiservice(c.server)
        backend = backend_fixture.Backend(c.pki)
        self.addCleanup(backend.stop)
        c.server.set_service_endpoint(SYSTEM_NS, "lambda-cntr-broker", backend.url)
        return backend

    def test_auto_mode_takes_the_broker_path_when_the_group_is_served(self):
        c = self.cluster
        backend = self.fake_broker()
        before = len(c.server.requests)
        r = c.run("-v", "execute", "--profile", "restricted", "-c", "main", "web", "--", "id", "-u")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout, backend_fixture.HELLO)
        self.assertIn("mode: broker (the API server serves debug.lambda-cntr.io/v1alpha1 pods/attach)",
                      r.stderr.decode())
        requests = c.server.requests[before:]
        # The pod is read with the user's rights (keep-alive, VM isolation), then the broker asked.
        self.assertEqual([(m, p) for _, m, p, _ in requests], [
            ("GET", VERSION_PATH), ("GET", "/api/v1/namespaces/default/pods/web"),
            ("GET", VERSION_PATH + "/namespaces/default/pods/web/attach")])
        query = requests[2][3]
        self.assertEqual((query["command"], query["container"], query["profile"], query["stdin"], query["tty"]),
                         (["id", "-u"], ["main"], ["restricted"], ["true"], ["false"]))
        self.assertEqual(backend.headers_of(-1, "X-Remote-User"), ["alice"])
        self.assertEqual(c.agent_creates(), 0)
        # Forced, without discovery; no command = cntr's default shell (no command= at all).
        before = len(c.server.requests)
        self.assertExit(c.run("--mode", "broker", "attach", "web", input=b""), 0)
        self.assertEqual([(p, q.get("command")) for _, _, p, q in c.server.requests[before:]],
                         [("/api/v1/namespaces/default/pods/web", None),
                          (VERSION_PATH + "/namespaces/default/pods/web/attach", None)])

    def test_a_refusal_of_the_api_server_is_its_status_on_one_line(self):
        c = self.cluster
        backend = self.fake_broker()
        c.server.add_token("tok-erin", "erin")
        r = c.run("execute", "web", "--", "true", kubeconfig=c.kubeconfig_token("tok-erin"))
        self.assertExit(r, 125)
        self.assertEqual(r.stderr.decode().splitlines(), [
            'lambda-cntr: error: pods.debug.lambda-cntr.io "web" is forbidden: User "erin" cannot get resource '
            '"pods/attach" in API group "debug.lambda-cntr.io" in the namespace "default"'])
        # Discovery is every authenticated user's (system:discovery); the attach never went out.
        self.assertEqual([s["path"] for s in backend.seen], [VERSION_PATH])


class BrokerModeTests(ClusterTestCase):
    """deploy/ applied, the broker running, user erin bound to USER_ROLE in namespace a only."""

    def setUp(self):
        binary = broker_binary()
        if not os.access(binary, os.X_OK):
            self.fail("lambda-cntr-broker is not built (%s); set LAMBDA_CNTR_BROKER_BIN" % binary)
        super().setUp()
        c = self.cluster
        self.server = c.server
        self.server.apply_manifests(DEPLOY)
        for ns in ("a", "b"):
            self.server.create_namespace({"metadata": {"name": ns}})
            c.target_pod("web", namespace=ns)
        self.bind_user("a")
        self.user_kubeconfig = c.kubeconfig_token("tok-erin", filename="kc-erin")
        self.start_broker()
        self.agent = self.wait_agent()

    # -- fixtures -------------------------------------------------------------------------------
    def bind_user(self, namespace):
        self.server.add_token("tok-erin", "erin")
        self.server.create_object("%s/v1" % RBAC, "rolebindings", {
            "metadata": {"name": "erin-debug"},
            "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": USER_ROLE},
            "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "erin"}]}, namespace)

    def start_broker(self):
        c = self.cluster
        token = self.server.service_account_token(SYSTEM_NS, "lambda-cntr-broker")
        kubeconfig = c.kubeconfig_token(token, filename="kc-broker")
        self.broker_log = []
        self.broker = subprocess.Popen(
            [broker_binary(), "--kubeconfig", kubeconfig, "--listen", "127.0.0.1:0",
             "--tls-cert", os.path.join(c.pki, "broker.crt"), "--tls-key", os.path.join(c.pki, "broker.key"), "-v"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=c.env(kubeconfig),
            bufsize=0)  # unbuffered: select() must see every line the reader has not taken
        self.addCleanup(self.stop_broker)
        address = None
        deadline = time.monotonic() + 30
        while address is None and time.monotonic() < deadline and self.broker.poll() is None:
            r, _, _ = select.select([self.broker.stderr], [], [], 0.5)
            if r:
                line = self.broker.stderr.readline().decode(errors="replace")
                self.broker_log.append(line.rstrip("\n"))
                m = re.search(r"lambda-cntr-broker: listening on (\S+:\d+)", line)
                if m:
                    address = m.group(1)
        if address is None and self.broker.poll() is not None:
            self.broker_log += self.broker.stderr.read().decode(errors="replace").splitlines()
        self.assertIsNotNone(address, "the broker never said it listens (exit %s); its log: %s"
                             % (self.broker.poll(), self.broker_log))
        threading.Thread(target=self.drain_broker_log, daemon=True).start()
        self.server.set_service_endpoint(SYSTEM_NS, "lambda-cntr-broker", "https://" + address)
        if self.server.objects.get("apiregistration.k8s.io/v1", "apiservices", None, APISERVICE) is None:
            register_apiservice(self.server)
        # --tls-cert: the broker does not patch the CA bundle; the admin's is the cluster CA.
        self.server.objects.patch("apiregistration.k8s.io/v1", "apiservices", None, APISERVICE, {"spec": {
            "caBundle": aggregator.ca_bundle(os.path.join(c.pki, "ca.crt")), "insecureSkipTLSVerify": None}})

    def drain_broker_log(self):
        for line in self.broker.stderr:
            self.broker_log.append(line.decode(errors="replace").rstrip("\n"))

    def stop_broker(self):
        if self.broker.poll() is None:
            self.broker.terminate()
            try:
                self.broker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.broker.kill()
                self.broker.wait()

    def wait_agent(self, timeout=60):
        """The DaemonSet's pod on the node, Running and Ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            items, _ = self.server.store.list(SYSTEM_NS, [lambda l: l.get("app.kubernetes.io/name") ==
                                                          "lambda-cntr-agent"], [])
            ready = [p for p in items if p["status"].get("phase") == "Running" and
                     p["metadata"].get("ownerReferences")]
            if ready:
                return ready[0]
            time.sleep(0.2)
        self.fail("no DaemonSet agent pod became Running in %s" % SYSTEM_NS)

    def run_as_user(self, *args, **kw):
        return self.cluster.run(*args, kubeconfig=self.user_kubeconfig, **kw)

    def pods_created(self, namespace):
        return [n for ns, n in self.server.store.creates if ns == namespace]

    def agent_execs(self):
        """(pod name, query) of every pods/exec in lambda-cntr-system (the broker's)."""
        found = []
        for user, method, path, query in self.server.requests:
            m = re.match(r"^/api/v1/namespaces/%s/pods/([^/]+)/exec$" % SYSTEM_NS, path)
            if m:
                found.append((m.group(1), user, query))
        return found

    # -- scenarios ------------------------------------------------------------------------------
    def test_the_user_role_grants_get_pods_and_create_pods_exec_only(self):
        allowed = []
        for verb, resource, sub in (("get", "pods", ""), ("create", "pods", "exec"), ("list", "pods", ""),
                                    ("create", "pods", ""), ("delete", "pods", ""), ("get", "pods", "exec"),
                                    ("create", "pods", "attach"), ("create", "pods", "ephemeralcontainers"),
                                    ("patch", "pods", "ephemeralcontainers")):
            review = self.server.subject_access_review({"spec": {"user": "erin", "groups": ["system:authenticated"],
                                                                 "resourceAttributes": {
                "namespace": "a", "verb": verb, "resource": resource, "subresource": sub, "name": "web"}}})
            if review["status"]["allowed"]:
                allowed.append((verb, resource + ("/" + sub if sub else "")))
        self.assertEqual(allowed, [("get", "pods"), ("create", "pods/exec")])

    def test_attach_in_the_granted_namespace_and_refusal_in_the_other(self):
        r = self.run_as_user("-n", "a", "execute", "web", "--", "sh", "-c", "echo hello from $(hostname); exit 3")
        self.assertExit(r, 3)
        self.assertEqual(r.stdout, b"hello from web\n")
        r = self.run_as_user("-n", "b", "execute", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertEqual(r.stderr.decode().splitlines(), [
            'lambda-cntr: error: pods "web" is forbidden: User "erin" cannot create resource "pods/exec" in API '
            'group "" in the namespace "b"'])
        for ns in ("a", "b"):
            self.assertEqual(self.pods_created(ns), ["web"])
            pod = self.server.store.get(ns, "web")
            self.assertNotIn("ephemeralContainers", pod["spec"])
        self.assertEqual(self.pods_created(SYSTEM_NS), [self.agent["metadata"]["name"]])

    def test_node_sessions_go_through_the_broker_and_need_create_nodes_attach(self):
        r = self.run_as_user("node", "node-1", "--", "true")
        self.assertExit(r, 125)
        self.assertEqual(r.stderr.decode().splitlines(), [
            'lambda-cntr: error: nodes "node-1" is forbidden: User "erin" cannot create resource "nodes/attach" '
            'in API group "debug.lambda-cntr.io" at the cluster scope'])
        paths = [p for _, _, p, _ in self.server.requests if "/nodes/" in p]
        self.assertIn("/apis/debug.lambda-cntr.io/v1alpha1/nodes/node-1/attach", paths)
        self.assertEqual(self.pods_created(SYSTEM_NS), [self.agent["metadata"]["name"]], "no agent of its own")

    def test_a_terminal_session_through_the_broker(self):
        status, seen = self.cluster.run_pty_steps(
            ["--kubeconfig", self.user_kubeconfig, "-n", "a", "attach", "web"],
            [(PROMPT, b"echo $((6*7))\r"), (rb"42", b"exit 5\r")])
        self.assertEqual(status, 5, seen)
        self.assertIn("42", seen)

    def test_the_local_terminal_type_reaches_the_session_through_the_broker(self):
        # Without it the session would see the TERM=xterm containerd's CRI gives every tty exec.
        status, screen = self.cluster.run_in_pty(
            ["--kubeconfig", self.user_kubeconfig, "-n", "a", "attach", "web"], ['echo "term=$TERM="; exit 0'],
            term="screen-256color")
        self.assertEqual(status, 0, screen)
        self.assertIn("term=screen-256color=", screen)
        commands = [q.get("command", []) for _, _, q in self.agent_execs()]
        # TERM first, then the agent's audit line (one `env`), then cntr
        self.assertTrue(any(c[:2] == ["env", "TERM=screen-256color"] and c[2].startswith("LAMBDA_CNTR_AUDIT=")
                            and c[3:7] == ["cntr", "attach", "-t", "id"] for c in commands), commands)

    def grant_erin(self, name, rules, namespace=None):
        """Rights beyond USER_ROLE: a Role in namespace, or a ClusterRole when None."""
        kind = "Role" if namespace else "ClusterRole"
        plural = "roles" if namespace else "clusterroles"
        self.server.create_object("%s/v1" % RBAC, plural, {"metadata": {"name": name}, "rules": rules}, namespace)
        self.server.create_object("%s/v1" % RBAC, plural[:-1] + "bindings", {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC, "kind": kind, "name": name},
            "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "erin"}]}, namespace)

    def test_a_vm_isolated_pod_is_named_and_takes_the_ephemeral_fallback_with_the_users_rights(self):
        self.server.objects.put("node.k8s.io/v1", "runtimeclasses", {"metadata": {"name": "kata"},
                                                                     "handler": "kata-qemu"})
        self.grant_erin("read-runtimeclasses", [{"apiGroups": ["node.k8s.io"], "resources": ["runtimeclasses"],
                                                 "verbs": ["get"]}])
        self.cluster.target_pod("vm", namespace="a", runtimeClassName="kata")
        r = self.run_as_user("-n", "a", "execute", "vm", "--", "true")
        self.assertExit(r, 125)
        self.assertIn("pod a/vm runs inside a Kata Containers VM (RuntimeClass kata, handler kata-qemu)",
                      r.stderr.decode())
        self.assertIn("--fallback ephemeral", r.stderr.decode())
        self.assertEqual(self.agent_execs(), [], "cntr cannot enter it: nothing goes to the agent")
        # kubectl debug's rights on the pod, and the fallback runs beside the target.
        self.grant_erin("debug-pods", [{"apiGroups": [""], "resources": ["pods/ephemeralcontainers"],
                                        "verbs": ["patch"]},
                                       {"apiGroups": [""], "resources": ["pods/attach"], "verbs": ["create"]},
                                       {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}], "a")
        r = self.run_as_user("-n", "a", "execute", "--fallback", "ephemeral", "vm", "--", "sh", "-c", "exit 7")
        self.assertExit(r, 7)
        eph = self.server.store.get("a", "vm")["spec"].get("ephemeralContainers") or []
        self.assertEqual([e["command"] for e in eph], [["sh", "-c", "exit 7"]])
        self.assertEqual(self.agent_execs(), [])

    def test_a_knative_function_is_kept_alive_with_the_users_rights_or_a_warning_says_why_not(self):
        min_scale = "autoscaling.knative.dev/min-scale"
        self.server.objects.put("serving.knative.dev/v1", "revisions",
                                {"metadata": {"name": "hello-00001", "annotations": {min_scale: "0"}}}, "a")
        self.server.create_pod({"metadata": {"name": "hello", "labels": {"serving.knative.dev/revision": "hello-00001"}},
                                "spec": {"containers": [sleeper("main")]}}, "a")
        self.server.wait_pod("a", "hello", lambda p: p and p["status"].get("phase") == "Running")
        r = self.run_as_user("-n", "a", "execute", "hello", "--", "true")
        self.assertExit(r, 0)
        self.assertIn("it may scale to zero during the session (RBAC: get, patch)", r.stderr.decode())
        self.grant_erin("keep-alive", [{"apiGroups": ["serving.knative.dev"], "resources": ["revisions"],
                                        "verbs": ["get", "patch"]}], "a")
        proc = self.cluster.start("-n", "a", "execute", "hello", "--", "sleep", "3", kubeconfig=self.user_kubeconfig)
        deadline = time.monotonic() + 30
        seen = None
        while time.monotonic() < deadline and seen is None:
            rev = self.server.objects.get("serving.knative.dev/v1", "revisions", "a", "hello-00001")
            if rev["metadata"]["annotations"].get(min_scale) == "1":
                seen = rev
            time.sleep(0.05)
        self.assertIsNotNone(seen, "the revision was never kept alive")
        self.assertEqual(proc.wait(timeout=60), 0, proc.stderr.read())
        rev = self.server.objects.get("serving.knative.dev/v1", "revisions", "a", "hello-00001")
        self.assertEqual(rev["metadata"]["annotations"].get(min_scale), "0", "restored after the session")

    def test_a_planted_look_alike_agent_is_never_used(self):
        template = self.server.objects.get("apps/v1", "daemonsets", SYSTEM_NS, "lambda-cntr-agent")["spec"]["template"]
        self.server.create_pod({"metadata": {"name": "lambda-cntr-agent-zzzzz",
                                             "labels": dict(template["metadata"]["labels"])},
                                "spec": json.loads(json.dumps(template["spec"]))}, SYSTEM_NS)
        self.server.wait_pod(SYSTEM_NS, "lambda-cntr-agent-zzzzz", lambda p: p["status"].get("phase") == "Running")
        for _ in range(3):
            r = self.run_as_user("-n", "a", "execute", "web", "--", "echo", "ok")
            self.assertExit(r, 0)
        execs = self.agent_execs()
        self.assertTrue(execs)
        self.assertEqual({name for name, _, _ in execs}, {self.agent["metadata"]["name"]})
        self.assertEqual({user for _, user, _ in execs}, {"system:serviceaccount:%s:lambda-cntr-broker" % SYSTEM_NS})

    def test_no_request_yields_a_shell_in_the_agent(self):
        self.assertExit(self.run_as_user("-n", "a", "execute", "web", "--", "true"), 0)
        execs = self.agent_execs()
        self.assertTrue(execs)
        for _, _, query in execs:
            command = cntr_argv(query.get("command", []))
            self.assertEqual(command[:4], ["cntr", "attach", "-t", "id"], query)

    def test_events_record_who_started_and_ended_a_session(self):
        self.assertExit(self.run_as_user("-n", "a", "execute", "web", "--", "true"), 0)
        deadline = time.monotonic() + 10
        events = []
        while time.monotonic() < deadline:
            events = self.server.list_events("a", "involvedObject.name=web")
            if {"DebugSessionStarted", "DebugSessionEnded"} <= {e["reason"] for e in events}:
                break
            time.sleep(0.1)
        by_reason = {e["reason"]: e for e in events}
        self.assertEqual(set(by_reason) & {"DebugSessionStarted", "DebugSessionEnded"},
                         {"DebugSessionStarted", "DebugSessionEnded"}, events)
        started = by_reason["DebugSessionStarted"]
        self.assertEqual((started["type"], started["involvedObject"]["kind"]), ("Normal", "Pod"))
        self.assertEqual(started["message"], 'user "erin" attached to container "main" with profile "general"')
        self.assertIn('user "erin"', by_reason["DebugSessionEnded"]["message"])
        self.assertTrue(any("DebugSessionStarted" in line and "erin" in line for line in self.broker_log),
                        self.broker_log)

    def agent_log(self):
        """GET pods/AGENT/log in lambda-cntr-system through the stand-in, as an admin would
        (`kubectl logs -n lambda-cntr-system AGENT`): lines."""
        ctx = ssl.create_default_context(cafile=os.path.join(self.cluster.pki, "ca.crt"))
        ctx.load_cert_chain(os.path.join(self.cluster.pki, "alice.crt"), os.path.join(self.cluster.pki, "alice.key"))
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=ctx)
        try:
            conn.request("GET", "/api/v1/namespaces/%s/pods/%s/log" % (SYSTEM_NS, self.agent["metadata"]["name"]))
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        self.assertEqual(resp.status, 200, body)
        return body.decode(errors="replace").splitlines()

    def test_the_agents_log_records_who_ran_which_session_and_how_it_ended(self):
        self.assertEqual(self.agent_log(), [])
        self.assertExit(self.run_as_user("-n", "a", "execute", "web", "--", "sh", "-c", "exit 3"), 3)
        self.assertExit(self.run_as_user("-n", "a", "execute", "--profile", "restricted", "web", "--", "true"), 0)
        # Written by the sessions on the node, not by the broker: its log can be gone.
        self.stop_broker()
        log = self.agent_log()
        self.assertEqual(len(log), 4, log)
        for (started, ended), profile, status in zip((log[0:2], log[2:4]), ("general", "restricted"), (3, 0)):
            what = ('user "erin" on pod "a/web" container "main" with profile "%s", broker "%s"'
                    % (profile, socket.gethostname()))
            self.assertEqual(started, "lambda-cntr agent: audit: session started: " + what)
            self.assertRegex(ended, "^" + re.escape("lambda-cntr agent: audit: session ended: %s: exit status %d after "
                                                    % (what, status)) + r"\d+\.\ds$")

    def test_profile_restricted_reaches_cntr(self):
        r = self.run_as_user("-n", "a", "execute", "--profile", "restricted", "web", "--",
                             "sh", "-c", "grep CapEff /proc/self/status")
        self.assertExit(r, 0)
        self.assertEqual(r.stdout.split(), [b"CapEff:", b"0000000000000000"])
        self.assertTrue(any(cntr_argv(q.get("command", []))[:2] == ["cntr", "attach"] and
                            "restricted" in q.get("command", []) for _, _, q in self.agent_execs()))

    def test_a_profile_refused_by_the_configmap_is_named(self):
        self.server.create_object("v1", "configmaps", {"metadata": {"name": "lambda-cntr-profiles"},
                                                       "data": {"a": "general,restricted"}}, SYSTEM_NS)
        r = self.run_as_user("-n", "a", "execute", "--profile", "sysadmin", "web", "--", "true")
        self.assertExit(r, 125)
        self.assertEqual(r.stderr.decode().splitlines(), [
            'lambda-cntr: error: profile "sysadmin" is not allowed in namespace "a" by '
            'lambda-cntr-system/lambda-cntr-profiles'])
        self.assertExit(self.run_as_user("-n", "a", "execute", "--profile", "restricted", "web", "--", "true"), 0)

    # -- capsule runs through the broker (issue 9) -----------------------------------------------
    def capsule_as_user(self, *args, kubeconfig=None):
        return self.cluster.run("capsule", "run", *args, kubeconfig=kubeconfig or self.user_kubeconfig, timeout=120)

    def pod_posts_since(self, before):
        """(user, namespace) of every POST of a pod since request index before."""
        return [(user, re.match(r"^/api/v1/namespaces/([^/]+)/pods$", path).group(1))
                for user, method, path, _ in self.server.requests[before:]
                if method == "POST" and re.match(r"^/api/v1/namespaces/[^/]+/pods$", path)]

    def capsule_pods_left(self, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            left = [n for ns in (SYSTEM_NS, "a", "b") for n in
                    (p["metadata"]["name"] for p in self.server.store.list(ns, [], [])[0])
                    if n.startswith(CAPSULE_POD_PREFIX)]
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    def capsule_lines(self, stream, target):
        prefix = "[%s] " % target
        return [line[len(prefix):] for line in stream.decode().splitlines() if line.startswith(prefix)]

    def test_capsule_run_goes_through_the_broker_with_attach_rights_only(self):
        before = len(self.server.requests)
        r = self.capsule_as_user("-v", "-n", "a", CAPSULE_IMAGE, "web", "--", "sh", "-c",
                                 "cat /capsule-marker; hostname")
        self.assertExit(r, 0)
        self.assertEqual(self.capsule_lines(r.stdout, "a/web/main"), [nodes.CAPSULE_MARKER.strip(), "web"],
                         r.stderr.decode())
        self.assertIn("mode: broker (the API server serves debug.lambda-cntr.io/v1alpha1 nodes/capsule)",
                      r.stderr.decode())
        self.assertRegex(r.stderr.decode(), r"a/web/main\s+node-1\s+0\s")
        # One request to the broker; every pod made since is the broker's capsule pod, made in
        # its namespace with its ServiceAccount; erin made nothing.
        capsule_paths = [(u, p) for u, m, p, _ in self.server.requests[before:] if p.endswith("/capsule")]
        self.assertEqual(capsule_paths, [("erin", VERSION_PATH + "/nodes/node-1/capsule")])
        self.assertEqual(self.pod_posts_since(before), [(BROKER_SA, SYSTEM_NS)])
        self.assertEqual(self.capsule_pods_left(), [])
        # The agent ran the pod mode's command, by the DaemonSet's agent, as the broker.
        execs = [(u, q) for u, m, p, q in self.server.requests[before:] if p.endswith("/exec")]
        self.assertEqual([u for u, _ in execs], [BROKER_SA])
        self.assertEqual(cntr_argv(execs[0][1]["command"])[:6], ["cntr", "capsule", "run", "-t", "id", "--json"])
        # Audit: an Event per target pod and the broker's log lines.
        deadline = time.monotonic() + 10
        reasons = {}
        while time.monotonic() < deadline and not {"CapsuleRunStarted", "CapsuleRunEnded"} <= set(reasons):
            reasons = {e["reason"]: e for e in self.server.list_events("a", "involvedObject.name=web")}
            time.sleep(0.1)
        self.assertEqual(reasons["CapsuleRunStarted"]["message"],
                         'user "erin" started capsule image "%s" in container "main" with profile "general"'
                         % CAPSULE_IMAGE)
        self.assertIn("ended: the node's run exited 0", reasons["CapsuleRunEnded"]["message"])
        self.assertTrue(any("audit: CapsuleRunStarted a/web" in line for line in self.broker_log), self.broker_log)

    def test_the_installed_caplet_runs_capsules_through_the_broker_with_its_own_rights_only(self):
        """deploy/70-caplet.yaml's Deployment, run here as its ServiceAccount with its command."""
        import yaml
        with open(os.path.join(DEPLOY, "70-caplet.yaml")) as f:
            deployment = next(d for d in yaml.safe_load_all(f) if d["kind"] == "Deployment")
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container["command"][0], "/usr/local/bin/lambda-cntr")
        sa = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        kubeconfig = self.cluster.kubeconfig_token(self.server.service_account_token(SYSTEM_NS, sa),
                                                   filename="kc-caplet")
        self.server.objects.put("lambda-cntr.io/v1alpha1", "capsules", {
            "metadata": {"name": "marker"},
            "spec": {"image": CAPSULE_IMAGE, "schedule": "@every 1s", "command": ["cat", "/capsule-marker"],
                     "selector": {"matchLabels": {"app": "web"}}}}, "a")
        before = len(self.server.requests)
        caplet = self.cluster.start(*(container["command"][1:] + ["--interval", "1s", "-v"]), kubeconfig=kubeconfig,
                                    env={"POD_NAMESPACE": SYSTEM_NS})
        deadline = time.monotonic() + 60
        run = None
        while time.monotonic() < deadline and not run:
            obj = self.server.objects.get("lambda-cntr.io/v1alpha1", "capsules", "a", "marker")
            run = (obj.get("status") or {}).get("lastRun")
            time.sleep(0.2)
        caplet.send_signal(signal.SIGTERM)
        _, err = caplet.communicate(timeout=60)
        self.assertEqual(caplet.returncode, 0, err.decode())
        self.assertIsNotNone(run, "no run recorded; the caplet said: %s" % err.decode())
        self.assertEqual(run["result"], "Succeeded", run)
        self.assertEqual([(t["target"], t["exit"], t["outputTail"]) for t in run["targets"]],
                         [("a/web/main", 0, nodes.CAPSULE_MARKER)])
        self.assertIn("mode: broker", err.decode())
        caplet_user = "system:serviceaccount:%s:%s" % (SYSTEM_NS, sa)
        self.assertEqual([p for u, m, p, _ in self.server.requests[before:] if u == caplet_user and m == "POST"
                          and p.endswith("/pods")], [], "the caplet made a pod itself")
        self.assertTrue(any(u == caplet_user and p.endswith("/nodes/node-1/capsule")
                            for u, _, p, _ in self.server.requests[before:]))
        lease = self.server.objects.get("coordination.k8s.io/v1", "leases", SYSTEM_NS, "lambda-cntr-caplet")
        self.assertEqual(lease["spec"]["holderIdentity"], "", "handed on at SIGTERM")

    def test_capsule_run_on_a_pod_the_user_may_not_exec_is_refused_before_anything_is_made(self):
        # erin may read pods in b (so the client lists its target) but not exec them.
        self.grant_erin("read-pods", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}], "b")
        before = len(self.server.requests)
        r = self.capsule_as_user("-n", "b", CAPSULE_IMAGE, "web", "--", "cat", "/capsule-marker")
        self.assertExit(r, 1)
        err = r.stderr.decode()
        self.assertEqual(self.capsule_lines(r.stderr, "b/web/main"), [
            'not run: node node-1: pods "web" is forbidden: User "erin" cannot create resource "pods/exec" in API '
            'group "" in the namespace "b"'], err)
        self.assertRegex(err, r"b/web/main\s+node-1\s+not run")
        self.assertEqual(self.pod_posts_since(before), [])
        self.assertEqual([p for _, m, p, _ in self.server.requests[before:] if p.endswith("/exec")], [])
        # Without any right in the namespace the API server refuses the listing itself.
        r = self.capsule_as_user("-n", "b", CAPSULE_IMAGE, "-l", "app=web", "--", "true")
        self.assertExit(r, 125)
        self.assertIn('cannot list resource "pods"', r.stderr.decode())

    def test_a_capsule_image_that_cannot_be_pulled_is_reported_per_target_with_the_kubelets_reason(self):
        self.server.kubelet.kubelets["node-1"].missing_image_prefixes.append(CAPSULE_IMAGE)
        r = self.capsule_as_user("-n", "a", CAPSULE_IMAGE, "web", "--", "cat", "/capsule-marker")
        self.assertExit(r, 1)
        lines = self.capsule_lines(r.stderr, "a/web/main")
        self.assertEqual(len(lines), 1, r.stderr.decode())
        self.assertTrue(lines[0].startswith("not run: node node-1: the capsule pod cannot run: capsule image %s: "
                                            "Waiting: " % CAPSULE_IMAGE), lines[0])
        self.assertRegex(lines[0], r"ErrImagePull|ImagePullBackOff")
        self.assertIn("not found", lines[0])  # the kubelet's message
        self.assertRegex(r.stderr.decode(), r"a/web/main\s+node-1\s+not run")
        self.assertEqual(self.capsule_pods_left(), [])

    def test_capsule_run_in_pod_mode_still_works_with_the_pod_mode_role(self):
        self.server.apply_manifests(os.path.join(DEPLOY, "pod-mode", "rbac.yaml"))
        self.server.add_token("tok-pat", "pat")
        for ns in ("a", SYSTEM_NS):
            self.server.create_object("%s/v1" % RBAC, "rolebindings", {
                "metadata": {"name": "pat-pod-mode"},
                "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "lambda-cntr-pod-mode-user"},
                "subjects": [{"apiGroup": RBAC, "kind": "User", "name": "pat"}]}, ns)
        before = len(self.server.requests)
        r = self.capsule_as_user("--mode", "pod", "-n", "a", CAPSULE_IMAGE, "web", "--", "cat", "/capsule-marker",
                                 kubeconfig=self.cluster.kubeconfig_token("tok-pat", filename="kc-pat"))
        self.assertExit(r, 0)
        self.assertEqual(self.capsule_lines(r.stdout, "a/web/main"), [nodes.CAPSULE_MARKER.strip()])
        self.assertEqual([p for _, _, p, _ in self.server.requests[before:] if p.endswith("/capsule")], [])
        posts = self.pod_posts_since(before)
        self.assertEqual({u for u, _ in posts}, {"pat"})  # its own agent and capsule pod
        self.assertEqual(len(posts), 2, posts)
        self.assertEqual(self.capsule_pods_left(), [])

    def test_ctrl_c_ends_the_capsule_in_the_agent_and_removes_the_capsule_pod(self):
        proc = self.cluster.start("capsule", "run", "-n", "a", CAPSULE_IMAGE, "web", "--", "sh", "-c",
                                  "echo started; sleep 31338", kubeconfig=self.user_kubeconfig)
        self.assertIn(b"[a/web/main] started", read_until(proc.stdout, b"started"))
        self.assertTrue(pids_with_cmdline(b"sleep\x0031338"))
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 130, err.decode())
        self.assertEqual(self.capsule_pods_left(), [])
        # A closed exec stream does not end cntr in the agent: the broker ends its session.
        deadline = time.monotonic() + 15
        while pids_with_cmdline(b"sleep\x0031338") and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(pids_with_cmdline(b"sleep\x0031338"), [], "the capsule's command must end too")
        ends = [q["command"] for u, m, p, q in self.server.requests if p.endswith("/exec") and
                "end-session" in q.get("command", [])]
        self.assertEqual(len(ends), 1, self.broker_log)


if __name__ == "__main__":
    unittest.main()
