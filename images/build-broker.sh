#!/bin/sh
# Build the lambda-cntr broker image OFFLINE as an OCI image tarball (no base image, no mirror):
# the dynamically linked build/lambda-cntr-broker and build/lambda-cntr (for the caplet
# Deployment, deploy/70-caplet.yaml: `lambda-cntr caplet`) plus exactly the shared libraries they
# load (found with ldd on this build machine), an /etc/passwd naming the unprivileged user 65532
# they run as, and nothing else: no shell, no package manager.
#
#   images/build-broker.sh [--broker PATH] [--lambda-cntr PATH]
#                          [--out FILE (default images/out/lambda-cntr-broker-VERSION.oci.tar)]
#                          [--version V] [--import ctr|podman|docker|all]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/oci-lib.sh"

die() {
	echo "build-broker: $*" >&2
	exit 1
}

broker_bin="$top/build/lambda-cntr-broker"
lambda_bin="$top/build/lambda-cntr"
out=""
version=""
import=""
while [ $# -gt 0 ]; do
	case "$1" in
	--broker) broker_bin=$2; shift 2 ;;
	--lambda-cntr) lambda_bin=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--version) version=$2; shift 2 ;;
	--import) import=$2; shift 2 ;;
	-h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done
[ -x "$broker_bin" ] || die "no broker at $broker_bin; build it (cmake -S . -B build -G Ninja && ninja -C build) or pass --broker PATH"
[ -x "$lambda_bin" ] || die "no lambda-cntr at $lambda_bin; build it (cmake -S . -B build -G Ninja && ninja -C build) or pass --lambda-cntr PATH"
if [ -z "$version" ]; then
	version=$(sed -n 's/^project([^ ]* VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
	[ -n "$version" ] || die "cannot read the project VERSION from $top/CMakeLists.txt; pass --version"
fi
name="lambda-cntr-broker"
ref="docker.io/library/$name:$version"
out="${out:-$here/out/$name-$version.oci.tar}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/layer"
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp" "$work/oci/blobs/sha256"
chmod 1777 "$root/tmp"
install -m 0755 "$broker_bin" "$root/usr/local/bin/lambda-cntr-broker"
install -m 0755 "$lambda_bin" "$root/usr/local/bin/lambda-cntr"

# Every library the binaries load, at the path the loader will look for it (symlinks resolved:
# the copy is a plain file under the name the binary asks for).
for bin in "$broker_bin" "$lambda_bin"; do
	ldd "$bin" | awk '/=> \// { print $3 } /^[[:space:]]*\// { print $1 }' >>"$work/libs.all" ||
		die "ldd failed on $bin"
	grep -q . "$work/libs.all" || die "ldd found no libraries for $bin (is it a static or foreign binary?)"
done
sort -u "$work/libs.all" >"$work/libs"
while read -r lib; do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done <"$work/libs"
# GnuTLS reads its system priority file when present; without one it uses its defaults.
printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:lambda-cntr-broker:/:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"

oci_det_tar "$root" "$work/layer.tar"
set -- $(oci_gzip_layer "$work/layer.tar")
layer_digest=$1 layer_size=$2 layer_diffid=$3

created="2023-01-01T00:00:00Z"
set -- $(oci_blob <<JSON
{"created":"$created","architecture":"amd64","os":"linux",
 "config":{"User":"65532:65532","Entrypoint":["/usr/local/bin/lambda-cntr-broker"],"WorkingDir":"/",
  "Env":["PATH=/usr/local/bin"],"ExposedPorts":{"8443/tcp":{}},
  "Labels":{"org.opencontainers.image.title":"$name","org.opencontainers.image.version":"$version",
   "org.opencontainers.image.description":"lambda-cntr broker (the aggregated API of the installed mode) and lambda-cntr (the caplet)"}},
 "rootfs":{"type":"layers","diff_ids":["sha256:$layer_diffid"]},
 "history":[{"created":"$created","created_by":"install lambda-cntr-broker, lambda-cntr and the libraries ldd lists"}]}
JSON
)
config_digest=$1 config_size=$2
layers='{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:'$layer_digest'","size":'$layer_size'}'
manifest_digest=$(oci_write_archive "$config_digest" "$config_size" "$layers" "$ref" "$version" "$out")
echo "build-broker: wrote $out ($(du -h "$out" | cut -f1)) image $ref manifest sha256:$manifest_digest" >&2

case "$import" in
"") ;;
ctr) ctr -n k8s.io images import "$out" ;;
podman) podman load -i "$out" ;;
docker)
	skopeo copy -q "oci-archive:$out:$version" "docker-archive:$work/docker.tar:$name:$version"
	docker load -i "$work/docker.tar" ;;
all) ctr -n k8s.io images import "$out" && podman load -i "$out" ;;
*) die "--import takes ctr, podman, docker or all" ;;
esac
echo "$out"
