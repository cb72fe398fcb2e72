"""Core objects of the stand-in beyond pods, as the real API serves them (namespaces are in
apiserver.py's route_installed): Nodes (GET, LIST; the stand-in's one node, plus any a test adds),
SelfSubjectReview (authentication.k8s.io/v1, GA since 1.28: who the server says you are) and
merge-patching a pod's labels and annotations (application/merge-patch+json; anything else in
a pod's spec is immutable, 422 as the real server words it). ApiServer.route hands paths here
first; route() returns False for paths that are not ours."""

import json
import re

from podstore import now_rfc3339

NODE_RE = re.compile(r"^/api/v1/nodes(?:/([^/]+))?$")
POD_RE = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)$")
SSR_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


class CoreError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def _not_found(kind, name):
    return CoreError(404, "NotFound", '%s "%s" not found' % (kind, name), {"name": name, "kind": kind})


def node_object(name):
    now = now_rfc3339()
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "message": "kubelet is posting ready status",
                                       "lastHeartbeatTime": now, "lastTransitionTime": now}],
                       "nodeInfo": {"kubeletVersion": "v1.29.0", "operatingSystem": "linux",
                                    "containerRuntimeVersion": "containerd://1.6.20"}}}


def route(handler, api, method, path, user):
    """Serve path when it is one of ours; False otherwise."""
    if path == SSR_PATH:
        return _self_subject_review(handler, api, method, user)
    m = NODE_RE.match(path)
    if m:
        return _nodes(handler, api, method, m.group(1), user)
    m = POD_RE.match(path)
    if m and method == "PATCH":
        return _patch_pod(handler, api, m.group(1), m.group(2), user)
    return False


def _self_subject_review(handler, api, method, user):
    if method != "POST":
        raise CoreError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    if not api.serve_self_subject_review:  # servers before 1.28 (v1 only since then)
        raise CoreError(404, "NotFound", "the server could not find the requested resource")
    handler.read_body()
    groups = list(api.user_groups.get(user, getattr(user, "groups", [])))
    groups += [] if "system:authenticated" in groups else ["system:authenticated"]
    handler.send_json(201, {"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
                            "metadata": {"creationTimestamp": None},
                            "status": {"userInfo": {"username": str(user), "groups": groups}}})
    return True


def _nodes(handler, api, method, name, user):
    if method != "GET":
        raise CoreError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    if name:
        api.authorize(user, "get", "nodes", "", name)
        if name not in api.node_names():
            raise _not_found("nodes", name)
        handler.send_json(200, node_object(name))
    else:
        api.authorize(user, "list", "nodes", "")
        handler.send_json(200, {"kind": "NodeList", "apiVersion": "v1", "metadata": {},
                                "items": [node_object(n) for n in api.node_names()]})
    return True


def _patch_pod(handler, api, namespace, name, user):
    ctype = (handler.headers.get("Content-Type") or "").split(";")[0].strip()
    if ctype != "application/merge-patch+json":
        raise CoreError(415, "UnsupportedMediaType", "the stand-in only implements merge patches of pods")
    api.authorize(user, "patch", "pods", namespace, name)
    try:
        patch = json.loads(handler.read_raw_body() or b"null")
    except ValueError as e:
        raise CoreError(400, "BadRequest", "error decoding patch: %s" % e)
    if not isinstance(patch, dict) or set(patch) - {"metadata"} or \
            set(patch.get("metadata") or {}) - {"labels", "annotations", "resourceVersion"}:
        raise CoreError(422, "Invalid", 'Pod "%s" is invalid: spec: Forbidden: pod updates may not change '
                        'fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, '
                        '`spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing '
                        'tolerations) or `spec.terminationGracePeriodSeconds`' % name,
                        {"name": name, "kind": "Pod"})
    meta_patch = patch.get("metadata") or {}
    current = api.store.get(namespace, name)
    if current is None:
        raise _not_found("pods", name)
    precondition = meta_patch.get("resourceVersion")
    if precondition is not None and precondition != current["metadata"].get("resourceVersion"):
        raise CoreError(409, "Conflict", 'Operation cannot be fulfilled on pods "%s": the object has been '
                        'modified; please apply your changes to the latest version and try again' % name,
                        {"name": name, "kind": "pods"})

    def apply(pod):
        meta = pod["metadata"]
        for key in ("labels", "annotations"):
            if key in meta_patch:
                merged = dict(meta.get(key) or {})
                for k, v in (meta_patch[key] or {}).items():
                    if v is None:
                        merged.pop(k, None)
                    else:
                        merged[k] = v
                meta[key] = merged
    pod = api.store.update(namespace, name, apply)
    if pod is None:
        raise _not_found("pods", name)
    handler.send_json(200, pod)
    return True
