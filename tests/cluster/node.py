"""The stand-in's "node": runs pod containers for real.

Ordinary pods become runc containers (own runc root, busybox rootfs built offline) whose IDs are
64 hex digits and whose cgroup path looks like a kubelet's (cgroupfs driver), so `cntr` finds them
exactly as it would on a real node. Pods that are hostPID and privileged (the debug agent) run as
host processes in a private mount namespace: a hostPID privileged container sees the host's PIDs
and devices, which is what `cntr` needs; their exec commands run on the host the same way, with
the real cntr binary (env CNTR_BIN) standing in for the image's `cntr`.
"""

import copy
import fcntl
import glob
import json
import os
import pty
import secrets
import shutil
import signal
import struct
import subprocess
import tempfile
import termios
import threading
import time

RUNC_ROOT = os.environ.get("CNTR_TEST_RUNC_ROOT", "/run/cntr-kube-test")
CACHE_DIR = os.environ.get("CNTR_TEST_CACHE", "/var/cache/lambda-cntr-tests/cluster")
DEFAULT_COMMAND = ["sleep", "2147483647"]
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def env_value(pod, entry):
    """An env entry's value as the kubelet sets it: `value`, or the downward API's fieldRef
    (the pod's name, namespace, uid, node); other sources give ""."""
    ref = ((entry.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
    fields = {"metadata.name": pod["metadata"].get("name"), "metadata.namespace": pod["metadata"].get("namespace"),
              "metadata.uid": pod["metadata"].get("uid"), "spec.nodeName": pod["spec"].get("nodeName"),
              "spec.serviceAccountName": pod["spec"].get("serviceAccountName")}
    if ref:
        return fields.get(ref) or ""
    return entry.get("value", "")


def new_container_id():
    return secrets.token_hex(32)


class _CacheLock:
    """Tests run in parallel (ctest -j): one process at a time builds the shared cache."""

    def __enter__(self):
        os.makedirs(CACHE_DIR, exist_ok=True)
        self.fd = os.open(os.path.join(CACHE_DIR, ".lock"), os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def busybox_rootfs():
    """A busybox-static rootfs (applet symlinks), built once into the cache directory."""
    root = os.path.join(CACHE_DIR, "busybox-rootfs")
    if os.path.exists(os.path.join(root, ".complete")):
        return root
    with _CacheLock():
        if not os.path.exists(os.path.join(root, ".complete")):
            _build_busybox_rootfs(root)
    return root


def _build_busybox_rootfs(root):
    busybox = shutil.which("busybox") or "/bin/busybox"
    tmp = root + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for sub in ("bin", "etc", "proc", "sys", "dev", "tmp", "root", "var/tmp"):
        os.makedirs(os.path.join(tmp, sub), exist_ok=True)
    shutil.copy2(busybox, os.path.join(tmp, "bin/busybox"))
    applets = subprocess.run([busybox, "--list"], check=True, capture_output=True, text=True)
    for applet in applets.stdout.split():
        link = os.path.join(tmp, "bin", applet)
        if applet != "busybox" and not os.path.lexists(link):
            os.symlink("busybox", link)
    with open(os.path.join(tmp, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(tmp, "etc/group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")
    open(os.path.join(tmp, ".complete"), "w").close()
    shutil.rmtree(root, ignore_errors=True)
    os.rename(tmp, root)


_spec_template = None
_spec_lock = threading.Lock()


def runc_spec_template():
    """`runc spec` output, generated once per process: the defaults a containerd pod would
    roughly get."""
    global _spec_template
    with _spec_lock:
        if _spec_template is None:
            tmp = tempfile.mkdtemp(prefix="cntr-runc-spec-")
            try:
                subprocess.run(["runc", "spec"], cwd=tmp, check=True)
                with open(os.path.join(tmp, "config.json")) as f:
                    _spec_template = json.load(f)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return copy.deepcopy(_spec_template)


class Process:
    """An exec'd or init process with its stdio: pipes, or a PTY master when tty."""

    def __init__(self, argv, tty, stdin, env=None, start_new_session=True):
        self.tty = tty
        self.master = None
        if tty:
            master, slave = pty.openpty()
            self.master = master
            self.popen = subprocess.Popen(
                argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                start_new_session=True, close_fds=True,
                preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
            os.close(slave)
            self.stdin_fd = master
            self.stdout_fd = master
            self.stderr_fd = None
        else:
            self.popen = subprocess.Popen(
                argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                start_new_session=start_new_session, close_fds=True)
            self.stdin_fd = self.popen.stdin.fileno() if stdin else None
            self.stdout_fd = self.popen.stdout.fileno()
            self.stderr_fd = self.popen.stderr.fileno()

    def resize(self, width, height):
        if self.master is not None:
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    def close_stdin(self):
        if self.tty:
            # A terminal has no half-close: send EOF the way a user would (^D on an empty line).
            try:
                os.write(self.master, b"\x04")
            except OSError:
                pass
        elif self.popen.stdin:
            try:
                self.popen.stdin.close()
            except OSError:
                pass

    def signal_group(self, sig):
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def wait(self):
        return self.popen.wait()

    def close(self):
        for stream in (self.popen.stdin, self.popen.stdout, self.popen.stderr):
            if stream:
                try:
                    stream.close()
                except OSError:
                    pass
        if self.master is not None:
            try:
                os.close(self.master)
            except OSError:
                pass
            self.master = None


class RuncContainer:
    """A pod container run by `runc run` in the foreground: its exit status is runc's."""

    def __init__(self, pod, container, state_dir, rootfs=None, binds=()):
        self.id = new_container_id()
        self.name = container["name"]
        self.bundle = os.path.join(state_dir, "bundles", self.id)
        os.makedirs(self.bundle)
        spec = runc_spec_template()
        argv = (container.get("command") or []) + (container.get("args") or [])
        spec["process"]["args"] = argv or DEFAULT_COMMAND
        spec["process"]["terminal"] = False
        spec["process"]["env"] = [PATH_ENV, "HOSTNAME=" + pod["metadata"]["name"]] + [
            "%s=%s" % (e["name"], env_value(pod, e)) for e in container.get("env") or []]
        spec["root"] = {"path": rootfs or busybox_rootfs(), "readonly": True}
        for src, dst, ro in binds:  # (source, destination, read-only): see nodes.py
            spec["mounts"].append({"destination": dst, "type": "bind", "source": src,
                                   "options": ["rbind", "ro" if ro else "rw"]})
        spec["hostname"] = pod["metadata"]["name"]
        spec["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                               "options": ["nosuid", "nodev", "mode=1777"]})
        # The kubelet's cgroupfs layout (the container ID is the last path component), under a
        # top directory of this stand-in's own so that parallel tests never share a parent and
        # each removes all it created.
        self.cgroup = "/kubepods-%s/besteffort/pod%s/%s" % (
            os.path.basename(state_dir), pod["metadata"]["uid"], self.id)
        spec["linux"]["cgroupsPath"] = self.cgroup
        with open(os.path.join(self.bundle, "config.json"), "w") as f:
            json.dump(spec, f)
        self.log = open(os.path.join(self.bundle, "log"), "wb")
        self.popen = subprocess.Popen(
            ["runc", "--root", RUNC_ROOT, "run", "--bundle", self.bundle, self.id],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, start_new_session=True)
        self._wait_started()

    def _wait_started(self, timeout=30):
        """A kubelet reports Running once the runtime has started the container, not when it
        asked for it: wait for `runc state` to say so (or for the container to end)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.popen.poll() is None:
            state = subprocess.run(["runc", "--root", RUNC_ROOT, "state", self.id],
                                   capture_output=True, text=True)
            if state.returncode == 0 and json.loads(state.stdout).get("status") in ("running", "stopped"):
                return
            time.sleep(0.02)

    def wait(self):
        return self.popen.wait()

    def kill(self, sig):
        subprocess.run(["runc", "--root", RUNC_ROOT, "kill", self.id, str(int(sig))],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def exec_env(self):
        return None  # runc exec takes the environment from the container's config

    def log_contents(self):
        try:
            with open(os.path.join(self.bundle, "log"), "rb") as f:
                return f.read()
        except OSError:
            return b""

    def exec_argv(self, command, tty):
        return ["runc", "--root", RUNC_ROOT, "exec"] + (["-t"] if tty else []) + [self.id] + command

    def remove(self):
        subprocess.run(["runc", "--root", RUNC_ROOT, "delete", "-f", self.id],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # `runc run` removes the container's cgroup as it exits: only then can the parents go.
        try:
            self.popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        self.log.close()
        shutil.rmtree(self.bundle, ignore_errors=True)
        remove_cgroup_dirs(self.cgroup)


# Run inside the host pod's new mount namespace before its command, as a runtime prepares a
# container: its own /run (a container's /run comes from its image, not the node), the pod's
# hostPath volumes bound at their mountPaths, then the root made read-only when the container asks
# for readOnlyRootFilesystem. The mounts are private to that namespace: the host never sees them.
# Arguments: RO(0|1), then SRC DST RO(0|1) per volume, then "--" and the command.
_HOST_POD_SETUP = r"""
set -e
readonly_root=$1; shift
mount -t tmpfs -o mode=0755,nosuid,nodev host-pod-run /run
while [ "$1" != "--" ]; do
    src=$1 dst=$2 ro=$3; shift 3
    mkdir -p "${dst%/*}"
    if [ -d "$src" ]; then mkdir -p "$dst"; else : > "$dst"; fi
    mount --bind "$src" "$dst"
    if [ "$ro" = 1 ]; then mount -o remount,bind,ro "$dst"; fi
done
shift
if [ "$readonly_root" = 1 ]; then mount -o remount,bind,ro /; fi
exec "$@"
"""


def host_pod_setup_argv(pod, container, argv, binds=()):
    """The command of a host pod's container wrapped in _HOST_POD_SETUP. binds: more
    (source, destination, read-only) mounts, the emptyDirs' (nodes.empty_dir_binds)."""
    volumes = {v["name"]: v.get("hostPath") for v in pod["spec"].get("volumes") or []}
    mounts = []
    for m in container.get("volumeMounts") or []:
        host_path = volumes.get(m["name"])
        if host_path:  # emptyDirs come in binds; other volume types are not simulated
            mounts += [host_path["path"], m["mountPath"], "1" if m.get("readOnly") else "0"]
    for src, dst, ro in binds:
        mounts += [src, dst, "1" if ro else "0"]
    readonly = (container.get("securityContext") or {}).get("readOnlyRootFilesystem")
    return (["/bin/sh", "-c", _HOST_POD_SETUP, "host-pod-setup", "1" if readonly else "0"]
            + mounts + ["--"] + argv)


class HostContainer:
    """A hostPID privileged container: a host process in a private copy of the mount namespace,
    set up by _HOST_POD_SETUP (own /run, hostPath volumes, read-only root when asked)."""

    def __init__(self, pod, container, cntr_bin, bin_dir, image_has_cntr=True, binds=()):
        self.id = new_container_id()
        self.name = container["name"]
        self.cntr_bin = cntr_bin if image_has_cntr else None
        argv = (container.get("command") or []) + (container.get("args") or [])
        # The agent image has cntr on its PATH; here bin_dir holds a `cntr` link to CNTR_BIN.
        # Another image (`-i` something else) has none.
        path = PATH_ENV.split("=", 1)[1]
        env = {"PATH": bin_dir + ":" + path if image_has_cntr else path, "HOSTNAME": pod["metadata"]["name"]}
        for e in container.get("env") or []:
            env[e["name"]] = env_value(pod, e)
        # Everything started in a container, exec'd processes included, gets its environment.
        self.env = env
        self.process = Process(["unshare", "--mount", "--propagation", "private", "--"]
                               + host_pod_setup_argv(pod, container, self.substitute(argv or DEFAULT_COMMAND),
                                                     binds),
                               tty=False, stdin=False, env=env)
        # Running means started: wait until the setup has exec'd the container's command (the
        # mounts are then in place).
        pid = self.process.popen.pid
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.process.popen.poll() is None:
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if b"host-pod-setup" not in f.read() and os.readlink("/proc/%d/ns/mnt" % pid) != \
                            os.readlink("/proc/self/ns/mnt"):
                        break
            except OSError:
                break
            time.sleep(0.005)
        # Its stdout and stderr are the container's log (pods/NAME/log), as a runtime keeps it;
        # read at once so the container never blocks on a full pipe.
        self.log = bytearray()
        self.log_lock = threading.Lock()
        for stream in (self.process.popen.stdout, self.process.popen.stderr):
            threading.Thread(target=_drain, args=(stream, self.log, self.log_lock), daemon=True).start()

    def log_contents(self):
        with self.log_lock:
            return bytes(self.log)

    def substitute(self, argv):
        # The image's cntr, by name or by its path in the image (/usr/local/bin/cntr).
        if argv and argv[0] in ("cntr", "/usr/local/bin/cntr") and self.cntr_bin:
            return [self.cntr_bin] + argv[1:]
        return argv

    def wait(self):
        return _exit_status(self.process.wait())

    def kill(self, sig):
        self.process.signal_group(sig)

    def exec_env(self):
        return self.env

    def exec_argv(self, command, tty):
        return ["nsenter", "-t", str(self.process.popen.pid), "-m", "--"] + self.substitute(command)

    def remove(self):
        self.kill(signal.SIGKILL)


def _drain(stream, sink, lock):
    """Read a stream to its end into sink (a bytearray, under lock) and close it (here, so its
    fd cannot be reused under us)."""
    try:
        while True:
            chunk = stream.read1(65536)
            if not chunk:
                break
            with lock:
                sink += chunk
    except (OSError, ValueError):
        pass
    finally:
        stream.close()


def _exit_status(returncode):
    """Popen reports death by signal N as -N; the kubelet reports 128+N."""
    return 128 - returncode if returncode < 0 else returncode


def remove_cgroup_dirs(path):
    """runc removes the container's cgroup, not the parents it created (pod, QoS class,
    kubepods): remove those that are empty, in every hierarchy (v1, v2, hybrid)."""
    parts = path.strip("/").split("/")
    for hierarchy in glob.glob("/sys/fs/cgroup/*/") + ["/sys/fs/cgroup/"]:
        for depth in range(len(parts), 0, -1):
            try:
                os.rmdir(os.path.join(hierarchy, *parts[:depth]))
            except FileNotFoundError:
                continue  # runc removed it, or this hierarchy never had it
            except OSError:
                break  # still in use, e.g. by another test's pod
