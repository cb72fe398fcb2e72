"""Stored objects of the stand-in beyond pods: RuntimeClasses (node.k8s.io/v1, cluster-scoped),
Knative Serving Revisions and Services (serving.knative.dev/v1), Deployments, ReplicaSets and
DaemonSets (apps/v1), HorizontalPodAutoscalers (autoscaling/v2), RBAC (rbac.authorization.k8s.io/v1),
APIServices (apiregistration.k8s.io/v1), PodDisruptionBudgets (policy/v1), Leases
(coordination.k8s.io/v1) and the core ConfigMaps, Secrets, ServiceAccounts and Services.
GET, LIST, POST, PUT, DELETE and PATCH (application/merge-patch+json, RFC 7386, honouring a
metadata.resourceVersion precondition with the real 409) with real Status bodies. Only DaemonSets
have a controller (daemonsets.py); the rest is stored as the API server stores it. ApiServer.route
hands every /apis/ path and the core paths of these kinds here; creation goes through
ApiServer.create_object (validation, namespace check, controllers)."""

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
    ("apps/v1", "daemonsets"): ("DaemonSet", True),
    ("rbac.authorization.k8s.io/v1", "roles"): ("Role", True),
    ("rbac.authorization.k8s.io/v1", "rolebindings"): ("RoleBinding", True),
    ("rbac.authorization.k8s.io/v1", "clusterroles"): ("ClusterRole", False),
    ("rbac.authorization.k8s.io/v1", "clusterrolebindings"): ("ClusterRoleBinding", False),
    ("apiregistration.k8s.io/v1", "apiservices"): ("APIService", False),
    ("v1", "configmaps"): ("ConfigMap", True),
    ("v1", "secrets"): ("Secret", True),
    ("policy/v1", "poddisruptionbudgets"): ("PodDisruptionBudget", True),
    ("v1", "serviceaccounts"): ("ServiceAccount", True),
    ("v1", "services"): ("Service", True),
    # deploy/capsule-crd.yaml and the resource it declares (status: customresources.py)
    ("apiextensions.k8s.io/v1", "customresourcedefinitions"): ("CustomResourceDefinition", False),
    ("lambda-cntr.io/v1alpha1", "capsules"): ("Capsule", True),
    # the caplet's leader election
    ("coordination.k8s.io/v1", "leases"): ("Lease", True),
}

# kind -> (group/version, plural), for manifests.
KINDS = {(gv, kind): (gv, plural) for (gv, plural), (kind, _) in RESOURCES.items()}

PATH_RE = re.compile(r"^/apis/([^/]+/[^/]+)/(?:namespaces/([^/]+)/)?([a-z0-9]+)(?:/([^/]+))?$")
CORE_PATH_RE = re.compile(r"^/api/(v1)/(?:namespaces/([^/]+)/)?([a-z0-9]+)(?:/([^/]+))?$")
PATCH_TYPES = ("application/merge-patch+json", "application/json-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml")


class ObjectError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def group_of(gv):
    """"" for the core group ("v1"), else the group of "group/version"."""
    return gv.split("/")[0] if "/" in gv else ""


def qualified(gv, plural):
    """How the API names a resource in messages: "pods", "deployments.apps"."""
    return "%s.%s" % (plural, group_of(gv)) if group_of(gv) else plural


def details(gv, plural, name):
    """The StatusDetails of an answer about one object; group is omitted when empty, as the
    real server's JSON (omitempty) leaves it out for core kinds."""
    out = {"name": name, "kind": plural}
    if group_of(gv):
        out["group"] = group_of(gv)
    return out


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
                raise ObjectError(409, "AlreadyExists", '%s "%s" already exists'
                                  % (qualified(gv, plural), md["name"]), details(gv, plural, md["name"]))
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
        return ObjectError(404, "NotFound", '%s "%s" not found' % (qualified(gv, plural), name),
                           details(gv, plural, name))

    def patch(self, gv, plural, ns, name, patch):
        with self.lock:
            key = self._key(gv, plural, ns, name)
            obj = self.objects.get(key)
            if obj is None:
                raise self.not_found(gv, plural, name)
            want = ((patch.get("metadata") or {}) if isinstance(patch, dict) else {}).get("resourceVersion")
            if want is not None and want != obj["metadata"]["resourceVersion"]:
                raise self.conflict(gv, plural, name)
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

    def update(self, gv, plural, ns, name, new):
        """PUT: replace the object; a metadata.resourceVersion given must be the current one."""
        with self.lock:
            key = self._key(gv, plural, ns, name)
            obj = self.objects.get(key)
            if obj is None:
                raise self.not_found(gv, plural, name)
            want = (new.get("metadata") or {}).get("resourceVersion")
            if want and want != obj["metadata"]["resourceVersion"]:
                raise self.conflict(gv, plural, name)
            new = copy.deepcopy(new)
            md = new.setdefault("metadata", {})
            for field in ("uid", "creationTimestamp", "namespace"):
                if field in obj["metadata"]:
                    md[field] = obj["metadata"][field]
            md["name"] = name
            md["resourceVersion"] = str(self.next_rv())
            md["generation"] = obj["metadata"].get("generation", 1) + 1
            new["apiVersion"], new["kind"] = obj["apiVersion"], obj["kind"]
            self.objects[key] = new
            return copy.deepcopy(new)

    def conflict(self, gv, plural, name):
        return ObjectError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": the object '
                           'has been modified; please apply your changes to the latest version and '
                           'try again' % (qualified(gv, plural), name), details(gv, plural, name))

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


def route(handler, api, method, path, user, query=None):
    """Serve path when it is one of RESOURCES; False when it is not ours."""
    m = PATH_RE.match(path) or CORE_PATH_RE.match(path)
    if not m:
        return False
    gv, ns, plural, name = m.groups()
    if (gv, plural) not in RESOURCES:
        return False
    kind, namespaced = RESOURCES[(gv, plural)]
    if (namespaced and ns is None and name is not None) or (not namespaced and ns is not None):
        return False
    store = api.objects
    verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update", "PATCH": "patch",
            "DELETE": "delete"}.get(method)
    if verb is None:
        raise ObjectError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    api.authorize(user, verb, plural, ns, name, group=group_of(gv))
    if method == "GET" and name:
        obj = store.get(gv, plural, ns, name)
        if obj is None:
            raise store.not_found(gv, plural, name)
        handler.send_json(200, api.decorate_object(obj))
    elif method == "GET":
        listed = store.list(gv, plural, ns)
        listed["items"] = [api.decorate_object(o) for o in listed["items"]
                           if api.object_selected(o, query or {})]
        handler.send_json(200, listed)
    elif method == "POST" and not name:
        handler.send_json(201, api.create_object(gv, plural, handler.read_body() or {}, ns))
    elif method == "PUT" and name:
        body = handler.read_body() or {}
        if (body.get("metadata") or {}).get("name", name) != name:
            raise ObjectError(400, "BadRequest", "the name of the object (%s) does not match the name on "
                              "the URL (%s)" % (body["metadata"]["name"], name))
        handler.send_json(200, api.update_object(gv, plural, ns, name, body))
    elif method == "DELETE" and name:
        handler.send_json(200, api.delete_object(gv, plural, ns, name))
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
        handler.send_json(200, api.decorate_object(store.patch(gv, plural, ns, name, patch)))
    else:
        raise ObjectError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    return True
