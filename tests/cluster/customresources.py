"""The stand-in's side of the Capsule custom resource (deploy/capsule-crd.yaml) and of the
Events a controller writes:
  - capsules.lambda-cntr.io/v1alpha1 served as the CRD declares it (namespaced, through
    objects.py's store), with its status subresource: PATCH .../capsules/NAME/status changes
    only .status, as the API server does for a CRD with `subresources: status`;
  - POST /api/v1/namespaces/NS/events (metadata.generateName honoured), listed with the
    kubelet's events by ApiServer.list_events."""

import json
import random
import re

import objects
from podstore import now_rfc3339

CAPSULES = ("lambda-cntr.io/v1alpha1", "capsules")
objects.RESOURCES[CAPSULES] = ("Capsule", True)

STATUS_RE = re.compile(r"^/apis/lambda-cntr\.io/v1alpha1/namespaces/([^/]+)/capsules/([^/]+)/status$")
EVENTS_RE = re.compile(r"^/api/v1/namespaces/([^/]+)/events$")


def route(handler, api, method, path, user, api_error):
    """True when answered."""
    m = STATUS_RE.match(path)
    if m and method in ("GET", "PATCH"):
        ns, name = m.groups()
        api.authorize(user, "patch" if method == "PATCH" else "get", "capsules/status", ns, name)
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
    m = EVENTS_RE.match(path)
    if m and method == "POST":
        ns = m.group(1)
        api.authorize(user, "create", "events", ns)
        event = handler.read_body() or {}
        meta = event.setdefault("metadata", {})
        if not meta.get("name"):
            meta["name"] = (meta.get("generateName") or "event.") + "".join(
                random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(10))
        meta["namespace"] = ns
        meta.setdefault("creationTimestamp", now_rfc3339())
        api.events.append(event)
        handler.send_json(201, event)
        return True
    return False
