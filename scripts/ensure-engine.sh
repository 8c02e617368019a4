#!/usr/bin/env bash
# ensure-engine.sh: make sure a Docker engine answers `docker info`.
#
#   scripts/ensure-engine.sh
#
# Already answering: prints one line and exits 0. Otherwise, as root, installs
# Debian's docker.io when dockerd is missing, starts dockerd in the background
# (detached, logging to /var/log/wbd-dockerd.log, surviving this script) and waits
# for it. Not root and no engine: says what to do and exits 1.
#
# Environment:
#   WBD_ENGINE_TIMEOUT  seconds to wait for a started dockerd (default 60)
#   WBD_DOCKERD_LOG     dockerd's log file (default /var/log/wbd-dockerd.log)
set -euo pipefail

readonly timeout_s="${WBD_ENGINE_TIMEOUT:-60}"
readonly dockerd_log="${WBD_DOCKERD_LOG:-/var/log/wbd-dockerd.log}"
readonly apt_log="/var/log/wbd-apt-docker.log"
started_pid=""

say() { printf 'ensure-engine: %s\n' "$*"; }
die() { printf 'ensure-engine: error: %s\n' "$*" >&2; exit 1; }

engine_answers() {
	command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

engine_version() {
	docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || echo unknown
}

# explain_non_root prints what a non-root user can do, and exits 1.
explain_non_root() {
	local sock=/var/run/docker.sock
	if [[ -S $sock ]] && ! [[ -w $sock ]]; then
		cat >&2 <<-EOF
		ensure-engine: error: a Docker engine runs but $(id -un) may not use $sock.
		  Either run as root:      sudo $0
		  or join the docker group: sudo usermod -aG docker $(id -un)   (then log in again)
		EOF
	else
		cat >&2 <<-EOF
		ensure-engine: error: no Docker engine answers and $(id -un) is not root.
		  Run this script as root, which installs Debian's docker.io if needed and starts dockerd:
		    sudo $0
		  or by hand:
		    sudo apt-get update && sudo apt-get install -y docker.io
		    sudo sh -c 'nohup dockerd >>$dockerd_log 2>&1 </dev/null &'
		EOF
	fi
	exit 1
}

install_docker() {
	say "dockerd not found: installing Debian's docker.io (log: $apt_log)"
	export DEBIAN_FRONTEND=noninteractive
	if ! {
		apt-get update -q &&
			apt-get install -y -q --no-install-recommends \
				-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
				docker.io
	} >"$apt_log" 2>&1; then
		tail -n 30 "$apt_log" >&2
		die "apt-get install docker.io failed (full log: $apt_log)"
	fi
}

# remove_stale_pidfile removes dockerd's pid file when the process it names is gone,
# which otherwise stops a new dockerd from starting after a crash or a killed machine.
remove_stale_pidfile() {
	local pidfile=/var/run/docker.pid pid
	[[ -f $pidfile ]] || return 0
	pid="$(cat "$pidfile" 2>/dev/null || true)"
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		return 0
	fi
	rm -f "$pidfile"
}

dockerd_running() {
	local pidfile=/var/run/docker.pid pid
	[[ -f $pidfile ]] || return 1
	pid="$(cat "$pidfile" 2>/dev/null || true)"
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

start_dockerd() {
	if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
		systemctl start docker >/dev/null 2>&1 || true
		engine_answers && return 0
	fi
	if dockerd_running; then
		return 0 # started earlier, still coming up: just wait for it
	fi
	remove_stale_pidfile
	mkdir -p "$(dirname "$dockerd_log")"
	printf '\n=== %s ensure-engine: starting dockerd\n' "$(date -u +%FT%TZ)" >>"$dockerd_log"
	# setsid: own session, so the caller's job control and signals do not reach it;
	# every stream redirected, so a CI pipe reading our output does not wait for it.
	setsid nohup dockerd </dev/null >>"$dockerd_log" 2>&1 &
	started_pid=$!
	disown || true
}

wait_for_engine() {
	local deadline=$((SECONDS + timeout_s))
	while ((SECONDS < deadline)); do
		engine_answers && return 0
		if [[ -n $started_pid ]] && ! kill -0 "$started_pid" 2>/dev/null; then
			printf 'ensure-engine: error: dockerd exited; last lines of %s:\n' "$dockerd_log" >&2
			tail -n 40 "$dockerd_log" >&2 || true
			exit 1
		fi
		sleep 0.5
	done
	printf 'ensure-engine: error: docker info still fails after %ss; last lines of %s:\n' \
		"$timeout_s" "$dockerd_log" >&2
	tail -n 40 "$dockerd_log" >&2 || true
	exit 1
}

main() {
	if engine_answers; then
		say "engine ready: Docker $(engine_version)"
		return 0
	fi
	if ((EUID != 0)); then
		explain_non_root
	fi
	if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
		install_docker
		# Debian's postinst may have started it through an init script.
		if engine_answers; then
			say "engine ready: Docker $(engine_version) (installed docker.io)"
			return 0
		fi
	fi
	start_dockerd
	wait_for_engine
	say "engine ready: Docker $(engine_version) (started dockerd, log: $dockerd_log)"
}

main "$@"
