"""Plain stored objects of the stand-in beyond pods (no controllers run them): RuntimeClasses
(node.k8s.io/v1, cluster-scoped), Knative Serving Revisions and Services
(serving.knative.dev/v1), Deployments and ReplicaSets (apps/v1) and HorizontalPodAutoscalers
(autoscaling/v2). GET, LIST, POST, DELETE and PATCH (application/merge-patch+json, RFC 7386,
honouring a metadata.resourceVersion precondition with the real 409) with real Status bodies.
ApiServer.route hands every /apis/ path here."""

import copy
import json
import re
import threading
import uuid

from podstore import now_rfc3339

# (group/version, plural) -> (kind, namespaced)
RESOURCES = {
    ("node.k8s.io/v1", "runtimeclasses"): ("RuntimeClass", False),
    ("serving.knative.dev/v1", "revisions"): ("Revision", True),
    ("serving.knative.dev/v1", "services"): ("Service", True),
    ("apps/v1", "deployments"): ("Deployment", True),
    ("apps/v1", "replicasets"): ("ReplicaSet", True),
    ("autoscaling/v2", "horizontalpodautoscalers"): ("HorizontalPodAutoscaler", True),
    # broker support (H1): the agent DaemonSet (stored only: the test makes its pods) and the
    # APIService whose caBundle the broker patches.
    ("apps/v1", "daemonsets"): ("DaemonSet", True),
    ("apiregistration.k8s.io/v1", "apiservices"): ("APIService", False),
}

PATH_RE = re.compile(r"^/apis/([^/]+/[^/]+)/(?:namespaces/([^/]+)/)?([a-z0-9]+)(?:/([^/]+))?$")
PATCH_TYPES = ("application/merge-patch+json", "application/json-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml")


class ObjectError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class ObjectStore:
    def next_rv(self):
        self.rv += 1
        return self.rv

    def __init__(self):
        self.rv = 100000
        self.objects = {}               # (gv, plural, ns, name) -> object
        self.patches = []               # (gv, plural, ns, name, patch) of every successful PATCH
        self.lock = threading.Lock()

    def _key(self, gv, plural, ns, name):
        kind, namespaced = RESOURCES[(gv, plural)]
        return (gv, plural, ns if namespaced else None, name)

    def put(self, gv, plural, obj, namespace=None):
        """Create (tests and POST)."""
        kind, namespaced = RESOURCES[(gv, plural)]
        obj = copy.deepcopy(obj)
        md = obj.setdefault("metadata", {})
        if namespaced:
            md["namespace"] = namespace or md.get("namespace") or "default"
        key = self._key(gv, plural, md.get("namespace"), md["name"])
        with self.lock:
            if key in self.objects:
                raise ObjectError(409, "AlreadyExists", '%s.%s "%s" already exists'
                                  % (plural, gv.split("/")[0], md["name"]))
            obj["apiVersion"], obj["kind"] = gv, kind
            md.update({"uid": str(uuid.uuid4()), "creationTimestamp": now_rfc3339(),
                       "resourceVersion": str(self.next_rv()), "generation": 1})
            self.objects[key] = obj
            return copy.deepcopy(obj)

    def get(self, gv, plural, ns, name):
        with self.lock:
            obj = self.objects.get(self._key(gv, plural, ns, name))
            return copy.deepcopy(obj) if obj else None

    def not_found(self, gv, plural, name):
        group = gv.split("/")[0]
        return ObjectError(404, "NotFound", '%s.%s "%s" not found' % (plural, group, name),
                           {"name": name, "group": group, "kind": plural})

    def patch(self, gv, plural, ns, name, patch):
        with self.lock:
            key = self._key(gv, plural, ns, name)
            obj = self.objects.get(key)
            if obj is None:
                raise self.not_found(gv, plural, name)
            want = ((patch.get("metadata") or {}) if isinstance(patch, dict) else {}).get("resourceVersion")
            if want is not None and want != obj["metadata"]["resourceVersion"]:
                group = gv.split("/")[0]
                raise ObjectError(409, "Conflict", 'Operation cannot be fulfilled on %s.%s "%s": the object '
                                  'has been modified; please apply your changes to the latest version and '
                                  'try again' % (plural, group, name),
                                  {"name": name, "group": group, "kind": plural})
            new = merge_patch(obj, patch)
            for field in ("annotations", "labels"):
                for k, v in ((new.get("metadata") or {}).get(field) or {}).items():
                    if not isinstance(v, str):
                        raise ObjectError(400, "BadRequest", "json: cannot unmarshal %s into Go struct "
                                          "field ObjectMeta.metadata.%s of type string"
                                          % (type(v).__name__, field))
            new["metadata"]["resourceVersion"] = str(self.next_rv())
            new["metadata"]["uid"] = obj["metadata"]["uid"]
            self.objects[key] = new
            self.patches.append((gv, plural, ns, name, patch))
            return copy.deepcopy(new)

    def delete(self, gv, plural, ns, name):
        with self.lock:
            obj = self.objects.pop(self._key(gv, plural, ns, name), None)
        if obj is None:
            raise self.not_found(gv, plural, name)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "kind": plural, "uid": obj["metadata"]["uid"]}}

    def list(self, gv, plural, ns):
        with self.lock:
            items = [copy.deepcopy(o) for (g, p, n, _), o in sorted(self.objects.items())
                     if g == gv and p == plural and (ns is None or n == ns)]
        kind = RESOURCES[(gv, plural)][0]
        return {"kind": kind + "List", "apiVersion": gv, "metadata": {"resourceVersion": str(self.next_rv())},
                "items": items}


def _authorize(api, user, verb, plural, group, ns, name):
    """The API's 403 for RBAC toggles ApiServer.forbid(verb, "plural.group")."""
    resource = "%s.%s" % (plural, group)
    if not any(u in ("*", user) and v == verb and r == resource for u, v, r in api.forbidden):
        return
    subject = '%s "%s"' % (resource, name) if name else resource
    scope = 'in the namespace "%s"' % ns if ns else "at the cluster scope"
    raise ObjectError(403, "Forbidden", '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s'
                      % (subject, user, verb, plural, group, scope),
                      {"name": name, "group": group, "kind": plural} if name else {"group": group, "kind": plural})


def route(handler, api, method, path, user):
    """Serve path when it is one of RESOURCES; False when it is not ours."""
    m = PATH_RE.match(path)
    if not m:
        return False
    gv, ns, plural, name = m.groups()
    if (gv, plural) not in RESOURCES:
        return False
    kind, namespaced = RESOURCES[(gv, plural)]
    if namespaced and ns is None and name is not None:
        return False
    store = api.objects
    verb = {"GET": "get" if name else "list", "POST": "create", "PATCH": "patch", "DELETE": "delete"}.get(method)
    if verb is None:
        raise ObjectError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    _authorize(api, user, verb, plural, gv.split("/")[0], ns, name)
    if method == "GET" and name:
        obj = store.get(gv, plural, ns, name)
        if obj is None:
            raise store.not_found(gv, plural, name)
        handler.send_json(200, obj)
    elif method == "GET":
        handler.send_json(200, store.list(gv, plural, ns))
    elif method == "POST" and not name:
        handler.send_json(201, store.put(gv, plural, handler.read_body() or {}, ns))
    elif method == "DELETE" and name:
        handler.send_json(200, store.delete(gv, plural, ns, name))
    elif method == "PATCH" and name:
        ctype = (handler.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype not in PATCH_TYPES:
            raise ObjectError(415, "UnsupportedMediaType", 'the body of the request was in an unknown format - '
                              'accepted media types include: %s' % ", ".join(PATCH_TYPES))
        if ctype != "application/merge-patch+json":
            raise ObjectError(415, "UnsupportedMediaType", "the stand-in only implements merge patches")
        try:
            patch = json.loads(handler.read_raw_body() or b"null")
        except ValueError as e:
            raise ObjectError(400, "BadRequest", "error decoding patch: %s" % e)
        handler.send_json(200, store.patch(gv, plural, ns, name, patch))
    else:
        raise ObjectError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    return True
