"""The stand-in's kubelet (and scheduler): drives each pod through the phases a real cluster
reports — scheduling (or Unschedulable), image pull (or ErrImagePull/ImagePullBackOff), Running
and Ready, container exits (Succeeded/Failed/CrashLoopBackOff) and graceful deletion."""

import hashlib
import os
import signal
import stat
import threading
import time

import node
import nodes
from podstore import now_rfc3339


class PodRuntime:
    def __init__(self):
        self.containers = {}   # name -> RuncContainer | HostContainer
        self.execs = set()     # node.Process of live exec sessions
        self.stopping = threading.Event()
        self.lock = threading.Lock()


def is_host_pod(pod):
    """hostPID + privileged: what a debug agent asks for; it runs on the host (see node.py)."""
    spec = pod["spec"]
    return bool(spec.get("hostPID")) and any(
        (c.get("securityContext") or {}).get("privileged") for c in spec["containers"])


def _condition(kind, status, reason=None, message=None):
    c = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": now_rfc3339()}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


class Kubelet:
    def __init__(self, store, node_name, state_dir, cntr_bin):
        self.store = store
        self.node_name = node_name
        self.state_dir = state_dir
        self.cntr_bin = cntr_bin
        self.runtimes = {}
        self.lock = threading.Lock()
        # Test knobs.
        self.missing_image_prefixes = ["registry.invalid/"]
        self.images_without_cntr = ["debian:"]  # a plain image given with -i
        self.unschedulable_message = None  # set: every new pod stays Pending/Unschedulable
        self.admission_failure = None      # (reason, message): the kubelet rejects new pods
        self.start_delay = 0.3
        self.vanish_on_next_exec = False   # see ApiServer exec: the container dies right then
        self.image_digests = {}            # image reference -> digest (hex) this node holds for it
        self.gate = threading.Event()      # cleared by pause(): new pods wait in Pending
        self.gate.set()
        self.record_event = lambda pod, kind, reason, message: None  # set by the API server

    def image_id(self, image):
        """containerStatuses[].imageID as containerd's CRI reports it: the repository digest
        (`docker.io/library/NAME@sha256:HEX`, no tag). A reference by digest runs that digest;
        a tag runs whatever this node holds for it (image_digests, a test knob: a re-tagged image),
        by default a digest derived from the reference."""
        name, _, digest = image.partition("@")
        if digest.startswith("sha256:"):
            hexdigest = digest[len("sha256:"):]
        else:
            hexdigest = self.image_digests.get(image) or hashlib.sha256(image.encode()).hexdigest()
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            name = name[:len(name) - len(last)] + last.split(":", 1)[0]
        if "/" not in name:
            name = "docker.io/library/" + name
        elif "." not in name.split("/", 1)[0] and ":" not in name.split("/", 1)[0]:
            name = "docker.io/" + name
        return "%s@sha256:%s" % (name, hexdigest)

    # -- entry points called by the API server ------------------------------------------------
    def pod_created(self, pod):
        key = (pod["metadata"]["namespace"], pod["metadata"]["name"])
        runtime = PodRuntime()
        with self.lock:
            self.runtimes[key] = runtime
        threading.Thread(target=self._run_pod, args=(key, runtime), daemon=True).start()

    def pod_deleted(self, namespace, name, grace):
        with self.lock:
            runtime = self.runtimes.get((namespace, name))
        threading.Thread(target=self._terminate, args=((namespace, name), runtime, grace),
                         daemon=True).start()

    def running_container(self, namespace, name, container):
        with self.lock:
            runtime = self.runtimes.get((namespace, name))
        if runtime is None or runtime.stopping.is_set():
            return None, None
        with runtime.lock:
            return runtime, runtime.containers.get(container)

    def pause(self):
        self.gate.clear()

    def resume(self):
        self.gate.set()

    def shutdown(self):
        self.gate.set()
        with self.lock:
            items = list(self.runtimes.items())
        for key, runtime in items:
            self._terminate(key, runtime, 0)

    def host_bin_dir(self):
        """A directory whose `cntr` is the real one (CNTR_BIN), for the PATH of host pods."""
        path = os.path.join(self.state_dir, "bin")
        with self.lock:
            if not os.path.isdir(path):
                os.makedirs(path)
                if self.cntr_bin:
                    os.symlink(os.path.abspath(self.cntr_bin), os.path.join(path, "cntr"))
        return path

    # -- lifecycle ----------------------------------------------------------------------------
    def _set_status(self, key, mutate):
        return self.store.update(key[0], key[1], lambda pod: mutate(pod, pod.setdefault("status", {})))

    def _run_pod(self, key, runtime):
        time.sleep(self.start_delay)
        self.gate.wait()
        pod = self.store.get(*key)
        if pod is None or runtime.stopping.is_set():
            return
        if self.unschedulable_message:
            def unschedulable(p, st):
                st["conditions"] = [_condition("PodScheduled", "False", "Unschedulable",
                                               self.unschedulable_message)]
            self._set_status(key, unschedulable)
            return
        if not pod["spec"].get("nodeName"):
            self.store.update(key[0], key[1], lambda p: p["spec"].__setitem__("nodeName", self.node_name))
        elif pod["spec"]["nodeName"] != self.node_name:
            return  # bound to a node without a kubelet: Pending forever, as in a real cluster

        if self.admission_failure:
            # nodeName bypasses the scheduler: the kubelet's own admission can still refuse.
            reason, message = self.admission_failure

            def rejected(p, st):
                st.update({"phase": "Failed", "reason": reason, "message": message,
                           "startTime": now_rfc3339()})
            self._set_status(key, rejected)
            return

        def creating(p, st):
            st["hostIP"] = "10.0.0.1"
            st["startTime"] = now_rfc3339()
            st["conditions"] = [_condition("PodScheduled", "True"), _condition("Initialized", "True"),
                                _condition("ContainersReady", "False", "ContainersNotReady"),
                                _condition("Ready", "False", "ContainersNotReady")]
            st["containerStatuses"] = [
                {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
                 "restartCount": 0, "started": False,
                 "state": {"waiting": {"reason": "ContainerCreating"}}}
                for c in p["spec"]["containers"]]
            if p["spec"].get("initContainers"):
                st["conditions"][1] = _condition("Initialized", "False", "ContainersNotInitialized")
                st["initContainerStatuses"] = [
                    {"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": False,
                     "restartCount": 0, "started": False,
                     "state": {"waiting": {"reason": "PodInitializing"}}}
                    for c in p["spec"]["initContainers"]]
        self._set_status(key, creating)

        if not self._mount_volumes(pod):
            return
        missing = [c for c in pod["spec"]["containers"]
                   if any(c.get("image", "").startswith(pfx) for pfx in self.missing_image_prefixes)]
        if missing:
            self._pull_back_off(key, runtime, missing[0])
            return
        self._start_containers(key, runtime, pod)

    def _filesystem(self, pod, container):
        """The container's root (from its image) and bind mounts (the image's, emptyDirs)."""
        rootfs, binds = nodes.image_filesystem(container.get("image", ""), self.cntr_bin)
        return rootfs, binds + nodes.empty_dir_binds(self, pod, container)

    def _mount_volumes(self, pod):
        """hostPath type checks, as the kubelet makes them: a failure is only an event (the
        kubelet retries the mount) and the pod stays in ContainerCreating."""
        checks = {"Socket": (stat.S_ISSOCK, "a socket file"), "Directory": (stat.S_ISDIR, "a directory"),
                  "File": (stat.S_ISREG, "a file")}
        for v in pod["spec"].get("volumes") or []:
            host_path = v.get("hostPath") or {}
            check = checks.get(host_path.get("type"))
            if not check:
                continue
            try:
                ok = check[0](os.stat(host_path["path"]).st_mode)
            except OSError:
                ok = False
            if not ok:
                self.record_event(pod, "Warning", "FailedMount",
                                  'MountVolume.SetUp failed for volume "%s" : hostPath type check failed: '
                                  '%s is not %s' % (v["name"], host_path["path"], check[1]))
                return False
        return True

    def _pull_back_off(self, key, runtime, container):
        image = container["image"]
        reasons = [
            ("ErrImagePull", 'rpc error: code = NotFound desc = failed to pull and unpack image '
             '"%s:latest": failed to resolve reference "%s:latest": %s:latest: not found'
             % (image, image, image)),
            ("ImagePullBackOff", 'Back-off pulling image "%s"' % image),
        ]
        step = 0
        while not runtime.stopping.is_set():
            reason, message = reasons[step % 2]

            def waiting(p, st):
                for cs in st.get("containerStatuses", []):
                    if cs["name"] == container["name"]:
                        cs["state"] = {"waiting": {"reason": reason, "message": message}}
            if self._set_status(key, waiting) is None:
                return
            step += 1
            runtime.stopping.wait(1.0)

    def _run_init_containers(self, key, runtime, pod):
        """Init containers in order, as a kubelet runs them: a plain one to completion, a sidecar
        (restartPolicy Always, 1.29+) started and left running next to the app containers; both
        reported in initContainerStatuses. False when one failed (the pod then stays in Init)."""
        for c in pod["spec"].get("initContainers") or []:
            if runtime.stopping.is_set():
                return False
            ctr = node.RuncContainer(pod, c, self.state_dir, *self._filesystem(pod, c))
            started = now_rfc3339()
            sidecar = c.get("restartPolicy") == "Always"
            if sidecar:
                with runtime.lock:
                    runtime.containers[c["name"]] = ctr
                state = {"running": {"startedAt": started}}
            else:
                code = ctr.wait()
                ctr.remove()
                state = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                        "startedAt": started, "finishedAt": now_rfc3339(),
                                        "containerID": "containerd://" + ctr.id}}

            def update(p, st, name=c["name"], state=state, ready=sidecar, cid=ctr.id):
                for cs in st.get("initContainerStatuses", []):
                    if cs["name"] == name:
                        cs.update({"ready": ready, "started": ready, "containerID": "containerd://" + cid,
                                   "state": state})
            self._set_status(key, update)
            if "terminated" in state and state["terminated"]["exitCode"] != 0:
                return False
        return True

    def _start_containers(self, key, runtime, pod):
        host = is_host_pod(pod)
        if not host and not self._run_init_containers(key, runtime, pod):
            return
        with runtime.lock:
            if runtime.stopping.is_set():
                return
            for c in pod["spec"]["containers"]:
                if host:
                    has_cntr = not any(c.get("image", "").startswith(p) for p in self.images_without_cntr)
                    if not has_cntr and (c.get("command") or [""])[0] == "cntr":
                        # As containerd reports a command the image does not have.
                        self._start_error(key, c, 'exec: "cntr": executable file not found in $PATH')
                        return
                    runtime.containers[c["name"]] = node.HostContainer(
                        pod, c, self.cntr_bin, self.host_bin_dir(), has_cntr,
                        nodes.empty_dir_binds(self, pod, c))
                else:
                    runtime.containers[c["name"]] = node.RuncContainer(pod, c, self.state_dir, *self._filesystem(pod, c))
            started = now_rfc3339()

            def running(p, st):
                st["phase"] = "Running"
                st["podIP"] = "10.0.0.1" if host else "10.244.0.%d" % (len(self.runtimes) % 250 + 2)
                st["conditions"] = [_condition("PodScheduled", "True"), _condition("Initialized", "True"),
                                    _condition("ContainersReady", "True"), _condition("Ready", "True")]
                for cs in st["containerStatuses"]:
                    ctr = runtime.containers[cs["name"]]
                    cs.update({"ready": True, "started": True, "containerID": "containerd://" + ctr.id,
                               "imageID": self.image_id(cs["image"]),
                               "state": {"running": {"startedAt": started}}})
            self._set_status(key, running)
            for name, ctr in runtime.containers.items():
                threading.Thread(target=self._watch_exit, args=(key, runtime, name, ctr, started),
                                 daemon=True).start()

    def _start_error(self, key, container, why):
        """The runtime could not start the container's command: StartError, exit code 128; with
        restartPolicy Never the pod fails (the agent's case), as the kubelet reports it."""
        now = now_rfc3339()
        terminated = {"exitCode": 128, "reason": "StartError", "startedAt": "1970-01-01T00:00:00Z",
                      "finishedAt": now, "containerID": "containerd://" + node.new_container_id(),
                      "message": "failed to create containerd task: failed to create shim task: OCI "
                                 "runtime create failed: runc create failed: unable to start container "
                                 "process: %s: unknown" % why}

        def failed(p, st):
            st["phase"] = "Failed"
            for cs in st["containerStatuses"]:
                if cs["name"] == container["name"]:
                    cs.update({"ready": False, "started": False, "state": {"terminated": terminated}})
        self._set_status(key, failed)

    def _watch_exit(self, key, runtime, name, ctr, started):
        code = ctr.wait()
        if runtime.stopping.is_set():
            return
        policy = (self.store.get(*key) or {"spec": {}})["spec"].get("restartPolicy", "Always")
        terminated = {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                      "startedAt": started, "finishedAt": now_rfc3339(),
                      "containerID": "containerd://" + ctr.id}
        crash_loop = policy == "Always" or (policy == "OnFailure" and code != 0)

        def exited(p, st):
            for cs in st["containerStatuses"] + st.get("initContainerStatuses", []):
                if cs["name"] != name:
                    continue
                cs["ready"] = False
                cs["started"] = False
                if crash_loop:
                    cs["lastState"] = {"terminated": terminated}
                    cs["restartCount"] = 1
                    cs["state"] = {"waiting": {"reason": "CrashLoopBackOff", "message":
                                   "back-off 10s restarting failed container=%s pod=%s_%s(%s)" % (
                                       name, p["metadata"]["name"], p["metadata"]["namespace"],
                                       p["metadata"]["uid"])}}
                else:
                    cs["state"] = {"terminated": terminated}
            statuses = st["containerStatuses"]
            all_done = all("terminated" in cs["state"] for cs in statuses)
            if all_done:
                failed = any(cs["state"]["terminated"]["exitCode"] != 0 for cs in statuses)
                st["phase"] = "Failed" if failed else "Succeeded"
            for cond in st["conditions"]:
                if cond["type"] in ("Ready", "ContainersReady"):
                    cond.update({"status": "False", "reason": "PodCompleted" if all_done
                                 else "ContainersNotReady"})
        self._set_status(key, exited)

    def _terminate(self, key, runtime, grace):
        if runtime is None:
            self.store.remove(*key)
            return
        runtime.stopping.set()
        with runtime.lock:
            containers = list(runtime.containers.values())
            execs = list(runtime.execs)
        for ctr in containers:
            ctr.kill(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for ctr in containers:
            while time.monotonic() < deadline and _alive(ctr):
                time.sleep(0.05)
        # Stopping a container kills everything in it, exec'd processes included.
        for proc in execs:
            proc.signal_group(signal.SIGKILL)
        for ctr in containers:
            ctr.kill(signal.SIGKILL)
            ctr.remove()
            ctr.wait()
        with self.lock:
            self.runtimes.pop(key, None)
        self.store.remove(*key)


def _alive(ctr):
    popen = ctr.popen if hasattr(ctr, "popen") else ctr.process.popen
    return popen.poll() is None
