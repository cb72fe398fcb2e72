#!/usr/bin/python3
"""Check the broker image made by build-broker.sh without a container runtime.

Usage: check-broker-image.py IMAGE.oci.tar
The image must be self-contained: its one layer is unpacked into a scratch directory and both
programs run there under chroot as the image's user (65532), with nothing of this machine's
filesystem: `lambda-cntr --version` and `lambda-cntr-broker --help` exit 0 (a library ldd
missed, or a loader path that differs, makes them fail). Also checks the config (user 65532,
entrypoint the broker) and that nothing but the two programs, their libraries and /etc/passwd,
/etc/group and /tmp are in it (no shell). Needs root (chroot). Prints one line per failure and
exits 1, or "ok".
"""
import gzip
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

PROGRAMS = {"usr/local/bin/lambda-cntr": ["--version"], "usr/local/bin/lambda-cntr-broker": ["--help"]}
ALLOWED_TOP = {"usr/local/bin", "etc/passwd", "etc/group", "tmp"}
LIB_DIRS = ("lib", "lib64", "usr/lib", "usr/lib64")


def read_image(path):
    with tarfile.open(path) as archive:
        def blob(digest):
            return archive.extractfile("blobs/sha256/" + digest.split(":", 1)[1]).read()
        index = json.loads(archive.extractfile("index.json").read())
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        layers = [gzip.decompress(blob(layer["digest"])) for layer in manifest["layers"]]
    return config, layers


def unexpected_paths(names):
    odd = []
    for name in names:
        name = name.lstrip("./")
        if not name or name in ("usr", "usr/local", "etc") or name.startswith(LIB_DIRS):
            continue
        if not any(name == top or name.startswith(top + "/") for top in ALLOWED_TOP):
            odd.append(name)
    return odd


def run_in(root, program, args):
    def as_image_user():
        os.chroot(root)
        os.chdir("/")
        os.setgroups([])
        os.setgid(65532)
        os.setuid(65532)
    return subprocess.run(["/" + program] + args, preexec_fn=as_image_user, capture_output=True,
                          env={"PATH": "/usr/local/bin"}, timeout=30)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    problems = []
    config, layers = read_image(sys.argv[1])
    cfg = config.get("config", {})
    if cfg.get("User") != "65532:65532":
        problems.append("config User is %r, not 65532:65532" % cfg.get("User"))
    if cfg.get("Entrypoint") != ["/usr/local/bin/lambda-cntr-broker"]:
        problems.append("config Entrypoint is %r" % cfg.get("Entrypoint"))
    if len(layers) != 1:
        problems.append("%d layers, expected 1" % len(layers))
    root = tempfile.mkdtemp(prefix="broker-image-")
    try:
        with tarfile.open(fileobj=io.BytesIO(layers[0])) as layer:
            problems += ["unexpected file in the image: /%s" % n for n in unexpected_paths(layer.getnames())]
            layer.extractall(root, filter="tar") if hasattr(tarfile, "data_filter") else layer.extractall(root)
        for program, args in PROGRAMS.items():
            if not os.access(os.path.join(root, program), os.X_OK):
                problems.append("/%s is missing or not executable" % program)
                continue
            r = run_in(root, program, args)
            if r.returncode != 0:
                problems.append("/%s %s exited %d in the image: %s" % (program, " ".join(args), r.returncode,
                                                                         r.stderr.decode(errors="replace").strip()))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print("ok")


if __name__ == "__main__":
    main()
