#!/bin/bash
# The λ-cntr demo: debug a container that has no shell and no tools.
#
# On a fresh Debian 12 machine, as root: installs what is missing, builds cntr, starts a slim
# container under runc whose whole root is one static binary (a tiny HTTP server, built from
# tests/images/tinyhttpd.c), shows that the runtime cannot give you a shell in it, then opens a
# real cntr session in it with the host's tools: its processes, network, listening socket,
# files and identity. Then a capsule (images/capsules/tcpdump, built offline) runs tcpdump in
# two such containers at once, under a throw-away root. Stops the containers at the end and
# leaves nothing behind.
#
# Environment: BUILD (default build), CNTR (default $BUILD/musl/cntr), SKIP_SETUP=1 to skip
# installing and building (when done already).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
CNTR=${CNTR:-$BUILD/musl/cntr}
CACHE=${CNTR_TEST_CACHE:-/var/tmp/cntr-test}
new_id() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n'; } # a 64-hex ID, like every runtime's
ID=$(new_id)
ID2=$(new_id)
BUNDLE=$CACHE/run/demo-$ID
BUNDLE2=$CACHE/run/demo-$ID2
BASE=${CNTR_BASE_DIR:-/var/lib/cntr}

if [ -t 1 ]; then BOLD=$'\e[1m' DIM=$'\e[2m' RESET=$'\e[0m'; else BOLD='' DIM='' RESET=''; fi
section() { printf '\n%s== %s ==%s\n' "$BOLD" "$*" "$RESET"; }
show() { printf '%s$ %s%s\n' "$DIM" "$*" "$RESET"; }

cleanup() {
	runc delete --force "$ID" >/dev/null 2>&1 || true
	runc delete --force "$ID2" >/dev/null 2>&1 || true
	rm -rf "$BUNDLE" "$BUNDLE2"
}
trap cleanup EXIT

if [ "${SKIP_SETUP:-0}" != 1 ]; then
	section "setup: packages and build (quiet; only what is missing)"
	scripts/install-deps.sh
	cmake -S . -B "$BUILD" -G Ninja >/dev/null
	ninja -C "$BUILD" >/dev/null
fi
[ -x "$CNTR" ] || { echo "demo: $CNTR not built (make build)" >&2; exit 1; }

section "the target: a container whose root is one static binary"
/usr/bin/python3 tests/images/build_images.py >/dev/null
ROOTFS=$(/usr/bin/python3 tests/images/build_images.py --json |
	/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["scratch"]["rootfs"])')
# start_web ID BUNDLE HOSTNAME: the slim web server container, read-only root.
start_web() {
	mkdir -p "$2"
	cp -a "$ROOTFS" "$2/rootfs"
	runc spec --bundle "$2"
	/usr/bin/python3 - "$2/config.json" "$3" <<'PY'
import json, sys
path = sys.argv[1]
config = json.load(open(path))
config["process"].update(terminal=False, args=["/server", "8080"], cwd="/")
config["root"] = {"path": "rootfs", "readonly": True}
config["hostname"] = sys.argv[2]
json.dump(config, open(path, "w"))
PY
	runc run -d --bundle "$2" "$1" </dev/null >/dev/null
}
start_web "$ID" "$BUNDLE" web
PID=$(runc state "$ID" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
show "ls -l <image rootfs>"
ls -l "$ROOTFS"
echo "runc container ${ID:0:12}… is running (PID $PID on the host), read-only root."

section "the runtime cannot give you a shell in it"
show "runc exec ${ID:0:12}… sh"
runc exec "$ID" sh 2>&1 | tail -n 1 || true

section "cntr: a debugging session inside it, with the host's tools"
show "cntr attach ${ID:0:12} -- sh -c '…'"
mountinfo_before=$(cat /proc/$PID/mountinfo)
start=$(date +%s%N)
"$CNTR" attach "${ID:0:12}" -- /bin/sh -c '
B=$1 R=$2
h() { printf "\n%s-- %s --%s\n" "$B" "$*" "$R"; }
h "processes of the container (host ps, the container /proc)"
ps -e -o pid,ppid,user,stat,comm
h "its network: interfaces and the listening socket"
ip -brief address
ss -ltnp
h "talk to the server from inside"
curl -s http://127.0.0.1:8080/
h "its files, under /var/lib/cntr (read-only like the container)"
ls -la /var/lib/cntr
touch /var/lib/cntr/probe 2>&1 || true
h "identity: the container'"'"'s uid, capabilities, namespaces"
id
setpriv --dump | grep -E "^(Capability bounding|no_new_privs|Securebits)"
grep -E "^Cap(Eff|Prm)" /proc/self/status
echo "hostname: $(hostname)   pid namespace: $(readlink /proc/self/ns/pid)"
h "and the tools are the host'"'"'s"
for tool in ps ip ss curl; do command -v $tool; done
h "read-only tool directories only: all the container can see of them (/proc/<session>/root)"
echo $(ls /proc/$$/root/)
touch /usr/bin/probe 2>&1 || true
' demo "$BOLD" "$RESET"
end=$(date +%s%N)

section "after the session"
echo "cntr exited; session took $(((end - start) / 1000000)) ms including all commands."
[ "$(cat /proc/$PID/mountinfo)" = "$mountinfo_before" ] && same=yes || same=NO
echo "container's mount table byte-identical to before the session: $same"
echo "cntr mounts left in the host's mount table: $(grep -c " $BASE " /proc/self/mountinfo || true)"

section "a capsule: tcpdump in two slim containers at once, under a throw-away root"
start_web "$ID2" "$BUNDLE2" web-2
CAPSULE=$(images/build-capsule.sh tcpdump 2>/dev/null)
echo "capsule image (built offline from this machine's Debian packages): $CAPSULE"
show "cntr capsule run --share net --profile netadmin --cap-add SETUID,SETGID --timeout 20s capsule-tcpdump.oci.tar ${ID:0:12} ${ID2:0:12} -- sh -c 'tcpdump … & wget …'"
"$CNTR" capsule run --share net --profile netadmin --cap-add SETUID,SETGID --timeout 20s "$CAPSULE" "${ID:0:12}" "${ID2:0:12}" -- /bin/sh -c \
	'tcpdump -Z root -n -q -i lo -c 4 tcp port 8080 2>/dev/null & sleep 1; wget -q -O /dev/null http://127.0.0.1:8080/; wait; touch /written-by-the-capsule'
"$CNTR" capsule run "$CAPSULE" "${ID:0:12}" -- /bin/sh -c 'test -e /written-by-the-capsule && echo "left over!" || echo "the previous run left nothing behind"'

runc delete --force "$ID"
runc delete --force "$ID2"
rm -rf "$BUNDLE" "$BUNDLE2"
trap - EXIT
echo "containers stopped and removed."
