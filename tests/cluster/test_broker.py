#!/usr/bin/python3
"""lambda-cntr-broker against the API stand-in, the test itself playing the aggregating API
server's front proxy: it connects to the broker over TLS with a front-proxy client certificate
(or none, or one from another CA), says who the user is in X-Remote-User / X-Remote-Group, and
speaks the exec channel protocol over the WebSocket the broker relays to the agent pod's
`pods/exec` through the stand-in. The agent pod belongs to a DaemonSet stored in the stand-in;
it runs the real cntr on this host, the target is a real runc container."""

import base64
import json
import os
import re
import secrets
import select
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402

NS = "lambda-cntr-system"
BROKER_USER = "system:serviceaccount:lambda-cntr-system:lambda-cntr-broker"
GROUP_PATH = "/apis/debug.lambda-cntr.io/v1alpha1"
RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "debug.lambda-cntr.io/v1alpha1",
             "resources": [{"name": "pods/attach", "singularName": "", "namespaced": True,
                            "kind": "PodAttachOptions", "verbs": ["create", "get"]},
                           {"name": "nodes/attach", "singularName": "", "namespaced": False,
                            "kind": "NodeAttachOptions", "verbs": ["create", "get"]},
                           {"name": "nodes/capsule", "singularName": "", "namespaced": False,
                            "kind": "NodeCapsuleOptions", "verbs": ["create", "get"]}]}


def broker_bin_or_skip():
    path = os.environ.get("BROKER_BIN") or os.path.join(
        os.path.dirname(os.environ.get("LAMBDA_CNTR_BIN", "")), "lambda-cntr-broker")
    if not os.access(path, os.X_OK):
        if os.environ.get("CI") == "true":
            sys.exit("lambda-cntr-broker is not built (%s)" % path)
        print("SKIP: lambda-cntr-broker is not built (%s)" % path)
        sys.exit(harness.SKIP)
    return path


def start_cluster(test):
    """The stand-in with its PKI and the broker's namespace, closed with the test."""
    test.broker_bin = broker_bin_or_skip()
    test.c = harness.Cluster()
    test.addCleanup(test.c.close)
    subprocess.run(["sh", os.path.join(HERE, "mkcerts.sh"), test.c.pki], check=True)
    test.server = test.c.server
    test.server.store.namespaces.add(NS)


def put_front_proxy_settings(server, pki):
    """kube-system/extension-apiserver-authentication as the API server publishes it: the
    front-proxy CA of mkcerts.sh, its client's name and the request headers."""
    with open(os.path.join(pki, "front-proxy-ca.crt")) as f:
        ca = f.read()
    put_configmap(server, "kube-system", "extension-apiserver-authentication", {
        "requestheader-client-ca-file": ca,
        "requestheader-allowed-names": '["front-proxy-client"]',
        "requestheader-username-headers": '["X-Remote-User"]',
        "requestheader-group-headers": '["X-Remote-Group"]',
        "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]'})


class Reply:
    def __init__(self, code, headers, body, sock=None, rest=b""):
        self.code, self.headers, self.body, self.sock, self.rest = code, headers, body, sock, rest

    def json(self):
        return json.loads(self.body)


class FrontProxy:
    """What kube-apiserver's aggregator does towards the broker, by hand."""

    def __init__(self, port, pki, cert="front-proxy-client", ca_pem=None, server_name="localhost"):
        self.port, self.pki, self.cert = port, pki, cert
        self.ca_pem, self.server_name = ca_pem, server_name

    def connect(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.ca_pem:
            ctx.load_verify_locations(cadata=self.ca_pem)
        else:
            ctx.load_verify_locations(os.path.join(self.pki, "ca.crt"))  # the broker serves server.crt
        if self.cert:
            ctx.load_cert_chain(os.path.join(self.pki, self.cert + ".crt"), os.path.join(self.pki, self.cert + ".key"))
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        return ctx.wrap_socket(raw, server_hostname=self.server_name)

    def request(self, path, user="alice", groups=("system:authenticated",), upgrade=False,
                protocols=("v5.channel.k8s.io", "v4.channel.k8s.io")):
        sock = self.connect()
        lines = ["GET %s HTTP/1.1" % path, "Host: 127.0.0.1:%d" % self.port]
        if user:
            lines.append("X-Remote-User: %s" % user)
        lines += ["X-Remote-Group: %s" % g for g in groups]
        if upgrade:
            lines += ["Upgrade: websocket", "Connection: Upgrade",
                      "Sec-WebSocket-Key: %s" % base64.b64encode(secrets.token_bytes(16)).decode(),
                      "Sec-WebSocket-Version: 13"]
            if protocols:
                lines.append("Sec-WebSocket-Protocol: %s" % ", ".join(protocols))
        else:
            lines.append("Connection: close")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode().split("\r\n")
        code = int(status_line.split()[1])
        headers = {}
        for line in header_lines:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if code == 101:
            return Reply(code, headers, b"", sock, rest)
        length = int(headers.get("content-length", "-1"))
        while length < 0 or len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        sock.close()
        return Reply(code, headers, rest[:length] if length >= 0 else rest)


class Ws:
    """The client end of the exec channel protocol over an upgraded socket."""

    def __init__(self, reply):
        self.sock, self.buf = reply.sock, bytearray(reply.rest)
        self.protocol = reply.headers.get("sec-websocket-protocol")

    def send(self, opcode, payload):
        mask = secrets.token_bytes(4)
        n = len(payload)
        header = bytes([0x80 | opcode])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def frame(self, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 2:
                op, n, pos = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
                assert not self.buf[1] & 0x80, "the broker must not mask its frames"
                if n == 126 and len(self.buf) >= 4:
                    n, pos = struct.unpack("!H", self.buf[2:4])[0], 4
                elif n == 127 and len(self.buf) >= 10:
                    n, pos = struct.unpack("!Q", self.buf[2:10])[0], 10
                if n < 126 or pos > 2:
                    if len(self.buf) >= pos + n:
                        payload = bytes(self.buf[pos:pos + n])
                        del self.buf[:pos + n]
                        return op, payload
            left = deadline - time.monotonic()
            if left <= 0 or not (self.sock.pending() or select.select([self.sock], [], [], left)[0]):
                raise TimeoutError("no frame from the broker")
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk

    def run(self, stdin=b"", timeout=60):
        """Send stdin (then close stream 0 on v5), collect stdout/stderr until the status."""
        if stdin:
            self.send(2, b"\x00" + stdin)
        if self.protocol == "v5.channel.k8s.io":
            self.send(2, b"\xff\x00")
        out, err, status, close = b"", b"", None, None
        while True:
            f = self.frame(timeout)
            if f is None:
                break
            op, payload = f
            if op == 8:
                close = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                break
            if op != 2 or not payload:
                continue
            ch, data = payload[0], payload[1:]
            if ch == 1:
                out += data
            elif ch == 2:
                err += data
            elif ch == 3 and data:
                status = json.loads(data)
                self.send(8, struct.pack("!H", 1000))
        self.sock.close()
        return out, err, status, close


def exit_code(status):
    if status.get("status") == "Success":
        return 0
    return int(next(c["message"] for c in status["details"]["causes"] if c["reason"] == "ExitCode"))


def put_configmap(server, namespace, name, data):
    """Create or replace a ConfigMap in the stand-in."""
    try:
        server.objects.delete("v1", "configmaps", namespace, name)
    except Exception:
        pass
    server.objects.put("v1", "configmaps", {"metadata": {"name": name}, "data": data}, namespace)


class BrokerTest(unittest.TestCase):
    def setUp(self):
        start_cluster(self)
        self.server.tokens["tok-broker"] = BROKER_USER
        # The users of these tests may do anything; forbid() and sar_denied take rights away.
        self.server.objects.put("rbac.authorization.k8s.io/v1", "clusterrolebindings", {
            "metadata": {"name": "test-users-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": u}
                         for u in ("alice", "bob")]})
        put_front_proxy_settings(self.server, self.c.pki)
        self.ds = self.server.objects.put("apps/v1", "daemonsets", {
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "lambda-cntr-agent", "namespace": NS},
            "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "lambda-cntr-agent"}}}}, NS)
        self.agent = self.agent_pod("lambda-cntr-agent-x7k2p", owner_uid=self.ds["metadata"]["uid"])
        self.target = self.c.target_pod("web")
        self.broker, self.port = self.start_broker()
        self.proxy = FrontProxy(self.port, self.c.pki)

    # -- fixtures -----------------------------------------------------------------------------
    def agent_pod(self, name, owner_uid=None, owner_name="lambda-cntr-agent"):
        meta = {"name": name, "labels": {"app.kubernetes.io/name": "lambda-cntr-agent"}}
        if owner_uid:
            meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": owner_name,
                                        "uid": owner_uid, "controller": True, "blockOwnerDeletion": True}]
        self.server.create_pod({"metadata": meta, "spec": {
            "nodeName": "node-1", "hostPID": True, "tolerations": [{"operator": "Exists"}],
            "containers": [{"name": "agent", "image": "lambda-cntr-agent:0.1.0", "command": ["cntr", "agent", "idle"],
                            # as deploy/daemonset.yaml sets them (the stand-in has no downward API)
                            "env": [{"name": "LAMBDA_CNTR_AGENT", "value": name},
                                    {"name": "LAMBDA_CNTR_IDLE_SECONDS", "value": "never"},
                                    {"name": "LAMBDA_CNTR_RUN_DIR", "value": "/run/lambda-cntr"}],
                            "volumeMounts": [{"name": "run", "mountPath": "/run/lambda-cntr"}],
                            "securityContext": {"privileged": True, "readOnlyRootFilesystem": True}}],
            "volumes": [{"name": "run", "emptyDir": {"medium": "Memory", "sizeLimit": "1Mi"}}]}}, NS)
        return self.server.wait_pod(NS, name, lambda p: p and p["status"].get("phase") == "Running")

    def start_broker(self, given_cert=True):
        kc = self.c.kubeconfig_token("tok-broker", filename="kc-broker")
        self.broker_log = open(os.path.join(self.c.tmp, "broker.log"), "w+")
        tls = ["--tls-cert", os.path.join(self.c.pki, "server.crt"),
               "--tls-key", os.path.join(self.c.pki, "server.key")] if given_cert else []
        proc = subprocess.Popen([self.broker_bin, "--kubeconfig", kc, "--listen", "127.0.0.1:0", "-v"] + tls,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.broker_log)
        self.addCleanup(self.stop_broker, proc)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            m = re.search(r"^lambda-cntr-broker: listening on 127\.0\.0\.1:(\d+)$", self.log(), re.M)
            if m:
                return proc, int(m.group(1))
            if proc.poll() is not None:
                self.fail("the broker exited with %s: %s" % (proc.returncode, self.log()))
            time.sleep(0.05)
        self.fail("the broker never said it listens: %s" % self.log())

    def stop_broker(self, proc):
        """SIGTERM, and it must end cleanly (0; in the sanitizer build: no leak, no error)."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log = self.log() if not self.broker_log.closed else ""
        self.broker_log.close()
        self.assertEqual(proc.returncode, 0, "the broker did not end cleanly: %s" % log[-3000:])

    def log(self):
        self.broker_log.flush()
        with open(self.broker_log.name) as f:
            return f.read()

    def attach_path(self, pod="web", ns="default", command=None, **query):
        q = [("container", "main"), ("stdin", "true"), ("stdout", "true"), ("stderr", "true"), ("tty", "false")]
        q += [(k, v) for k, v in query.items()]
        q += [("command", c) for c in command or []]
        return "%s/namespaces/%s/pods/%s/attach?%s" % (GROUP_PATH, ns, pod, urllib.parse.urlencode(q))

    def agent_execs(self, agent):
        return self.server.count("GET", r"^/api/v1/namespaces/%s/pods/%s/exec$" % (NS, agent))

    # -- authentication -----------------------------------------------------------------------
    def test_discovery_answers_the_contracts_resource_list(self):
        reply = self.proxy.request(GROUP_PATH)
        self.assertEqual(reply.code, 200, reply.body)
        self.assertEqual(reply.json(), RESOURCES)
        group = self.proxy.request("/apis/debug.lambda-cntr.io")
        self.assertEqual(group.json()["preferredVersion"]["groupVersion"], "debug.lambda-cntr.io/v1alpha1")

    def test_own_serving_certificate_is_published_in_the_apiservice(self):
        self.stop_broker(self.broker)
        self.server.objects.put("apiregistration.k8s.io/v1", "apiservices", {
            "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": "v1alpha1.debug.lambda-cntr.io"},
            "spec": {"group": "debug.lambda-cntr.io", "version": "v1alpha1", "groupPriorityMinimum": 1000,
                     "versionPriority": 15, "service": {"namespace": NS, "name": "lambda-cntr-broker", "port": 443}}})
        broker, port = self.start_broker(given_cert=False)
        api = self.server.objects.get("apiregistration.k8s.io/v1", "apiservices", None, "v1alpha1.debug.lambda-cntr.io")
        ca = base64.b64decode(api["spec"]["caBundle"]).decode()
        self.assertIn("-----BEGIN CERTIFICATE-----", ca)
        self.assertEqual(api["spec"]["service"]["name"], "lambda-cntr-broker")  # a merge patch
        # What the API server does: trust caBundle, check the Service's DNS name.
        proxy = FrontProxy(port, self.c.pki, ca_pem=ca, server_name="lambda-cntr-broker.lambda-cntr-system.svc")
        self.assertEqual(proxy.request(GROUP_PATH).json(), RESOURCES)
        with self.assertRaises(ssl.SSLCertVerificationError):
            FrontProxy(port, self.c.pki, ca_pem=ca, server_name="evil.example").request(GROUP_PATH)
        with self.assertRaises(ssl.SSLCertVerificationError):
            FrontProxy(port, self.c.pki).request(GROUP_PATH)  # not the cluster CA's certificate

    def test_without_front_proxy_settings_the_broker_refuses_to_start(self):
        self.server.objects.delete("v1", "configmaps", "kube-system", "extension-apiserver-authentication")
        kc = self.c.kubeconfig_token("tok-broker", filename="kc-broker2")
        run = subprocess.run([self.broker_bin, "--kubeconfig", kc, "--listen", "127.0.0.1:0"], capture_output=True,
                             timeout=30)
        self.assertEqual(run.returncode, 125)
        self.assertEqual(run.stderr.decode(), 'lambda-cntr-broker: reading kube-system/extension-apiserver-'
                                              'authentication: configmaps "extension-apiserver-authentication" '
                                              'not found\n')

    def test_no_client_certificate_is_401(self):
        reply = FrontProxy(self.port, self.c.pki, cert=None).request(self.attach_path(command=["true"]),
                                                                     upgrade=True)
        self.assertEqual(reply.code, 401)
        self.assertEqual(reply.json()["reason"], "Unauthorized")
        self.assertEqual(reply.json()["kind"], "Status")
        self.assertEqual(self.agent_execs(self.agent["metadata"]["name"]), 0)
        self.assertIn("no client certificate", self.log())

    def test_certificate_from_another_ca_is_401(self):
        reply = FrontProxy(self.port, self.c.pki, cert="front-proxy-wrong-ca").request(GROUP_PATH)
        self.assertEqual(reply.code, 401, reply.body)
        self.assertEqual(reply.json()["code"], 401)
        self.assertIn("client certificate rejected", self.log())

    def test_user_certificate_of_the_cluster_ca_is_401(self):
        # A user's own client certificate is not the front proxy's: headers from it mean nothing.
        reply = FrontProxy(self.port, self.c.pki, cert="alice").request(GROUP_PATH, user="system:admin")
        self.assertEqual(reply.code, 401, reply.body)

    def test_no_user_header_is_401(self):
        reply = self.proxy.request(GROUP_PATH, user=None)
        self.assertEqual(reply.code, 401, reply.body)

    # -- authorization ------------------------------------------------------------------------
    def test_refused_subject_access_review_is_403_naming_the_verb(self):
        self.server.forbid("create", "pods/exec", user="bob")
        reply = self.proxy.request(self.attach_path(command=["true"]), user="bob", upgrade=True)
        self.assertEqual(reply.code, 403, reply.body)
        status = reply.json()
        self.assertEqual(status["message"], 'pods "web" is forbidden: User "bob" cannot create resource '
                                            '"pods/exec" in API group "" in the namespace "default"')
        self.assertEqual(status["reason"], "Forbidden")
        self.assertEqual(status["details"], {"name": "web", "kind": "pods"})
        review = self.server.reviews[-1]["spec"]
        self.assertEqual(review["user"], "bob")
        self.assertEqual(review["groups"], ["system:authenticated"])
        self.assertEqual(review["resourceAttributes"], {"namespace": "default", "verb": "create", "group": "",
                                                        "resource": "pods", "subresource": "exec", "name": "web"})
        self.assertEqual(self.agent_execs(self.agent["metadata"]["name"]), 0)

    def test_allowed_in_one_namespace_refused_in_another(self):
        self.server.store.namespaces.add("team-b")
        self.c.target_pod("other", namespace="team-b")
        self.server.sar_denied = {("alice", "team-b")}
        refused = self.proxy.request(self.attach_path(pod="other", ns="team-b", command=["true"]), upgrade=True)
        self.assertEqual(refused.code, 403, refused.body)
        self.assertIn('in the namespace "team-b"', refused.json()["message"])
        allowed = self.proxy.request(self.attach_path(command=["true"]), upgrade=True)
        self.assertEqual(allowed.code, 101, allowed.body)
        self.assertEqual(exit_code(Ws(allowed).run()[2]), 0)

    def test_profile_refused_by_the_profiles_configmap(self):
        put_configmap(self.server, NS, "lambda-cntr-profiles", {"default": "general, restricted"})
        reply = self.proxy.request(self.attach_path(command=["true"], profile="sysadmin"), upgrade=True)
        self.assertEqual(reply.code, 403, reply.body)
        self.assertEqual(reply.json()["message"], 'profile "sysadmin" is not allowed in namespace "default" by '
                                                  'lambda-cntr-system/lambda-cntr-profiles')

    # -- sessions -----------------------------------------------------------------------------
    def test_session_runs_in_the_target_with_output_and_exit_code(self):
        reply = self.proxy.request(self.attach_path(command=[
            "sh", "-c", "read line; echo got-$line; ls /var/lib/cntr/bin/busybox; echo to-stderr >&2; exit 7"]),
            upgrade=True)
        self.assertEqual(reply.code, 101, reply.body)
        self.assertEqual(reply.headers.get("sec-websocket-protocol"), "v5.channel.k8s.io")
        out, err, status, close = Ws(reply).run(stdin=b"hello\n")
        self.assertEqual(out.decode(), "got-hello\n/var/lib/cntr/bin/busybox\n")
        self.assertEqual(err.decode(), "to-stderr\n")
        self.assertEqual(status["reason"], "NonZeroExitCode")
        self.assertEqual(exit_code(status), 7)
        self.assertEqual(self.agent_execs(self.agent["metadata"]["name"]), 1)
        # the command the agent ran is cntr attach by ID, nothing else
        _, _, _, query = [r for r in self.server.requests if r[2].endswith("/exec")][-1]
        cid = self.target["status"]["containerStatuses"][0]["containerID"].split("://")[1]
        # after the line cntr writes to the agent's log (node/agent_audit.h)
        self.assertEqual(query["command"][:2], ["env", 'LAMBDA_CNTR_AUDIT=user "alice" on pod "default/web" '
                                                'container "main" with profile "general", broker "%s"'
                                                % socket.gethostname()])
        self.assertEqual(query["command"][2:7], ["cntr", "attach", "-t", "id", "--profile"])
        self.assertEqual(query["command"][8:11], ["--", cid, "--"])
        self.assertEqual(query["container"], ["agent"])

    def test_v4_only_offer_is_relayed_as_v4(self):
        reply = self.proxy.request(self.attach_path(command=["sh", "-c", "echo v4"]), upgrade=True,
                                   protocols=("v4.channel.k8s.io",))
        self.assertEqual(reply.code, 101, (reply.body, self.log()))
        self.assertEqual(reply.headers.get("sec-websocket-protocol"), "v4.channel.k8s.io")
        out, _, status, _ = Ws(reply).run()
        self.assertEqual(out, b"v4\n")
        self.assertEqual(exit_code(status), 0)

    def test_tty_resize_and_pings_pass_through(self):
        reply = self.proxy.request(self.attach_path(command=["sh", "-c", "sleep 1; stty size"],
                                                    stdin="true", tty="true").replace("stderr=true", "stderr=false"),
                                   upgrade=True)
        self.assertEqual(reply.code, 101, reply.body)
        ws = Ws(reply)
        ws.send(9, b"are-you-there")  # the broker answers the client's pings itself
        frame = ws.frame()
        while frame[0] == 2 and len(frame[1]) == 1:  # streams opening (empty), nothing else yet
            frame = ws.frame()
        self.assertEqual(frame, (10, b"are-you-there"))
        ws.send(2, b"\x04" + json.dumps({"Width": 101, "Height": 33}).encode())
        out, _, status, _ = ws.run()
        self.assertEqual(out.replace(b"\r", b""), b"33 101\n")
        self.assertEqual(exit_code(status), 0)

    def test_refused_agent_exec_is_503_naming_the_agent(self):
        self.server.inject("EXEC", r"^/api/v1/namespaces/lambda-cntr-system/pods/", "status", code=403,
                           message='pods "lambda-cntr-agent-x7k2p" is forbidden: User "%s" cannot create resource '
                                   '"pods/exec"' % BROKER_USER)
        reply = self.proxy.request(self.attach_path(command=["true"]), upgrade=True)
        self.assertEqual(reply.code, 503, reply.body)
        self.assertEqual(reply.json()["message"],
                         'the lambda-cntr agent lambda-cntr-system/lambda-cntr-agent-x7k2p on node "node-1" could not '
                         'start the session: exec: pods "lambda-cntr-agent-x7k2p" is forbidden: User "%s" cannot '
                         'create resource "pods/exec"' % BROKER_USER)
        self.assertFalse([e for e in self.server.events if e["reason"].startswith("DebugSession")])

    def test_failure_after_the_upgrade_is_forwarded_as_is_and_audited(self):
        self.server.inject("EXEC", r"^/api/v1/namespaces/lambda-cntr-system/pods/", "exec-failure", code=500)
        reply = self.proxy.request(self.attach_path(command=["true"]), upgrade=True)
        self.assertEqual(reply.code, 101, reply.body)
        _, _, status, close = Ws(reply).run()
        self.assertEqual(status["status"], "Failure")
        self.assertIn("OCI runtime exec failed: container is stopped", status["message"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(e["reason"] == "DebugSessionEnded" for e in self.server.events):
            time.sleep(0.05)
        end = [e for e in self.server.events if e["reason"] == "DebugSessionEnded"][0]
        self.assertIn("ended without an exit status (exec: Internal error occurred: error executing command",
                      end["message"])

    def test_missing_pod_is_the_api_servers_404(self):
        reply = self.proxy.request(self.attach_path(pod="nope", command=["true"]), upgrade=True)
        self.assertEqual(reply.code, 404, reply.body)
        self.assertEqual(reply.json()["message"], 'pods "nope" not found')

    def test_unknown_container_is_400(self):
        reply = self.proxy.request(self.attach_path(command=["true"]).replace("container=main", "container=db"),
                                   upgrade=True)
        self.assertEqual(reply.code, 400, reply.body)
        self.assertEqual(reply.json()["message"], "container db is not valid for pod web")

    def test_a_term_that_is_not_a_terminfo_name_is_400_and_reaches_no_agent(self):
        reply = self.proxy.request(self.attach_path(command=["true"], term="xterm;reboot"), upgrade=True)
        self.assertEqual(reply.code, 400, reply.body)
        self.assertEqual(reply.json()["message"],
                         'term "xterm;reboot" is not a terminal type (letters, digits and ._+- only, at most 64)')
        self.assertEqual(self.server.count("GET", r"^/api/v1/namespaces/%s/pods/[^/]+/exec$" % NS), 0)

    def test_look_alike_agent_is_never_used(self):
        # Same labels, same node, same spec, but no ownerReference to the DaemonSet; and one
        # claiming a DaemonSet of the same name with another uid (an older or a forged one).
        self.agent_pod("lambda-cntr-agent-aaaaa")
        self.agent_pod("lambda-cntr-agent-aaaab", owner_uid="00000000-0000-0000-0000-000000000000")
        for _ in range(2):
            reply = self.proxy.request(self.attach_path(command=["true"]), upgrade=True)
            self.assertEqual(reply.code, 101, reply.body)
            Ws(reply).run()
        self.assertEqual(self.agent_execs("lambda-cntr-agent-aaaaa"), 0)
        self.assertEqual(self.agent_execs("lambda-cntr-agent-aaaab"), 0)
        self.assertEqual(self.agent_execs(self.agent["metadata"]["name"]), 2)
        # Without the genuine agent the look-alikes still get nothing: 503.
        self.server.delete(NS, self.agent["metadata"]["name"], 0)
        self.server.wait_pod(NS, self.agent["metadata"]["name"], lambda p: p is None)
        reply = self.proxy.request(self.attach_path(command=["true"]), upgrade=True)
        self.assertEqual(reply.code, 503, reply.body)
        self.assertEqual(reply.json()["message"], 'no lambda-cntr agent is ready on node "node-1"')
        self.assertEqual(self.agent_execs("lambda-cntr-agent-aaaaa"), 0)
        self.assertEqual(self.agent_execs("lambda-cntr-agent-aaaab"), 0)
        self.assertIn("not controlled by the DaemonSet", self.log())

    def test_session_is_recorded_as_events_and_log_lines(self):
        reply = self.proxy.request(self.attach_path(command=["sh", "-c", "exit 3"]), upgrade=True)
        self.assertEqual(reply.code, 101, reply.body)
        Ws(reply).run()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(e["reason"] == "DebugSessionEnded" for e in self.server.events):
            time.sleep(0.05)
        events = [e for e in self.server.events if e["reason"].startswith("DebugSession")]
        self.assertEqual([e["reason"] for e in events], ["DebugSessionStarted", "DebugSessionEnded"])
        start, end = events
        self.assertEqual(start["message"], 'user "alice" attached to container "main" with profile "general"')
        self.assertRegex(end["message"], r'^session of user "alice" on container "main" with profile "general" '
                                         r'ended: exit status 3 after \d+\.\ds$')
        for e in events:
            self.assertEqual(e["involvedObject"]["name"], "web")
            self.assertEqual(e["involvedObject"]["namespace"], "default")
            self.assertEqual(e["involvedObject"]["uid"], self.target["metadata"]["uid"])
            self.assertEqual(e["type"], "Normal")
            self.assertEqual(e["source"]["component"], "lambda-cntr-broker")
            self.assertEqual(e["reportingComponent"], "lambda-cntr-broker")
        self.assertIn('audit: DebugSessionStarted default/web: user "alice" attached to container "main"', self.log())
        self.assertIn("audit: DebugSessionEnded default/web: session of user \"alice\"", self.log())

    def test_node_session_needs_create_nodes_attach_and_runs_on_the_node(self):
        path = "%s/nodes/node-1/attach?%s" % (GROUP_PATH, urllib.parse.urlencode(
            [("stdin", "false"), ("stdout", "true"), ("stderr", "true"), ("tty", "false"),
             ("command", "sh"), ("command", "-c"), ("command", "ls -d /var/lib/cntr/proc/self; exit 4")]))
        self.server.forbid("create", "nodes/attach", user="bob")
        refused = self.proxy.request(path, user="bob", upgrade=True)
        self.assertEqual(refused.code, 403, refused.body)
        self.assertEqual(refused.json()["message"], 'nodes "node-1" is forbidden: User "bob" cannot create resource '
                                                    '"nodes/attach" in API group "debug.lambda-cntr.io" at the '
                                                    'cluster scope')
        review = self.server.reviews[-1]["spec"]["resourceAttributes"]
        self.assertEqual(review, {"verb": "create", "group": "debug.lambda-cntr.io", "resource": "nodes",
                                  "subresource": "attach", "name": "node-1"})
        reply = self.proxy.request(path, upgrade=True)
        self.assertEqual(reply.code, 101, (reply.body, self.log()))
        out, err, status, _ = Ws(reply).run()
        if b"/proc/1/" in err and b"Permission denied" in err:
            # This VM's PID 1 hides /proc/1 even from root (ENVIRONMENT.md), so `cntr attach
            # --host` cannot start here; what the broker owes is still checked: cntr's own
            # failure and exit status reach the user unchanged.
            self.assertEqual(exit_code(status), 125, err)
        else:
            self.assertEqual(exit_code(status), 4, (out, err))
            self.assertEqual(out, b"/var/lib/cntr/proc/self\n")
        _, _, _, query = [r for r in self.server.requests if r[2].endswith("/exec")][-1]
        self.assertEqual(query["command"][:2], ["env", 'LAMBDA_CNTR_AUDIT=user "alice" on node "node-1" with '
                                                'profile "general", broker "%s"' % socket.gethostname()])
        self.assertEqual(query["command"][2:5], ["cntr", "attach", "--host"])
        # and cntr recorded the session, or its own failure, in the agent's log
        _, agent = self.server.kubelet.running_container(NS, self.agent["metadata"]["name"], "agent")
        what = 'user "alice" on node "node-1" with profile "general", broker "%s"' % socket.gethostname()
        log = agent.log_contents().decode().splitlines()
        self.assertEqual(len(log), 2, log)
        self.assertEqual(log[0], "lambda-cntr agent: audit: session started: " + what)
        outcome = r"cntr failed: .*: exit status 125" if exit_code(status) == 125 else "exit status 4"
        self.assertRegex(log[1], "^" + re.escape("lambda-cntr agent: audit: session ended: %s: " % what)
                         + outcome + r" after \d+\.\ds$")

    def test_sigterm_closes_open_sessions_and_exits_cleanly(self):
        reply = self.proxy.request(self.attach_path(command=["sh", "-c", "sleep 60"]), upgrade=True)
        self.assertEqual(reply.code, 101, reply.body)
        time.sleep(0.5)
        self.broker.send_signal(signal.SIGTERM)
        out, err, status, close = Ws(reply).run(timeout=20)
        self.assertEqual(close, 1001)
        self.assertEqual(self.broker.wait(timeout=15), 0)

    # -- capsule runs: nodes/NODE/capsule (issue 9) --------------------------------------------
    def capsule_path(self, node="node-1", targets=("default/web/main",), command=("true",), **query):
        q = [("image", "capsules.example/marker:1")] + [("target", t) for t in targets]
        q += [(k, v) for k, v in query.items()]
        q += [("command", c) for c in command] + [("stdout", "true"), ("stderr", "true")]
        return "%s/nodes/%s/capsule?%s" % (GROUP_PATH, node, urllib.parse.urlencode(q))

    def pod_posts_since(self, before):
        return [p for _, m, p, _ in self.server.requests[before:] if m == "POST" and p.endswith("/pods")]

    def test_capsule_query_is_checked_before_any_review(self):
        reviews = len(self.server.reviews)
        for query, words in (({"targets": ("default/web",)}, 'target "default/web" is not NAMESPACE/POD/CONTAINER'),
                             ({"targets": ()}, "no target"),
                             ({"command": ()}, "the capsule needs a command"),
                             ({"imagePullPolicy": "Sometimes"}, 'imagePullPolicy "Sometimes"'),
                             ({"share": "net;reboot"}, 'share "net;reboot"')):
            reply = self.proxy.request(self.capsule_path(**query), upgrade=True)
            self.assertEqual(reply.code, 400, reply.body)
            self.assertIn(words, reply.json()["message"])
        self.assertEqual(len(self.server.reviews), reviews)

    def test_capsule_refused_on_one_target_is_403_before_any_pod_is_read_or_made(self):
        self.server.store.namespaces.add("team-b")
        self.c.target_pod("other", namespace="team-b")
        self.server.sar_denied = {("alice", "team-b")}
        before = len(self.server.requests)
        reply = self.proxy.request(self.capsule_path(targets=("default/web/main", "team-b/other/main")),
                                   upgrade=True)
        self.assertEqual(reply.code, 403, reply.body)
        self.assertEqual(reply.json()["message"], 'pods "other" is forbidden: User "alice" cannot create resource '
                                                  '"pods/exec" in API group "" in the namespace "team-b"')
        # Both reviewed (the allowed one first), nothing read, made or run.
        spec = [r["spec"]["resourceAttributes"] for r in self.server.reviews[-2:]]
        self.assertEqual([(a["namespace"], a["name"], a["verb"], a["subresource"]) for a in spec],
                         [("default", "web", "create", "exec"), ("team-b", "other", "create", "exec")])
        self.assertEqual([p for _, m, p, _ in self.server.requests[before:] if "/pods" in p and m != "POST"
                          and not p.startswith("/apis/authorization")], [])
        self.assertEqual(self.pod_posts_since(before), [])

    def test_capsule_target_on_another_node_is_400_and_nothing_is_made(self):
        before = len(self.server.requests)
        reply = self.proxy.request(self.capsule_path(node="node-2"), upgrade=True)
        self.assertEqual(reply.code, 400, reply.body)
        self.assertEqual(reply.json()["message"], 'pod default/web runs on node "node-1", not on node "node-2"')
        self.assertEqual(self.pod_posts_since(before), [])


SECRET = "lambda-cntr-broker-serving"
SECRETS_PATH = r"^/api/v1/namespaces/lambda-cntr-system/secrets"
APISERVICE = "v1alpha1.debug.lambda-cntr.io"
SERVICE_DNS = "lambda-cntr-broker.lambda-cntr-system.svc"
DEPLOY = os.path.join(os.path.dirname(os.path.dirname(HERE)), "deploy")


def b64(text):
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def pem_of(der):
    return ssl.DER_cert_to_PEM_cert(der)


def pem_certs(text):
    return re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)


def same_cert(pem_a, pem_b):
    """The first certificate of two PEM texts (a certificate or a bundle) is the same one."""
    return ssl.PEM_cert_to_DER_cert(pem_certs(pem_a)[0]) == ssl.PEM_cert_to_DER_cert(pem_certs(pem_b)[0])


class ServingSecretTest(unittest.TestCase):
    """Several replicas without --tls-cert: the serving certificate shared through the Secret
    lambda-cntr-system/lambda-cntr-broker-serving, the broker holding exactly the rights
    deploy/20-rbac-broker.yaml gives its ServiceAccount."""

    def setUp(self):
        start_cluster(self)
        put_front_proxy_settings(self.server, self.c.pki)
        self.server.apply_manifests(os.path.join(DEPLOY, "20-rbac-broker.yaml"))
        self.server.apply_manifests(os.path.join(DEPLOY, "50-apiservice.yaml"))
        self.kubeconfig = self.c.kubeconfig_token(self.server.service_account_token(NS, "lambda-cntr-broker"),
                                                  filename="kc-broker-sa")
        self.logs = []

    # -- fixtures -----------------------------------------------------------------------------
    def launch(self, *args):
        log = open(os.path.join(self.c.tmp, "broker-%d.log" % len(self.logs)), "w+")
        self.logs.append(log)
        proc = subprocess.Popen([self.broker_bin, "--kubeconfig", self.kubeconfig, "--listen", "127.0.0.1:0", "-v"]
                                + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
        self.addCleanup(self.stop, proc, log)
        return proc, log

    def wait_listening(self, proc, log):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = re.search(r"^lambda-cntr-broker: listening on 127\.0\.0\.1:(\d+)$", self.text(log), re.M)
            if m:
                return int(m.group(1))
            if proc.poll() is not None:
                self.fail("the broker exited with %s: %s" % (proc.returncode, self.text(log)))
            time.sleep(0.05)
        self.fail("the broker never said it listens: %s" % self.text(log))

    def start(self):
        proc, log = self.launch()
        return self.wait_listening(proc, log), log

    def stop(self, proc, log):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        text = self.text(log)
        log.close()
        self.assertEqual(proc.returncode, 0, "the broker did not end cleanly: %s" % text[-3000:])

    @staticmethod
    def text(log):
        log.flush()
        with open(log.name) as f:
            return f.read()

    def secret(self):
        return self.server.objects.get("v1", "secrets", NS, SECRET)

    def secret_pem(self, key):
        return base64.b64decode(self.secret()["data"][key]).decode()

    def ca_bundle(self):
        api = self.server.objects.get("apiregistration.k8s.io/v1", "apiservices", None, APISERVICE)
        return base64.b64decode(api["spec"]["caBundle"]).decode()

    def served_cert(self, port):
        """The certificate the broker on port presents, verified as the API server's aggregator
        verifies it: against the APIService's caBundle, for the Service's DNS name."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cadata=self.ca_bundle())
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            with ctx.wrap_socket(raw, server_hostname=SERVICE_DNS) as tls:
                return pem_of(tls.getpeercert(binary_form=True))

    def put_secret(self, data, type_="kubernetes.io/tls"):
        return self.server.objects.put("v1", "secrets", {"metadata": {"name": SECRET}, "type": type_,
                                                          "data": {k: b64(v) for k, v in data.items()}}, NS)

    def pki(self, name):
        with open(os.path.join(self.c.pki, name)) as f:
            return f.read()

    def cluster_ca_signed(self, name, days, dns=SERVICE_DNS):
        """A certificate for dns signed by the stand-in's CA, valid for days (0: already expired)."""
        d = self.c.tmp
        subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
                        "-keyout", os.path.join(d, name + ".key"), "-out", os.path.join(d, name + ".csr")],
                       check=True, capture_output=True)
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\n" % dns)
        subprocess.run(["openssl", "x509", "-req", "-in", os.path.join(d, name + ".csr"),
                        "-CA", os.path.join(self.c.pki, "ca.crt"), "-CAkey", os.path.join(self.c.pki, "ca.key"),
                        "-CAcreateserial", "-days", str(days), "-extfile", os.path.join(d, name + ".ext"),
                        "-out", os.path.join(d, name + ".crt")], check=True, capture_output=True)
        with open(os.path.join(d, name + ".crt")) as c, open(os.path.join(d, name + ".key")) as k:
            return c.read(), k.read()

    def writes(self):
        return self.server.count("POST", SECRETS_PATH + "$"), self.server.count("PUT", SECRETS_PATH + "/")

    # -- several replicas share one certificate -------------------------------------------------
    def test_replicas_started_one_after_the_other_serve_the_same_certificate(self):
        self.assertIsNone(self.secret())
        first, _ = self.start()
        secret = self.secret()
        self.assertIsNotNone(secret, "the first replica must create the Secret")
        self.assertEqual(secret["type"], "kubernetes.io/tls")
        self.assertEqual(sorted(secret["data"]), ["ca.crt", "tls.crt", "tls.key"])
        second, _ = self.start()
        a, b = self.served_cert(first), self.served_cert(second)  # both verify against the caBundle
        self.assertTrue(same_cert(a, b))
        self.assertTrue(same_cert(a, self.secret_pem("tls.crt")))
        self.assertTrue(same_cert(self.ca_bundle(), self.secret_pem("ca.crt")))
        self.assertEqual(self.writes(), (1, 0))  # created once, never replaced
        self.assertEqual(self.secret()["metadata"]["resourceVersion"], secret["metadata"]["resourceVersion"])

    def test_replicas_started_together_serve_the_same_certificate(self):
        started = [self.launch() for _ in range(3)]
        ports = [self.wait_listening(proc, log) for proc, log in started]
        certs = [self.served_cert(p) for p in ports]
        for cert in certs:
            self.assertTrue(same_cert(cert, self.secret_pem("tls.crt")))
        self.assertEqual(self.secret()["metadata"]["generation"], 1)  # created once, never replaced
        posts, puts = self.writes()
        self.assertEqual(puts, 0)
        self.assertGreaterEqual(posts, 1)
        self.assertLessEqual(posts, 3)

    def test_a_replica_that_loses_the_creation_race_takes_the_winners_secret(self):
        # Its read finds nothing; by the time it creates, another replica has (409 AlreadyExists).
        self.put_secret({"tls.crt": self.pki("broker.crt"), "tls.key": self.pki("broker.key"),
                         "ca.crt": self.pki("ca.crt")})
        self.server.inject("GET", SECRETS_PATH + "/" + SECRET + "$", "status", code=404,
                           message='secrets "%s" not found' % SECRET)
        rv = self.secret()["metadata"]["resourceVersion"]
        port, log = self.start()
        self.assertTrue(same_cert(self.served_cert(port), self.pki("broker.crt")))
        self.assertEqual(self.writes(), (1, 0))
        self.assertEqual(self.secret()["metadata"]["resourceVersion"], rv)
        self.assertIn("another replica wrote the serving Secret lambda-cntr-system/%s first" % SECRET, self.text(log))

    def test_a_valid_secret_is_used_as_it_is(self):
        created = self.put_secret({"tls.crt": self.pki("broker.crt"), "tls.key": self.pki("broker.key"),
                                   "ca.crt": self.pki("ca.crt")})
        port, _ = self.start()
        self.assertTrue(same_cert(self.served_cert(port), self.pki("broker.crt")))
        self.assertTrue(same_cert(self.ca_bundle(), self.pki("ca.crt")))
        self.assertEqual(self.secret()["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"])
        self.assertEqual(self.writes(), (0, 0))

    # -- an unusable Secret is replaced ---------------------------------------------------------
    def assert_replaced(self, old, why, keeps_old_ca=True):
        port, log = self.start()
        new = self.secret()
        self.assertNotEqual(new["metadata"]["resourceVersion"], old["metadata"]["resourceVersion"])
        self.assertEqual(new["metadata"]["uid"], old["metadata"]["uid"])  # updated, not deleted and made anew
        self.assertEqual(new["type"], old["type"])
        self.assertEqual(self.writes(), (0, 1))
        self.assertTrue(same_cert(self.served_cert(port), self.secret_pem("tls.crt")))  # against the new caBundle
        self.assertTrue(same_cert(self.ca_bundle(), self.secret_pem("ca.crt")))
        self.assertFalse(same_cert(self.ca_bundle(), self.pki("ca.crt")))
        # The previous CA, still valid, follows the new one: replicas serving the old certificate
        # stay trusted until they restart.
        bundle = pem_certs(self.ca_bundle())
        self.assertEqual(len(bundle), 2 if keeps_old_ca else 1)
        if keeps_old_ca:
            self.assertTrue(same_cert(bundle[1], self.pki("ca.crt")))
        self.assertRegex(self.text(log), r"the serving Secret lambda-cntr-system/%s is unusable \(%s\): replacing it"
                         % (SECRET, why))

    def test_an_expired_certificate_is_replaced_and_the_new_ca_published(self):
        crt, key = self.cluster_ca_signed("expired", 0)
        self.assert_replaced(self.put_secret({"tls.crt": crt, "tls.key": key, "ca.crt": self.pki("ca.crt")}),
                             r"the certificate expired at \d{4}-\d\d-\d\dT[0-9:]+Z")

    def test_a_certificate_expiring_within_30_days_is_replaced(self):
        crt, key = self.cluster_ca_signed("soon", 10)
        self.assert_replaced(self.put_secret({"tls.crt": crt, "tls.key": key, "ca.crt": self.pki("ca.crt")}),
                             "the certificate expires at .*, within 30 days")

    def test_a_certificate_for_another_name_is_replaced(self):
        crt, key = self.cluster_ca_signed("elsewhere", 365, dns="lambda-cntr-broker.other.svc")
        self.assert_replaced(self.put_secret({"tls.crt": crt, "tls.key": key, "ca.crt": self.pki("ca.crt")}),
                             "the certificate is not for %s" % re.escape(SERVICE_DNS))

    def test_garbage_is_replaced(self):
        self.assert_replaced(self.put_secret({"tls.crt": "not a certificate", "tls.key": "nor a key",
                                              "ca.crt": self.pki("ca.crt")}),
                             "the certificate is not a PEM certificate .*")

    def test_a_secret_without_the_ca_keeps_its_type_when_replaced(self):
        self.assert_replaced(self.put_secret({"tls.crt": self.pki("broker.crt"), "tls.key": self.pki("broker.key")},
                                             type_="Opaque"), r"it has no data\[ca\.crt\]", keeps_old_ca=False)

    def test_a_replica_still_serving_the_replaced_certificate_stays_trusted(self):
        # A rolling update a year on: the old replica serves the certificate of the old Secret
        # (broker.crt, by the cluster CA) while a new one finds it expiring and replaces it.
        old_port = self.wait_listening(*self.launch("--tls-cert", os.path.join(self.c.pki, "broker.crt"),
                                                    "--tls-key", os.path.join(self.c.pki, "broker.key")))
        crt, key = self.cluster_ca_signed("soon", 10)
        self.put_secret({"tls.crt": crt, "tls.key": key, "ca.crt": self.pki("ca.crt")})
        new_port, _ = self.start()
        self.assertTrue(same_cert(self.served_cert(new_port), self.secret_pem("tls.crt")))
        self.assertTrue(same_cert(self.served_cert(old_port), self.pki("broker.crt")))  # verifies with the new bundle

    def wait_served(self, port, want_pem, timeout=20):
        """Until the broker on port presents want_pem (a handshake may fail meanwhile: the new
        certificate's CA may not be in the caBundle yet)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if same_cert(self.served_cert(port), want_pem):
                    return
            except (ssl.SSLError, OSError):
                pass
            time.sleep(0.2)
        self.fail("the broker did not serve the new certificate within %ss" % timeout)

    def test_a_running_broker_serves_a_replaced_or_renewed_certificate_without_a_restart(self):
        proc, log = self.launch("--renew-interval", "1")
        port = self.wait_listening(proc, log)
        self.assertTrue(same_cert(self.served_cert(port), self.secret_pem("tls.crt")))
        # Another replica replaced the Secret: served from the next connection on.
        crt, key = self.cluster_ca_signed("other", 365)
        secret = self.secret()
        secret["data"] = {"tls.crt": b64(crt), "tls.key": b64(key), "ca.crt": b64(self.pki("ca.crt"))}
        self.server.objects.update("v1", "secrets", NS, SECRET, secret)
        self.wait_served(port, crt)
        self.assertTrue(same_cert(self.ca_bundle(), self.pki("ca.crt")), "its CA published")
        # A certificate that comes within 30 days of its end is replaced by the running broker.
        soon, soon_key = self.cluster_ca_signed("soon", 10)
        secret = self.secret()
        secret["data"] = {"tls.crt": b64(soon), "tls.key": b64(soon_key), "ca.crt": b64(self.pki("ca.crt"))}
        self.server.objects.update("v1", "secrets", NS, SECRET, secret)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and same_cert(self.secret_pem("tls.crt"), soon):
            time.sleep(0.2)
        self.assertFalse(same_cert(self.secret_pem("tls.crt"), soon), "the expiring certificate was kept")
        self.wait_served(port, self.secret_pem("tls.crt"))
        self.assertIn("from the next connection on", self.text(log))

    def test_a_replica_that_loses_the_replacement_race_reads_again(self):
        old = self.put_secret({"tls.crt": "garbage", "tls.key": "garbage", "ca.crt": "garbage"})
        self.server.inject("PUT", SECRETS_PATH + "/" + SECRET + "$", "status", code=409,
                           message='Operation cannot be fulfilled on secrets "%s": the object has been modified; '
                                   'please apply your changes to the latest version and try again' % SECRET)
        port, log = self.start()
        self.assertEqual(self.server.count("GET", SECRETS_PATH + "/" + SECRET + "$"), 2)
        self.assertEqual(self.writes(), (0, 2))
        self.assertNotEqual(self.secret()["metadata"]["resourceVersion"], old["metadata"]["resourceVersion"])
        self.assertTrue(same_cert(self.served_cert(port), self.secret_pem("tls.crt")))
        self.assertIn("another replica wrote the serving Secret", self.text(log))

    # -- rights ---------------------------------------------------------------------------------
    def without_secret_rules(self, keep=()):
        """The broker's Role of deploy/ with its secrets rules taken away, but those whose verbs
        are in keep."""
        role = self.server.objects.get("rbac.authorization.k8s.io/v1", "roles", NS, "lambda-cntr-broker")
        role["rules"] = [r for r in role["rules"] if "secrets" not in r["resources"] or set(r["verbs"]) & set(keep)]
        self.server.objects.update("rbac.authorization.k8s.io/v1", "roles", NS, "lambda-cntr-broker", role)

    def refusal(self):
        run = subprocess.run([self.broker_bin, "--kubeconfig", self.kubeconfig, "--listen", "127.0.0.1:0"],
                             capture_output=True, timeout=60)
        return run.returncode, run.stderr.decode()

    HINT = ("; apply deploy/20-rbac-broker.yaml: its Role lambda-cntr-broker grants the broker get and update on "
            "the Secret lambda-cntr-broker-serving and create on secrets, in its namespace only (or pass "
            "--tls-cert/--tls-key)\n")

    def test_without_the_right_to_read_the_secret_the_broker_refuses_to_start(self):
        self.without_secret_rules()
        self.assertEqual(self.refusal(), (125, 'lambda-cntr-broker: reading the serving Secret lambda-cntr-system/'
                                               'lambda-cntr-broker-serving: secrets "lambda-cntr-broker-serving" is '
                                               'forbidden: User "%s" cannot get resource "secrets" in API group "" '
                                               'in the namespace "lambda-cntr-system"' % BROKER_USER + self.HINT))
        self.assertIsNone(self.secret())

    def test_without_the_right_to_create_the_secret_the_broker_refuses_to_start(self):
        self.without_secret_rules(keep=("get",))
        self.assertEqual(self.refusal(), (125, 'lambda-cntr-broker: creating the serving Secret lambda-cntr-system/'
                                               'lambda-cntr-broker-serving: secrets is forbidden: User "%s" cannot '
                                               'create resource "secrets" in API group "" in the namespace '
                                               '"lambda-cntr-system"' % BROKER_USER + self.HINT))
        self.assertIsNone(self.secret())

    def test_given_a_certificate_no_secret_is_touched(self):
        self.without_secret_rules()  # and none is needed
        self.wait_listening(*self.launch("--tls-cert", os.path.join(self.c.pki, "broker.crt"),
                                         "--tls-key", os.path.join(self.c.pki, "broker.key")))
        self.assertEqual([p for _, _, p, _ in self.server.requests if "/secrets" in p], [])
        self.assertIsNone(self.secret())

if __name__ == "__main__":
    unittest.main()
