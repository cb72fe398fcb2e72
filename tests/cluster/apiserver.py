#!/usr/bin/python3
"""A Kubernetes API server stand-in for the cluster tests of lambda-cntr.

Faithful to the real API for what lambda-cntr uses: HTTPS (ALPN http/1.1 only), client-cert or
bearer-token authentication (401 Status otherwise), RBAC toggles answering 403 with the real
message, pods under /api/v1/namespaces/NS/pods with GET/POST/DELETE, list with labelSelector and
fieldSelector, WATCH streams (chunked JSON lines, split across writes, ERROR 410 when the
resourceVersion is too old), Status bodies for errors, /version, and pods/exec over WebSocket
(v5.channel.k8s.io and v4.channel.k8s.io, or v4 only like servers < 1.29). Pods run for real
(see kubelet.py and node.py).

Fault injection (ApiServer.inject): the next request(s) of a kind get a failure the real world
produces — a dropped or reset connection, an answer lost after the work was done, a 500/429/410
Status with or without Retry-After, a watch cut mid-stream or carrying BOOKMARK events, an exec
whose session is cut, whose container fails after the upgrade (a Status on channel 3, as servers
>= 1.30 report post-upgrade errors), or that is pinged. Accepted connections are counted.

Authorization is the real server's: RBAC (Roles, ClusterRoles and their bindings under
rbac.authorization.k8s.io/v1, see rbac.py; `system:masters` may do anything) on top of which the
forbid() toggles refuse; SubjectAccessReviews and TokenReviews answer from the same evaluator and
tokens. Client certificates give the user (CN) and groups (O); bearer tokens map to users given
by tests (add_token, service_account_token; a plain `tokens={TOKEN: USER}` entry is a member of
system:masters, as every user could do everything before RBAC). Installed-mode objects
(issue 8): Namespaces, ConfigMaps (kube-system/extension-apiserver-authentication describes the
front-proxy PKI of mkcerts.sh), Secrets (the brokers' shared serving certificate), ServiceAccounts,
Services, PodDisruptionBudgets, DaemonSets run by a controller
(daemonsets.py), Events created through the API, APIServices with API aggregation
(aggregator.py), and apply_manifests() for multi-document YAML such as deploy/.

Importable (tests drive an ApiServer object directly) or runnable:
    apiserver.py --pki DIR [--port N] [--v4-only] [--token TOKEN=USER[:GROUP,...] ...]
"""

import argparse
import json
import os
import random
import re
import secrets
import select
import shutil
import signal
import socket
import socketserver
import ssl
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import aggregator  # noqa: E402
import daemonsets  # noqa: E402
import kubelet  # noqa: E402
import node  # noqa: E402
import nodes  # noqa: E402
import customresources  # noqa: E402
import objects  # noqa: E402
import rbac  # noqa: E402
import validation  # noqa: E402
import wsexec  # noqa: E402
import ephemeral  # noqa: E402
import coreapi  # noqa: E402
from podstore import (SelectorError, Store, matches, now_rfc3339, parse_field_selector,  # noqa: E402
                      parse_label_selector)

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
NAME_INVALID = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
                "'-' or '.', and must start and end with an alphanumeric character (e.g. "
                "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?"
                "(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


class UserInfo(str):
    """An authenticated user: the name (a str, as every handler uses it) with its groups and
    extra, as the authenticator found them."""

    def __new__(cls, name, groups=(), extra=None):
        obj = super().__new__(cls, name)
        groups = list(groups)
        if "system:authenticated" not in groups:
            groups.append("system:authenticated")
        obj.groups, obj.extra = groups, dict(extra or {})
        return obj


def token_user(entry):
    """A UserInfo from a tokens entry: (user, groups), or a plain user name (what tests set
    directly, and what every user was before RBAC: a member of system:masters)."""
    if isinstance(entry, str):
        return UserInfo(entry, ["system:masters"])
    return UserInfo(entry[0], entry[1])


class ApiError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                     "message": message, "reason": reason, "code": code}
        if details:
            self.body["details"] = details
        self.code = code


class _Answered(Exception):
    """The request has been answered already (by a test knob)."""


# What inject() can do to a request, and where it applies.
FAULT_ACTIONS = {
    "drop": "close the connection before answering (EOF)",
    "reset": "reset the connection (RST) before answering",
    "lose-answer": "do the work, then drop the connection instead of answering (a POST whose "
                   "pod exists though its client never heard so)",
    "status": "answer with Status `code` (500 InternalError, 429 TooManyRequests, 503, 410 Expired "
              "on a watch; 404 NotFound or 409 Conflict: what a request racing another client meets), "
              "with Retry-After when `retry_after` is given",
    "cut": "WATCH: send the headers (and first events), then drop mid-stream; EXEC: upgrade, start "
           "the command, then drop the connection mid-session after `after` seconds",
    "bookmarks": "WATCH: send a BOOKMARK event every half second (when allowWatchBookmarks=true)",
    "exec-failure": "EXEC: upgrade, then report on channel 3 a Status Failure (the container "
                    "could not run the command) and close, as API servers >= 1.30 do",
    "ping": "EXEC: ping the client every `every` seconds during the session",
}
# Request kinds: the HTTP method, or WATCH (a GET with watch=true) and EXEC (pods/exec).
FAULT_KINDS = ("GET", "POST", "DELETE", "PATCH", "PUT", "WATCH", "EXEC")

STATUS_REASONS = {404: "NotFound", 409: "Conflict", 410: "Expired", 429: "TooManyRequests", 500: "InternalError",
                  503: "ServiceUnavailable"}


class Fault:
    def __init__(self, kind, path_re, action, times, code, retry_after, after, every, message, query_re):
        if kind not in FAULT_KINDS or action not in FAULT_ACTIONS:
            raise ValueError("no such fault: %s %s" % (kind, action))
        self.kind, self.path_re, self.action = kind, re.compile(path_re), action
        self.query_re = re.compile(query_re or "")
        self.times, self.code, self.retry_after = times, code, retry_after
        self.after, self.every, self.message = after, every, message
        self.fired = 0

    def status_body(self, rv=0):
        code = self.code
        if self.message:
            message = self.message
        elif code == 410:
            message = "too old resource version: 1 (%d)" % rv
        elif code == 429:
            message = "Too many requests, please try again later."
        elif code == 503:
            message = "the server is currently unable to handle the request"
        else:
            message = "Internal error occurred: etcdserver: request timed out"
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": message, "reason": STATUS_REASONS.get(code, "InternalError"), "code": code}
        if self.retry_after is not None:
            body["details"] = {"retryAfterSeconds": self.retry_after}
        return body


def not_found(name, kind="pods"):
    return ApiError(404, "NotFound", '%s "%s" not found' % (kind, name), {"name": name, "kind": kind})


def bad_request(message):
    return ApiError(400, "BadRequest", message)


class ApiServer:
    """The whole stand-in: store, kubelet, TLS listener. Tests flip the knobs below."""

    def __init__(self, pki, port=0, v4_only=False, tokens=None, cntr_bin=None, node_name="node-1"):
        self.pki = pki
        self.v4_only = v4_only
        self.tokens = dict(tokens or {})        # bearer token -> (user name, groups) or user name
        self.service_endpoints = {}             # (namespace, service) -> https URL (aggregation)
        self.forbidden = set()                  # (user or "*", verb, resource)
        self.pod_security = {}                  # namespace -> enforced level (baseline, restricted)
        self.events = []                        # core/v1 Events, oldest first
        self.throttle_next = 0                  # answer this many REST requests with APF's 429
        self.path_prefix = ""                   # served under a prefix, as behind Rancher's proxy
        self.requests = []                      # (user, method, path, query) of every request
        self.open_watches = 0
        self.expired_watches = 0                # 410 ERROR events sent
        self.faults = []                        # see inject()
        self.fault_log = []                     # (kind, path, action) of every fault that fired
        self.connections = 0                    # TCP connections accepted
        self.pongs = 0                          # pongs received for the pings of "ping" faults
        self.bookmarks_sent = 0
        self.attach_sessions = []               # wsexec.Session of every pods/attach (ephemeral.py)
        self.extra_nodes = set()                # Node objects beyond the kubelet's own (coreapi.py)
        self.serve_self_subject_review = True   # False: a server before 1.28 (404)
        self.user_groups = {}                   # user -> groups a SelfSubjectReview reports
        self.reviews = []                       # SubjectAccessReviews answered, oldest first
        self.sar_denied = set()                 # (user, namespace): reviews refused whatever RBAC says
        self.lock = threading.Lock()
        self.store = Store()
        self.objects = objects.ObjectStore()    # RuntimeClasses, Knative, apps/v1, RBAC... (objects.py)
        self.rbac = rbac.Evaluator(self.objects)
        self.namespace_objects = {}             # name -> Namespace created through the API
        self.daemonsets = daemonsets.Controller(self)
        for plural, obj in rbac.BOOTSTRAP:
            self.objects.put(rbac.RBAC_GV, plural, obj, obj["metadata"].get("namespace"))
        self.state_dir = tempfile.mkdtemp(prefix="cntr-apiserver-")
        # Two nodes (nodes.py); self.kubelet is node-1's as far as the tests' knobs go.
        self.kubelet = nodes.Nodes(kubelet.Kubelet, self.store, self.state_dir,
                                   cntr_bin or os.environ.get("CNTR_BIN"))
        self.kubelet.record_event = self.record_event
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(os.path.join(pki, "server.crt"), os.path.join(pki, "server.key"))
        self.tls.load_verify_locations(os.path.join(pki, "ca.crt"))
        self.tls.verify_mode = ssl.CERT_OPTIONAL
        # A real API server would pick h2 when offered; the stand-in only speaks HTTP/1.1, so
        # offering nothing else is the honest refusal.
        self.tls.set_alpn_protocols(["http/1.1"])
        self.publish_authentication_configmap()
        self.httpd = _ThreadingServer(("127.0.0.1", port), _Handler)
        self.httpd.api = self
        self.port = self.httpd.server_address[1]
        self.thread = None

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.port

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.httpd.stopping = True
        self.httpd.shutdown()
        self.httpd.server_close()
        self.kubelet.shutdown()
        shutil.rmtree(self.state_dir, ignore_errors=True)

    # -- test knobs ---------------------------------------------------------------------------
    def forbid(self, verb, resource, user="*"):
        """Refuse verb on resource ("pods", "pods/exec", "runtimeclasses.node.k8s.io") to user,
        whatever RBAC says."""
        self.forbidden.add((user, verb, resource))

    def add_token(self, token, user, groups=()):
        """A bearer token for user in groups (besides system:authenticated): RBAC decides."""
        self.tokens[token] = (user, list(groups))

    def service_account_token(self, namespace, name):
        """A token of ServiceAccount namespace/name (user system:serviceaccount:NS:NAME)."""
        token = "sa-%s-%s-%s" % (namespace, name, secrets.token_hex(8))
        self.tokens[token] = (rbac.service_account_user(namespace, name), rbac.service_account_groups(namespace))
        return token

    def set_service_endpoint(self, namespace, name, url):
        """The address behind Service namespace/name (an https URL), or None to take it away:
        what the aggregator proxies an APIService of that service to."""
        if url is None:
            self.service_endpoints.pop((namespace, name), None)
        else:
            self.service_endpoints[(namespace, name)] = url

    def apply_manifests(self, path):
        """Create (or replace) every object of a YAML file or of the *.yaml/*.yml files of a
        directory (in name order, as kubectl apply -f DIR), as an admin would; raises ApiError as
        the API would answer. Returns [(kind, namespace, name)]."""
        import manifests
        try:
            return manifests.apply(self, path)
        except objects.ObjectError as e:
            raise ApiError(e.code, e.reason, e.message, e.details)

    def publish_authentication_configmap(self):
        """kube-system/extension-apiserver-authentication, as kube-apiserver publishes it for
        aggregated API servers: the client CA and the front-proxy (request header) settings."""
        def read(name):
            with open(os.path.join(self.pki, name)) as f:
                return f.read()
        data = {"client-ca-file": read("ca.crt")}
        if os.path.exists(os.path.join(self.pki, "front-proxy-ca.crt")):
            data.update({"requestheader-client-ca-file": read("front-proxy-ca.crt"),
                         "requestheader-allowed-names": json.dumps(["front-proxy-client"]),
                         "requestheader-username-headers": json.dumps(["X-Remote-User"]),
                         "requestheader-group-headers": json.dumps(["X-Remote-Group"]),
                         "requestheader-extra-headers-prefix": json.dumps(["X-Remote-Extra-"])})
        self.objects.put("v1", "configmaps", {"metadata": {"name": "extension-apiserver-authentication"},
                                              "data": data}, "kube-system")

    def inject(self, kind, path_re, action, times=1, code=500, retry_after=None, after=0.5,
               every=0.2, message=None, query_re=None):
        """The next `times` requests of `kind` (GET, POST, DELETE, WATCH, EXEC...) whose path
        matches path_re (and raw query string query_re) get `action` (see FAULT_ACTIONS).
        Returns the Fault (its .fired counts)."""
        fault = Fault(kind, path_re, action, times, code, retry_after, after, every, message, query_re)
        with self.lock:
            self.faults.append(fault)
        return fault

    def take_fault(self, kind, target, actions):
        path, _, query = target.partition("?")
        with self.lock:
            for fault in self.faults:
                if fault.kind == kind and fault.action in actions and fault.fired < fault.times and \
                        fault.path_re.search(path) and fault.query_re.search(query):
                    fault.fired += 1
                    self.fault_log.append((kind, path, fault.action))
                    return fault
        return None

    def node_names(self):
        return sorted({self.kubelet.node_name} | self.extra_nodes)

    def count(self, method, path_re):
        return sum(1 for _, m, p, _ in self.requests if m == method and re.search(path_re, p))

    def create_pod(self, pod, namespace="default"):
        """Create a pod as if POSTed by an admin (fixtures for the tests)."""
        return self.create(namespace, pod)

    def wait_pod(self, namespace, name, predicate, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pod = self.store.get(namespace, name)
            if predicate(pod):
                return pod
            time.sleep(0.05)
        raise TimeoutError("pod %s/%s: condition not reached; last seen: %s" % (
            namespace, name, json.dumps(self.store.get(namespace, name))))

    # -- REST semantics -----------------------------------------------------------------------
    def authorize(self, user, verb, resource, namespace, name=None, group=""):
        """403 Status unless user may verb resource ("pods" or "pods/exec") of group."""
        res, _, sub = resource.partition("/")
        self.authorize_attributes(user, rbac.Attributes(verb, res, group, sub, namespace or "", name or ""))

    def authorize_path(self, user, verb, path):
        self.authorize_attributes(user, rbac.Attributes(verb, path=path))

    def authorize_attributes(self, user, attrs):
        allowed, _ = self.decide(user, getattr(user, "groups", ["system:masters"]), attrs)
        if not allowed:
            raise ApiError(403, "Forbidden", attrs.forbidden_message(user), attrs.forbidden_details())

    def decide(self, user, groups, attrs):
        """(allowed, reason): the forbid() toggles, then RBAC."""
        if attrs.is_resource:
            names = {attrs.full_resource, attrs.full_resource + "." + attrs.group}
            if any(u in ("*", user) and v == attrs.verb and r in names for u, v, r in self.forbidden):
                return False, ""
        return self.rbac.decide(user, groups, attrs)

    # -- stored objects (objects.py) ----------------------------------------------------------
    def create_object(self, gv, plural, obj, namespace=None):
        """POST of a stored kind: namespace check, validation, storage, controllers."""
        kind, namespaced = objects.RESOURCES[(gv, plural)]
        if not isinstance(obj, dict):
            raise bad_request("the body of the request was in an unknown format")
        meta = obj.setdefault("metadata", {})
        if namespaced:
            if meta.get("namespace") and namespace and meta["namespace"] != namespace:
                raise bad_request("the namespace of the provided object does not match the namespace "
                                  "sent on the request")
            namespace = namespace or meta.get("namespace") or "default"
            if namespace not in self.store.namespaces:
                raise not_found(namespace, "namespaces")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        if obj.get("kind", kind) != kind:
            raise bad_request('the kind of the provided object "%s" does not match "%s"' % (obj.get("kind"), kind))
        validation.defaults(plural, obj)
        validation.validate(gv, plural, kind, obj)
        created = self.objects.put(gv, plural, obj, namespace)
        if plural == "daemonsets":
            self.daemonsets.created(created)
        return self.decorate_object(created)

    def update_object(self, gv, plural, namespace, name, obj):
        kind, _ = objects.RESOURCES[(gv, plural)]
        obj.setdefault("metadata", {})["name"] = name
        validation.defaults(plural, obj)
        validation.validate(gv, plural, kind, obj)
        validation.validate_update(gv, plural, kind, self.objects.get(gv, plural, namespace, name), obj)
        return self.decorate_object(self.objects.update(gv, plural, namespace, name, obj))

    def delete_object(self, gv, plural, namespace, name):
        obj = self.objects.get(gv, plural, namespace, name)
        answer = self.objects.delete(gv, plural, namespace, name)
        if plural == "daemonsets" and obj is not None:
            self.daemonsets.deleted(obj)
        return answer

    def decorate_object(self, obj):
        """Status that controllers keep up to date, computed when read."""
        if obj.get("kind") == "DaemonSet":
            return self.daemonsets.status(obj)
        if obj.get("kind") == "APIService":
            return aggregator.decorate(self, obj)
        return obj

    @staticmethod
    def object_selected(obj, query):
        try:
            labels = parse_label_selector(query.get("labelSelector", [""])[0])
        except SelectorError as e:
            raise bad_request(str(e))
        return all(p(obj["metadata"].get("labels") or {}) for p in labels)

    # -- namespaces -----------------------------------------------------------------------------
    def namespace_object(self, name):
        obj = self.namespace_objects.get(name) or {
            "kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": name, "uid": "ns-" + name, "creationTimestamp": now_rfc3339(),
                         "resourceVersion": "1",
                         "labels": {"kubernetes.io/metadata.name": name}}}
        obj = json.loads(json.dumps(obj))
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
        return obj

    def create_namespace(self, obj):
        meta = (obj or {}).get("metadata") or {}
        name = meta.get("name") or ""
        causes = validation._name(obj or {}, validation.DNS1123_LABEL, validation.LABEL_MSG)
        if causes:
            raise ApiError(422, "Invalid", 'Namespace "%s" is invalid: %s' % (name, ", ".join("%s: %s" % c for c in causes)),
                           {"name": name, "kind": "Namespace"})
        if name in self.store.namespaces:
            raise ApiError(409, "AlreadyExists", 'namespaces "%s" already exists' % name,
                           {"name": name, "kind": "namespaces"})
        labels = dict(meta.get("labels") or {})
        labels["kubernetes.io/metadata.name"] = name
        self.namespace_objects[name] = {
            "kind": "Namespace", "apiVersion": "v1",
            "metadata": dict(meta, labels=labels, uid=str(random.getrandbits(64)),
                             creationTimestamp=now_rfc3339(), resourceVersion=str(self.objects.next_rv()))}
        enforce = labels.get("pod-security.kubernetes.io/enforce")
        if enforce:
            self.pod_security[name] = enforce
        self.store.namespaces.add(name)
        return self.namespace_object(name)

    # -- events ---------------------------------------------------------------------------------
    def create_event(self, namespace, event, series=False):
        """POST /api/v1/namespaces/NS/events (series=False) or events.k8s.io/v1 (True, converted
        to the core form the list shows)."""
        if not isinstance(event, dict):
            raise bad_request("the body of the request was in an unknown format")
        meta = event.setdefault("metadata", {})
        if meta.get("namespace", namespace) != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace "
                              "sent on the request")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(4)
        involved = event.get("regarding" if series else "involvedObject") or {}
        causes = []
        if not meta.get("name"):
            causes.append(("metadata.name", "Required value: name or generateName is required"))
        if involved.get("namespace", namespace) != namespace:
            causes.append(("involvedObject.namespace", 'Invalid value: "%s": does not match event.namespace'
                           % involved.get("namespace")))
        if series:
            for field in ("reportingController", "reportingInstance", "action", "eventTime"):
                if not event.get(field):
                    causes.append((field, "Required value"))
        if event.get("type", "Normal") not in ("Normal", "Warning"):
            causes.append(("type", 'Unsupported value: "%s": supported values: "Normal", "Warning"' % event["type"]))
        if causes:
            raise validation.invalid("Event", "events.k8s.io/v1" if series else "v1", meta.get("name", ""), causes)
        meta["namespace"] = namespace
        now = now_rfc3339()
        if series:
            core = {"kind": "Event", "apiVersion": "v1", "metadata": meta, "involvedObject": involved,
                    "reason": event.get("reason", ""), "message": event.get("note", ""),
                    "type": event.get("type", "Normal"), "count": 1, "firstTimestamp": now, "lastTimestamp": now,
                    "eventTime": event.get("eventTime"), "action": event.get("action"),
                    "reportingComponent": event.get("reportingController"),
                    "reportingInstance": event.get("reportingInstance"),
                    "source": {"component": event.get("reportingController")}}
        else:
            core = dict(event, kind="Event", apiVersion="v1", involvedObject=involved)
            core.setdefault("count", 1)
            core.setdefault("firstTimestamp", now)
            core.setdefault("lastTimestamp", now)
            core.setdefault("type", "Normal")
        meta.update({"uid": str(random.getrandbits(64)), "creationTimestamp": now,
                     "resourceVersion": str(self.objects.next_rv())})
        with self.lock:
            if any(e["metadata"]["namespace"] == namespace and e["metadata"]["name"] == meta["name"]
                   for e in self.events):
                raise ApiError(409, "AlreadyExists", 'events "%s" already exists' % meta["name"],
                               {"name": meta["name"], "kind": "events"})
            self.events.append(core)
        return event if series else core

    # -- reviews --------------------------------------------------------------------------------
    def subject_access_review(self, body):
        spec = (body or {}).get("spec") or {}
        res, nonres = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        causes = []
        if not spec.get("user") and not spec.get("groups"):
            causes.append(("spec.user", 'Invalid value: "": at least one of user or group must be specified'))
        if bool(res) == bool(nonres):
            causes.append(("spec.resourceAttributes", "Invalid value: %s: exactly one of nonResourceAttributes or "
                           "resourceAttributes must be specified" % json.dumps(res)))
        if causes:
            raise validation.invalid("SubjectAccessReview", "authorization.k8s.io/v1", "", causes)
        if res:
            attrs = rbac.Attributes(res.get("verb", ""), res.get("resource", ""), res.get("group", ""),
                                    res.get("subresource", ""), res.get("namespace", ""), res.get("name", ""))
        else:
            attrs = rbac.Attributes(nonres.get("verb", ""), path=nonres.get("path", ""))
        allowed, reason = self.decide(spec.get("user", ""), spec.get("groups") or [], attrs)
        if res and (spec.get("user"), res.get("namespace", "")) in self.sar_denied:
            allowed, reason = False, ""
        answer = dict(body, apiVersion="authorization.k8s.io/v1", kind="SubjectAccessReview")
        answer.setdefault("metadata", {})["creationTimestamp"] = None
        answer["status"] = {"allowed": allowed}
        if reason:
            answer["status"]["reason"] = reason
        self.reviews.append(answer)
        return answer

    def token_review(self, body):
        spec = (body or {}).get("spec") or {}
        if not spec.get("token"):
            raise validation.invalid("TokenReview", "authentication.k8s.io/v1", "",
                                     [("spec.token", "Required value")])
        answer = dict(body, apiVersion="authentication.k8s.io/v1", kind="TokenReview")
        answer.setdefault("metadata", {})["creationTimestamp"] = None
        found = self.tokens.get(spec["token"])
        if found is None:
            answer["status"] = {"authenticated": False, "user": {}, "audiences": spec.get("audiences") or []}
        else:
            user = token_user(found)
            answer["status"] = {"authenticated": True, "audiences": spec.get("audiences") or [],
                                "user": {"username": str(user), "uid": "uid-" + str(user), "groups": user.groups}}
        return answer

    def record_event(self, pod, kind, reason, message):
        """What the kubelet reports only as an event (FailedMount...), as core/v1 Events."""
        meta = pod["metadata"]
        now = now_rfc3339()
        self.events.append({
            "kind": "Event", "apiVersion": "v1",
            "metadata": {"name": "%s.%x" % (meta["name"], len(self.events) + 1), "namespace": meta["namespace"]},
            "involvedObject": {"kind": "Pod", "namespace": meta["namespace"], "name": meta["name"],
                               "uid": meta.get("uid", ""), "apiVersion": "v1"},
            "reason": reason, "message": message, "type": kind, "count": 1,
            "firstTimestamp": now, "lastTimestamp": now, "source": {"component": "kubelet"}})

    def list_events(self, namespace, field_selector):
        """Events of a namespace, filtered by involvedObject.* / reason / type selectors."""
        getters = {"reason": lambda e: e["reason"], "type": lambda e: e["type"]}
        for key in ("kind", "name", "namespace", "uid", "apiVersion"):
            getters["involvedObject." + key] = lambda e, k=key: e["involvedObject"].get(k, "")
        preds = []
        for req in filter(None, (field_selector or "").split(",")):
            field, _, value = req.partition("=")
            if field not in getters:
                raise bad_request('field label not supported: %s' % field)
            preds.append(lambda e, g=getters[field], v=value.lstrip("="): g(e) == v)
        return [e for e in self.events if e["metadata"]["namespace"] == namespace and all(p(e) for p in preds)]

    def admit_pod_security(self, namespace, name, spec):
        """Pod Security admission as the API server words it (pod-security.kubernetes.io/enforce
        on the namespace): baseline and restricted refuse host namespaces and privileged."""
        level = self.pod_security.get(namespace)
        if level not in ("baseline", "restricted"):
            return
        violations = []
        hosts = ["%s=true" % k for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
        if hosts:
            violations.append("host namespaces (%s)" % ", ".join(hosts))
        privileged = ['"%s"' % c.get("name") for c in spec.get("containers") or []
                      if (c.get("securityContext") or {}).get("privileged")]
        if privileged:
            violations.append("privileged (container%s %s must not set securityContext.privileged=true)" % (
                "s" if len(privileged) > 1 else "", ", ".join(privileged)))
        if violations:
            raise ApiError(403, "Forbidden", 'pods "%s" is forbidden: violates PodSecurity "%s:latest": %s' % (
                name, level, ", ".join(violations)), {"name": name, "kind": "pods"})

    def create(self, namespace, pod):
        if namespace not in self.store.namespaces:
            raise not_found(namespace, "namespaces")
        if not isinstance(pod, dict) or pod.get("kind", "Pod") != "Pod":
            raise bad_request("the body of the request was in an unknown format")
        meta = pod.setdefault("metadata", {})
        if meta.get("namespace", namespace) != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace "
                              "sent on the request")
        meta["namespace"] = namespace
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + "".join(
                random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        name = meta.get("name") or ""
        causes = []
        if not name:
            causes.append(("metadata.name", "Required value: name or generateName is required"))
        elif len(name) > 253 or not NAME_RE.match(name):
            causes.append(("metadata.name", 'Invalid value: "%s": %s' % (name, NAME_INVALID)))
        spec = pod.get("spec") or {}
        if not spec.get("containers"):
            causes.append(("spec.containers", "Required value"))
        for i, c in enumerate(spec.get("containers") or []):
            if not c.get("name"):
                causes.append(("spec.containers[%d].name" % i, "Required value"))
            if not c.get("image"):
                causes.append(("spec.containers[%d].image" % i, "Required value"))
        if causes:
            raise ApiError(422, "Invalid", 'Pod "%s" is invalid: %s' % (
                name, ", ".join("%s: %s" % c for c in causes)),
                {"name": name, "kind": "Pod", "causes": [
                    {"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]})
        self.admit_pod_security(namespace, name, spec)
        if self.store.get(namespace, name) is not None:
            raise ApiError(409, "AlreadyExists", 'pods "%s" already exists' % name,
                           {"name": name, "kind": "pods"})
        pod["kind"], pod["apiVersion"] = "Pod", "v1"
        spec.setdefault("restartPolicy", "Always")
        spec.setdefault("terminationGracePeriodSeconds", 30)
        spec.setdefault("dnsPolicy", "ClusterFirst")
        pod["spec"] = spec
        pod["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
        created = self.store.add(pod)
        self.store.creates.append((namespace, name))
        self.kubelet.pod_created(created)
        return created

    def delete(self, namespace, name, grace):
        pod = self.store.get(namespace, name)
        if pod is None:
            raise not_found(name)
        if pod["metadata"].get("deletionTimestamp"):
            return pod
        if grace is None:
            grace = pod["spec"].get("terminationGracePeriodSeconds", 30)

        def mark(p):
            p["metadata"]["deletionTimestamp"] = now_rfc3339()
            p["metadata"]["deletionGracePeriodSeconds"] = grace
        pod = self.store.update(namespace, name, mark)
        self.kubelet.pod_deleted(namespace, name, grace)
        return pod


class _ThreadingServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    stopping = False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver-standin"

    def setup(self):
        # TLS handshake here, in the connection's thread, so one slow client blocks nobody.
        self.request.settimeout(30)
        with self.server.api.lock:
            self.server.api.connections += 1
        self.request = self.server.api.tls.wrap_socket(self.request, server_side=True)
        self.request.settimeout(None)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            self.request.close()  # the TLS wrapper; socketserver only closes the raw socket

    def log_message(self, fmt, *args):
        if os.environ.get("APISERVER_LOG"):
            sys.stderr.write("apiserver: %s\n" % (fmt % args))

    @property
    def api(self):
        return self.server.api

    # -- plumbing -----------------------------------------------------------------------------
    def send_json(self, code, obj):
        if getattr(self, "lost_answer", None) is not None:
            self.hang_up()  # the work is done; its answer never reaches the client
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer(self, code, obj):
        """send_json for routes that report True when they served the request."""
        self.send_json(code, obj)
        return True

    def read_raw_body(self):
        """The request body, read once, before any answer: on a kept-alive connection a body
        left unread would be taken for the next request."""
        if getattr(self, "raw_body", None) is None:
            n = int(self.headers.get("Content-Length") or 0)
            self.raw_body = self.rfile.read(n) if n else b""
        return self.raw_body

    def read_body(self):
        raw = self.read_raw_body()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as e:
            raise bad_request("couldn't get version/kind; json parse error: %s" % e)

    def authenticate(self):
        """The user: a client certificate's CN with its O as groups, else a known bearer token."""
        cert = self.connection.getpeercert()
        if cert:
            name, groups = None, []
            for rdn in cert.get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        name = value
                    elif key == "organizationName":
                        groups.append(value)
            if name:
                return UserInfo(name, groups)
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and auth[7:].strip() in self.api.tokens:
            return token_user(self.api.tokens[auth[7:].strip()])
        raise ApiError(401, "Unauthorized", "Unauthorized")

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        prefix = self.api.path_prefix
        if prefix:
            if not url.path.startswith(prefix + "/"):
                # What Go's mux answers for a path nobody serves: plain text, no Status.
                body = b"404 page not found\n"
                self.send_response(404)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            url = url._replace(path=url.path[len(prefix):])
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        self.raw_body = None
        if not url.path.endswith(("/exec", "/attach")):
            self.read_raw_body()
        user, logged = None, False
        try:
            user = self.authenticate()
            self.api.requests.append((user, method, url.path, query))
            logged = True
            self.lost_answer = None
            self.early_fault(self.fault_kind(method, url.path, query), url.path + "?" + url.query)
            self.throttle(url.path, query)
            self.route(method, url.path, query, user, url.query)
        except ApiError as e:
            if not logged:  # refused before it was recorded (401)
                self.api.requests.append((user, method, url.path, query))
            self.send_json(e.code, e.body)
        except _Answered:
            pass
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    # -- fault injection ----------------------------------------------------------------------
    @staticmethod
    def fault_kind(method, path, query):
        if path.endswith("/exec"):
            return "EXEC"
        return "WATCH" if method == "GET" and _flag(query, "watch") else method

    def early_fault(self, kind, target):
        """Faults that strike before the request is served."""
        fault = self.api.take_fault(kind, target, ("drop", "reset", "status", "lose-answer"))
        if fault is None:
            return
        if fault.action == "lose-answer":
            self.lost_answer = fault
            return
        if fault.action == "status":
            body = json.dumps(fault.status_body(self.api.store.rv)).encode()
            self.send_response(fault.code)
            self.send_header("Content-Type", "application/json")
            if fault.retry_after is not None:
                self.send_header("Retry-After", str(fault.retry_after))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            raise _Answered()
        self.hang_up(reset=fault.action == "reset")

    def hang_up(self, reset=False):
        """Close the connection now, with no answer: EOF, or with reset a RST (SO_LINGER 0)."""
        self.close_connection = True
        raw = self.connection
        try:
            if reset:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                raw.close()
            else:
                raw.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _Answered()

    def throttle(self, path, query):
        """API Priority and Fairness turning a request away before doing anything (watches and
        exec are long-running and not throttled here)."""
        if self.api.throttle_next <= 0 or _flag(query, "watch") or path.endswith("/exec"):
            return
        self.api.throttle_next -= 1
        body = json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                           "message": "Too many requests, please try again later.",
                           "reason": "TooManyRequests", "details": {"retryAfterSeconds": 1},
                           "code": 429}).encode()
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        raise _Answered()

    def route(self, method, path, query, user, raw_query=""):
        if path == "/version" and method == "GET":
            self.api.authorize_path(user, "get", path)
            minor = "28" if self.api.v4_only else "29"
            return self.send_json(200, {"major": "1", "minor": minor, "gitVersion": "v1.%s.0" % minor,
                                        "platform": "linux/amd64"})
        if customresources.route(self, self.api, method, path, user, ApiError):
            return None
        try:
            if path.startswith("/apis") and aggregator.route(self, self.api, method, path, query, raw_query, user):
                return None
            if coreapi.route(self, self.api, method, path, user):
                return None
            if self.route_installed(method, path, user):
                return None
            if objects.route(self, self.api, method, path, user, query):
                return None
        except coreapi.CoreError as e:
            raise ApiError(e.code, e.reason, e.message, e.details)
        except objects.ObjectError as e:
            raise ApiError(e.code, e.reason, e.message, e.details)
        m = re.match(r"^/api/v1/namespaces/([^/]+)/events$", path)
        if m and method == "GET":
            self.api.authorize(user, "list", "events", m.group(1))
            return self.send_json(200, {"kind": "EventList", "apiVersion": "v1", "metadata": {},
                                        "items": self.api.list_events(m.group(1),
                                                                      query.get("fieldSelector", [""])[0])})
        if nodes.route(self, self.api, method, path, user, not_found):
            return None
        m = re.match(r"^/api/v1/(?:namespaces/([^/]+)/)?pods(?:/([^/]+))?(?:/([a-z]+))?$", path)
        if not m:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        namespace, name, sub = m.groups()
        if sub == "exec" and name and namespace and method in ("GET", "POST"):
            return self.exec(namespace, name, query, user)
        if sub and name and namespace and ephemeral.serve(self, self.api, method, namespace, name, sub, query,
                                                          user, ApiError):
            return None
        if sub:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if name is None and method == "GET":
            verb = "watch" if _flag(query, "watch") else "list"
            self.api.authorize(user, verb, "pods", namespace)
            if verb == "watch":
                return self.watch(namespace, query)
            items, rv = self.api.store.list(namespace, *_selectors(query))
            return self.send_json(200, {"kind": "PodList", "apiVersion": "v1",
                                        "metadata": {"resourceVersion": rv}, "items": items})
        if name is None and method == "POST" and namespace:
            self.api.authorize(user, "create", "pods", namespace)
            return self.send_json(201, self.api.create(namespace, self.read_body()))
        if name and namespace and method == "GET":
            self.api.authorize(user, "get", "pods", namespace, name)
            pod = self.api.store.get(namespace, name)
            if pod is None:
                raise not_found(name)
            return self.send_json(200, pod)
        if name and namespace and method == "DELETE":
            self.api.authorize(user, "delete", "pods", namespace, name)
            body = self.read_body() or {}
            grace = query.get("gracePeriodSeconds", [body.get("gracePeriodSeconds")])[0]
            return self.send_json(200, self.api.delete(namespace, name,
                                                       None if grace is None else int(grace)))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the "
                       "requested resource")

    def route_installed(self, method, path, user):
        """Namespaces, Event creation and the review APIs; False when path is none of them."""
        api = self.api
        m = re.match(r"^/api/v1/namespaces(?:/([^/]+))?$", path)
        if m and method == "GET":
            name = m.group(1)
            # RequestInfo makes a namespace's own name the request's namespace (a RoleBinding in
            # it can grant get on it).
            api.authorize(user, "get" if name else "list", "namespaces", name, name)
            if name is None:
                return self.answer(200, {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {},
                                            "items": [api.namespace_object(n) for n in sorted(api.store.namespaces)]})
            if name not in api.store.namespaces:
                raise not_found(name, "namespaces")
            return self.answer(200, api.namespace_object(name))
        if m and method == "POST" and m.group(1) is None:
            api.authorize(user, "create", "namespaces", None)
            return self.answer(201, api.create_namespace(self.read_body()))
        m = re.match(r"^/api/v1/namespaces/([^/]+)/events$", path) or \
            re.match(r"^/apis/events\.k8s\.io/v1/namespaces/([^/]+)/events$", path)
        if m and method == "POST":
            series = path.startswith("/apis/")
            api.authorize(user, "create", "events", m.group(1), group="events.k8s.io" if series else "")
            return self.answer(201, api.create_event(m.group(1), self.read_body(), series))
        if path == "/apis/authorization.k8s.io/v1/subjectaccessreviews" and method == "POST":
            api.authorize(user, "create", "subjectaccessreviews", None, group="authorization.k8s.io")
            return self.answer(201, api.subject_access_review(self.read_body()))
        if path == "/apis/authentication.k8s.io/v1/tokenreviews" and method == "POST":
            api.authorize(user, "create", "tokenreviews", None, group="authentication.k8s.io")
            return self.answer(201, api.token_review(self.read_body()))
        return False

    # -- watch --------------------------------------------------------------------------------
    def watch(self, namespace, query):
        preds = _selectors(query)
        rv_text = query.get("resourceVersion", [""])[0]
        timeout = int(query.get("timeoutSeconds", ["1800"])[0])
        deadline = time.monotonic() + timeout
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        rng = random.Random(secrets.randbits(32))
        generation = self.api.store.watch_generation
        if rv_text in ("", "0"):
            items, rv = self.api.store.list(namespace, *preds)
            for pod in items:
                self.send_event(rng, "ADDED", pod)
            rv = int(rv)
        else:
            try:
                rv = int(rv_text)
            except ValueError:
                rv = -1
        path = self.path
        cut = self.api.take_fault("WATCH", path, ("cut",))
        if cut is not None:
            deadline = min(deadline, time.monotonic() + cut.after)
        # A real server sends bookmarks only to clients that asked (allowWatchBookmarks=true).
        bookmarks = _flag(query, "allowWatchBookmarks") and \
            self.api.take_fault("WATCH", path, ("bookmarks",)) is not None
        self.api.open_watches += 1
        try:
            self.stream_events(namespace, preds, rv, rv_text, generation, deadline, rng, bookmarks,
                               cut is not None)
        finally:
            self.api.open_watches -= 1
        if cut is not None:
            self.hang_up()  # mid-stream: no terminating chunk

    def send_bookmark(self, rng, rv):
        """A BOOKMARK: an object of the watched kind with only metadata.resourceVersion set."""
        self.api.bookmarks_sent += 1
        self.send_event(rng, "BOOKMARK", {"kind": "Pod", "apiVersion": "v1", "metadata": {
            "resourceVersion": str(rv)},
            "spec": {"containers": None}, "status": {}})

    def stream_events(self, namespace, preds, rv, rv_text, generation, deadline, rng, bookmarks=False,
                      cut=False):
        while time.monotonic() < deadline and not self.server.stopping:
            if bookmarks:
                self.send_bookmark(rng, max(rv, 0))
            events = self.api.store.events_after(rv, namespace, 0.5)
            if events is None or self.api.store.watch_generation != generation:
                self.api.expired_watches += 1
                self.send_event(rng, "ERROR", {
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "too old resource version: %s (%d)" % (rv_text or rv, self.api.store.rv),
                    "reason": "Expired", "code": 410})
                break
            for ev_rv, kind, _, obj in events:
                rv = ev_rv
                if _matches(obj, preds):
                    self.send_event(rng, kind, obj)
            if self.client_gone():
                return
        if cut:
            return  # the stream ends mid-way: no terminating chunk
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def send_event(self, rng, kind, obj):
        """One JSON line per event; sometimes split over two chunks (and TCP writes)."""
        line = (json.dumps({"type": kind, "object": obj}) + "\n").encode()
        pieces = [line]
        if rng.random() < 0.5:
            cut = rng.randrange(1, len(line))
            pieces = [line[:cut], line[cut:]]
        for piece in pieces:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            if len(pieces) > 1:
                time.sleep(0.005)

    def client_gone(self):
        r, _, _ = select.select([self.connection], [], [], 0)
        if not r:
            return False
        try:
            return self.connection.recv(1) == b""
        except (OSError, ValueError):
            return True

    # -- exec ---------------------------------------------------------------------------------
    def buffered_input(self):
        """Bytes the client sent right after its upgrade request, already in rfile's buffer."""
        self.connection.setblocking(False)
        try:
            data = self.rfile.peek(1)
        except (ssl.SSLWantReadError, BlockingIOError):
            data = b""
        finally:
            self.connection.setblocking(True)
        data = data or b""
        if data:
            self.rfile.read(len(data))
        return data

    def exec(self, namespace, name, query, user):
        # A WebSocket exec is a GET: API servers authorize it as "get" pods/exec, and since 1.31
        # (AuthorizePodWebsocketUpgradeCreatePermission) as "create" too; SPDY's POST as "create".
        if self.command == "GET":
            self.api.authorize(user, "get", "pods/exec", namespace, name)
        self.api.authorize(user, "create", "pods/exec", namespace, name)
        pod = self.api.store.get(namespace, name)
        if pod is None:
            raise not_found(name)
        command = query.get("command", [])
        if not command:
            raise bad_request("you must specify at least 1 command")
        names = [c["name"] for c in pod["spec"]["containers"]]
        container = query.get("container", [""])[0]
        # Any container of the pod can be named, init and ephemeral ones included.
        others = [c["name"] for key in ("initContainers", "ephemeralContainers")
                  for c in pod["spec"].get(key) or []]
        if not container:
            if len(names) != 1:
                raise bad_request("a container name must be specified for pod %s, choose one of: "
                                  "[%s]" % (name, " ".join(names)))
            container = names[0]
        if container not in names + others:
            raise bad_request("container %s is not valid for pod %s" % (container, name))
        if self.headers.get("Upgrade", "").lower() != "websocket":
            raise bad_request("Upgrade request required")
        offered = [p.strip() for h in self.headers.get_all("Sec-WebSocket-Protocol") or []
                   for p in h.split(",")]
        supported = ["v4.channel.k8s.io"] if self.api.v4_only else ["v5.channel.k8s.io",
                                                                    "v4.channel.k8s.io"]
        protocol = next((p for p in supported if p in offered), None)
        if protocol is None:
            raise bad_request("unable to upgrade connection: none of the requested subprotocols "
                              "%s is supported (%s)" % (offered, ", ".join(supported)))
        fault = self.api.take_fault("EXEC", self.path, ("exec-failure", "cut", "ping"))
        if fault is not None and fault.action == "exec-failure":
            return self.exec_failure(protocol, fault)
        runtime, ctr = self.api.kubelet.running_container(namespace, name, container)
        if ctr is not None and self.api.kubelet.vanish_on_next_exec:
            # Test knob: the container ends just as the exec arrives (an agent idling out).
            self.api.kubelet.vanish_on_next_exec = False
            ctr.kill(signal.SIGKILL)
            pod = self.api.wait_pod(namespace, name, lambda p: p["status"].get("phase") != "Running")
            ctr = None
        if ctr is None or pod["status"].get("phase") != "Running":
            raise bad_request("unable to upgrade connection: container not found (\"%s\")" % container)
        tty = _flag(query, "tty")
        env = ctr.exec_env()
        if tty and env is not None:
            env = dict(env, TERM="xterm")  # containerd's CRI adds it to every exec with a TTY
        proc = node.Process(ctr.exec_argv(command, tty), tty=tty, stdin=_flag(query, "stdin"), env=env)
        with runtime.lock:
            runtime.execs.add(proc)
        try:
            self.switch_protocols(protocol)
            prebuffered = self.buffered_input()
            session = wsexec.Session(self.connection, prebuffered, protocol, proc, command,
                                     cut_after=fault.after if fault and fault.action == "cut" else None,
                                     ping_every=fault.every if fault and fault.action == "ping" else None,
                                     on_pong=self.count_pong)
            session.run()
            if session.cut:
                self.hang_up(reset=True)
        finally:
            with runtime.lock:
                runtime.execs.discard(proc)

    def count_pong(self):
        with self.api.lock:
            self.api.pongs += 1

    def switch_protocols(self, protocol):
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", wsexec.accept_key(self.headers.get("Sec-WebSocket-Key", "")))
        self.send_header("Sec-WebSocket-Protocol", protocol)
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True

    def exec_failure(self, protocol, fault):
        """Since 1.30 the API server upgrades first and reports what then fails (the kubelet
        could not run the command in the container) as a Status on the error channel."""
        self.switch_protocols(protocol)
        session = wsexec.Session(self.connection, self.buffered_input(), protocol, None, [])
        body = fault.status_body()
        if not fault.message:
            body["message"] = ("Internal error occurred: error executing command in container: failed "
                               "to exec in container: failed to start exec: OCI runtime exec failed: "
                               "container is stopped")
        session.send_channel(wsexec.CH_STATUS, json.dumps(body).encode())
        session.send_frame(wsexec.OP_CLOSE, struct.pack("!H", 1000))
        session._await_close()


def _flag(query, key):
    return query.get(key, ["false"])[0].lower() in ("true", "1")


def _selectors(query):
    try:
        return (parse_label_selector(query.get("labelSelector", [""])[0]),
                parse_field_selector(query.get("fieldSelector", [""])[0]))
    except SelectorError as e:
        raise bad_request(str(e))


def _matches(pod, preds):
    return matches(pod, *preds)


def write_kubeconfig(path, url, pki, user):
    with open(path, "w") as f:
        f.write("apiVersion: v1\nkind: Config\ncurrent-context: standin\n"
                "clusters:\n- name: standin\n  cluster:\n    server: %s\n    certificate-authority: %s\n"
                "users:\n- name: %s\n  user:\n    client-certificate: %s\n    client-key: %s\n"
                "contexts:\n- name: standin\n  context:\n    cluster: standin\n    user: %s\n"
                % (url, os.path.join(pki, "ca.crt"), user, os.path.join(pki, user + ".crt"),
                   os.path.join(pki, user + ".key"), user))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pki", required=True, help="directory made by mkcerts.sh")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--v4-only", action="store_true")
    parser.add_argument("--token", action="append", default=[],
                        help="TOKEN=USER (in system:masters) or TOKEN=USER:GROUP,GROUP (RBAC decides)")
    parser.add_argument("--kubeconfig-out", help="write a kubeconfig for user alice (client cert) here")
    args = parser.parse_args()
    tokens = {}
    for entry in args.token:
        token, _, user = entry.partition("=")
        name, sep, groups = user.partition(":")
        tokens[token] = (name, [g for g in groups.split(",") if g]) if sep else name
    server = ApiServer(args.pki, args.port, args.v4_only, tokens).start()
    if args.kubeconfig_out:
        write_kubeconfig(args.kubeconfig_out, server.url, args.pki, "alice")
    print(server.url, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop pods and clean up on TERM too
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
