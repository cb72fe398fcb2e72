#!/bin/bash
# Install everything the build, the tests and the demo need on a Debian 12 machine, as root.
# Idempotent: packages are installed only when missing, `apt-get update` runs at most once,
# and the container configuration below is only written when absent.
set -euo pipefail

PACKAGES=(
	# build
	build-essential pkg-config cmake ninja-build musl-tools file
	libcurl4-openssl-dev libssl-dev libjansson-dev libyaml-dev libcmocka-dev
	# fuzzing (make fuzz): clang and its runtimes, which hold libFuzzer (-fsanitize=fuzzer)
	clang libclang-rt-14-dev
	# tests and demo
	python3 python3-yaml openssl curl busybox-static util-linux iproute2 procps
	# container runtimes
	runc containerd podman docker.io skopeo uidmap
	# benchmarks (bench/) and the agent image builder (images/)
	hyperfine socat fio bindfs gnuplot-nox sqlite3 crun debootstrap
	# the tcpdump capsule (images/build-capsule.sh tcpdump: demo, tests)
	tcpdump
)

log() { printf 'install-deps: %s\n' "$*"; }

require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: must run as root (apt-get and /etc/containers need it)" >&2
		exit 1
	fi
}

missing_packages() {
	local pkg
	for pkg in "${PACKAGES[@]}"; do
		# `dpkg -s` succeeds for removed-but-configured packages too: check the status line.
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
			printf '%s\n' "$pkg"
		fi
	done
}

install_packages() {
	local missing
	mapfile -t missing < <(missing_packages)
	if [ "${#missing[@]}" -eq 0 ]; then
		log "all ${#PACKAGES[@]} packages present"
		return
	fi
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	forbid_service_starts
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
	allow_service_starts
}

# Package scripts would start dockerd/containerd through their init scripts, with flags that
# do not work here; scripts/runtimes.sh starts them instead. policy-rc.d exit 101 = "forbidden".
POLICY_RC=/usr/sbin/policy-rc.d
forbid_service_starts() {
	if [ ! -e "$POLICY_RC" ]; then
		printf '#!/bin/sh\n# cntr install-deps: no service starts during installs\nexit 101\n' >"$POLICY_RC"
		chmod +x "$POLICY_RC"
		trap allow_service_starts EXIT
	fi
}
allow_service_starts() {
	if grep -q 'cntr install-deps' "$POLICY_RC" 2>/dev/null; then
		rm -f "$POLICY_RC"
	fi
}

# podman's defaults (crun, raising RLIMIT_NOFILE beyond the hard limit) fail on these machines:
# the bounding set lacks CAP_SYS_RESOURCE and the hard nofile limit is 20000.
configure_podman() {
	local conf=/etc/containers/containers.conf
	mkdir -p /etc/containers
	if [ ! -f "$conf" ] || ! grep -q '^# cntr-test' "$conf"; then
		[ -f "$conf" ] && cp -n "$conf" "$conf.orig"
		cat >"$conf" <<'CONF'
# cntr-test: written by scripts/install-deps.sh
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
CONF
		log "wrote $conf"
	fi
}

# `podman --userns=auto` allocates from the `containers` user's subordinate ranges.
configure_subids() {
	local file
	for file in /etc/subuid /etc/subgid; do
		touch "$file"
		if ! grep -q '^containers:' "$file"; then
			echo 'containers:2147483647:2147483648' >>"$file"
			log "added containers: range to $file"
		fi
	done
}

require_root
install_packages
configure_podman
configure_subids
log "done"
