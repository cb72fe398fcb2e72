"""Helpers for the node tests: start real containers on each runtime, run cntr, read /proc.

Every container helper returns a Container(runtime, pid, id, name, rootfs) and registers its own
cleanup. Runtimes that are absent or cannot start make their tests SKIP with the reason, except
under CI=true, where every runtime must work (the tests then fail instead).

Environment: CNTR_BIN (the cntr binary under test; required), CI, CNTR_TEST_CACHE.
"""
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD_IMAGES = os.path.join(SOURCE_ROOT, "tests", "images", "build_images.py")
RUNTIMES_SH = os.path.join(SOURCE_ROOT, "scripts", "runtimes.sh")
REAPER = os.path.join(HERE, "reaper.py")
CACHE = os.environ.get("CNTR_TEST_CACHE", "/var/tmp/cntr-test")
RUN_DIR = os.path.join(CACHE, "run")
DOCKER = "/usr/bin/docker"  # /usr/local/bin/docker is a foreign client
CTR_NAMESPACE = "cntr-test"
IN_CI = os.environ.get("CI") == "true"
CMD_TIMEOUT = 120  # generous: a hung cntr fails the test instead of hanging ctest

# The PATH cntr runs with in the tests: distinctive, so the session's PATH can be told apart
# from the target's (tests/images give targets ".../cntr-test-target-path").
DEBUG_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/cntr-test-debug-path"
NS_NAMES = ("cgroup", "ipc", "net", "pid", "pid_for_children", "time", "time_for_children",
            "user", "uts")
CAP_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --- cntr under test -------------------------------------------------------------------------

def cntr_binary():
    path = os.environ.get("CNTR_BIN")
    if not path:
        raise unittest.SkipTest("CNTR_BIN is not set (ctest sets it to the cntr under test)")
    if not os.access(path, os.X_OK):
        raise AssertionError("CNTR_BIN=%s is not an executable file" % path)
    return os.path.realpath(path)


def cntr_env(extra=None):
    env = {"PATH": DEBUG_PATH, "LANG": "C", "HOME": "/root"}
    for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(extra or {})
    return env


def run_cntr(args, input=None, env=None, **kwargs):
    """Run cntr with args; returns a CompletedProcess with bytes stdout/stderr."""
    return subprocess.run([cntr_binary()] + list(args), input=input, capture_output=True,
                          env=cntr_env(env), timeout=CMD_TIMEOUT,
                          stdin=None if input is not None else subprocess.DEVNULL, **kwargs)


def run_reaped(args, input=b"", env=None):
    """Run cntr under reaper.py (a child subreaper): returns (CompletedProcess, leftovers), where
    leftovers lists the processes cntr left behind after it exited (they are killed)."""
    with tempfile.NamedTemporaryFile(mode="r", suffix=".json") as report:
        proc = subprocess.run([sys.executable, REAPER, report.name, cntr_binary()] + list(args),
                              input=input, capture_output=True, env=cntr_env(env),
                              timeout=CMD_TIMEOUT)
        leftovers = json.load(report)
    return proc, leftovers


def describe(proc):
    return "exit %s\n--- stdout\n%s\n--- stderr\n%s" % (
        proc.returncode, proc.stdout.decode(errors="replace")[-4000:],
        proc.stderr.decode(errors="replace")[-4000:])


# --- /proc readers (the view from outside) ---------------------------------------------------

def read_file(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def proc_status(pid):
    fields = {}
    for line in read_file("/proc/%s/status" % pid).splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def parse_status(text):
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def ns_inodes(pid):
    return {ns: os.readlink("/proc/%s/ns/%s" % (pid, ns)) for ns in NS_NAMES + ("mnt",)}


def environ_of(pid):
    return parse_environ(read_file("/proc/%s/environ" % pid, "rb"))


def parse_environ(data):
    env = {}
    for item in data.split(b"\0"):
        if item:
            key, _, value = item.decode(errors="replace").partition("=")
            env[key] = value
    return env


def pid_namespace_members(pid):
    """Host PIDs of all processes in the pid namespace of pid."""
    target_ns = os.readlink("/proc/%s/ns/pid" % pid)
    members = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/ns/pid" % entry) == target_ns:
                members.add(int(entry))
        except OSError:
            pass  # gone, or EACCES (PID 1 on these machines)
    return members


def ns_pid(pid):
    """The PID of host process pid as seen inside its own pid namespace."""
    return int(proc_status(pid)["NSpid"].split()[-1])


def processes_running(exe):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink("/proc/%s/exe" % entry) == exe:
                    found.append(int(entry))
            except OSError:
                pass
    return found


# Runtime daemons mount and unmount in the host namespace at any time (other tests, other
# users): those mount points are not cntr's doing, everything else is compared exactly.
DAEMON_MOUNT_PREFIXES = ("/var/lib/docker/", "/run/docker/", "/var/run/docker/", "/run/containerd/",
                         "/var/lib/containerd/", "/var/lib/containers/", "/run/containers/",
                         "/run/netns/", "/var/run/netns/", "/run/user/", "/run/libpod/",
                         "/var/run/containerd/", "/run/runc/", "/run/crun/")


def host_mount_table():
    lines = []
    for line in read_file("/proc/self/mountinfo").splitlines():
        mount_point = line.split()[4]
        if not (mount_point + "/").startswith(DAEMON_MOUNT_PREFIXES):
            lines.append(line)
    return sorted(lines)


def zombie_pid():
    """Start a child and let it exit without reaping it: a PID whose process has exited.
    Returns (pid, reap) where reap() collects it."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    while proc_status(pid).get("State", "").split()[0] != "Z":
        os.sched_yield()
    return pid, lambda: os.waitpid(pid, 0)


# --- runtimes --------------------------------------------------------------------------------

class Container:
    def __init__(self, runtime, pid, cid, name, rootfs, stop):
        self.runtime, self.pid, self.id, self.name, self.rootfs = runtime, pid, cid, name, rootfs
        self._stop = stop

    def stop(self):
        if self._stop:
            stop, self._stop = self._stop, None
            stop()

    def root_path(self, relative=""):
        """A path inside the container's root, as the host reaches it."""
        return os.path.join("/proc/%d/root" % self.pid, relative.lstrip("/"))

    def __repr__(self):
        return "<%s container %s pid %d>" % (self.runtime, self.id[:12], self.pid)


_availability = {}
_images = None


def _quiet(cmd):
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=CMD_TIMEOUT)


def _probe_runtime(runtime):
    """None when usable, else the reason it is not."""
    if os.geteuid() != 0:
        return "the node tests need root"
    binaries = {"unshare": "unshare", "runc": "runc", "containerd": "ctr", "podman": "podman",
                "docker": "dockerd"}
    if not shutil.which(binaries[runtime]):
        return "%s is not installed (scripts/install-deps.sh)" % binaries[runtime]
    if runtime in ("containerd", "docker"):
        started = _quiet([RUNTIMES_SH, "start", runtime])
        if started.returncode != 0:
            return "%s could not be started: %s" % (runtime, started.stderr.strip()[-500:])
    if runtime == "podman":
        info = _quiet(["podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"])
        if info.returncode != 0:
            return "podman info failed: %s" % info.stderr.strip()[-500:]
    return None


def images(runtime=None):
    """The image table of tests/images/build_images.py, imported into runtime if given."""
    global _images
    args = [sys.executable, BUILD_IMAGES, "--json"]
    if runtime in ("containerd", "podman", "docker"):
        args += ["--import", runtime]
    elif _images is not None:
        return _images
    out = subprocess.run(args, check=True, capture_output=True, text=True,
                         stdin=subprocess.DEVNULL, timeout=600)
    _images = json.loads(out.stdout)
    return _images


def require_runtime(runtime):
    """Skip (or, under CI=true, fail) when runtime cannot be used here."""
    if runtime not in _availability:
        reason = _probe_runtime(runtime)
        if reason is None:
            try:
                images(runtime)
            except subprocess.CalledProcessError as e:
                reason = "importing the test images into %s failed: %s" % (runtime, e.stderr)
        _availability[runtime] = reason
    reason = _availability[runtime]
    if reason:
        if IN_CI:
            raise AssertionError("runtime %s is required under CI=true: %s" % (runtime, reason))
        log("SKIP %s: %s" % (runtime, reason))
        raise unittest.SkipTest("%s unavailable: %s" % (runtime, reason))


def new_id():
    return secrets.token_hex(32)


def new_name():
    return "cntrtest-" + secrets.token_hex(4)


def copy_rootfs(image, cid):
    """A private, writable copy of an image rootfs (tests write into their targets)."""
    bundle = os.path.join(RUN_DIR, cid)
    os.makedirs(bundle)
    rootfs = os.path.join(bundle, "rootfs")
    subprocess.run(["cp", "-a", images()[image]["rootfs"], rootfs], check=True)
    return bundle, rootfs


def wait_for(predicate, what):
    """Poll until predicate() is true; the bound only guards against hanging forever."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def _comm(pid):
    try:
        return read_file("/proc/%s/comm" % pid).strip()
    except OSError:
        return None


def _children(pid):
    try:
        text = "".join(read_file(path) for path in
                       ["/proc/%s/task/%s/children" % (pid, t) for t in
                        os.listdir("/proc/%s/task" % pid)])
    except OSError:
        return []
    return [int(c) for c in text.split()]


UNSHARE_SETUP = r'''
set -e
R=$1
mount --bind "$R" "$R"
mount -t proc proc "$R/proc"
mount --rbind /dev "$R/dev"
mount -t sysfs sysfs "$R/sys"
hostname cntr-unshare
cd "$R"
mkdir -p .oldroot
pivot_root . .oldroot
exec /bin/busybox sh -c 'umount -l /.oldroot && rmdir /.oldroot && exec "$@"' sh "${@:2}"
'''


UNSHARE_EXTRA_NAMESPACES = {"cgroup": "--cgroup", "time": "--time",
                            "user": "--user --map-root-user"}


def start_unshare(image="busybox", cmd=None, extra_namespaces=()):
    """A plain container made with unshare(1) + pivot_root: mount, uts, ipc, net and pid
    namespaces (plus extra_namespaces: cgroup, time, user with root mapped to root), the
    host's cgroup. Fast; resolvable by PID only."""
    require_runtime("unshare")
    cid = new_id()
    bundle, rootfs = copy_rootfs(image, cid)
    spec = images()[image]
    env = dict(item.split("=", 1) for item in spec["env"])
    proc = subprocess.Popen(
        ["unshare", "--mount", "--uts", "--ipc", "--net", "--pid", "--fork",
         "--propagation", "private"]
        + " ".join(UNSHARE_EXTRA_NAMESPACES[ns] for ns in extra_namespaces).split()
        + ["/bin/bash", "-c", UNSHARE_SETUP, "setup", rootfs]
        + (cmd or spec["cmd"]),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=env, start_new_session=True)
    want = os.path.basename((cmd or spec["cmd"])[0])

    def target():
        if proc.poll() is not None:
            raise AssertionError("unshare container exited with %s" % proc.returncode)
        kids = _children(proc.pid)
        return kids[0] if kids and _comm(kids[0]) == want and \
            not os.path.exists("/proc/%d/root/.oldroot" % kids[0]) else None

    pid = wait_for(target, "the unshare container to start")

    def stop():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=CMD_TIMEOUT)
        shutil.rmtree(bundle, ignore_errors=True)

    return Container("unshare", pid, cid, None, rootfs, stop)


def start_runc(image="busybox", read_only=False, user=None, caps=None, volume_dir=None,
               cid=None, cmd=None, env=(), seccomp_deny=()):
    """runc run -d from a bundle made with `runc spec`. user=(uid, gid, [groups]); caps=list of
    CAP_* for every set (bounding, effective, permitted, inheritable, ambient);
    volume_dir: a host directory bind-mounted at /data, plus a tmpfs at /scratch; env: more
    KEY=VALUE entries for the container's environment; seccomp_deny: system calls a seccomp
    filter makes fail with EPERM (everything else allowed)."""
    require_runtime("runc")
    cid = cid or new_id()
    bundle, rootfs = copy_rootfs(image, cid)
    subprocess.run(["runc", "spec", "--bundle", bundle], check=True)
    config_path = os.path.join(bundle, "config.json")
    config = json.loads(read_file(config_path))
    spec = images()[image]
    process = config["process"]
    process.update(terminal=False, args=cmd or spec["cmd"], cwd=spec["cwd"],
                   env=spec["env"] + ["TERM=xterm"] + list(env))
    if user:
        process["user"] = {"uid": user[0], "gid": user[1], "additionalGids": list(user[2])}
    if caps is not None:
        process["capabilities"] = {k: list(caps) for k in
                                   ("bounding", "effective", "permitted", "inheritable", "ambient")}
    config["root"] = {"path": rootfs, "readonly": read_only}
    config["hostname"] = "cntr-runc"
    if seccomp_deny:
        config["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": list(seccomp_deny), "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    if volume_dir:
        config["mounts"] += [
            {"destination": "/data", "type": "bind", "source": volume_dir,
             "options": ["rbind", "rw"]},
            {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "size=4m"]},
        ]
    with open(config_path, "w") as f:
        json.dump(config, f)
    # runc run -d keeps stdio of the container: point it at /dev/null or callers block.
    subprocess.run(["runc", "run", "-d", "--bundle", bundle, cid], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=CMD_TIMEOUT)
    state = json.loads(subprocess.run(["runc", "state", cid], check=True, capture_output=True,
                                      text=True).stdout)

    def stop():
        subprocess.run(["runc", "delete", "--force", cid], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=CMD_TIMEOUT)
        shutil.rmtree(bundle, ignore_errors=True)

    return Container("runc", state["pid"], cid, None, rootfs, stop)


def start_containerd(image="busybox", read_only=False, env=(), seccomp=False):
    """seccomp: run under containerd's default profile (`ctr run --seccomp`; none otherwise)."""
    require_runtime("containerd")
    cid = new_id()
    ref = images()[image]["ref"]
    cmd = ["ctr", "-n", CTR_NAMESPACE, "run", "-d"] + (["--read-only"] if read_only else [])
    cmd += ["--seccomp"] if seccomp else []
    for item in env:
        cmd += ["--env", item]
    subprocess.run(cmd + [ref, cid], check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, timeout=CMD_TIMEOUT)
    pid = int(read_file("/run/containerd/io.containerd.runtime.v2.task/%s/%s/init.pid"
                        % (CTR_NAMESPACE, cid)))

    def stop():
        ctr = ["ctr", "-n", CTR_NAMESPACE]
        subprocess.run(ctr + ["task", "delete", "--force", cid], capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=CMD_TIMEOUT)
        subprocess.run(ctr + ["containers", "delete", cid], capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=CMD_TIMEOUT)

    return Container("containerd", pid, cid, cid, None, stop)


def _engine_run(runtime, engine, image, options):
    name = new_name()
    out = subprocess.run([engine, "run", "-d", "--name", name] + options + [images()[image]["ref"]],
                         check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                         timeout=CMD_TIMEOUT)
    cid = out.stdout.strip().splitlines()[-1]
    pid = int(subprocess.run([engine, "inspect", "-f", "{{.State.Pid}}", cid], check=True,
                             capture_output=True, text=True, timeout=CMD_TIMEOUT).stdout)

    def stop():
        extra = ["-t", "0"] if engine == "podman" else []
        subprocess.run([engine, "rm", "-f"] + extra + [cid], capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=CMD_TIMEOUT)

    return Container(runtime, pid, cid, name, None, stop)


def start_podman(image="busybox", userns_auto=False, options=()):
    require_runtime("podman")
    return _engine_run("podman", "podman", image,
                       (["--userns=auto"] if userns_auto else []) + list(options))


def start_docker(image="busybox", options=()):
    require_runtime("docker")
    return _engine_run("docker", DOCKER, image, list(options))


STARTERS = {"unshare": start_unshare, "runc": start_runc, "containerd": start_containerd,
            "podman": start_podman, "docker": start_docker}


def start(testcase_class, runtime, **kwargs):
    """Start a container for a TestCase class; it is stopped after the class's tests."""
    container = STARTERS[runtime](**kwargs)
    testcase_class.addClassCleanup(container.stop)
    return container


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class CntrTestCase(unittest.TestCase):
    """Assertions shared by the node tests."""
    maxDiff = None

    def cntr(self, *args, input=None, env=None, expect=0):
        proc = run_cntr(args, input=input, env=env)
        if expect is not None:
            self.assertEqual(proc.returncode, expect,
                             "cntr %s\n%s" % (" ".join(args), describe(proc)))
        return proc

    def attach_sh(self, target, script, expect=0, env=None, mode="attach"):
        """Run `cntr attach TARGET -- /bin/sh -c SCRIPT`; returns its stdout as text."""
        proc = self.cntr(mode, str(target), "--", "/bin/sh", "-c", script, expect=expect,
                         env=env)
        return proc.stdout.decode(errors="replace")

    def assertOneLineError(self, proc, code=125):
        err = proc.stderr.decode(errors="replace").strip()
        self.assertEqual(proc.returncode, code, describe(proc))
        self.assertTrue(err, "expected an error message\n" + describe(proc))
        self.assertNotIn("\n", err, "expected a one-line message\n" + describe(proc))
        return err


def exec_in(container, argv, user=None):
    """Run argv as a new process of container, the way its runtime's users do (`docker exec`,
    `podman exec`, `ctr task exec`, `runc exec`): its default capabilities, seccomp profile and
    uid. This is the attacker's seat in the containment tests."""
    runtime, cid = container.runtime, container.id
    if runtime in ("docker", "podman"):
        cmd = [DOCKER if runtime == "docker" else "podman", "exec"]
        cmd += (["--user", user] if user else []) + [cid]
    elif runtime == "containerd":
        cmd = ["ctr", "-n", CTR_NAMESPACE, "task", "exec", "--exec-id", "x" + secrets.token_hex(6)]
        cmd += (["--user", user] if user else []) + [cid]
    elif runtime == "runc":
        cmd = ["runc", "exec"] + (["--user", user] if user else []) + [cid]
    else:
        raise AssertionError("no exec for runtime %s" % runtime)
    return subprocess.run(cmd + list(argv), capture_output=True, stdin=subprocess.DEVNULL,
                          timeout=CMD_TIMEOUT)
