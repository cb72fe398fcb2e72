"""The API aggregation layer of the stand-in (kube-aggregator): an APIService
(apiregistration.k8s.io/v1) whose spec.service names a Service puts GROUP/VERSION under the
stand-in's /apis. Requests there are authenticated by the stand-in as any request, authorized
with the RequestInfo of the real server (GET -> get (list without a name, watch with
watch=true), POST -> create, PUT -> update, PATCH -> patch, DELETE -> delete; namespace,
resource, name and subresource from the path; API group GROUP), then proxied to the service's
endpoint over TLS, verifying the backend for `SERVICE.NAMESPACE.svc` against spec.caBundle
(unless insecureSkipTLSVerify), presenting the front-proxy client certificate and the user as
X-Remote-User / X-Remote-Group (one header per group) / X-Remote-Extra-*. The caller's
Authorization header is not passed on. WebSocket upgrades are relayed as bytes both ways after
the backend's 101.

An APIService without an endpoint is unavailable: its requests, version discovery included, get
the aggregator's 503 (plain text `service unavailable`, as http.Error writes it); a backend that
cannot be reached gets 503 `error trying to reach service: ...`. /apis/GROUP (APIGroup) and
/apis (APIGroupList) are served by the aggregator itself from the APIService objects.
Tests register endpoints with ApiServer.set_service_endpoint(ns, name, url)."""

import base64
import select
import socket
import ssl
import urllib.parse

import rbac

APISERVICE_GV = "apiregistration.k8s.io/v1"
# Built-in groups the stand-in serves itself (for /apis), with their version.
BUILTIN_GROUPS = [("apps", "v1"), ("autoscaling", "v2"), ("node.k8s.io", "v1"),
                  ("rbac.authorization.k8s.io", "v1"), ("apiregistration.k8s.io", "v1"),
                  ("authorization.k8s.io", "v1"), ("authentication.k8s.io", "v1"), ("events.k8s.io", "v1")]
# Request headers passed to the backend (hop-by-hop and credentials are not).
FORWARDED_HEADERS = ("Content-Type", "Accept", "Content-Length", "User-Agent", "Connection", "Upgrade",
                     "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol",
                     "Sec-WebSocket-Extensions")


class Unavailable(Exception):
    """The aggregator's 503, body as plain text."""


def apiservices(api):
    return api.objects.list(APISERVICE_GV, "apiservices", None)["items"]


def remote(apiservice):
    return (apiservice.get("spec") or {}).get("service") is not None


def find(api, group, version=None):
    for svc in apiservices(api):
        spec = svc.get("spec") or {}
        if spec.get("group") == group and (version is None or spec.get("version") == version):
            return svc
    return None


def endpoint(api, apiservice):
    service = apiservice["spec"]["service"]
    return api.service_endpoints.get((service.get("namespace"), service.get("name")))


def availability(api, apiservice):
    """The Available condition the aggregator's availability controller would report."""
    if not remote(apiservice):
        return {"type": "Available", "status": "True", "reason": "Local", "message": "Local APIServices are always available"}
    service = apiservice["spec"]["service"]
    if endpoint(api, apiservice) is None:
        return {"type": "Available", "status": "False", "reason": "MissingEndpoints",
                "message": 'endpoints for service/%s in "%s" have no addresses with port name "https"'
                           % (service.get("name"), service.get("namespace"))}
    return {"type": "Available", "status": "True", "reason": "Passed", "message": "all checks passed"}


def decorate(api, apiservice):
    apiservice["status"] = {"conditions": [availability(api, apiservice)]}
    return apiservice


def group_document(group, services):
    services = sorted(services, key=lambda s: -s["spec"].get("versionPriority", 0))
    versions = [{"groupVersion": "%s/%s" % (group, s["spec"]["version"]), "version": s["spec"]["version"]}
                for s in services]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": versions,
            "preferredVersion": versions[0]}


def group_list(api):
    groups = [{"name": g, "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v}],
               "preferredVersion": {"groupVersion": "%s/%s" % (g, v), "version": v}} for g, v in BUILTIN_GROUPS]
    by_group = {}
    for svc in apiservices(api):
        if remote(svc):
            by_group.setdefault(svc["spec"]["group"], []).append(svc)
    for group, services in sorted(by_group.items()):
        doc = group_document(group, services)
        groups.append({k: doc[k] for k in ("name", "versions", "preferredVersion")})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def request_attributes(method, path, query, group):
    """RequestInfo of the real server for /apis/GROUP/VERSION/..."""
    parts = [p for p in path.split("/") if p][3:]
    if not parts:
        return rbac.Attributes("get", path=path)
    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        parts = parts[2:] if len(parts) > 2 else ["namespaces", parts[1]]
        if parts[0] == "namespaces":
            namespace = ""
    resource = parts[0]
    name = parts[1] if len(parts) > 1 else ""
    subresource = parts[2] if len(parts) > 2 else ""
    verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower())
    if method == "GET" and not name:
        verb = "watch" if query.get("watch", ["false"])[0] in ("true", "1") else "list"
    elif method == "DELETE" and not name:
        verb = "deletecollection"
    return rbac.Attributes(verb, resource, group, subresource, namespace, name)


def serves(api, path):
    """(group, version, apiservice) when path belongs to a remote APIService, else None."""
    parts = [p for p in path.split("/") if p]
    if len(parts) < 3 or parts[0] != "apis":
        return None
    svc = find(api, parts[1], parts[2])
    if svc is None or not remote(svc):
        return None
    return parts[1], parts[2], svc


class Proxy:
    """One proxied request on the stand-in's handler h."""

    def __init__(self, h, api, apiservice):
        self.h, self.api, self.apiservice = h, api, apiservice

    def backend_context(self):
        spec = self.apiservice["spec"]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if spec.get("insecureSkipTLSVerify"):
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif spec.get("caBundle"):
            ctx.load_verify_locations(cadata=base64.b64decode(spec["caBundle"]).decode())
        else:
            ctx.load_default_certs()
        pki = self.api.pki
        ctx.load_cert_chain("%s/front-proxy-client.crt" % pki, "%s/front-proxy-client.key" % pki)
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

    def connect(self):
        url = endpoint(self.api, self.apiservice)
        if url is None:
            raise Unavailable("service unavailable")
        service = self.apiservice["spec"]["service"]
        parsed = urllib.parse.urlsplit(url)
        host, port = parsed.hostname, parsed.port or 443
        try:
            raw = socket.create_connection((host, port), timeout=10)
        except OSError as e:
            raise Unavailable("error trying to reach service: dial tcp %s:%d: connect: %s"
                              % (host, port, (e.strerror or str(e)).lower()))
        try:
            sock = self.backend_context().wrap_socket(
                raw, server_hostname="%s.%s.svc" % (service["name"], service["namespace"]))
        except (ssl.SSLError, OSError) as e:
            raw.close()
            raise Unavailable("error trying to reach service: tls: failed to verify certificate: %s" % e)
        sock.settimeout(None)
        return sock

    def request_head(self, method, target, user):
        lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s" % self.h.headers.get("Host", "localhost")]
        for name in FORWARDED_HEADERS:
            for value in self.h.headers.get_all(name) or []:
                if name == "Connection" and not self.upgrade():
                    continue
                lines.append("%s: %s" % (name, value))
        if not self.upgrade():
            lines.append("Connection: close")
        lines.append("X-Remote-User: %s" % user)
        for group in getattr(user, "groups", ()):
            lines.append("X-Remote-Group: %s" % group)
        for key, values in (getattr(user, "extra", None) or {}).items():
            for value in values:
                lines.append("X-Remote-Extra-%s: %s" % (urllib.parse.quote(key, safe=""), value))
        lines.append("X-Forwarded-For: 127.0.0.1")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def upgrade(self):
        return self.h.headers.get("Upgrade", "").lower() == "websocket"

    def serve(self, method, target, user):
        backend = self.connect()
        try:
            body = b"" if self.upgrade() else (self.h.read_raw_body() or b"")
            backend.sendall(self.request_head(method, target, user) + body)
            early = self.h.buffered_input() if self.upgrade() else b""
            if early:
                backend.sendall(early)
            self.h.close_connection = True
            self.relay(backend)
        finally:
            try:
                backend.close()
            except OSError:
                pass

    def relay(self, backend):
        """Everything the backend answers goes to the client unchanged (head, body, and after a
        101 the WebSocket frames), and the client's bytes go to the backend, until one side ends."""
        client = self.h.connection
        self.h.wfile.flush()
        socks = [client, backend]
        while True:
            ready = [s for s in socks if isinstance(s, ssl.SSLSocket) and s.pending()]
            if not ready:
                ready, _, _ = select.select(socks, [], [], 1.0)
                if not ready and getattr(self.h.server, "stopping", False):
                    return
            for s in ready:
                other = backend if s is client else client
                try:
                    data = s.recv(65536)
                except (ssl.SSLWantReadError, BlockingIOError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    return
                try:
                    other.sendall(data)
                except OSError:
                    return


def unavailable(h, message):
    """What Go's http.Error writes: text/plain, nosniff, the message and a newline."""
    body = (message + "\n").encode()
    h.send_response(503)
    h.send_header("Content-Type", "text/plain; charset=utf-8")
    h.send_header("X-Content-Type-Options", "nosniff")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def route(h, api, method, path, query, raw_query, user):
    """Serve /apis, /apis/GROUP of an APIService, or proxy /apis/GROUP/VERSION/...; False when
    the path is not the aggregator's."""
    if path in ("/apis", "/apis/") and method == "GET":
        api.authorize_path(user, "get", path)
        h.send_json(200, group_list(api))
        return True
    parts = [p for p in path.split("/") if p]
    if len(parts) == 2 and parts[0] == "apis" and method == "GET":
        services = [s for s in apiservices(api) if remote(s) and s["spec"].get("group") == parts[1]]
        if not services:
            return False
        api.authorize_path(user, "get", path)
        h.send_json(200, group_document(parts[1], services))
        return True
    found = serves(api, path)
    if found is None:
        return False
    group, _, svc = found
    attrs = request_attributes(method, path, query, group)
    api.authorize_attributes(user, attrs)
    target = path + ("?" + raw_query if raw_query else "")
    try:
        Proxy(h, api, svc).serve(method, target, user)
    except Unavailable as e:
        unavailable(h, str(e))
    return True


def ca_bundle(pem_path):
    """spec.caBundle for a CA certificate file."""
    with open(pem_path, "rb") as f:
        return base64.b64encode(f.read()).decode()
