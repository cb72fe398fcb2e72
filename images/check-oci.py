#!/usr/bin/python3
"""Check an agent image tarball made by build-agent.sh without any container runtime.

Usage: check-oci.py IMAGE.oci.tar REF CNTR_BIN
Checks what containerd, podman and skopeo rely on: oci-layout; index.json with the
io.containerd.image.name (= REF) and org.opencontainers.image.ref.name annotations; every
descriptor's digest and size match its blob; the config's diff_ids match the uncompressed
layers; the image holds /usr/local/bin/cntr byte-identical to CNTR_BIN (executable) and the
debugging tools. Prints one line per failure and exits 1, or "ok".
"""
import gzip
import hashlib
import io
import json
import sys
import tarfile

TOOLS = ["bash", "gdb", "strace", "tcpdump", "curl", "ip", "ps", "less", "nsenter"]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    path, ref, cntr_bin = sys.argv[1:]
    problems = []
    with tarfile.open(path) as archive:
        def blob(descriptor):
            digest = descriptor["digest"]
            data = archive.extractfile("blobs/sha256/" + digest.split(":", 1)[1]).read()
            if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
                problems.append("blob %s: content does not match its digest" % digest)
            if len(data) != descriptor["size"]:
                problems.append("blob %s: size %d, descriptor says %d"
                                % (digest, len(data), descriptor["size"]))
            return data

        layout = json.load(archive.extractfile("oci-layout"))
        if layout.get("imageLayoutVersion") != "1.0.0":
            problems.append("oci-layout: imageLayoutVersion %r" % layout.get("imageLayoutVersion"))
        index = json.load(archive.extractfile("index.json"))
        [entry] = index["manifests"]
        notes = entry.get("annotations", {})
        if notes.get("io.containerd.image.name") != ref:
            problems.append("index.json: io.containerd.image.name is %r, want %r"
                            % (notes.get("io.containerd.image.name"), ref))
        if notes.get("org.opencontainers.image.ref.name") != ref.rsplit(":", 1)[1]:
            problems.append("index.json: org.opencontainers.image.ref.name is %r, want the tag"
                            % notes.get("org.opencontainers.image.ref.name"))
        manifest = json.loads(blob(entry))
        config = json.loads(blob(manifest["config"]))
        diff_ids = config["rootfs"]["diff_ids"]
        if len(diff_ids) != len(manifest["layers"]):
            problems.append("config has %d diff_ids for %d layers"
                            % (len(diff_ids), len(manifest["layers"])))
        files = {}
        for layer, diff_id in zip(manifest["layers"], diff_ids):
            raw = gzip.decompress(blob(layer))
            if "sha256:" + hashlib.sha256(raw).hexdigest() != diff_id:
                problems.append("layer %s: uncompressed digest is not diff_id %s"
                                % (layer["digest"], diff_id))
            with tarfile.open(fileobj=io.BytesIO(raw)) as layer_tar:
                for member in layer_tar.getmembers():
                    name = member.name.lstrip("./")
                    files[name] = (member, layer_tar.extractfile(member).read()
                                   if member.isfile() and name == "usr/local/bin/cntr" else None)
        with open(cntr_bin, "rb") as f:
            want = f.read()
        member, data = files.get("usr/local/bin/cntr", (None, None))
        if member is None:
            problems.append("no /usr/local/bin/cntr in the image")
        elif data != want or not member.mode & 0o111:
            problems.append("/usr/local/bin/cntr differs from %s or is not executable" % cntr_bin)
        for tool in TOOLS:
            # bookworm has a merged /usr: /bin and /sbin are symlinks into usr/.
            if not any(d + tool in files for d in ("usr/bin/", "usr/sbin/")):
                problems.append("tool %s missing from /usr/bin and /usr/sbin" % tool)
    for p in problems:
        print("check-oci: " + p)
    if problems:
        return 1
    print("ok: %s is %s with cntr and %d tools checked" % (path, ref, len(TOOLS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
