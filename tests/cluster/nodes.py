"""The stand-in's nodes: node-1 (the default, as before) and node-2, each with its own kubelet,
and the images their runtimes know.

Scheduling: a pod with spec.nodeName, or a nodeSelector on kubernetes.io/hostname, goes to that
node's kubelet; any other pod to node-1's (which binds it, as the scheduler would). A name no
kubelet answers to stays Pending, as on a real cluster.

Images: an image reference maps to a root filesystem (built once into the cache directory):
  - lambda-cntr-agent:*          busybox with the real static cntr (CNTR_BIN) at
                                 /usr/local/bin/cntr, as the agent image has it
  - capsules.example/marker:*    busybox plus /capsule-marker and /usr/bin/capsule-tool, a
                                 capsule image with content of its own
  - anything else                the plain busybox root (as before)
Each kubelet has its own missing_image_prefixes: a prefix there fails to pull on that node only
(ErrImagePull / ImagePullBackOff, worded as containerd's CRI does).

GET /api/v1/nodes and /api/v1/nodes/NAME list the nodes (Ready)."""

import os
import shutil
import tempfile

import node
from podstore import now_rfc3339

NODE_NAMES = ("node-1", "node-2")
HOSTNAME_LABEL = "kubernetes.io/hostname"
AGENT_IMAGE_PREFIX = "lambda-cntr-agent:"
CAPSULE_IMAGE_PREFIX = "capsules.example/marker"
CAPSULE_MARKER = "capsule image content\n"
CAPSULE_TOOL = "#!/bin/sh\necho \"capsule-tool: $*\"\n"
# Mount points a capsule pod uses (docs/capsules.md): made in the image roots, not by runc in
# the shared cached root.
CAPSULE_MOUNT = ".lambda-cntr"


def _derived_rootfs(name, populate):
    """A copy of the busybox root plus what populate(tmp) adds, built once into the cache."""
    root = os.path.join(node.CACHE_DIR, name)
    if os.path.exists(os.path.join(root, ".complete")):
        return root
    base = node.busybox_rootfs()
    with node._CacheLock():
        if not os.path.exists(os.path.join(root, ".complete")):
            tmp = root + ".tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(base, tmp, symlinks=True)
            os.remove(os.path.join(tmp, ".complete"))
            os.makedirs(os.path.join(tmp, CAPSULE_MOUNT), exist_ok=True)
            populate(tmp)
            open(os.path.join(tmp, ".complete"), "w").close()
            shutil.rmtree(root, ignore_errors=True)
            os.rename(tmp, root)
    return root


def _agent_populate(tmp):
    os.makedirs(os.path.join(tmp, "usr/local/bin"), exist_ok=True)
    open(os.path.join(tmp, "usr/local/bin/cntr"), "w").close()  # bind-mount point


def _capsule_populate(tmp):
    with open(os.path.join(tmp, "capsule-marker"), "w") as f:
        f.write(CAPSULE_MARKER)
    os.makedirs(os.path.join(tmp, "usr/bin"), exist_ok=True)
    tool = os.path.join(tmp, "usr/bin/capsule-tool")
    with open(tool, "w") as f:
        f.write(CAPSULE_TOOL)
    os.chmod(tool, 0o755)


def image_filesystem(image, cntr_bin):
    """(rootfs, [(source, destination, read_only)]) of an image on this stand-in's nodes."""
    if image.startswith(AGENT_IMAGE_PREFIX) and cntr_bin:
        return (_derived_rootfs("agent-rootfs", _agent_populate),
                [(os.path.abspath(cntr_bin), "/usr/local/bin/cntr", True)])
    if image.startswith(CAPSULE_IMAGE_PREFIX):
        return _derived_rootfs("capsule-rootfs", _capsule_populate), []
    return node.busybox_rootfs(), []


def empty_dir_binds(kubelet, pod, container):
    """emptyDir volumes: a directory per pod and volume under the kubelet's state, bound where
    the container mounts it (read-only when the mount says so)."""
    volumes = {v["name"]: v for v in pod["spec"].get("volumes") or [] if "emptyDir" in v}
    binds = []
    for m in container.get("volumeMounts") or []:
        if m["name"] in volumes:
            src = os.path.join(kubelet.state_dir, "volumes", pod["metadata"]["uid"], m["name"])
            os.makedirs(src, exist_ok=True)
            binds.append((src, m["mountPath"], bool(m.get("readOnly"))))
    return binds


class Nodes:
    """Looks like one Kubelet to the API server (the first node's knobs are the attributes
    tests already set), dispatches each pod to the kubelet of its node."""

    def __init__(self, kubelet_cls, store, state_dir, cntr_bin):
        kubelets = {}
        for name in NODE_NAMES:
            sub = state_dir if name == NODE_NAMES[0] else tempfile.mkdtemp(prefix=name + "-", dir=state_dir)
            kubelets[name] = kubelet_cls(store, name, sub, cntr_bin)
        self.__dict__["kubelets"] = kubelets
        self.__dict__["primary"] = kubelets[NODE_NAMES[0]]

    def __getattr__(self, attr):
        return getattr(self.primary, attr)

    def __setattr__(self, attr, value):
        if attr == "record_event":  # every node reports events
            for k in self.kubelets.values():
                k.record_event = value
        else:
            setattr(self.primary, attr, value)

    def for_pod(self, pod):
        spec = pod.get("spec") or {}
        wanted = spec.get("nodeName") or (spec.get("nodeSelector") or {}).get(HOSTNAME_LABEL)
        return self.kubelets.get(wanted, self.primary)

    def owner(self, namespace, name):
        for k in self.kubelets.values():
            with k.lock:
                if (namespace, name) in k.runtimes:
                    return k
        return self.primary

    def pod_created(self, pod):
        self.for_pod(pod).pod_created(pod)

    def pod_deleted(self, namespace, name, grace):
        self.owner(namespace, name).pod_deleted(namespace, name, grace)

    def running_container(self, namespace, name, container):
        return self.owner(namespace, name).running_container(namespace, name, container)

    def pause(self):
        for k in self.kubelets.values():
            k.pause()

    def resume(self):
        for k in self.kubelets.values():
            k.resume()

    def shutdown(self):
        for k in self.kubelets.values():
            k.shutdown()


def node_object(name):
    return {"kind": "Node", "apiVersion": "v1",
            "metadata": {"name": name, "labels": {HOSTNAME_LABEL: name, "kubernetes.io/os": "linux"},
                         "creationTimestamp": now_rfc3339()},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "message": "kubelet is posting ready status"}],
                       "nodeInfo": {"containerRuntimeVersion": "containerd://1.7.0",
                                    "kubeletVersion": "v1.29.0"}}}


def route(handler, api, method, path, user, not_found):
    """/api/v1/nodes[/NAME]: True when answered."""
    if method != "GET" or not (path == "/api/v1/nodes" or path.startswith("/api/v1/nodes/")):
        return False
    name = path[len("/api/v1/nodes/"):] if path.startswith("/api/v1/nodes/") else None
    api.authorize(user, "get" if name else "list", "nodes", "")
    if name is None:
        handler.send_json(200, {"kind": "NodeList", "apiVersion": "v1", "metadata": {},
                                "items": [node_object(n) for n in NODE_NAMES]})
    elif name in NODE_NAMES:
        handler.send_json(200, node_object(name))
    else:
        raise not_found(name, "nodes")
    return True
