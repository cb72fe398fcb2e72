#!/bin/bash
# Start, stop or report the container runtimes the node tests use.
#   scripts/runtimes.sh start|stop|status [runc] [containerd] [podman] [docker]
# Default: all four. runc and podman need no daemon (start/stop only check they are installed).
# containerd and dockerd are started with setsid, logged to /var/log/cntr-test-<name>.log,
# and recorded in /run/cntr-test/<name>.pid; `stop` only stops what `start` started, so a
# daemon someone else runs is left alone. Idempotent: starting a running daemon is a no-op.
set -euo pipefail

STATE_DIR=/run/cntr-test
CONTAINERD_SOCK=/run/containerd/containerd.sock
DOCKER_SOCK=/var/run/docker.sock
WAIT_SECONDS=30

# This machine lacks CAP_SYS_RESOURCE and runs hybrid cgroups: dockerd's defaults work there
# (it only warns about blkio weight and oom_score_adj), as long as it uses the containerd we
# start instead of spawning its own: one containerd, one log, one place to stop it.
DOCKERD_FLAGS=(--containerd="$CONTAINERD_SOCK" --host="unix://$DOCKER_SOCK")

log() { printf 'runtimes: %s\n' "$*" >&2; }

socket_alive() { # socket probe-command...
	[ -S "$1" ] && "${@:2}" >/dev/null 2>&1
}

containerd_alive() { socket_alive "$CONTAINERD_SOCK" ctr --address "$CONTAINERD_SOCK" version; }
docker_alive() { socket_alive "$DOCKER_SOCK" /usr/bin/docker -H "unix://$DOCKER_SOCK" version; }

wait_until() { # what probe
	local i
	for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
		"$2" && return 0
		sleep 0.1
	done
	log "$1 did not come up within ${WAIT_SECONDS}s; see /var/log/cntr-test-$1.log"
	tail -n 20 "/var/log/cntr-test-$1.log" >&2 || true
	return 1
}

start_daemon() { # name probe command...
	local name=$1 probe=$2
	shift 2
	if "$probe"; then
		log "$name already running"
		return 0
	fi
	mkdir -p "$STATE_DIR"
	setsid "$@" </dev/null >>"/var/log/cntr-test-$name.log" 2>&1 &
	echo $! >"$STATE_DIR/$name.pid"
	wait_until "$name" "$probe"
	log "$name started (pid $(cat "$STATE_DIR/$name.pid"))"
}

stop_daemon() { # name probe
	local name=$1 probe=$2 pidfile="$STATE_DIR/$1.pid" pid i
	if [ ! -f "$pidfile" ]; then
		"$probe" && log "$name: not started by this script, left running"
		return 0
	fi
	pid=$(cat "$pidfile")
	# Only signal the daemon we started: the pid may have been reused since.
	if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$(daemon_binary "$name")" ]; then
		kill -TERM "$pid"
		for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "$name (pid $pid) ignored SIGTERM for ${WAIT_SECONDS}s; killing it"
			kill -KILL "$pid"
		fi
		log "$name stopped"
	fi
	rm -f "$pidfile"
}

daemon_binary() {
	case $1 in
	docker) echo dockerd ;;
	*) echo "$1" ;;
	esac
}

require_binary() { # runtime binary
	if ! command -v "$2" >/dev/null; then
		log "$1: $2 not installed (run scripts/install-deps.sh)"
		return 1
	fi
}

start_one() {
	case $1 in
	runc) require_binary runc runc ;;
	podman) require_binary podman podman ;;
	containerd)
		require_binary containerd containerd
		start_daemon containerd containerd_alive containerd
		;;
	docker)
		require_binary docker dockerd
		start_one containerd
		start_daemon docker docker_alive dockerd "${DOCKERD_FLAGS[@]}"
		;;
	*) log "unknown runtime '$1' (runc, containerd, podman, docker)"; return 2 ;;
	esac
}

stop_one() {
	case $1 in
	runc | podman) ;;
	containerd)
		# docker's containers live in this containerd: stop docker first.
		stop_daemon docker docker_alive
		stop_daemon containerd containerd_alive
		;;
	docker) stop_daemon docker docker_alive ;;
	*) log "unknown runtime '$1'"; return 2 ;;
	esac
}

status_one() {
	local state
	case $1 in
	runc | podman) command -v "$1" >/dev/null && state="installed (no daemon)" || state=missing ;;
	containerd) containerd_alive && state=running || state=stopped ;;
	docker) docker_alive && state=running || state=stopped ;;
	*) log "unknown runtime '$1'"; return 2 ;;
	esac
	printf '%-11s %s\n' "$1" "$state"
}

main() {
	local action=${1:-}
	[ $# -gt 0 ] && shift
	local runtimes=("$@")
	[ ${#runtimes[@]} -eq 0 ] && runtimes=(runc containerd podman docker)
	local rc=0 runtime
	case $action in
	start) for runtime in "${runtimes[@]}"; do start_one "$runtime" || rc=1; done ;;
	stop)
		# Reverse order: docker depends on containerd.
		for ((i = ${#runtimes[@]} - 1; i >= 0; i--)); do stop_one "${runtimes[i]}" || rc=1; done
		;;
	status) for runtime in "${runtimes[@]}"; do status_one "$runtime" || rc=1; done ;;
	*)
		echo "usage: $0 start|stop|status [runc] [containerd] [podman] [docker]" >&2
		return 2
		;;
	esac
	return $rc
}

main "$@"
