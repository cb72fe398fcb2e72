#!/bin/sh
# Build a capsule image OFFLINE (docs/capsules.md) as an OCI image archive: a small root made of
# programs from this machine's Debian packages plus the shared libraries they load, busybox
# (static) as /bin/sh and its applets, and an image config whose Entrypoint/Cmd run the tool.
# No registry and no base image are needed; for docker users, images/capsules/NAME/Dockerfile
# builds the same capsule from debian:bookworm-slim.
#
#   images/build-capsule.sh NAME [--out FILE (default images/out/capsule-NAME.oci.tar)]
#
# NAME is a directory under images/capsules/ holding `capsule.conf`:
#   PACKAGES="tcpdump"                  Debian packages whose programs go in (installed if missing)
#   ENTRYPOINT='["/usr/bin/tcpdump"]'   JSON arrays for the image config
#   CMD='["-n","-i","any","-c","10"]'
set -eu

here=$(cd "$(dirname "$0")" && pwd)

die() {
	echo "build-capsule: $*" >&2
	exit 1
}

[ $# -ge 1 ] || die "usage: images/build-capsule.sh NAME [--out FILE]"
name=$1
shift
out="$here/out/capsule-$name.oci.tar"
while [ $# -gt 0 ]; do
	case "$1" in
	--out) out=$2; shift 2 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
conf="$here/capsules/$name/capsule.conf"
[ -f "$conf" ] || die "no capsule '$name' ($conf is missing)"
PACKAGES="" ENTRYPOINT="[]" CMD="[]"
. "$conf"
[ "$(id -u)" = 0 ] || die "must run as root (apt-get)"

for pkg in $PACKAGES busybox-static; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' && continue
	echo "build-capsule: installing $pkg" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg" >/dev/null ||
		die "apt-get install $pkg failed"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/var/lib/cntr" "$work/oci/blobs/sha256"
chmod 1777 "$root/tmp"

# A file with its parent directories and, for a symlink, the path it names (as written in
# the link: the root must resolve it the same way), once.
copy_path() {
	[ -e "$1" ] || [ -L "$1" ] || return 0
	[ -e "$root$1" ] || [ -L "$root$1" ] && return 0
	(cd / && cp -a --parents "${1#/}" "$root")
	if [ -L "$1" ]; then
		target=$(readlink "$1")
		case "$target" in /*) ;; *) target="$(dirname "$1")/$target" ;; esac
		copy_path "$target"
	fi
}

# Programs of the packages (no documentation), then every library they load.
for pkg in $PACKAGES; do
	dpkg -L "$pkg" | while read -r f; do
		case "$f" in /usr/share/doc/*|/usr/share/man/*|/usr/share/lintian/*) continue ;; esac
		[ -f "$f" ] && copy_path "$f"
	done
done
find "$root" -type f -perm -u+x | while read -r f; do
	ldd "$f" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'
done | sort -u | while read -r lib; do
	copy_path "$lib"
done

# busybox (static) as the shell and the small tools a capsule's scripts use.
cp /bin/busybox "$root/bin/busybox"
for applet in sh ls cat echo sleep wget grep sed awk head tail wc ps kill date env mkdir rm; do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\ntcpdump:x:104:110::/nonexistent:/usr/sbin/nologin\nnobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\ntcpdump:x:110:\nnogroup:x:65534:\n' >"$root/etc/group"

. "$here/oci-lib.sh"
oci_det_tar "$root" "$work/layer.tar"
set -- $(oci_gzip_layer "$work/layer.tar")
layer="{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:$1\",\"size\":$2}"
diff_id=$3
ref="docker.io/library/capsule-$name:latest"
set -- $(oci_blob <<EOF
{"created":"2023-01-01T00:00:00Z","architecture":"amd64","os":"linux",
 "config":{"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":$ENTRYPOINT,"Cmd":$CMD,"WorkingDir":"/",
  "Labels":{"org.opencontainers.image.title":"capsule-$name"}},
 "rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]}}
EOF
)
oci_write_archive "$1" "$2" "$layer" "$ref" latest "$out" >/dev/null
echo "build-capsule: wrote $out ($(du -h "$out" | cut -f1)), image $ref" >&2
echo "$out"
