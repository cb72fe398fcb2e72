"""Benchmark targets: long-lived busybox containers on each runtime, torn down at exit.

Images come from tests/images/build_images.py (the node tests' offline images) and daemons
are started through scripts/runtimes.sh, which leaves them running for the other tests: the
benchmarks remove only the containers they made.
"""
import json
import os
import secrets
import subprocess
import tempfile
import time

from benchlib import CLEANUP, TOP, fail, log, ok, sh

BUILD_IMAGES = os.path.join(TOP, "tests/images/build_images.py")
RUNTIMES = os.path.join(TOP, "scripts/runtimes.sh")
CONTAINERD_NS = "cntr-test"  # where build_images.py --import containerd puts the images
CONTAINERD_RUNC_ROOT = "/run/containerd/runc/" + CONTAINERD_NS
SLEEP = ["/bin/sleep", "1000000"]


class Target:
    """A running container: runtime, full ID, name (if the runtime has names), init PID."""

    def __init__(self, runtime, cid, name, pid, bundle=None):
        self.runtime, self.id, self.name, self.pid, self.bundle = runtime, cid, name, pid, bundle

    def __repr__(self):
        return "%s container %s (pid %d)" % (self.runtime, self.id[:12], self.pid)


def images(import_into=()):
    """The image table of build_images.py (rootfs dirs, OCI and docker archives)."""
    cmd = ["/usr/bin/python3", BUILD_IMAGES, "--json"]
    for runtime in import_into:
        cmd += ["--import", runtime]
    return json.loads(sh(cmd, timeout=600).stdout)


def start_daemons(names):
    """Start containerd/dockerd through the shared helper; return the ones that came up."""
    up = []
    for name in names:
        if ok([RUNTIMES, "start", name], timeout=90):
            up.append(name)
        else:
            log("%s did not start: its rows are skipped" % name)
    return up


def new_id():
    # Hex like every engine's IDs, so cntr's ID resolver (hex prefix) accepts it.
    return secrets.token_hex(32)


def runc_bundle(bundle, rootfs, args, mounts=(), readonly=True, env=None):
    """Write an OCI bundle (runc spec defaults) for rootfs; extra bind mounts (src, dst, ro)."""
    os.makedirs(bundle, exist_ok=True)
    config = os.path.join(bundle, "config.json")
    if os.path.exists(config):
        os.unlink(config)
    sh(["runc", "spec", "--bundle", bundle])
    with open(config) as f:
        spec = json.load(f)
    spec["root"] = {"path": rootfs, "readonly": readonly}
    spec["process"]["args"] = list(args)
    spec["process"]["terminal"] = False
    if env:
        spec["process"]["env"] = list(env)
    for src, dst, ro in mounts:
        spec["mounts"].append({"destination": dst, "type": "bind", "source": src,
                               "options": ["rbind", "ro" if ro else "rw"]})
    with open(config, "w") as f:
        json.dump(spec, f, indent=1)


def start_runc(bundle, cid=None):
    """`runc run -d` the bundle; return its Target. Deleted (kill -9 + delete) at exit."""
    cid = cid or new_id()
    CLEANUP.push("runc container " + cid[:12], lambda: subprocess.run(
        ["runc", "delete", "-f", cid], capture_output=True))
    run_detached(["runc", "run", "-d", "--bundle", bundle, cid], "runc run of bundle " + bundle)
    pid = json.loads(sh(["runc", "state", cid]).stdout)["pid"]
    return Target("runc", cid, None, pid, bundle)


def run_detached(argv, what):
    """Run an OCI runtime's `run -d`: the container inherits the runtime's stdio, so a pipe
    would stay open as long as the container lives; its stderr goes to a file instead."""
    with tempfile.TemporaryFile(mode="w+") as err:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        if p.returncode != 0:
            err.seek(0)
            lines = err.read().strip().splitlines()
            fail("%s failed: %s" % (what, lines[-1] if lines else "exit %d" % p.returncode))


def start_containerd(ref):
    """`ctr run -d` of an image imported by images(["containerd"]); removed at exit."""
    cid = new_id()
    sh(["ctr", "-n", CONTAINERD_NS, "run", "-d", ref["ref"], cid] + SLEEP, timeout=60)
    CLEANUP.push("containerd container " + cid[:12], remove_containerd, cid)
    pid_file = "/run/containerd/io.containerd.runtime.v2.task/%s/%s/init.pid" % (CONTAINERD_NS, cid)
    with open(pid_file) as f:
        pid = int(f.read())
    return Target("containerd", cid, cid, pid)


def remove_containerd(cid):
    subprocess.run(["ctr", "-n", CONTAINERD_NS, "task", "kill", "-s", "KILL", cid],
                   capture_output=True)
    for _ in range(50):
        if subprocess.run(["ctr", "-n", CONTAINERD_NS, "task", "delete", cid],
                          capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    subprocess.run(["ctr", "-n", CONTAINERD_NS, "containers", "delete", cid], capture_output=True)


def start_engine(engine, ref, name):
    """podman or docker: `run -d --name NAME` of the test image; removed at exit."""
    cli = {"podman": "podman", "docker": "/usr/bin/docker"}[engine]
    subprocess.run([cli, "rm", "-f", name], capture_output=True)
    cid = sh([cli, "run", "-d", "--name", name, ref["ref"]] + SLEEP, timeout=120).stdout.strip()
    CLEANUP.push("%s container %s" % (engine, name),
                 lambda: subprocess.run([cli, "rm", "-f", name], capture_output=True))
    pid = int(sh([cli, "inspect", "-f", "{{.State.Pid}}", name]).stdout.strip())
    return Target(engine, cid, name, pid)
