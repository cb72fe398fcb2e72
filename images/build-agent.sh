#!/bin/sh
# Build the lambda-cntr agent/debug image OFFLINE (only Debian's mirror is needed) as an OCI image
# tarball that containerd (`ctr images import`), podman (`podman load`) and docker (through
# `skopeo copy oci-archive:... docker-archive:...`) can all load.
#
#   images/build-agent.sh [--cntr PATH] [--out FILE (default images/out/NAME-VERSION.oci.tar)] [--cache DIR] [--version V] [--mirror URL]
#                         [--import ctr|podman|docker|all]
#
# Layers: (1) a Debian bookworm minbase rootfs with a debugging tool set, cached between runs
# because it takes a minute to create, and (2) the static `cntr` at /usr/local/bin/cntr, so a new
# cntr build only rebuilds the small top layer.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

# The tool set a debugging session wants; the package list is part of the cache key.
PACKAGES="bash coreutils procps psmisc iproute2 iputils-ping netcat-openbsd dnsutils strace gdb
tcpdump curl ca-certificates less ncurses-bin ncurses-base vim-tiny lsof file findutils grep
sed gawk util-linux tar gzip xz-utils"

usage() {
	sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

die() {
	echo "build-agent: $*" >&2
	exit 1
}

cntr_bin=""
out=""
cache="${CNTR_IMAGE_CACHE:-/var/cache/lambda-cntr}"
version=""
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
import=""
while [ $# -gt 0 ]; do
	case "$1" in
	--cntr) cntr_bin=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--cache) cache=$2; shift 2 ;;
	--version) version=$2; shift 2 ;;
	--mirror) mirror=$2; shift 2 ;;
	--import) import=$2; shift 2 ;;
	-h|--help) usage ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap and chroot need it)"

if [ -z "$version" ]; then
	version=$(sed -n 's/^project([^ ]* VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
	[ -n "$version" ] || die "cannot read the project VERSION from $top/CMakeLists.txt; pass --version"
fi
name="lambda-cntr-agent"
ref="docker.io/library/$name:$version"
out="${out:-$here/out/$name-$version.oci.tar}"

find_cntr() {
	for c in "$top/build/musl/cntr" "$top"/build-*/musl/cntr; do
		[ -x "$c" ] && { echo "$c"; return 0; }
	done
	return 1
}
if [ -z "$cntr_bin" ]; then
	cntr_bin=$(find_cntr) || die "no static cntr found in build/musl/cntr; build it (cmake -S . -B build -G Ninja && ninja -C build) or pass --cntr PATH"
fi
[ -x "$cntr_bin" ] || die "cntr binary '$cntr_bin' is not an executable file"
# The agent image has no musl and its own glibc: only a static binary is guaranteed to run there.
file -L "$cntr_bin" | grep -q 'statically linked' || die "'$cntr_bin' is not statically linked; use the musl build (build/musl/cntr)"

need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "build-agent: installing $2" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >/dev/null || die "apt-get install $2 failed"
}
need debootstrap debootstrap
need sha256sum coreutils


# ---- layer 1: the cached tool rootfs ----------------------------------------------------------
key=$(printf '%s %s' "$PACKAGES" "$mirror" | sha256sum | cut -c1-12)
rootfs="$cache/rootfs-bookworm-$key"
base_tar="$cache/base-bookworm-$key.tar"

# Every mount made for the chroot lives in a private mount namespace of its own: when the
# command ends, the namespace and its mounts vanish, even if apt fails halfway.
in_chroot() {
	unshare --mount --propagation private sh -c '
		root=$1; shift
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		mount -t sysfs sysfs "$root/sys"
		exec chroot "$root" "$@"' in_chroot "$rootfs.tmp" "$@"
}

build_rootfs() {
	rm -rf "$rootfs.tmp"
	mkdir -p "$cache"
	echo "build-agent: debootstrap --variant=minbase bookworm ($mirror)" >&2
	debootstrap --variant=minbase bookworm "$rootfs.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
		die "debootstrap failed, see $cache/debootstrap.log"
	# Keep services from starting inside the chroot while packages install.
	printf '#!/bin/sh\nexit 101\n' >"$rootfs.tmp/usr/sbin/policy-rc.d"
	chmod 755 "$rootfs.tmp/usr/sbin/policy-rc.d"
	cp /etc/resolv.conf "$rootfs.tmp/etc/resolv.conf"
	echo "build-agent: apt-get install $(echo $PACKAGES | wc -w) packages" >&2
	# shellcheck disable=SC2086
	in_chroot env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PACKAGES \
		>"$cache/apt.log" 2>&1 || die "apt-get install in the chroot failed, see $cache/apt.log"
	in_chroot apt-get clean
	rm -rf "$rootfs.tmp/var/lib/apt/lists/"* "$rootfs.tmp/usr/sbin/policy-rc.d" \
		"$rootfs.tmp/var/log/"*.log "$rootfs.tmp/var/cache/debconf/"*-old
	# Runtimes provide these per container; an image must not carry the builder's.
	: >"$rootfs.tmp/etc/resolv.conf"
	echo lambda-cntr-agent >"$rootfs.tmp/etc/hostname"
	# The agent runs with a read-only root filesystem: a cntr that wants /var/lib/cntr to
	# exist in its own root cannot create it there at run time.
	mkdir -p "$rootfs.tmp/var/lib/cntr"
	mv "$rootfs.tmp" "$rootfs"
}

. "$here/oci-lib.sh"

# Two builds at once (two build trees' ctest) would share the cache: one builds, the other waits.
mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9

if [ ! -d "$rootfs" ]; then
	build_rootfs
else
	echo "build-agent: reusing cached rootfs $rootfs" >&2
fi
if [ ! -s "$base_tar.gz" ]; then
	echo "build-agent: packing base layer" >&2
	oci_det_tar "$rootfs" "$base_tar" .
	gzip -n -f "$base_tar"
	sha256sum "$base_tar.gz" | cut -d' ' -f1 >"$base_tar.gz.sha256"
	zcat "$base_tar.gz" | sha256sum | cut -d' ' -f1 >"$base_tar.diffid"
fi

# ---- layer 2: cntr ----------------------------------------------------------------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/layer/usr/local/bin" "$work/oci/blobs/sha256"
install -m 0755 "$cntr_bin" "$work/layer/usr/local/bin/cntr"
oci_det_tar "$work/layer" "$work/cntr.tar" ./usr/local/bin/cntr
set -- $(oci_gzip_layer "$work/cntr.tar")
cntr_digest=$1 cntr_size=$2 cntr_diffid=$3

base_digest=$(cat "$base_tar.gz.sha256")
base_diffid=$(cat "$base_tar.diffid")
base_size=$(stat -c %s "$base_tar.gz")
# A copy, not a hard link: a link count changing under tar (another build linking the same
# cached file) makes tar fail with "file changed as we read it".
cp "$base_tar.gz" "$work/oci/blobs/sha256/$base_digest"

# ---- config, manifest, index ------------------------------------------------------------------
created="2023-01-01T00:00:00Z"
set -- $(oci_blob <<EOF
{"created":"$created","architecture":"amd64","os":"linux",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","SHELL=/bin/bash"],
  "Cmd":["/bin/bash"],"WorkingDir":"/",
  "Labels":{"org.opencontainers.image.title":"$name","org.opencontainers.image.version":"$version",
   "org.opencontainers.image.description":"lambda-cntr debug agent: static cntr plus Debian bookworm debugging tools"}},
 "rootfs":{"type":"layers","diff_ids":["sha256:$base_diffid","sha256:$cntr_diffid"]},
 "history":[{"created":"$created","created_by":"debootstrap --variant=minbase bookworm; apt-get install $(echo $PACKAGES)"},
  {"created":"$created","created_by":"install cntr /usr/local/bin/cntr"}]}
EOF
)
config_digest=$1 config_size=$2
layers='{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:'$base_digest'","size":'$base_size'},
  {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:'$cntr_digest'","size":'$cntr_size'}'

exec 9>&- # the cache is no longer touched below
manifest_digest=$(oci_write_archive "$config_digest" "$config_size" "$layers" "$ref" "$version" "$out")
echo "build-agent: wrote $out ($(du -h "$out" | cut -f1)) image $ref manifest sha256:$manifest_digest" >&2

# ---- optional: load it into the local engines -------------------------------------------------
import_ctr() {
	ctr -n k8s.io images import "$out" && ctr -n k8s.io images ls -q | grep -Fx "$ref"
}
import_podman() {
	podman load -i "$out" && podman image exists "$ref"
}
import_docker() {
	rm -f "$work/docker.tar"
	skopeo copy -q "oci-archive:$out:$version" "docker-archive:$work/docker.tar:$name:$version" &&
		/usr/bin/docker load -i "$work/docker.tar"
}
case "$import" in
"") ;;
ctr|podman|docker) "import_$import" ;;
all) import_ctr && import_podman && import_docker ;;
*) die "--import takes ctr, podman, docker or all" ;;
esac
echo "$out"
