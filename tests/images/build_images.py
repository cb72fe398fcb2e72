#!/usr/bin/python3
"""Build the test images offline and import them into the container runtimes.

Images (each a rootfs directory, an OCI image tarball and a docker-archive):
  busybox   busybox-static with its applet symlinks, /etc files with test-specific content
  scratch   one static binary only: /server, a tiny HTTP server (tinyhttpd.c, built with musl-gcc)
  usrmerge  merged /usr: /bin -> usr/bin, /sbin -> usr/sbin, /lib -> usr/lib, busybox in usr/bin

Everything is cached under ${CNTR_TEST_CACHE:-/var/tmp/cntr-test}/images, keyed by a hash of
the inputs (this file, tinyhttpd.c, the busybox binary), so a second run costs nothing.
Layers are written deterministically (sorted, fixed mtime and owners): same inputs, same digest.

Usage: build_images.py [--import RUNTIME]... [--json]
  RUNTIME: containerd, podman, docker (runc and unshare use the rootfs directories directly).
Prints the image table as JSON with --json.
"""
import argparse
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(os.environ.get("CNTR_TEST_CACHE", "/var/tmp/cntr-test"), "images")
BUSYBOX = "/bin/busybox"
LAYER_MTIME = 1700000000  # fixed so that layer digests only change with content
CONTAINERD_NAMESPACE = "cntr-test"
TEST_USER_UID = 1000

# A PATH no host has: tests tell the target's PATH from the debug side's by it.
TARGET_PATH = "/usr/sbin:/usr/bin:/sbin:/bin:/cntr-test-target-path"

ETC_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n"
                  "cntrtest:x:1000:1000:cntr test user:/home/cntrtest:/bin/sh\n"
                  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    "etc/group": "root:x:0:\ncntrtest:x:1000:\nnogroup:x:65534:\n",
    "etc/hostname": "cntr-test-image-hostname\n",
    "etc/hosts": "127.0.0.1 localhost\n# cntr-test image hosts\n",
    "etc/resolv.conf": "# cntr-test image resolv.conf\nnameserver 192.0.2.53\n",
}


def image_ref(name):
    return "localhost/cntr-test/%s:latest" % name


def log(msg):
    print("build_images: " + msg, file=sys.stderr, flush=True)


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, **kwargs)


# --- rootfs builders -------------------------------------------------------------------------

def make_dirs(root, paths, mode=0o755):
    for path in paths:
        os.makedirs(os.path.join(root, path), mode=mode, exist_ok=True)


def write_etc(root):
    make_dirs(root, ["etc"])
    for path, text in ETC_FILES.items():
        with open(os.path.join(root, path), "w") as f:
            f.write(text)


def install_busybox(root, bindir, applet_dir_map):
    """Copy busybox into root/bindir and link every applet into the directory busybox lists,
    after mapping it through applet_dir_map (merged /usr puts everything under usr/)."""
    make_dirs(root, [bindir])
    target = "/" + bindir + "/busybox"
    shutil.copy2(BUSYBOX, root + target)
    applets = subprocess.run([BUSYBOX, "--list-full"], check=True, capture_output=True,
                             text=True).stdout.split()
    for applet in applets:
        directory, name = os.path.split(applet)
        directory = applet_dir_map.get(directory, directory)
        make_dirs(root, [directory])
        link = os.path.join(root, directory, name)
        if not os.path.lexists(link) and name != "busybox":
            os.symlink(target, link)


def common_skeleton(root):
    make_dirs(root, ["proc", "sys", "dev", "srv", "root", "var/tmp", "run"])
    make_dirs(root, ["tmp"], mode=0o1777)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    write_etc(root)
    home = os.path.join(root, "home/cntrtest")
    os.makedirs(home)
    os.chown(home, TEST_USER_UID, TEST_USER_UID)
    with open(os.path.join(root, "srv/marker"), "w") as f:
        f.write("cntr-test target file\n")


def build_busybox(root, workdir):
    common_skeleton(root)
    install_busybox(root, "bin", {})


def build_usrmerge(root, workdir):
    make_dirs(root, ["usr/bin", "usr/sbin", "usr/lib"])
    for link, target in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"),
                         ("lib64", "usr/lib")):
        os.symlink(target, os.path.join(root, link))
    common_skeleton(root)
    install_busybox(root, "usr/bin", {"bin": "usr/bin", "sbin": "usr/sbin"})


def build_tinyhttpd(output):
    run(["musl-gcc", "-static", "-Os", "-s", "-Wall", "-Wextra", "-Werror", "-o", output,
         os.path.join(HERE, "tinyhttpd.c")])


def build_scratch(root, workdir):
    build_tinyhttpd(os.path.join(root, "server"))


IMAGES = {
    "busybox": dict(build=build_busybox, cmd=["/bin/sleep", "1000000"], cwd="/srv"),
    "usrmerge": dict(build=build_usrmerge, cmd=["/bin/sleep", "1000000"], cwd="/srv"),
    "scratch": dict(build=build_scratch, cmd=["/server", "8080"], cwd="/"),
}


# --- OCI image -------------------------------------------------------------------------------

def layer_tar(root):
    """An uncompressed, deterministic tar of root (sorted, fixed mtime; owners kept)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            names = sorted(dirnames + filenames)
            for name in names:
                path = os.path.join(dirpath, name)
                info = tar.gettarinfo(path, arcname=os.path.relpath(path, root))
                info.mtime = LAYER_MTIME
                info.uname = info.gname = ""
                if info.isfile():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def add_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs/sha256", digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}


def write_oci_archive(name, spec, root, output):
    with tempfile.TemporaryDirectory(dir=os.path.dirname(output)) as layout:
        make_dirs(layout, ["blobs/sha256"])
        layer = add_blob(layout, layer_tar(root))
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Env": ["PATH=" + TARGET_PATH, "CNTR_TEST_IMAGE=" + name],
                "Cmd": spec["cmd"],
                "WorkingDir": spec["cwd"],
            },
            "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
            "history": [{"created_by": "tests/images/build_images.py " + name}],
        }
        config_desc = add_blob(layout, json.dumps(config, sort_keys=True).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": dict(config_desc, mediaType="application/vnd.oci.image.config.v1+json"),
            "layers": [dict(layer, mediaType="application/vnd.oci.image.layer.v1.tar")],
        }
        manifest_desc = add_blob(layout, json.dumps(manifest, sort_keys=True).encode())
        index = {
            "schemaVersion": 2,
            "manifests": [dict(manifest_desc,
                               mediaType="application/vnd.oci.image.manifest.v1+json",
                               annotations={
                                   # containerd names the image by this, not "import-<date>"
                                   "io.containerd.image.name": image_ref(name),
                                   "org.opencontainers.image.ref.name": "latest",
                               })],
        }
        with open(os.path.join(layout, "index.json"), "w") as f:
            json.dump(index, f, sort_keys=True)
        with open(os.path.join(layout, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        with tarfile.open(output, "w") as tar:
            for entry in sorted(os.listdir(layout)):
                tar.add(os.path.join(layout, entry), arcname=entry)


def write_docker_archive(name, oci_archive, output):
    if os.path.exists(output):
        os.unlink(output)
    run(["skopeo", "copy", "--quiet", "oci-archive:" + oci_archive,
         "docker-archive:%s:%s" % (output, image_ref(name))])


# --- cache -----------------------------------------------------------------------------------

def inputs_key():
    h = hashlib.sha256()
    for path in (os.path.abspath(__file__), os.path.join(HERE, "tinyhttpd.c"), BUSYBOX):
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def build_image(name, key):
    """Return the image's cache directory, building it first when absent."""
    final = os.path.join(CACHE, "%s-%s" % (name, key))
    if os.path.exists(os.path.join(final, "done")):
        return final
    spec = IMAGES[name]
    log("building image %s" % name)
    work = tempfile.mkdtemp(prefix=name + ".", dir=CACHE)
    root = os.path.join(work, "rootfs")
    os.makedirs(root)
    spec["build"](root, work)
    write_oci_archive(name, spec, root, os.path.join(work, "oci.tar"))
    write_docker_archive(name, os.path.join(work, "oci.tar"), os.path.join(work, "docker.tar"))
    open(os.path.join(work, "done"), "w").close()
    if os.path.exists(final):
        shutil.rmtree(final)
    os.rename(work, final)
    return final


def describe(name, directory):
    spec = IMAGES[name]
    return {
        "ref": image_ref(name),
        "rootfs": os.path.join(directory, "rootfs"),
        "oci": os.path.join(directory, "oci.tar"),
        "docker": os.path.join(directory, "docker.tar"),
        "cmd": spec["cmd"],
        "cwd": spec["cwd"],
        "env": ["PATH=" + TARGET_PATH, "CNTR_TEST_IMAGE=" + name],
    }


# --- runtime import --------------------------------------------------------------------------

def quiet_ok(cmd):
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def present_in(runtime, ref):
    if runtime == "containerd":
        out = subprocess.run(["ctr", "-n", CONTAINERD_NAMESPACE, "images", "ls", "-q"],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL)
        return ref in out.stdout.split()
    if runtime == "podman":
        return quiet_ok(["podman", "image", "exists", ref])
    if runtime == "docker":
        return quiet_ok(["/usr/bin/docker", "image", "inspect", ref])
    raise ValueError("unknown runtime " + runtime)


def import_into(runtime, image):
    if runtime == "containerd":
        run(["ctr", "-n", CONTAINERD_NAMESPACE, "images", "import", image["oci"]],
            stdout=subprocess.DEVNULL)
    elif runtime == "podman":
        run(["podman", "load", "-q", "-i", image["docker"]], stdout=subprocess.DEVNULL)
    elif runtime == "docker":
        run(["/usr/bin/docker", "load", "-q", "-i", image["docker"]], stdout=subprocess.DEVNULL)


def ensure_imported(runtime, name, key, image):
    """Import unless the runtime already holds this exact build (stamp + presence)."""
    stamp = os.path.join(CACHE, "imported-%s-%s" % (runtime, name))
    try:
        with open(stamp) as f:
            current = f.read().strip() == key
    except FileNotFoundError:
        current = False
    if current and present_in(runtime, image["ref"]):
        return
    log("importing %s into %s" % (name, runtime))
    import_into(runtime, image)
    with open(stamp, "w") as f:
        f.write(key + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--import", dest="runtimes", action="append", default=[],
                        choices=["containerd", "podman", "docker"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    os.makedirs(CACHE, exist_ok=True)
    # Several test processes may ask at once: one builds, the others wait and reuse.
    with open(os.path.join(CACHE, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        key = inputs_key()
        table = {}
        for name in IMAGES:
            table[name] = describe(name, build_image(name, key))
        for runtime in args.runtimes:
            for name, image in table.items():
                ensure_imported(runtime, name, key, image)
    if args.json:
        json.dump(table, sys.stdout, indent=2)
        print()


if __name__ == "__main__":
    main()
