#!/usr/bin/env bash
# bench/run.sh: how long wbd's operations take on the local engine, and the
# docker compose CLI on the same rendered files, side by side.
#
#   bench/run.sh [-r RUNS] [-n "1 10 30"] [-p PARALLEL]
#
#   -r RUNS      timed runs per figure; the median is reported (default 3)
#   -n SIZES     instance counts for the no-op apply (default "1 10 30")
#   -p PARALLEL  --parallel of the initial apply that creates the instances
#                (default 4; the timed no-op applies use wbd's default, 1)
#
# Needs the engine and the stand-in images (scripts/ensure-engine.sh,
# scripts/build-images.sh); the compose columns need the docker compose
# plugin (scripts/compose-plugin.sh) and are "-" without it. Instances are
# named bench-<random>-NN, admin off, REFAPP_COMPUTE_DELAY=50ms, ports from
# a free range; everything the run creates (containers, networks, the image
# tag, the instance directories) is removed on exit. Figures go to stdout
# as markdown rows, progress to stderr. Figures are not assertions.
#
# Each instance is a network: with the daemon's default address pools an
# engine has 31 bridge networks in all, so a size is capped to what is left
# minus 3 pools kept free for whoever else uses the engine
# (WBD_BENCH_HEADROOM=0 on an engine nobody else uses: 30 instances fit).
set -euo pipefail
shopt -s inherit_errexit

runs=3
sizes="1 10 30"
parallel=4
while getopts "r:n:p:" opt; do
	case $opt in
	r) runs=$OPTARG ;;
	n) sizes=$OPTARG ;;
	p) parallel=$OPTARG ;;
	*) sed -n '2,19p' "$0" >&2; exit 2 ;;
	esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

docker info >/dev/null 2>&1 || die "no docker engine answers: run scripts/ensure-engine.sh"
for img in wbd.local/app:1 wbd.local/postgres:15 wbd.local/redis:7; do
	docker image inspect "$img" >/dev/null 2>&1 || die "$img missing: run scripts/build-images.sh"
done
have_compose=false
docker compose version >/dev/null 2>&1 && have_compose=true

work=$(mktemp -d /tmp/wbd-bench.XXXXXX)
prefix="bench-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
tag="wbd.local/app:$prefix"
wbd="$work/wbd"
file="$work/instances.yaml"
root="$work/srv"
rendered="$work/rendered"
declare -a names=() ports=() declared=()

cleanup() {
	set +e
	if [ -x "$wbd" ] && [ ${#declared[@]} -gt 0 ]; then
		say "taking down ${#declared[@]} instances"
		"$wbd" -f "$file" down --keep-going --parallel 4 "${declared[@]}" >/dev/null 2>&1
	fi
	for n in "${declared[@]}"; do
		for c in "$n" "$n-redis" "$n-postgres"; do
			docker rm -f "$c" >/dev/null 2>&1
		done
		docker network rm "$n" >/dev/null 2>&1
	done
	docker rmi "$tag" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building wbd"
(cd "$repo" && go build -o "$wbd" ./cmd/wbd)
docker tag wbd.local/app:1 "$tag"

# room: how many more instance networks the engine can make while leaving
# $headroom address pools to others. With the daemon's default pools (no
# default-address-pools in daemon.json) there are 31 bridge networks in all:
# 172.17-31.0.0/16 and 192.168.0.0/16 in /20s. Otherwise: no limit known.
headroom=${WBD_BENCH_HEADROOM:-3}
room() {
	if grep -qs default-address-pools /etc/docker/daemon.json; then
		echo 100000
		return
	fi
	local used
	used=$(docker network ls --filter driver=bridge -q | wc -l)
	echo $((31 - used - headroom))
}

# port_free PORT: nothing listens on PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# grow N: declare instances up to N (ports in 24000-31999, below the
# ephemeral range, skipping ports in use).
next_port=$((24000 + RANDOM % 4000))
grow() {
	while [ ${#names[@]} -lt "$1" ]; do
		while ! port_free "$next_port"; do next_port=$((next_port + 1)); done
		names+=("$(printf '%s-%02d' "$prefix" $((${#declared[@]} + 1)))")
		declared+=("${names[-1]}")
		ports+=("$next_port")
		next_port=$((next_port + 1))
	done
}

# write_file [APP_IMAGE_OF_FIRST]: instances.yaml for the declared instances.
write_file() {
	local first_app=${1:-wbd.local/app:1}
	{
		printf 'version: 1\nroot: %s\ndefaults:\n  env: {REFAPP_COMPUTE_DELAY: 50ms}\ninstances:\n' "$root"
		for i in "${!names[@]}"; do
			local app=wbd.local/app:1
			[ "$i" -eq 0 ] && app=$first_app
			printf '  %s:\n    port: %s\n    images: {app: %s, postgres: wbd.local/postgres:15, redis: wbd.local/redis:7}\n' \
				"${names[$i]}" "${ports[$i]}" "$app"
		done
	} >"$file"
}

# seconds CMD...: run CMD quietly, print its wall time in seconds.
seconds() {
	local t0 t1 out
	t0=$(date +%s.%N)
	if ! out=$("$@" 2>&1); then
		printf '%s\n' "$out" | grep -v '^Container \|^Network ' | tail -20 >&2
		say "failed: $*"
		return 1
	fi
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}'
}

# keep_running: forget the declared instances whose app does not run (they
# could not be created); cleanup still takes every declared one down.
keep_running() {
	local kn=() kp=() i
	for i in "${!names[@]}"; do
		if [ "$(docker inspect -f '{{.State.Running}}' "${names[$i]}" 2>/dev/null)" = true ]; then
			kn+=("${names[$i]}")
			kp+=("${ports[$i]}")
		fi
	done
	names=("${kn[@]}")
	ports=("${kp[@]}")
}

# settle: wait until the newest instances have run for a minute. Until then
# an apply waits a second to see redis (no healthcheck) stay up, which is
# not what an operator's no-op apply on long-running instances costs.
settle() {
	local left
	left=$((created_at + 62 - $(date +%s)))
	if [ "$left" -gt 0 ]; then
		say "waiting ${left}s for the new instances to have run a minute"
		sleep "$left"
	fi
}

# median of its arguments, two decimals.
median() {
	printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.2f", m}'
}

# timed LABEL CMD...: median of $runs runs of CMD.
timed() {
	local label=$1; shift
	local ts=() i
	for ((i = 0; i < runs; i++)); do ts+=("$(seconds "$@")"); done
	say "$label: ${ts[*]} s"
	median "${ts[@]}"
}

# compose_up NAME...: the compose CLI's `up -d --wait` on each rendered file,
# one after the other, as wbd apply goes (apply is `up -d --remove-orphans --wait`).
compose_up() {
	local n
	for n in "$@"; do
		docker compose -f "$rendered/$n/compose.yaml" -p "$n" up -d --remove-orphans --wait || return 1
	done
}

# compose_restart NAME: stop (compose stops dependents first: app, redis,
# postgres) then start and wait, as wbd restart does.
compose_restart() {
	docker compose -f "$rendered/$1/compose.yaml" -p "$1" stop &&
		docker compose -f "$rendered/$1/compose.yaml" -p "$1" up -d --wait
}

ids() { docker ps -aq --no-trunc --filter "label=io.wbd.instance=$1" | sort | tr '\n' ' '; }

render_all() { rm -rf "$rendered" && "$wbd" -f "$file" render --all -o "$rendered" >/dev/null; }

row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3"; }

echo "| operation | wbd (s) | docker compose CLI (s) |"
echo "|---|---:|---:|"

for n in $sizes; do
	if [ $((n - ${#names[@]})) -gt "$(room)" ]; then
		n=$((${#names[@]} + $(room)))
		capped="the engine's default address pools leave room for $n instance networks, keeping $headroom free for others"
		say "capping at $n instances: $capped"
	fi
	grow "$n"
	write_file
	say "creating ${#names[@]} instances (apply --all --keep-going --parallel $parallel)"
	label="$n instance(s)"
	[ -z "${capped:-}" ] || label="$n instances ($capped)"
	create=0
	if create=$(seconds "$wbd" -f "$file" apply --all --keep-going --parallel "$parallel"); then
		say "created in $create s"
	else
		keep_running
		write_file
		label="${#names[@]} instances ($n asked; only ${#names[@]} could be created, see the log)"
		say "only ${#names[@]} of $n instances could be created: measuring those"
		sizes_done=true
	fi
	created_at=$(date +%s)
	settle
	w=$(timed "no-op apply --all, ${#names[@]} instances" "$wbd" -f "$file" apply --all)
	c=-
	if $have_compose; then
		render_all
		before=$(for x in "${names[@]}"; do ids "$x"; done)
		c=$(timed "compose up -d --wait x${#names[@]}" compose_up "${names[@]}")
		after=$(for x in "${names[@]}"; do ids "$x"; done)
		[ "$before" = "$after" ] || say "WARNING: docker compose up recreated containers wbd had created"
	fi
	row "no-op \`apply --all\`, $label" "$w" "$c"
	if [ -n "${sizes_done:-}" ] || [ -n "${capped:-}" ]; then break; fi
done

first=${names[0]}
# Each run flips the first instance's app image between two tags of the
# same image (the state in a file: runs happen in subshells), so every run
# recreates exactly the app container.
echo 0 >"$work/flip"
flip_image() {
	if [ "$(cat "$work/flip")" = 0 ]; then
		echo 1 >"$work/flip"
		write_file "$tag"
	else
		echo 0 >"$work/flip"
		write_file
	fi
}
edit_wbd() { flip_image && "$wbd" -f "$file" apply "$first"; }
edit_compose() {
	flip_image && "$wbd" -f "$file" render "$first" -o "$rendered" >/dev/null && compose_up "$first"
}
before=$(docker inspect -f '{{.Id}}' "$first-postgres" "$first-redis")
w=$(timed "image edit, wbd apply $first" edit_wbd)
c=-
if $have_compose; then
	c=$(timed "image edit, compose up $first" edit_compose)
fi
[ "$before" = "$(docker inspect -f '{{.Id}}' "$first-postgres" "$first-redis")" ] ||
	say "WARNING: an image edit recreated postgres or redis"
row "image edit: app recreated (1 instance of ${#names[@]})" "$w" "$c"

write_file
"$wbd" -f "$file" apply "$first" >/dev/null 2>&1
w=$(timed "wbd restart $first" "$wbd" -f "$file" restart "$first")
c=-
if $have_compose; then
	render_all
	c=$(timed "compose stop + up --wait $first" compose_restart "$first")
fi
row "restart 1 instance (stop in order, start, wait healthy)" "$w" "$c"

say "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(docker version --format 'docker {{.Server.Version}} (API {{.Server.APIVersion}})'), $("$wbd" version | head -1)"
