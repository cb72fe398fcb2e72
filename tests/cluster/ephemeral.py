"""Ephemeral containers in the stand-in, as the real API server and kubelet serve them:

- PATCH pods/NAME/ephemeralcontainers (strategic merge, JSON merge or JSON patch; the body is the
  Pod) and PUT of the whole Pod; GET of the subresource gives the Pod. Ephemeral containers can
  only be added: removing or changing one, a duplicate name, an unknown targetContainerName, a
  missing image or a field ephemeral containers may not have is a 422 Invalid Status.
- The kubelet starts a new one as a real process in the target container's pid, net, ipc and uts
  namespaces (`nsenter -t <target pid> -p -n -i -u`) with a private mount namespace and a fresh
  /proc of that pid namespace, so /proc/1 is the target's init; the host's tools stand in for the
  image. Its status goes waiting ContainerCreating -> running -> terminated (exitCode), or
  ErrImagePull / ImagePullBackOff for an image that cannot be pulled, or StartError (128) for a
  command the image does not have.
- pods/NAME/attach streams the running process's stdio over the exec channel protocol; output
  produced while nobody is attached goes to its log only (pods/NAME/log?container=), as
  containerd does. The status channel says Success when the stream ends; the exit code is only
  in the container's status. Detaching never kills the process (with stdinOnce its stdin is
  closed when the first attach ends).
"""

import copy
import json
import os
import shutil
import subprocess
import threading
import time

import node
from podstore import now_rfc3339

PATCH_TYPES = ("application/strategic-merge-patch+json", "application/merge-patch+json",
               "application/json-patch+json")
# Fields a Container has that an EphemeralContainer may not set (validation.go).
PLEG_DELAY = 0.3
FORBIDDEN_FIELDS = ("ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
                    "resizePolicy", "restartPolicy")


class Invalid(Exception):
    def __init__(self, name, causes):
        super().__init__(name)
        self.name = name
        self.causes = causes  # (field, reason, message)


# -- the patch -------------------------------------------------------------------------------
def _merge(target, patch, strategic):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$patch", "$retainKeys"):
            continue
        if value is None:
            out.pop(key, None)
        elif strategic and key in ("containers", "ephemeralContainers", "initContainers") and \
                isinstance(value, list):
            merged = [copy.deepcopy(c) for c in out.get(key) or []]
            for item in value:
                if isinstance(item, dict) and item.get("$patch") == "delete":
                    merged = [c for c in merged if c.get("name") != item.get("name")]
                    continue
                old = next((c for c in merged if c.get("name") == item.get("name")), None)
                if old is None:
                    merged.append(copy.deepcopy(item))
                else:
                    merged[merged.index(old)] = _merge(old, item, True)
            out[key] = merged
        else:
            out[key] = _merge(out.get(key), value, strategic)
    return out


def _json_patch(doc, ops):
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        parent = doc
        for p in parts[:-1]:
            parent = parent[int(p)] if isinstance(parent, list) else parent.setdefault(p, {})
        last = parts[-1]
        kind = op["op"]
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if kind == "add":
                parent.insert(index, op["value"])
            elif kind == "remove":
                del parent[index]
            elif kind == "replace":
                parent[index] = op["value"]
            else:
                raise ValueError("unsupported op %s" % kind)
        elif kind in ("add", "replace"):
            parent[last] = op["value"]
        elif kind == "remove":
            del parent[last]
        elif kind == "test":
            if parent.get(last) != op["value"]:
                raise ValueError("test failed")
        else:
            raise ValueError("unsupported op %s" % kind)
    return doc


def apply_patch(pod, content_type, body):
    if content_type == "application/json-patch+json":
        return _json_patch(pod, body)
    return _merge(pod, body, content_type == "application/strategic-merge-patch+json")


def validate(old_pod, new_pod):
    """The checks of ValidatePodEphemeralContainersUpdate that matter here."""
    name = old_pod["metadata"]["name"]
    old = {c["name"]: c for c in old_pod["spec"].get("ephemeralContainers") or []}
    new = new_pod.get("spec", {}).get("ephemeralContainers") or []
    causes = []
    seen = set(c["name"] for key in ("containers", "initContainers")
               for c in old_pod["spec"].get(key) or [])
    targets = set(c["name"] for c in old_pod["spec"]["containers"])
    new_names = [c.get("name") for c in new]
    for gone in [n for n in old if n not in new_names]:
        causes.append(("spec.ephemeralContainers", "FieldValueForbidden",
                       'existing ephemeral containers "%s" may not be removed' % gone))
    for i, c in enumerate(new):
        field = "spec.ephemeralContainers[%d]" % i
        cname = c.get("name") or ""
        if cname in old:
            if c != old[cname]:
                causes.append((field, "FieldValueForbidden",
                               'existing ephemeral containers "%s" may not be changed' % cname))
            seen.add(cname)
            continue
        if not cname:
            causes.append((field + ".name", "FieldValueRequired", "Required value"))
        elif cname in seen:
            causes.append((field + ".name", "FieldValueDuplicate", 'Duplicate value: "%s"' % cname))
        seen.add(cname)
        if not c.get("image"):
            causes.append((field + ".image", "FieldValueRequired", "Required value"))
        target = c.get("targetContainerName")
        if target and target not in targets:
            causes.append((field + ".targetContainerName", "FieldValueNotFound", 'Not found: "%s"' % target))
        for f in FORBIDDEN_FIELDS:
            if c.get(f):
                causes.append((field + "." + f, "FieldValueForbidden",
                               "Forbidden: cannot be set for an Ephemeral Container"))
        if c.get("resources"):
            causes.append((field + ".resources", "FieldValueForbidden",
                           "Forbidden: cannot be set for an Ephemeral Container"))
    if causes:
        raise Invalid(name, causes)
    return [c for c in new if c.get("name") not in old]


def invalid_status(e):
    message = 'Pod "%s" is invalid: %s' % (e.name, ", ".join(
        "%s: %s" % (f, m if m.startswith(("Required", "Duplicate", "Not found", "Forbidden")) else
                    "Forbidden: " + m) for f, _, m in e.causes))
    return message, {"name": e.name, "kind": "Pod",
                     "causes": [{"reason": r, "message": m, "field": f} for f, r, m in e.causes]}


# -- the node side ---------------------------------------------------------------------------
class Ephemeral:
    """One ephemeral container's process, its log, and the attach sessions reading it."""

    def __init__(self, spec):
        self.spec = spec
        self.name = spec["name"]
        self.id = node.new_container_id()
        self.proc = None
        self.log = bytearray()
        self.listeners = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.exit_code = None

    def start(self, argv, env):
        self.proc = node.Process(argv, tty=bool(self.spec.get("tty")), stdin=bool(self.spec.get("stdin")),
                                 env=env)
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        import select
        fds = {fd: ch for fd, ch in ((self.proc.stdout_fd, 1), (self.proc.stderr_fd, 2)) if fd is not None}
        while fds:
            readable, _, _ = select.select(list(fds), [], [], 0.5)
            for fd in readable:
                try:
                    data = os.read(fd, 32768)
                except OSError:
                    data = b""
                if not data:
                    del fds[fd]
                    continue
                with self.lock:
                    self.log += data
                    listeners = list(self.listeners)
                for view in listeners:
                    view.deliver(fds.get(fd, 1), data)
        self.exit_code = node._exit_status(self.proc.wait())
        with self.lock:
            listeners, self.listeners = list(self.listeners), []
        for view in listeners:
            view.end()
        self.done.set()

    def attach(self, tty, stdin):
        view = _AttachView(self, tty, stdin)
        with self.lock:
            if self.done.is_set():
                view.end()
            else:
                self.listeners.append(view)
        return view

    def detach(self, view):
        with self.lock:
            if view in self.listeners:
                self.listeners.remove(view)


class _AttachView:
    """What wsexec.Session drives for an attach: the process's stdin, and pipes fed by the
    pump with the output produced while attached. wait() is 0: attach reports only Success."""

    def __init__(self, eph, tty, stdin):
        self.eph = eph
        self.tty = tty
        self.popen = self
        self.out_r, self.out_w = os.pipe()
        self.err_r, self.err_w = (None, None) if tty else os.pipe()
        self.stdout_fd, self.stderr_fd = self.out_r, self.err_r
        self.stdin_fd = eph.proc.stdin_fd if stdin else None
        self.ended = False

    def deliver(self, channel, data):
        fd = self.err_w if channel == 2 and self.err_w is not None else self.out_w
        try:
            os.write(fd, data)
        except OSError:
            pass

    def end(self):
        self.ended = True
        for fd in (self.out_w, self.err_w):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.out_w = self.err_w = None

    def poll(self):
        return 0 if self.ended else None

    def wait(self):
        return 0

    def resize(self, width, height):
        self.eph.proc.resize(width, height)

    def close_stdin(self):
        if self.eph.spec.get("stdinOnce"):
            self.eph.proc.close_stdin()

    def close(self):
        """Detach: the process runs on."""
        self.eph.detach(self)
        self.end()
        for fd in (self.out_r, self.err_r):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.out_r = self.err_r = None

    def signal_group(self, sig):
        pass


def _target_pid(ctr):
    if hasattr(ctr, "process"):
        return ctr.process.popen.pid
    state = subprocess.run(["runc", "--root", node.RUNC_ROOT, "state", ctr.id], capture_output=True, text=True)
    return json.loads(state.stdout)["pid"] if state.returncode == 0 else None


def _set_state(api, key, name, image, state, ready=False):
    def mutate(pod):
        statuses = pod.setdefault("status", {}).setdefault("ephemeralContainerStatuses", [])
        entry = next((s for s in statuses if s["name"] == name), None)
        if entry is None:
            entry = {"name": name, "image": image, "imageID": "", "ready": False, "restartCount": 0}
            statuses.append(entry)
        entry["state"] = state
        entry["ready"] = ready
    api.store.update(key[0], key[1], mutate)


def start_container(api, namespace, pod_name, spec):
    """The kubelet's part: run spec in the pod, reporting its status as it goes."""
    key = (namespace, pod_name)
    image = spec.get("image", "")
    _set_state(api, key, spec["name"], image, {"waiting": {"reason": "ContainerCreating"}})

    def run():
        kubelet = api.kubelet
        time.sleep(0.1)
        if any(image.startswith(p) for p in kubelet.missing_image_prefixes):
            message = ('failed to pull and unpack image "%s": failed to resolve reference "%s": '
                       'not found' % (image, image))
            _set_state(api, key, spec["name"], image, {"waiting": {"reason": "ErrImagePull", "message": message}})
            api.record_event(api.store.get(*key), "Warning", "Failed", "Failed to pull image \"%s\": %s"
                             % (image, message))
            time.sleep(0.5)
            _set_state(api, key, spec["name"], image, {"waiting": {
                "reason": "ImagePullBackOff", "message": 'Back-off pulling image "%s"' % image}})
            return
        runtime, target = kubelet.running_container(namespace, pod_name, spec.get("targetContainerName") or "")
        if runtime is None:
            return
        eph = Ephemeral(spec)
        command = (spec.get("command") or ["sh"]) + (spec.get("args") or [])
        if shutil.which(command[0]) is None:
            now = now_rfc3339()
            _set_state(api, key, spec["name"], image, {"terminated": {
                "exitCode": 128, "reason": "StartError", "startedAt": "1970-01-01T00:00:00Z", "finishedAt": now,
                "containerID": "containerd://" + eph.id,
                "message": 'failed to create containerd task: failed to create shim task: OCI runtime '
                           'create failed: runc create failed: unable to start container process: exec: '
                           '"%s": executable file not found in $PATH: unknown' % command[0]}})
            return
        pid = _target_pid(target) if target is not None else None
        enter = ["nsenter", "-t", str(pid), "-p", "-n", "-i", "-u", "--"] if pid else []
        env = {"PATH": node.PATH_ENV.split("=", 1)[1], "HOSTNAME": pod_name}
        if spec.get("tty"):
            env["TERM"] = "xterm"
        for e in spec.get("env") or []:
            env[e["name"]] = e.get("value", "")
        # With a TTY the command leads its own session on it, inside the pid namespace, as a
        # container's process does (a shell restores its terminal's process group on exit).
        lead = ["setsid", "--ctty", "--wait"] if spec.get("tty") else []
        eph.start(enter + ["unshare", "--mount", "--propagation", "private", "--mount-proc", "--"] + lead + command,
                  env)
        with runtime.lock:
            runtime.execs.add(eph.proc)
            if not hasattr(runtime, "ephemerals"):
                runtime.ephemerals = {}
            runtime.ephemerals[spec["name"]] = eph
        started = now_rfc3339()
        # The kubelet learns of the start from its next relist (PLEG), a moment later; a command
        # that ended by then is never reported running: its output is only in its log.
        if not eph.done.wait(PLEG_DELAY):
            _set_state(api, key, spec["name"], image, {"running": {"startedAt": started}})
            eph.done.wait()
            time.sleep(PLEG_DELAY)  # the exit too is seen after the streams ended
        if runtime.stopping.is_set():
            return
        code = eph.exit_code
        _set_state(api, key, spec["name"], image, {"terminated": {
            "exitCode": code, "reason": "Completed" if code == 0 else "Error", "startedAt": started,
            "finishedAt": now_rfc3339(), "containerID": "containerd://" + eph.id}})

    threading.Thread(target=run, daemon=True).start()


def running(api, namespace, name, container):
    runtime, _ = api.kubelet.running_container(namespace, name, "")
    if runtime is None:
        return None
    eph = getattr(runtime, "ephemerals", {}).get(container)
    return eph if eph is not None and not eph.done.is_set() else None


def log_of(api, namespace, name, container):
    with api.kubelet.lock:
        runtime = api.kubelet.runtimes.get((namespace, name))
    eph = getattr(runtime, "ephemerals", {}).get(container) if runtime else None
    if eph is not None:
        with eph.lock:
            return bytes(eph.log)
    ctr = runtime.containers.get(container) if runtime else None
    return ctr.log_contents() if ctr is not None else b""


# -- the API side ----------------------------------------------------------------------------
def serve(h, api, method, namespace, name, sub, query, user, ApiError):
    """pods/NAME/{ephemeralcontainers,attach,log} for apiserver.py's handler h. Returns True
    when answered."""
    if sub == "ephemeralcontainers":
        return _serve_subresource(h, api, method, namespace, name, user, ApiError)
    if sub == "attach" and method in ("GET", "POST"):
        return _serve_attach(h, api, namespace, name, query, user, ApiError)
    if sub == "log" and method == "GET":
        api.authorize(user, "get", "pods/log", namespace, name)
        pod = api.store.get(namespace, name)
        if pod is None:
            raise ApiError(404, "NotFound", 'pods "%s" not found' % name, {"name": name, "kind": "pods"})
        container = query.get("container", [""])[0] or pod["spec"]["containers"][0]["name"]
        body = log_of(api, namespace, name, container)
        h.send_response(200)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
        return True
    return False


def _serve_subresource(h, api, method, namespace, name, user, ApiError):
    verb = {"GET": "get", "PATCH": "patch", "PUT": "update"}.get(method)
    if verb is None:
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
    api.authorize(user, verb, "pods/ephemeralcontainers", namespace, name)
    pod = api.store.get(namespace, name)
    if pod is None:
        raise ApiError(404, "NotFound", 'pods "%s" not found' % name, {"name": name, "kind": "pods"})
    if method == "GET":
        return h.send_json(200, pod) or True
    ctype = (h.headers.get("Content-Type") or "").split(";")[0].strip()
    if method == "PATCH" and ctype not in PATCH_TYPES:
        raise ApiError(415, "UnsupportedMediaType", 'the body of the request was in an unknown format - '
                       'accepted media types include: %s' % ", ".join(PATCH_TYPES + ("application/apply-patch+yaml",)))
    body = h.read_body()
    try:
        if method == "PUT":
            if not isinstance(body, dict) or body.get("kind", "Pod") != "Pod":
                raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
            new = body
        else:
            new = apply_patch(pod, ctype, body)
        added = validate(pod, new)
    except Invalid as e:
        message, details = invalid_status(e)
        raise ApiError(422, "Invalid", message, details)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
        raise ApiError(422, "Invalid", "the server rejected our request due to an error in our request: %s" % e)
    wanted = new["spec"].get("ephemeralContainers") or []

    def mutate(p):
        p["spec"]["ephemeralContainers"] = copy.deepcopy(wanted)
    updated = api.store.update(namespace, name, mutate)
    for spec in added:
        start_container(api, namespace, name, spec)
    return h.send_json(200, updated) or True


def _serve_attach(h, api, namespace, name, query, user, ApiError):
    import wsexec
    if h.command == "GET":
        api.authorize(user, "get", "pods/attach", namespace, name)
    api.authorize(user, "create", "pods/attach", namespace, name)
    pod = api.store.get(namespace, name)
    if pod is None:
        raise ApiError(404, "NotFound", 'pods "%s" not found' % name, {"name": name, "kind": "pods"})
    names = [c["name"] for key in ("containers", "initContainers", "ephemeralContainers")
             for c in pod["spec"].get(key) or []]
    container = query.get("container", [""])[0] or pod["spec"]["containers"][0]["name"]
    if container not in names:
        raise ApiError(400, "BadRequest", "container %s is not valid for pod %s" % (container, name))
    if h.headers.get("Upgrade", "").lower() != "websocket":
        raise ApiError(400, "BadRequest", "Upgrade request required")
    offered = [p.strip() for x in h.headers.get_all("Sec-WebSocket-Protocol") or [] for p in x.split(",")]
    supported = ["v4.channel.k8s.io"] if api.v4_only else ["v5.channel.k8s.io", "v4.channel.k8s.io"]
    protocol = next((p for p in supported if p in offered), None)
    if protocol is None:
        raise ApiError(400, "BadRequest", "unable to upgrade connection: none of the requested subprotocols "
                       "%s is supported (%s)" % (offered, ", ".join(supported)))
    eph = running(api, namespace, name, container)
    if eph is None:
        # The kubelet looks among running containers only.
        raise ApiError(400, "BadRequest", "unable to upgrade connection: container not found (\"%s\")" % container)
    tty = query.get("tty", ["false"])[0] == "true" and bool(eph.spec.get("tty"))
    view = eph.attach(tty, query.get("stdin", ["false"])[0] == "true" and bool(eph.spec.get("stdin")))
    h.switch_protocols(protocol)
    session = wsexec.Session(h.connection, h.buffered_input(), protocol, view, [])
    api.attach_sessions.append(session)
    session.run()
    view.close()
    return True
