#!/usr/bin/python3
"""The API stand-in itself answers like a real API server: Status bodies, RBAC messages,
selectors, graceful deletion, watch streams with 410, exec negotiation. If the stand-in drifts
from the real API, the lambda-cntr tests prove nothing; these tests pin it down."""

import base64
import http.client
import json
import os
import re
import socket
import ssl
import struct
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import aggregator  # noqa: E402
import apiserver  # noqa: E402
import backend_fixture  # noqa: E402
from harness import SKIP, pki_dir, sleeper  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
GROUP_PATH = "/apis/debug.lambda-cntr.io"
VERSION_PATH = GROUP_PATH + "/v1alpha1"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


def skip_unless_root():
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            sys.exit("the stand-in's node needs root")
        print("SKIP: the stand-in's node runs runc containers and needs root")
        sys.exit(SKIP)


class StandInTests(unittest.TestCase):
    def setUp(self):
        self.pki = pki_dir()
        self.server = apiserver.ApiServer(self.pki, tokens={"tok": "carol"}).start()
        self.addCleanup(self.server.stop)

    def tls(self, cert="alice", alpn=("http/1.1",)):
        ctx = ssl.create_default_context(cafile=os.path.join(self.pki, "ca.crt"))
        if cert:
            ctx.load_cert_chain(os.path.join(self.pki, cert + ".crt"), os.path.join(self.pki, cert + ".key"))
        ctx.set_alpn_protocols(list(alpn))
        return ctx

    def request(self, method, path, body=None, cert="alice", token=None):
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=self.tls(cert))
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, json.loads(data) if data else None

    def pod(self, name, **spec):
        return {"metadata": {"name": name, "labels": {"app": name, "tier": "web"}},
                "spec": dict({"containers": [sleeper("main")]}, **spec)}

    def test_authentication_by_cert_or_token_else_401(self):
        self.assertEqual(self.request("GET", "/version")[0], 200)
        self.assertEqual(self.request("GET", "/version", cert=None, token="tok")[0], 200)
        status, body = self.request("GET", "/version", cert=None, token="bad")
        self.assertEqual(status, 401)
        self.assertEqual((body["kind"], body["reason"], body["code"]), ("Status", "Unauthorized", 401))

    def test_forbidden_uses_the_real_rbac_message(self):
        self.server.forbid("create", "pods")
        status, body = self.request("POST", "/api/v1/namespaces/default/pods", self.pod("x"))
        self.assertEqual((status, body["reason"]), (403, "Forbidden"))
        self.assertEqual(body["message"], 'pods is forbidden: User "alice" cannot create resource "pods" '
                                          'in API group "" in the namespace "default"')

    def test_pod_security_admission_refuses_privileged_host_pid_in_baseline(self):
        self.server.pod_security["default"] = "baseline"
        status, body = self.request("POST", "/api/v1/namespaces/default/pods", self.pod(
            "dbg", hostPID=True, containers=[dict(sleeper("agent"), securityContext={"privileged": True})]))
        self.assertEqual((status, body["reason"]), (403, "Forbidden"))
        self.assertEqual(body["message"], 'pods "dbg" is forbidden: violates PodSecurity "baseline:latest": '
                                          'host namespaces (hostPID=true), privileged (container "agent" must '
                                          'not set securityContext.privileged=true)')
        self.assertEqual(self.request("POST", "/api/v1/namespaces/default/pods", self.pod("plain"))[0], 201)

    def test_events_list_by_involved_object(self):
        pod = {"metadata": {"name": "p", "namespace": "default", "uid": "u1"}}
        self.server.record_event(pod, "Warning", "FailedMount", "hostPath type check failed")
        self.server.record_event(dict(pod, metadata=dict(pod["metadata"], name="q")), "Normal", "Pulled", "ok")
        status, body = self.request("GET", "/api/v1/namespaces/default/events?fieldSelector=" + urllib.parse.quote(
            "involvedObject.kind=Pod,involvedObject.name=p"))
        self.assertEqual((status, body["kind"]), (200, "EventList"))
        self.assertEqual([(e["reason"], e["type"], e["involvedObject"]["name"]) for e in body["items"]],
                         [("FailedMount", "Warning", "p")])
        self.assertEqual(self.request("GET", "/api/v1/namespaces/default/events?fieldSelector=spec.x%3Dy")[0], 400)

    def test_errors_are_status_objects(self):
        status, body = self.request("GET", "/api/v1/namespaces/default/pods/nope")
        self.assertEqual((status, body["reason"], body["message"]), (404, "NotFound", 'pods "nope" not found'))
        status, body = self.request("POST", "/api/v1/namespaces/default/pods", {"metadata": {"name": "Bad_Name"},
                                                                               "spec": {"containers": []}})
        self.assertEqual((status, body["reason"]), (422, "Invalid"))
        self.assertIn('Pod "Bad_Name" is invalid: metadata.name: Invalid value', body["message"])
        self.assertEqual(self.request("POST", "/api/v1/namespaces/default/pods", self.pod("dup"))[0], 201)
        status, body = self.request("POST", "/api/v1/namespaces/default/pods", self.pod("dup"))
        self.assertEqual((status, body["reason"], body["message"]), (409, "AlreadyExists", 'pods "dup" already exists'))
        status, body = self.request("POST", "/api/v1/namespaces/nowhere/pods", self.pod("x"))
        self.assertEqual((status, body["message"]), (404, 'namespaces "nowhere" not found'))

    def test_list_selectors(self):
        for name, node in (("a", "node-1"), ("b", "node-2")):
            self.request("POST", "/api/v1/namespaces/default/pods", self.pod(name, nodeName=node))
        q = urllib.parse.urlencode({"labelSelector": "tier=web,app in (a,b)", "fieldSelector": "spec.nodeName=node-2"})
        status, body = self.request("GET", "/api/v1/namespaces/default/pods?" + q)
        self.assertEqual((status, body["kind"]), (200, "PodList"))
        self.assertEqual([p["metadata"]["name"] for p in body["items"]], ["b"])
        self.assertTrue(body["metadata"]["resourceVersion"].isdigit())
        status, body = self.request("GET", "/api/v1/namespaces/default/pods?fieldSelector=spec.bogus%3Dx")
        self.assertEqual((status, body["reason"]), (400, "BadRequest"))

    def test_delete_returns_the_object_then_it_goes_after_the_grace_period(self):
        self.request("POST", "/api/v1/namespaces/default/pods", self.pod("web"))
        self.server.wait_pod("default", "web", lambda p: p["status"].get("phase") == "Running")
        status, body = self.request("DELETE", "/api/v1/namespaces/default/pods/web", {"gracePeriodSeconds": 1})
        self.assertEqual(status, 200)
        self.assertEqual(body["metadata"]["deletionGracePeriodSeconds"], 1)
        self.assertIn("deletionTimestamp", body["metadata"])
        self.server.wait_pod("default", "web", lambda p: p is None)
        self.assertEqual(self.request("DELETE", "/api/v1/namespaces/default/pods/web")[0], 404)

    def watch_lines(self, query, until, split_seen):
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=self.tls())
        conn.request("GET", "/api/v1/namespaces/default/pods?watch=true&" + query)
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        buf, events = b"", []
        while not until(events):
            chunk = resp.read1(65536)
            if not chunk:
                break
            if not chunk.endswith(b"\n"):
                split_seen.append(True)
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                events.append(json.loads(line))
        conn.close()
        return events

    def test_watch_streams_events_split_across_writes_and_410_when_expired(self):
        self.request("POST", "/api/v1/namespaces/default/pods", self.pod("web"))
        splits = []
        events = self.watch_lines("resourceVersion=1&fieldSelector=metadata.name%3Dweb",
                                  lambda evs: any(e["object"].get("status", {}).get("phase") == "Running"
                                                  for e in evs), splits)
        self.assertEqual(events[0]["type"], "ADDED")
        self.assertIn("MODIFIED", {e["type"] for e in events})
        rv = events[-1]["object"]["metadata"]["resourceVersion"]
        for _ in range(5):  # each event is split with probability 1/2: 2^-(events) to see none
            if splits:
                break
            self.watch_lines("resourceVersion=1", lambda evs: len(evs) >= 4, splits)
        self.assertTrue(splits, "no event was ever split across writes")
        self.server.store.compact()
        events = self.watch_lines("resourceVersion=1", lambda evs: evs, [])
        self.assertEqual(events[0]["type"], "ERROR")
        self.assertEqual((events[0]["object"]["code"], events[0]["object"]["reason"]), (410, "Expired"))
        self.assertTrue(rv.isdigit())

    def exec_handshake(self, protocols, path="/api/v1/namespaces/default/pods/web/exec?command=true&stdout=true",
                       token=None):
        sock = self.tls(cert=None if token else "alice").wrap_socket(
            socket.create_connection(("127.0.0.1", self.server.port)), server_hostname="localhost")
        key = base64.b64encode(os.urandom(16)).decode()
        auth = "Authorization: Bearer %s\r\n" % token if token else ""
        sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: %s\r\n%s\r\n"
                      % (path, key, protocols, auth)).encode())
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        head, rest = data.split(b"\r\n\r\n", 1)
        return sock, head.decode(), rest

    def read_messages(self, sock, rest):
        data, messages = rest, []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        while data:
            opcode, n, pos = data[0] & 0x0F, data[1] & 0x7F, 2
            if n == 126:
                n, pos = struct.unpack("!H", data[2:4])[0], 4
            messages.append((opcode, data[pos:pos + n]))
            data = data[pos + n:]
        return messages

    def test_exec_negotiates_v5_or_only_v4_and_reports_the_exit_status(self):
        self.request("POST", "/api/v1/namespaces/default/pods", self.pod("web"))
        self.server.wait_pod("default", "web", lambda p: p["status"].get("phase") == "Running")
        sock, head, rest = self.exec_handshake("v5.channel.k8s.io, v4.channel.k8s.io",
                                               "/api/v1/namespaces/default/pods/web/exec?command=sh&command=-c"
                                               "&command=echo%20hi%3B%20exit%203&stdout=true&stderr=true")
        self.assertIn("101 Switching Protocols", head)
        self.assertIn("Sec-WebSocket-Protocol: v5.channel.k8s.io", head)
        messages = self.read_messages(sock, rest)
        stdout = b"".join(m[1:] for op, m in messages if op == 2 and m[:1] == b"\x01")
        status = [json.loads(m[1:]) for op, m in messages if op == 2 and m[:1] == b"\x03"]
        self.assertEqual(stdout, b"hi\n", messages)
        self.assertEqual(status[0]["reason"], "NonZeroExitCode")
        self.assertEqual(status[0]["details"]["causes"], [{"reason": "ExitCode", "message": "3"}])
        self.assertEqual(messages[-1][0], 8, "no close frame")
        sock.close()

        self.server.v4_only = True
        sock, head, rest = self.exec_handshake("v5.channel.k8s.io, v4.channel.k8s.io")
        self.assertIn("Sec-WebSocket-Protocol: v4.channel.k8s.io", head)
        sock.close()
        sock, head, rest = self.exec_handshake("v5.channel.k8s.io")
        self.assertIn("400 Bad Request", head.split("\r\n")[0])
        sock.close()

    def patch_ephemeral(self, pod, body, ctype="application/strategic-merge-patch+json"):
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=self.tls())
        conn.request("PATCH", "/api/v1/namespaces/default/pods/%s/ephemeralcontainers" % pod,
                     body=json.dumps(body), headers={"Content-Type": ctype})
        resp = conn.getresponse()
        data = json.loads(resp.read())
        conn.close()
        return resp.status, data

    def test_ephemeral_containers_are_only_added_and_attach_reports_success_not_the_exit_code(self):
        self.request("POST", "/api/v1/namespaces/default/pods", self.pod("web"))
        self.server.wait_pod("default", "web", lambda p: p["status"].get("phase") == "Running")
        dbg = {"name": "dbg", "image": "busybox", "command": ["sh", "-c", "read x; echo got-$x; exit 3"],
               "stdin": True, "stdinOnce": True, "targetContainerName": "main"}
        status, body = self.patch_ephemeral("web", {"spec": {"ephemeralContainers": [dbg]}}, "application/json")
        self.assertEqual((status, body["reason"]), (415, "UnsupportedMediaType"))
        status, body = self.patch_ephemeral("nope", {"spec": {"ephemeralContainers": [dbg]}})
        self.assertEqual((status, body["reason"]), (404, "NotFound"))
        status, body = self.patch_ephemeral("web", {"spec": {"ephemeralContainers": [
            dict(dbg, targetContainerName="nope")]}})
        self.assertEqual((status, body["reason"]), (422, "Invalid"))
        self.assertEqual(body["message"], 'Pod "web" is invalid: spec.ephemeralContainers[0].targetContainerName: '
                                          'Not found: "nope"')
        status, body = self.patch_ephemeral("web", {"spec": {"ephemeralContainers": [dbg]}})
        self.assertEqual(status, 200)
        self.assertEqual(body["kind"], "Pod")
        self.assertEqual(body["spec"]["ephemeralContainers"], [dbg])
        # Removing or changing an existing one: 422. A merge patch replaces the whole list.
        status, body = self.patch_ephemeral("web", {"spec": {"ephemeralContainers": []}},
                                            "application/merge-patch+json")
        self.assertEqual((status, body["code"]), (422, 422))
        self.assertIn('existing ephemeral containers "dbg" may not be removed', body["message"])
        status, body = self.patch_ephemeral("web", [{"op": "replace", "path": "/spec/ephemeralContainers/0/image",
                                                     "value": "other"}], "application/json-patch+json")
        self.assertEqual(status, 422)
        self.assertIn('existing ephemeral containers "dbg" may not be changed', body["message"])
        pod = self.server.wait_pod("default", "web", lambda p: "running" in (
            (p["status"].get("ephemeralContainerStatuses") or [{}])[0].get("state") or {}))
        sock, head, rest = self.exec_handshake("v5.channel.k8s.io",
                                               "/api/v1/namespaces/default/pods/web/attach?container=dbg"
                                               "&stdin=true&stdout=true&stderr=true")
        self.assertIn("101 Switching Protocols", head)
        mask = b"\0\0\0\0"
        sock.sendall(bytes([0x82, 0x80 | 4]) + mask + b"\x00hi\n")
        messages = self.read_messages(sock, rest)
        stdout = b"".join(m[1:] for op, m in messages if op == 2 and m[:1] == b"\x01")
        status = [json.loads(m[1:]) for op, m in messages if op == 2 and m[:1] == b"\x03"]
        self.assertEqual(stdout, b"got-hi\n")
        self.assertEqual(status[0]["status"], "Success", "attach never reports the exit code")
        sock.close()
        pod = self.server.wait_pod("default", "web", lambda p: "terminated" in (
            p["status"]["ephemeralContainerStatuses"][0]["state"]))
        self.assertEqual(pod["status"]["ephemeralContainerStatuses"][0]["state"]["terminated"]["exitCode"], 3)

    # -- fault injection: each knob does what the real world does ------------------------------
    def test_fault_drop_and_reset_close_the_connection_without_an_answer(self):
        for action, errors in (("drop", (http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)),
                               ("reset", (ConnectionResetError, ssl.SSLError, http.client.RemoteDisconnected))):
            with self.subTest(action=action):
                fault = self.server.inject("GET", r"/pods/web$", action)
                with self.assertRaises(errors):
                    self.request("GET", "/api/v1/namespaces/default/pods/web")
                self.assertEqual(fault.fired, 1)
                # Once only: the next request is served.
                self.assertEqual(self.request("GET", "/api/v1/namespaces/default/pods/web")[0], 404)

    def test_fault_lose_answer_does_the_work_and_drops_the_answer(self):
        self.server.inject("POST", r"/pods$", "lose-answer")
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError, ssl.SSLError)):
            self.request("POST", "/api/v1/namespaces/default/pods", self.pod("web"))
        self.assertIsNotNone(self.server.store.get("default", "web"), "the POST was not carried out")

    def test_fault_status_500_and_429_with_retry_after(self):
        for code, reason in ((500, "InternalError"), (429, "TooManyRequests"), (503, "ServiceUnavailable")):
            with self.subTest(code=code):
                self.server.inject("GET", r"/pods/web$", "status", code=code, retry_after=2)
                conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=self.tls())
                conn.request("GET", "/api/v1/namespaces/default/pods/web")
                resp = conn.getresponse()
                body = json.loads(resp.read())
                conn.close()
                self.assertEqual((resp.status, resp.getheader("Retry-After")), (code, "2"))
                self.assertEqual((body["kind"], body["status"], body["reason"], body["code"]),
                                 ("Status", "Failure", reason, code))
                self.assertEqual(body["details"], {"retryAfterSeconds": 2})
        self.server.inject("GET", r"/pods/web$", "status", code=500)
        status, body = self.request("GET", "/api/v1/namespaces/default/pods/web")
        self.assertEqual((status, body["message"]), (500, "Internal error occurred: etcdserver: request timed out"))
        self.assertNotIn("details", body, "no Retry-After unless asked")

    def test_fault_watch_answered_410_gone_as_the_http_status(self):
        self.server.inject("WATCH", r"/pods$", "status", code=410)
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=self.tls())
        conn.request("GET", "/api/v1/namespaces/default/pods?watch=true&resourceVersion=1")
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        self.assertEqual((resp.status, body["reason"], body["code"]), (410, "Expired", 410))
        self.assertTrue(body["message"].startswith("too old resource version: "))

    def test_fault_watch_bookmarks_only_when_asked_for(self):
        self.request("POST", "/api/v1/namespaces/default/pods", self.pod("web"))
        self.server.inject("WATCH", r"/pods$", "bookmarks", times=2)
        events = self.watch_lines("resourceVersion=1&timeoutSeconds=2", lambda evs: len(evs) >= 6, [])
        self.assertNotIn("BOOKMARK", [e["type"] for e in events], "bookmarks sent to a client that did not ask")
        events = self.watch_lines("resourceVersion=1&allowWatchBookmarks=true",
                                  lambda evs: any(e["type"] == "BOOKMARK" for e in evs), [])
        bookmark = [e for e in events if e["type"] == "BOOKMARK"][0]["object"]
        self.assertEqual((bookmark["kind"], list(bookmark["metadata"])), ("Pod", ["resourceVersion"]))
        self.assertTrue(bookmark["metadata"]["resourceVersion"].isdigit())

    def test_fault_watch_cut_mid_stream_has_no_terminating_chunk(self):
        self.request("POST", "/api/v1/namespaces/default/pods", self.pod("web"))
        self.server.inject("WATCH", r"/pods$", "cut", after=0.3)
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=self.tls())
        conn.request("GET", "/api/v1/namespaces/default/pods?watch=true&resourceVersion=0")
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        with self.assertRaises(http.client.IncompleteRead):
            resp.read()
        conn.close()

    def test_fault_exec_failure_after_the_upgrade_comes_on_channel_3(self):
        self.request("POST", "/api/v1/namespaces/default/pods", self.pod("web"))
        self.server.inject("EXEC", r"/exec$", "exec-failure")
        sock, head, rest = self.exec_handshake("v5.channel.k8s.io")
        self.assertIn("101 Switching Protocols", head)
        sock.sendall(bytes([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]))  # our close, masked
        messages = self.read_messages(sock, rest)
        sock.close()
        status = [json.loads(m[1:]) for op, m in messages if op == 2 and m[:1] == b"\x03"]
        self.assertEqual((status[0]["status"], status[0]["reason"], status[0]["code"]),
                         ("Failure", "InternalError", 500))
        self.assertIn("error executing command in container", status[0]["message"])

    def test_fault_exec_ping_and_cut_mid_session(self):
        skip_unless_root()
        self.request("POST", "/api/v1/namespaces/default/pods", self.pod("web"))
        self.server.wait_pod("default", "web", lambda p: p["status"].get("phase") == "Running")
        path = "/api/v1/namespaces/default/pods/web/exec?command=sleep&command=2&stdout=true"
        self.server.inject("EXEC", r"/exec$", "ping", every=0.2)
        sock, head, rest = self.exec_handshake("v5.channel.k8s.io", path)
        messages = self.read_messages(sock, rest)
        sock.close()
        self.assertGreaterEqual(sum(1 for op, _ in messages if op == 9), 3, "no pings")
        self.server.inject("EXEC", r"/exec$", "cut", after=0.5)
        sock, head, rest = self.exec_handshake("v5.channel.k8s.io", path)
        started = time.monotonic()
        try:
            messages = self.read_messages(sock, rest)
        except ConnectionResetError:
            messages = []
        sock.close()
        self.assertLess(time.monotonic() - started, 1.8, "the session was not cut")
        self.assertFalse([m for op, m in messages if op == 2 and m[:1] == b"\x03"], "a cut session sent a status")

    def test_connections_are_counted(self):
        before = self.server.connections
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=self.tls())
        for _ in range(3):  # keep-alive: one connection
            conn.request("GET", "/version")
            conn.getresponse().read()
        conn.close()
        self.request("GET", "/version")
        self.assertEqual(self.server.connections - before, 2)

    def test_http2_is_never_negotiated(self):
        sock = self.tls(alpn=("h2", "http/1.1")).wrap_socket(
            socket.create_connection(("127.0.0.1", self.server.port)), server_hostname="localhost")
        self.assertEqual(sock.selected_alpn_protocol(), "http/1.1")
        sock.close()


    # -- plain objects beyond pods (objects.py: issue 11) -------------------------------------
    def merge_patch(self, path, body):
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=self.tls("alice"))
        conn.request("PATCH", path, body=json.dumps(body),
                     headers={"Content-Type": "application/merge-patch+json"})
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, json.loads(data)

    def test_runtimeclasses_are_cluster_scoped_with_real_404_and_403(self):
        self.server.objects.put("node.k8s.io/v1", "runtimeclasses", {"metadata": {"name": "kata"}, "handler": "kata-qemu"})
        status, rc = self.request("GET", "/apis/node.k8s.io/v1/runtimeclasses/kata")
        self.assertEqual((status, rc["kind"], rc["handler"]), (200, "RuntimeClass", "kata-qemu"))
        status, body = self.request("GET", "/apis/node.k8s.io/v1/runtimeclasses/gvisor")
        self.assertEqual((status, body["reason"], body["message"]),
                         (404, "NotFound", 'runtimeclasses.node.k8s.io "gvisor" not found'))
        self.server.forbid("get", "runtimeclasses.node.k8s.io")
        status, body = self.request("GET", "/apis/node.k8s.io/v1/runtimeclasses/kata")
        self.assertEqual(status, 403)
        self.assertEqual(body["message"], 'runtimeclasses.node.k8s.io "kata" is forbidden: User "alice" cannot get '
                         'resource "runtimeclasses" in API group "node.k8s.io" at the cluster scope')

    def test_merge_patch_with_resource_version_precondition_and_409(self):
        self.server.objects.put("serving.knative.dev/v1", "revisions",
                                {"metadata": {"name": "r1", "annotations": {"a": "1", "b": "2"}}}, "default")
        path = "/apis/serving.knative.dev/v1/namespaces/default/revisions/r1"
        _, rev = self.request("GET", path)
        status, new = self.merge_patch(path, {"metadata": {"resourceVersion": rev["metadata"]["resourceVersion"],
                                                           "annotations": {"a": None, "c": "3"}}})
        self.assertEqual(status, 200)
        self.assertEqual(new["metadata"]["annotations"], {"b": "2", "c": "3"})
        self.assertNotEqual(new["metadata"]["resourceVersion"], rev["metadata"]["resourceVersion"])
        status, body = self.merge_patch(path, {"metadata": {"resourceVersion": rev["metadata"]["resourceVersion"],
                                                            "annotations": {"d": "4"}}})
        self.assertEqual((status, body["reason"]), (409, "Conflict"))
        self.assertIn("the object has been modified", body["message"])
        # A plain JSON body is no patch type: 415, as the real server answers.
        status, body = self.request("PATCH", path, {"metadata": {}})
        self.assertEqual((status, body["reason"]), (415, "UnsupportedMediaType"))


class InstalledModeStandInTests(StandInTests):
    """What the installed (broker) mode needs from the API server (issue 8): RBAC objects and
    their evaluation, the review APIs, ConfigMaps, DaemonSets, Events, API aggregation."""

    def setUp(self):
        super().setUp()
        self.server.store.namespaces.update({"a", "b"})
        self.server.add_token("tok-erin", "erin", ["dev"])

    def raw(self, method, path, body=None, cert="alice", token=None):
        """(status, headers, bytes): for answers that are not JSON."""
        conn = http.client.HTTPSConnection("127.0.0.1", self.server.port, context=self.tls(cert))
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, resp.headers, data

    def as_erin(self, method, path, body=None):
        return self.request(method, path, body, cert=None, token="tok-erin")

    def bind_exec_role(self, namespace, subject):
        """deploy's idea of a broker user: get pods + create pods/exec, bound in one namespace."""
        self.assertEqual(self.request("POST", RBAC + "/clusterroles", {
            "metadata": {"name": "exec-only"}, "rules": [
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]})[0], 201)
        status, body = self.request("POST", RBAC + "/namespaces/%s/rolebindings" % namespace, {
            "metadata": {"name": "exec-only"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "exec-only"},
            "subjects": [subject]})
        self.assertEqual(status, 201, body)

    def test_rbac_rolebinding_grants_its_namespace_only_with_the_real_403(self):
        self.assertEqual(self.as_erin("GET", "/api/v1/namespaces/a/pods/p")[0], 403)
        self.bind_exec_role("a", {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "erin"})
        self.assertEqual(self.as_erin("GET", "/api/v1/namespaces/a/pods/p")[0], 404)  # allowed, absent
        status, body = self.as_erin("GET", "/api/v1/namespaces/b/pods/p")
        self.assertEqual((status, body["reason"], body["message"]), (403, "Forbidden",
                         'pods "p" is forbidden: User "erin" cannot get resource "pods" in API group "" in the '
                         'namespace "b"'))
        status, body = self.as_erin("POST", "/api/v1/namespaces/b/pods/p/exec?command=true")
        self.assertEqual((status, body["message"], body["details"]), (403,
                         'pods "p" is forbidden: User "erin" cannot create resource "pods/exec" in API group "" '
                         'in the namespace "b"', {"kind": "pods", "name": "p"}))
        # Only what the role lists: no list, no create pods, nothing cluster-wide.
        self.assertEqual(self.as_erin("GET", "/api/v1/namespaces/a/pods")[0], 403)
        self.assertEqual(self.as_erin("POST", "/api/v1/namespaces/a/pods", self.pod("x"))[0], 403)
        status, body = self.as_erin("GET", "/api/v1/nodes")
        self.assertEqual(body["message"], 'nodes is forbidden: User "erin" cannot list resource "nodes" in API '
                                          'group "" at the cluster scope')
        # The forbid toggles still refuse on top of RBAC.
        self.server.forbid("get", "pods", user="erin")
        self.assertEqual(self.as_erin("GET", "/api/v1/namespaces/a/pods/p")[0], 403)

    def test_rbac_groups_service_accounts_resource_names_and_wildcards(self):
        token = self.server.service_account_token("a", "robot")
        self.request("POST", RBAC + "/namespaces/a/roles", {"metadata": {"name": "one-pod"}, "rules": [
            {"apiGroups": [""], "resources": ["pods"], "resourceNames": ["web"], "verbs": ["get"]},
            {"apiGroups": ["*"], "resources": ["*/exec"], "verbs": ["*"]}]})
        self.request("POST", RBAC + "/namespaces/a/rolebindings", {
            "metadata": {"name": "sa"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                    "name": "one-pod"},
            "subjects": [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": "system:serviceaccounts:a"}]})
        get = lambda name: self.request("GET", "/api/v1/namespaces/a/pods/" + name, cert=None, token=token)
        self.assertEqual(get("web")[0], 404)
        status, body = get("db")
        self.assertEqual(body["message"], 'pods "db" is forbidden: User "system:serviceaccount:a:robot" cannot get '
                                          'resource "pods" in API group "" in the namespace "a"')
        self.assertEqual(self.request("POST", "/api/v1/namespaces/a/pods/db/exec", cert=None, token=token)[0], 404)
        # A ServiceAccount subject names the account itself; every authenticated user is in
        # system:authenticated.
        self.request("POST", RBAC + "/clusterrolebindings", {
            "metadata": {"name": "robot-nodes"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                             "kind": "ClusterRole", "name": "view-nodes"},
            "subjects": [{"kind": "ServiceAccount", "namespace": "a", "name": "robot"}]})
        self.request("POST", RBAC + "/clusterroles", {"metadata": {"name": "view-nodes"}, "rules": [
            {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]})
        self.assertEqual(self.request("GET", "/api/v1/nodes", cert=None, token=token)[0], 200)
        self.assertEqual(self.as_erin("GET", "/api/v1/nodes")[0], 403)
        self.assertEqual(self.as_erin("GET", "/version")[0], 200)  # system:discovery

    def test_websocket_exec_is_authorized_as_get_and_create_pods_exec(self):
        """A WebSocket exec is a GET: RequestInfo makes it `get pods/exec`, and servers >= 1.31
        also require `create` — a ServiceAccount holding only `create pods/exec` is refused."""
        token = self.server.service_account_token("a", "robot")
        self.request("POST", RBAC + "/namespaces/a/roles", {"metadata": {"name": "exec"}, "rules": [
            {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]})
        self.request("POST", RBAC + "/namespaces/a/rolebindings", {
            "metadata": {"name": "exec"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                      "name": "exec"},
            "subjects": [{"kind": "ServiceAccount", "name": "robot"}]})
        path = "/api/v1/namespaces/a/pods/web/exec?command=true&stdout=true"
        sock, head, rest = self.exec_handshake("v5.channel.k8s.io", path, token=token)
        length = int(re.search(r"Content-Length: (\d+)", head).group(1))
        while len(rest) < length:
            rest += sock.recv(4096)
        sock.close()
        self.assertIn(" 403 ", head.splitlines()[0])
        self.assertEqual(json.loads(rest)["message"], 'pods "web" is forbidden: User "system:serviceaccount:a:robot" '
                         'cannot get resource "pods/exec" in API group "" in the namespace "a"')
        self.request("PUT", RBAC + "/namespaces/a/roles/exec", {"metadata": {"name": "exec"}, "rules": [
            {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]}]})
        sock, head, rest = self.exec_handshake("v5.channel.k8s.io", path, token=token)
        sock.close()
        self.assertIn(" 404 ", head.splitlines()[0])  # authorized; the pod does not exist

    def test_rbac_objects_are_validated_listed_and_deleted(self):
        status, body = self.request("POST", RBAC + "/clusterrolebindings", {
            "metadata": {"name": "bad"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                     "name": "x"},
            "subjects": [{"kind": "ServiceAccount", "name": "robot"}]})
        self.assertEqual((status, body["reason"]), (422, "Invalid"))
        self.assertEqual(body["message"], 'ClusterRoleBinding.rbac.authorization.k8s.io "bad" is invalid: '
                         '[roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole", '
                         'subjects[0].namespace: Required value]')
        status, body = self.request("POST", RBAC + "/namespaces/a/roles", {"metadata": {"name": "r"}, "rules": [
            {"apiGroups": [""], "resources": ["pods"]}]})
        self.assertEqual(body["message"], 'Role.rbac.authorization.k8s.io "r" is invalid: rules[0].verbs: Required '
                                          'value: verbs must contain at least one value')
        self.bind_exec_role("a", {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "erin"})
        status, body = self.request("GET", RBAC + "/namespaces/a/rolebindings")
        self.assertEqual((status, body["kind"], [b["metadata"]["name"] for b in body["items"]]),
                         (200, "RoleBindingList", ["exec-only"]))
        self.assertEqual(self.request("DELETE", RBAC + "/namespaces/a/rolebindings/exec-only")[0], 200)
        self.assertEqual(self.as_erin("GET", "/api/v1/namespaces/a/pods/p")[0], 403)
        status, body = self.request("GET", RBAC + "/namespaces/a/rolebindings/exec-only")
        self.assertEqual(body["message"], 'rolebindings.rbac.authorization.k8s.io "exec-only" not found')

    def sar(self, spec, token=None):
        return self.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                            {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec},
                            cert=None if token else "alice", token=token)

    def test_subject_access_review_answers_from_rbac_and_the_toggles(self):
        self.bind_exec_role("a", {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "dev"})
        attrs = {"namespace": "a", "verb": "create", "group": "", "resource": "pods", "subresource": "exec",
                 "name": "web"}
        status, body = self.sar({"user": "erin", "groups": ["dev"], "resourceAttributes": attrs})
        self.assertEqual((status, body["kind"], body["status"]["allowed"]), (201, "SubjectAccessReview", True))
        self.assertEqual(body["status"]["reason"], 'RBAC: allowed by RoleBinding "exec-only" of ClusterRole '
                                                   '"exec-only" to User "erin" in namespace "a"')
        self.assertFalse(self.sar({"user": "erin", "groups": ["dev"],
                                   "resourceAttributes": dict(attrs, namespace="b")})[1]["status"]["allowed"])
        self.assertFalse(self.sar({"user": "erin", "resourceAttributes": attrs})[1]["status"]["allowed"])
        self.server.forbid("create", "pods/exec", user="erin")
        self.assertFalse(self.sar({"user": "erin", "groups": ["dev"], "resourceAttributes": attrs})[1]["status"]["allowed"])
        status, body = self.sar({"resourceAttributes": attrs})
        self.assertEqual((status, body["reason"]), (422, "Invalid"))
        # Asking needs `create subjectaccessreviews`.
        broker = self.server.service_account_token("lambda-cntr-system", "lambda-cntr-broker")
        status, body = self.sar({"user": "erin", "resourceAttributes": attrs}, token=broker)
        self.assertEqual((status, body["message"]), (403, 'subjectaccessreviews.authorization.k8s.io is forbidden: '
                         'User "system:serviceaccount:lambda-cntr-system:lambda-cntr-broker" cannot create resource '
                         '"subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope'))

    def test_token_review_names_the_user_and_groups(self):
        token = self.server.service_account_token("lambda-cntr-system", "lambda-cntr-broker")
        status, body = self.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                                    {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                                     "spec": {"token": token}})
        self.assertEqual(status, 201)
        self.assertEqual((body["status"]["authenticated"], body["status"]["user"]["username"],
                          body["status"]["user"]["groups"]),
                         (True, "system:serviceaccount:lambda-cntr-system:lambda-cntr-broker",
                          ["system:serviceaccounts", "system:serviceaccounts:lambda-cntr-system",
                           "system:authenticated"]))
        _, body = self.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {"spec": {"token": "nope"}})
        self.assertFalse(body["status"]["authenticated"])
        self.assertEqual(self.as_erin("POST", "/apis/authentication.k8s.io/v1/tokenreviews",
                                      {"spec": {"token": token}})[0], 403)

    def test_configmaps_and_the_front_proxy_authentication_configmap(self):
        status, cm = self.request("GET", "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication")
        self.assertEqual(status, 200)
        with open(os.path.join(self.pki, "front-proxy-ca.crt")) as f:
            self.assertEqual(cm["data"]["requestheader-client-ca-file"], f.read())
        self.assertEqual(json.loads(cm["data"]["requestheader-allowed-names"]), ["front-proxy-client"])
        self.assertEqual(json.loads(cm["data"]["requestheader-username-headers"]), ["X-Remote-User"])
        self.assertEqual(json.loads(cm["data"]["requestheader-group-headers"]), ["X-Remote-Group"])
        # Aggregated servers read it through kube-system's bootstrap Role, bound to them.
        broker = self.server.service_account_token("lambda-cntr-system", "lambda-cntr-broker")
        cm_path = "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication"
        self.assertEqual(self.request("GET", cm_path, cert=None, token=broker)[0], 403)
        self.request("POST", RBAC + "/namespaces/kube-system/rolebindings", {
            "metadata": {"name": "broker-auth-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                        "name": "extension-apiserver-authentication-reader"},
            "subjects": [{"kind": "ServiceAccount", "namespace": "lambda-cntr-system", "name": "lambda-cntr-broker"}]})
        self.assertEqual(self.request("GET", cm_path, cert=None, token=broker)[0], 200)
        self.assertEqual(self.request("GET", "/api/v1/namespaces/kube-system/configmaps/other", cert=None,
                                      token=broker)[0], 403)
        path = "/api/v1/namespaces/a/configmaps"
        status, made = self.request("POST", path, {"metadata": {"name": "profiles"}, "data": {"b": "restricted"}})
        self.assertEqual((status, made["kind"]), (201, "ConfigMap"))
        made["data"]["b"] = "general"
        status, new = self.request("PUT", path + "/profiles", made)
        self.assertEqual((status, new["data"]), (200, {"b": "general"}))
        status, body = self.request("PUT", path + "/profiles", made)  # stale resourceVersion
        self.assertEqual((status, body["reason"]), (409, "Conflict"))
        self.assertEqual([c["metadata"]["name"] for c in self.request("GET", path)[1]["items"]], ["profiles"])
        status, body = self.request("POST", path, {"metadata": {"name": "x"}, "data": {"bad key": "v"}})
        self.assertEqual((status, body["reason"]), (422, "Invalid"))
        status, body = self.request("POST", "/api/v1/namespaces/nowhere/configmaps", {"metadata": {"name": "x"}})
        self.assertEqual((status, body["message"]), (404, 'namespaces "nowhere" not found'))

    def test_daemonset_runs_one_owned_pod_per_node_and_takes_it_away(self):
        ds = {"metadata": {"name": "agent", "labels": {"app": "agent"}}, "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {"metadata": {"labels": {"app": "agent"}},
                         "spec": {"containers": [sleeper("main")], "terminationGracePeriodSeconds": 1}}}}
        status, body = self.request("POST", "/apis/apps/v1/namespaces/a/daemonsets",
                                    dict(ds, spec=dict(ds["spec"], selector={"matchLabels": {"app": "other"}})))
        self.assertEqual((status, body["reason"]), (422, "Invalid"))
        self.assertIn("`selector` does not match template `labels`", body["message"])
        status, made = self.request("POST", "/apis/apps/v1/namespaces/a/daemonsets", ds)
        self.assertEqual(status, 201)
        _, pods = self.request("GET", "/api/v1/namespaces/a/pods?labelSelector=app%3Dagent")
        self.assertEqual(len(pods["items"]), 1)
        pod = pods["items"][0]
        self.assertTrue(pod["metadata"]["name"].startswith("agent-"))
        self.assertEqual(pod["metadata"]["ownerReferences"], [{
            "apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": made["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}])
        self.server.wait_pod("a", pod["metadata"]["name"], lambda p: p["status"].get("phase") == "Running")
        self.assertEqual(self.server.store.get("a", pod["metadata"]["name"])["spec"]["nodeName"], "node-1")
        _, got = self.request("GET", "/apis/apps/v1/namespaces/a/daemonsets/agent")
        self.assertEqual((got["status"]["desiredNumberScheduled"], got["status"]["numberReady"]), (1, 1))
        self.assertEqual(self.request("DELETE", "/apis/apps/v1/namespaces/a/daemonsets/agent")[0], 200)
        self.server.wait_pod("a", pod["metadata"]["name"], lambda p: p is None)

    def test_daemonset_agent_runs_on_the_host_and_execs_the_real_cntr(self):
        """The path the broker takes: a privileged hostPID DaemonSet pod with a read-only root,
        and pods/exec into it running `cntr attach` on a target container."""
        if not os.access(os.environ.get("CNTR_BIN", ""), os.X_OK):
            self.skipTest("CNTR_BIN (the static cntr) is not built")
        self.server.create_namespace({"metadata": {"name": "lambda-cntr-system", "labels": {
            "pod-security.kubernetes.io/enforce": "privileged"}}})
        labels = {"app.kubernetes.io/name": "lambda-cntr-agent"}
        agent = {"name": "agent", "image": "lambda-cntr-agent:test", "command": ["cntr", "agent", "idle"],
                 "env": [{"name": "LAMBDA_CNTR_AGENT", "value": "daemonset"}],
                 "securityContext": {"privileged": True, "readOnlyRootFilesystem": True}}
        status, _ = self.request("POST", "/apis/apps/v1/namespaces/lambda-cntr-system/daemonsets", {
            "metadata": {"name": "lambda-cntr-agent"}, "spec": {"selector": {"matchLabels": labels}, "template": {
                "metadata": {"labels": labels}, "spec": {"hostPID": True, "containers": [agent],
                                                         "terminationGracePeriodSeconds": 1}}}})
        self.assertEqual(status, 201)
        self.request("POST", "/api/v1/namespaces/a/pods", self.pod("web"))
        target = self.server.wait_pod("a", "web", lambda p: p["status"].get("phase") == "Running")
        container_id = target["status"]["containerStatuses"][0]["containerID"].split("://")[1]
        _, pods = self.request("GET", "/api/v1/namespaces/lambda-cntr-system/pods?labelSelector=" +
                               urllib.parse.quote("app.kubernetes.io/name=lambda-cntr-agent"))
        name = pods["items"][0]["metadata"]["name"]
        self.server.wait_pod("lambda-cntr-system", name, lambda p: p["status"].get("phase") == "Running")
        command = ["cntr", "attach", "-t", "id", "--profile", "restricted", "--", container_id, "--",
                   "sh", "-c", "hostname; grep CapEff /proc/self/status"]
        query = urllib.parse.urlencode([("command", c) for c in command] + [("stdout", "true"), ("stderr", "true")])
        sock, head, rest = self.exec_handshake("v5.channel.k8s.io",
                                               "/api/v1/namespaces/lambda-cntr-system/pods/%s/exec?%s" % (name, query))
        self.assertIn("101", head)
        messages = self.read_messages(sock, rest)
        out = b"".join(m[1:] for op, m in messages if op == 2 and m[:1] == b"\x01")
        self.assertEqual(out.split(), [b"web", b"CapEff:", b"0000000000000000"],
                         [m for _, m in messages])
        status = [json.loads(m[1:]) for op, m in messages if op == 2 and m[:1] == b"\x03"]
        self.assertEqual(status[-1]["status"], "Success")

    def test_events_are_created_through_both_apis_and_listed_by_object(self):
        status, ev = self.request("POST", "/api/v1/namespaces/a/events", {
            "metadata": {"generateName": "web."}, "involvedObject": {"kind": "Pod", "namespace": "a", "name": "web"},
            "reason": "DebugSessionStarted", "message": 'user "erin" attached', "type": "Normal",
            "source": {"component": "lambda-cntr-broker"}})
        self.assertEqual((status, ev["kind"]), (201, "Event"))
        status, body = self.request("POST", "/apis/events.k8s.io/v1/namespaces/a/events", {
            "metadata": {"name": "web.2"}, "regarding": {"kind": "Pod", "namespace": "a", "name": "web"},
            "reason": "DebugSessionEnded", "note": "exit 0", "type": "Normal", "action": "Attach",
            "reportingController": "lambda-cntr-broker", "reportingInstance": "b-1",
            "eventTime": "2026-01-01T00:00:00.000000Z"})
        self.assertEqual(status, 201, body)
        _, listed = self.request("GET", "/api/v1/namespaces/a/events?fieldSelector=involvedObject.name%3Dweb")
        self.assertEqual([(e["reason"], e["message"]) for e in listed["items"]],
                         [("DebugSessionStarted", 'user "erin" attached'), ("DebugSessionEnded", "exit 0")])
        status, body = self.request("POST", "/api/v1/namespaces/a/events", {
            "metadata": {"name": "x"}, "involvedObject": {"kind": "Pod", "namespace": "b", "name": "web"}})
        self.assertEqual((status, body["reason"]), (422, "Invalid"))
        self.assertEqual(self.as_erin("POST", "/api/v1/namespaces/a/events", {"metadata": {"name": "y"}})[0], 403)

    # -- aggregation ----------------------------------------------------------------------------
    def register(self, **spec):
        body = {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                "metadata": {"name": "v1alpha1.debug.lambda-cntr.io"},
                "spec": dict({"group": "debug.lambda-cntr.io", "version": "v1alpha1",
                              "service": {"namespace": "lambda-cntr-system", "name": "lambda-cntr-broker", "port": 443},
                              "groupPriorityMinimum": 1000, "versionPriority": 15,
                              "caBundle": aggregator.ca_bundle(os.path.join(self.pki, "ca.crt"))}, **spec)}
        status, made = self.request("POST", "/apis/apiregistration.k8s.io/v1/apiservices", body)
        self.assertEqual(status, 201, made)
        return made

    def backend(self):
        backend = backend_fixture.Backend(self.pki)
        self.addCleanup(backend.stop)
        self.server.set_service_endpoint("lambda-cntr-system", "lambda-cntr-broker", backend.url)
        return backend

    def test_apiservice_without_endpoint_answers_the_aggregators_503(self):
        self.assertEqual(self.raw("GET", VERSION_PATH)[0], 404)
        made = self.register()
        self.assertEqual(made["status"]["conditions"][0]["reason"], "MissingEndpoints")
        status, headers, data = self.raw("GET", VERSION_PATH)
        self.assertEqual((status, headers["Content-Type"], data), (503, "text/plain; charset=utf-8",
                                                                   b"service unavailable\n"))
        # The group itself is the aggregator's, served from the APIService objects.
        status, group = self.request("GET", GROUP_PATH)
        self.assertEqual((status, group["kind"], group["preferredVersion"]["groupVersion"]),
                         (200, "APIGroup", "debug.lambda-cntr.io/v1alpha1"))
        _, groups = self.request("GET", "/apis")
        self.assertIn("debug.lambda-cntr.io", [g["name"] for g in groups["groups"]])
        # Unreachable backend: 503 with the dial error.
        self.server.set_service_endpoint("lambda-cntr-system", "lambda-cntr-broker",
                                         "https://127.0.0.1:%d" % backend_fixture.free_port())
        status, _, data = self.raw("GET", VERSION_PATH)
        self.assertEqual(status, 503)
        self.assertRegex(data.decode(), r"^error trying to reach service: dial tcp 127\.0\.0\.1:\d+: connect: "
                                        r"connection refused\n$")

    def test_proxy_verifies_the_backend_and_sends_front_proxy_identity(self):
        self.register(caBundle=aggregator.ca_bundle(os.path.join(self.pki, "front-proxy-ca.crt")))
        backend = self.backend()
        status, _, data = self.raw("GET", VERSION_PATH)  # the backend's cert is not from that CA
        self.assertEqual(status, 503)
        self.assertIn(b"certificate verify failed", data)
        self.assertEqual(backend.seen, [])
        status, made = self.merge_patch("/apis/apiregistration.k8s.io/v1/apiservices/v1alpha1.debug.lambda-cntr.io",
                                        {"spec": {"caBundle": aggregator.ca_bundle(os.path.join(self.pki, "ca.crt"))}})
        self.assertEqual((status, made["status"]["conditions"][0]["status"]), (200, "True"))
        status, doc = self.request("GET", VERSION_PATH, cert=None, token="tok")
        self.assertEqual((status, doc), (200, backend_fixture.DISCOVERY))
        seen = backend.seen[-1]
        self.assertEqual((seen["path"], seen["client_cn"]), ("/apis/debug.lambda-cntr.io/v1alpha1", "front-proxy-client"))
        self.assertEqual(backend.headers_of(-1, "X-Remote-User"), ["carol"])
        self.assertEqual(backend.headers_of(-1, "X-Remote-Group"), ["system:masters", "system:authenticated"])
        self.assertEqual(backend.headers_of(-1, "Authorization"), [])

    def test_proxied_requests_are_authorized_with_request_info(self):
        self.register()
        backend = self.backend()
        attach = VERSION_PATH + "/namespaces/a/pods/web/attach?container=app&stdout=true"
        status, body = self.as_erin("GET", attach)
        self.assertEqual((status, body["message"], body["details"]), (403,
                         'pods.debug.lambda-cntr.io "web" is forbidden: User "erin" cannot get resource "pods/attach" '
                         'in API group "debug.lambda-cntr.io" in the namespace "a"',
                         {"group": "debug.lambda-cntr.io", "kind": "pods", "name": "web"}))
        status, body = self.as_erin("POST", VERSION_PATH + "/nodes/node-1/attach")
        self.assertEqual(body["message"], 'nodes.debug.lambda-cntr.io "node-1" is forbidden: User "erin" cannot '
                                          'create resource "nodes/attach" in API group "debug.lambda-cntr.io" at the '
                                          'cluster scope')
        self.assertEqual(backend.seen, [])
        # deploy/'s rule for every authenticated user (the broker then asks its own question).
        self.request("POST", RBAC + "/clusterroles", {"metadata": {"name": "attach"}, "rules": [
            {"apiGroups": ["debug.lambda-cntr.io"], "resources": ["pods/attach", "nodes/attach"],
             "verbs": ["get", "create"]}]})
        self.request("POST", RBAC + "/clusterrolebindings", {
            "metadata": {"name": "attach"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                        "kind": "ClusterRole", "name": "attach"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}]})
        self.assertEqual(self.as_erin("POST", VERSION_PATH + "/nodes/node-1/attach", {"x": 1}),
                         (201, {"echo": '{"x": 1}'}))
        self.assertEqual(backend.headers_of(-1, "X-Remote-Group"), ["dev", "system:authenticated"])
        self.assertEqual(self.as_erin("GET", VERSION_PATH)[0], 200)  # discovery: system:discovery

    def test_websocket_upgrade_is_relayed_both_ways(self):
        self.register()
        backend = self.backend()
        sock, head, rest = self.exec_handshake("v5.channel.k8s.io, v4.channel.k8s.io",
                                               VERSION_PATH + "/namespaces/a/pods/web/attach?command=echo&stdin=true")
        self.assertIn("101 Switching Protocols", head)
        self.assertIn("Sec-WebSocket-Protocol: v5.channel.k8s.io", head)
        sock.sendall(b"ping-bytes")
        data = rest
        while b"ping-bytes" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        self.assertEqual(data, backend_fixture.server_frame(2, b"\x01ping-bytes"))
        sock.close()
        self.assertEqual(backend.headers_of(-1, "X-Remote-User"), ["alice"])
        self.assertEqual(backend.headers_of(-1, "Sec-WebSocket-Protocol"), ["v5.channel.k8s.io, v4.channel.k8s.io"])

    def test_apply_manifests_takes_every_installed_kind_and_validates(self):
        tmp = self.tmpdir()
        with open(os.path.join(tmp, "00-all.yaml"), "w") as f:
            f.write(INSTALL_YAML)
        applied = self.server.apply_manifests(tmp)
        self.assertEqual([k for k, _, _ in applied], ["Namespace", "ServiceAccount", "ClusterRole",
                                                      "ClusterRoleBinding", "Role", "RoleBinding", "ConfigMap",
                                                      "Service", "Deployment", "DaemonSet", "APIService"])
        self.assertEqual(self.server.pod_security["demo-system"], "privileged")
        _, pods = self.request("GET", "/api/v1/namespaces/demo-system/pods")
        self.assertEqual([p["metadata"]["ownerReferences"][0]["kind"] for p in pods["items"]], ["DaemonSet"])
        self.assertEqual(self.request("GET", "/apis/apps/v1/namespaces/demo-system/deployments/broker")[0], 200)
        self.server.apply_manifests(tmp)  # again: replaced, not refused
        # A ConfigMap key is [-._a-zA-Z0-9]+: "*" is refused as the real API refuses it.
        star = os.path.join(tmp, "star.yaml")
        with open(star, "w") as f:
            f.write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: p, namespace: demo-system}\n"
                    "data: {'*': general}\n")
        with self.assertRaises(apiserver.ApiError) as cm:
            self.server.apply_manifests(star)
        self.assertEqual(cm.exception.code, 422)
        # deploy/ of this tree applies as it is.
        self.assertTrue(self.server.apply_manifests(os.path.join(REPO, "deploy")))
        bad = os.path.join(tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: x, namespace: demo-system}\n"
                    "spec:\n  selector: {matchLabels: {app: x}}\n  template:\n    metadata: {labels: {app: y}}\n"
                    "    spec: {containers: [{name: c, image: i}]}\n")
        with self.assertRaises(apiserver.ApiError) as cm:
            self.server.apply_manifests(bad)
        self.assertIn('DaemonSet.apps "x" is invalid: spec.template.metadata.labels: Invalid value: '
                      'map[string]string{"app":"y"}: `selector` does not match template `labels`', str(cm.exception))

    def tmpdir(self):
        import shutil
        import tempfile
        path = tempfile.mkdtemp(prefix="standin-manifests-")
        self.addCleanup(shutil.rmtree, path, True)
        return path



# InstalledModeStandInTests borrows StandInTests' helpers, not its tests (those run once, there).
for _name in dir(StandInTests):
    if _name.startswith("test_") and _name not in InstalledModeStandInTests.__dict__:
        setattr(InstalledModeStandInTests, _name, None)


INSTALL_YAML = """
apiVersion: v1
kind: Namespace
metadata:
  name: demo-system
  labels: {pod-security.kubernetes.io/enforce: privileged}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: broker, namespace: demo-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: demo-broker}
rules:
- apiGroups: [authorization.k8s.io]
  resources: [subjectaccessreviews]
  verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: demo-broker}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: demo-broker}
subjects: [{kind: ServiceAccount, name: broker, namespace: demo-system}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: exec-agents, namespace: demo-system}
rules:
- apiGroups: [""]
  resources: [pods/exec]
  verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: exec-agents, namespace: demo-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: exec-agents}
subjects: [{kind: ServiceAccount, name: broker}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: profiles, namespace: demo-system}
data: {demo-system: "general,restricted"}
---
apiVersion: v1
kind: Service
metadata: {name: broker, namespace: demo-system}
spec:
  selector: {app: broker}
  ports: [{port: 443, targetPort: 8443}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: broker, namespace: demo-system}
spec:
  selector: {matchLabels: {app: broker}}
  template:
    metadata: {labels: {app: broker}}
    spec:
      serviceAccountName: broker
      containers: [{name: broker, image: "registry.invalid/broker:1"}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: demo-system}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: "busybox:1.36"}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1alpha1.demo.example.io}
spec:
  group: demo.example.io
  version: v1alpha1
  service: {namespace: demo-system, name: broker, port: 443}
  groupPriorityMinimum: 1000
  versionPriority: 15
  insecureSkipTLSVerify: true
"""


if __name__ == "__main__":
    skip_unless_root()
    unittest.main()
