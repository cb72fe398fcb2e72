"""The stand-in's side of the Capsule custom resource (deploy/capsule-crd.yaml): the
CustomResourceDefinition itself is stored (so `apply_manifests(deploy/)` takes it), and
capsules.lambda-cntr.io/v1alpha1 is served as it declares (namespaced, through objects.py's
store), with its status subresource: PATCH .../capsules/NAME/status changes only .status, as
the API server does for a CRD with `subresources: status`. Events a controller writes go
through the API server's own Event route."""

import json
import re

import objects

CAPSULES = ("lambda-cntr.io/v1alpha1", "capsules")

STATUS_RE = re.compile(r"^/apis/lambda-cntr\.io/v1alpha1/namespaces/([^/]+)/capsules/([^/]+)/status$")


def route(handler, api, method, path, user, api_error):
    """True when answered."""
    m = STATUS_RE.match(path)
    if m and method in ("GET", "PATCH"):
        ns, name = m.groups()
        api.authorize(user, "patch" if method == "PATCH" else "get", "capsules/status", ns, name,
                      group="lambda-cntr.io")
        store = api.objects
        if method == "GET":
            obj = store.get(*CAPSULES, ns, name)
            if obj is None:
                raise api_error(404, "NotFound", 'capsules.lambda-cntr.io "%s" not found' % name)
            handler.send_json(200, obj)
            return True
        ctype = (handler.headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != "application/merge-patch+json":
            raise api_error(415, "UnsupportedMediaType", "the stand-in only implements merge patches")
        patch = json.loads(handler.read_raw_body() or b"null")
        try:
            obj = store.patch(*CAPSULES, ns, name, {"status": (patch or {}).get("status")})
        except objects.ObjectError as e:
            raise api_error(e.code, e.reason, e.message, e.details)
        handler.send_json(200, obj)
        return True
    return False
