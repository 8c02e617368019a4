#!/usr/bin/env bash
# bench/run.sh: how wbd's operations cost as the number of instances on one
# engine grows, side by side with the docker compose CLI on the very files
# wbd renders, and the daemon's pass and rollout.
#
#   bench/run.sh [-r RUNS] [-n SIZES] [-p PARALLEL] [-e]
#
#   -r RUNS      timed runs per figure; the median is reported (default 3;
#                the rename figure takes 2*RUNS+1 runs)
#   -n SIZES     instance counts (default "1 10 30 100")
#   -p PARALLEL  --parallel of the apply that creates the instances (default 4)
#   -e           run on a dockerd of the script's own (own data root, exec
#                root and network namespace, Docker's default address pools,
#                so more than 31 instances prove wbd's subnets): needs root.
#                Without it, the local engine (DOCKER_HOST), whose other
#                users' load shows in every figure
#
# For each size N, fresh instances named bench-<random>-N-NN (postgres,
# redis and the app; admin off; REFAPP_COMPUTE_DELAY=50ms; ports from a free
# range) are created from nothing with `wbd apply --all --keep-going
# --parallel PARALLEL`, then, once every container has run past apply's
# steady window, these are timed:
#
#   no-op apply   `wbd apply --all` against the compose CLI loop: `wbd render
#                 --all -o DIR`, then per instance `docker compose -f
#                 DIR/NAME/compose.yaml -p NAME up -d --remove-orphans --wait`
#                 (what apply is), one after the other (N <= 30 only: the
#                 loop costs a second an instance)
#   daemon pass   `wbd run --resync 2s`: the `pass done took=` of 10 passes,
#                 and the CPU time of wbd and of the engine's dockerd
#                 (/proc/PID/stat) per pass, less the dockerd CPU of as long
#                 a window without the daemon (healthchecks); -e only, since
#                 the machine's dockerd is not the script's to watch
#   rename        at the largest size up to 30, the first instance's images.app flips
#                 between two tags of one image in a file renamed over
#                 instances.yaml, as editors save, under `wbd run`: the time
#                 until the new app container runs, against the container's
#                 own start (`docker run -d` of the image on the instance's
#                 network, what no orchestration can go under)
#
# The instances of a size are taken down before the next is created. A
# line of progress per step goes to stderr; the table to stdout, a row as
# each figure is known, each wbd figure with its peer, their ratio and the
# goal. Figures are not assertions. On exit everything the run created is
# removed: instances, directories, the image tag, the engine of -e.
set -euo pipefail
shopt -s inherit_errexit

runs=3
sizes="1 10 30 100"
parallel=4
own=false
while getopts "r:n:p:e" opt; do
	case $opt in
	r) runs=$OPTARG ;;
	n) sizes=$OPTARG ;;
	p) parallel=$OPTARG ;;
	e) own=true ;;
	*) sed -n '2,47p' "$0" >&2; exit 2 ;;
	esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

images=(wbd.local/app:1 wbd.local/postgres:15 wbd.local/redis:7)
docker info >/dev/null 2>&1 || die "no docker engine answers: run scripts/ensure-engine.sh"
for img in "${images[@]}"; do
	docker image inspect "$img" >/dev/null 2>&1 || die "$img missing: run scripts/build-images.sh"
done

work=$(mktemp -d /tmp/wbd-bench.XXXXXX)
prefix="bench-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
tag="wbd.local/app:$prefix"
wbd="$work/wbd"
file="$work/instances.yaml"
root="$work/srv"
rendered="$work/rendered"
declare -a names=() ports=() declared=()
engine_pid=""
daemon_pid=""

cleanup() {
	set +e
	if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; fi
	# The bench's own engine goes with its containers; the machine's keeps
	# nothing of the bench.
	if ! $own && [ -x "$wbd" ] && [ ${#declared[@]} -gt 0 ]; then
		say "taking down ${#declared[@]} instances"
		write_file "${declared[@]}"
		"$wbd" -f "$file" down --keep-going --parallel 4 "${declared[@]}" >/dev/null 2>&1
	fi
	docker rmi "$tag" >/dev/null 2>&1
	if [ -n "$engine_pid" ]; then
		say "stopping the bench's dockerd"
		kill "$engine_pid" 2>/dev/null
		for _ in $(seq 1 60); do kill -0 "$engine_pid" 2>/dev/null || break; sleep 1; done
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "building wbd"
(cd "$repo" && go build -o "$wbd" ./cmd/wbd)

if $own; then
	[ "$(id -u)" = 0 ] || die "-e starts a dockerd: run as root"
	sock="$work/docker.sock"
	say "starting a dockerd of the bench's own at unix://$sock (Docker's default address pools)"
	unshare -n -m sh -c "ip link set lo up && exec dockerd --data-root $work/docker --exec-root $work/exec \
		--pidfile $work/docker.pid -H unix://$sock --containerd-namespace $prefix --containerd-plugins-namespace $prefix-p" \
		>"$work/dockerd.log" 2>&1 &
	engine_pid=$!
	for _ in $(seq 1 60); do docker -H "unix://$sock" version >/dev/null 2>&1 && break; sleep 1; done
	docker -H "unix://$sock" version >/dev/null 2>&1 || die "the bench's dockerd did not answer: $work/dockerd.log"
	say "loading the stand-in images into it"
	docker save "${images[@]}" | docker -H "unix://$sock" load -q >/dev/null
	export DOCKER_HOST="unix://$sock"
fi
docker tag wbd.local/app:1 "$tag"

# port_free PORT: nothing listens on PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# fresh N: names and ports of N new instances of size N (ports in
# 24000-31999, below the ephemeral range, skipping ports in use).
next_port=$((24000 + RANDOM % 3000))
fresh() {
	names=() ports=()
	local i
	for ((i = 1; i <= $1; i++)); do
		while ! port_free "$next_port"; do next_port=$((next_port + 1)); done
		names+=("$(printf '%s-%d-%02d' "$prefix" "$1" "$i")")
		declared+=("${names[-1]}")
		ports+=("$next_port")
		next_port=$((next_port + 1))
	done
}

# write_file [NAME...]: instances.yaml for names (all declared ones when
# given, for the cleanup's down); $first_app is the first one's app image.
first_app=wbd.local/app:1
write_file() {
	local list=("${names[@]}") i
	[ $# -eq 0 ] || list=("$@")
	{
		printf 'version: 1\nroot: %s\ndefaults:\n  env: {REFAPP_COMPUTE_DELAY: 50ms}\ninstances:\n' "$root"
		for i in "${!list[@]}"; do
			local app=wbd.local/app:1 port=$((40000 + i))
			[ "$i" -eq 0 ] && app=$first_app
			[ $# -eq 0 ] && port=${ports[$i]}
			printf '  %s:\n    port: %s\n    images: {app: %s, postgres: wbd.local/postgres:15, redis: wbd.local/redis:7}\n' \
				"${list[$i]}" "$port" "$app"
		done
	} >"$work/.instances.yaml.tmp"
	mv "$work/.instances.yaml.tmp" "$file" # as editors save
}

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.3f\n", b - a}'; }

# seconds CMD...: run CMD quietly, print its wall time in seconds.
seconds() {
	local t0 out
	t0=$(now)
	if ! out=$("$@" 2>&1); then
		printf '%s\n' "$out" | grep -v '^Container \|^Network ' | tail -20 >&2
		say "failed: $*"
		return 1
	fi
	since "$t0"
}

# median of its arguments.
median() {
	printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.3f", m}'
}

# timed LABEL CMD...: median of $runs runs of CMD.
timed() {
	local label=$1; shift
	local ts=() i
	for ((i = 0; i < runs; i++)); do ts+=("$(seconds "$@")"); done
	say "$label: ${ts[*]} s"
	median "${ts[@]}"
}

# keep_running: forget the instances of this size whose app does not run
# healthy; the cleanup still takes every declared one down.
keep_running() {
	local kn=() kp=() i
	for i in "${!names[@]}"; do
		if [ "$(docker inspect -f '{{.State.Health.Status}}' "${names[$i]}" 2>/dev/null)" = healthy ]; then
			kn+=("${names[$i]}")
			kp+=("${ports[$i]}")
		fi
	done
	names=("${kn[@]}")
	ports=("${kp[@]}")
}

# ratio A B: A/B, or "-".
ratio() {
	case "$1$2" in *-*) echo - ;; *) awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.3f\n", a / b; else print "-"}' ;; esac
}

# compose_up NAME...: the compose CLI's `up -d --remove-orphans --wait` on
# each rendered file, one after the other, as apply is.
compose_up() {
	local n
	for n in "$@"; do
		docker compose -f "$rendered/$n/compose.yaml" -p "$n" up -d --remove-orphans --wait || return 1
	done
}

ids() { docker ps -aq --no-trunc --filter "label=io.wbd.instance=$1" | sort | tr '\n' ' '; }

# cpu PID: user+system CPU time of PID in seconds.
cpu() { awk '{sub(/.*\) /, ""); printf "%.2f\n", ($12 + $13) / 100}' "/proc/$1/stat"; }

# rename_figure: the rename-to-running row, for the instances of this size.
rename_figure() {
	local first=${names[0]} ts=() starts=() i w s old applied t0
	say "rename to running: ${first}'s app image flips under wbd run, $((2 * runs + 1)) times"
	"$wbd" run -f "$file" --log-level info >"$work/run.log" 2>&1 &
	daemon_pid=$!
	sleep 3
	ts=()
	for ((i = 0; i < 2 * runs + 1; i++)); do
		old=$(docker inspect -f '{{.Id}}' "$first")
		applied=$(grep -c "msg=applied instance=$first " "$work/run.log" || true)
		if [ "$first_app" = "$tag" ]; then first_app=wbd.local/app:1; else first_app=$tag; fi
		t0=$(now)
		write_file
		for _ in $(seq 1 3000); do
			set -- $(docker inspect -f '{{.Id}} {{.State.Status}}' "$first" 2>/dev/null || true)
			[ -n "${1:-}" ] && [ "$1" != "$old" ] && [ "${2:-}" = running ] && break
			sleep 0.02
		done
		ts+=("$(since "$t0")")
		# the rollout's wait for health and steady window, before the next
		for _ in $(seq 1 600); do [ "$(grep -c "msg=applied instance=$first " "$work/run.log" || true)" -gt "$applied" ] && break; sleep 0.1; done
		sleep 4
	done
	kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
	say "rename to running: ${ts[*]} s"
	w=$(median "${ts[@]}")
	starts=()
	for ((i = 0; i < 2 * runs + 1; i++)); do
		starts+=("$(seconds docker run -d --rm --name "$prefix-start-$i" --network "$first" wbd.local/app:1)")
		docker rm -f "$prefix-start-$i" >/dev/null 2>&1 || true
	done
	say "docker run -d of the app image: ${starts[*]} s"
	s=$(median "${starts[@]}")
	row "rename of instances.yaml to the new app container running, 1 instance of ${#names[@]} (peer: the container's own start, \`docker run -d\`)" "$w s" "$s s" "$(ratio "$w" "$s")" "<= peer + 0.6 s (here $(awk -v a="$w" -v b="$s" 'BEGIN {printf "+%.2f s", a - b}'))"
}

have_compose=false
docker compose version >/dev/null 2>&1 && have_compose=true
$have_compose || say "no docker compose plugin (scripts/compose-plugin.sh): the compose column is -"

row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }
echo "| figure | wbd | peer | wbd / peer | goal |"
echo "|---|---:|---:|---:|---|"

# rename_at: the size whose instances the rename is measured among, the
# largest up to 30 (100 instances load 2 cores with their healthchecks).
rename_at=""
for n in $sizes; do
	if [ "$n" -le 30 ] || [ -z "$rename_at" ]; then rename_at=$n; fi
done
prev_n="" prev_create="" prev_noop=""
largest=""
for n in $sizes; do
	if [ -n "$largest" ]; then
		say "taking down the ${#names[@]} instances of the last size"
		"$wbd" -f "$file" down --keep-going --parallel 4 "${names[@]}" >/dev/null 2>&1 || true
	fi
	fresh "$n"
	first_app=wbd.local/app:1
	write_file
	created_from=$(now)
	say "creating $n instances from nothing (apply --all --keep-going --parallel $parallel)"
	asked=$n
	if ! create=$(seconds "$wbd" -f "$file" apply --all --keep-going --parallel "$parallel"); then
		create=$(since "$created_from")
		keep_running
		say "only ${#names[@]} of $n instances were created (see above): measuring those"
		n=${#names[@]}
		write_file
	fi
	grows=""
	[ -z "$prev_n" ] || grows="$(awk -v a="$create" -v b="$prev_create" -v n="$n" -v m="$prev_n" 'BEGIN {printf "x%.2f for x%.1f instances", a / b, n / m}')"
	made="$n instances"
	[ "$n" = "$asked" ] || made="$n of $asked instances (the others' apps unhealthy within apply's timeout)"
	row "create $made from nothing (\`apply --all --parallel $parallel\`)" "$create s ($(awk -v a="$create" -v n="$n" 'BEGIN {printf "%.2f", a / n}') s each${grows:+; $grows})" - - -
	say "waiting for every container to run past apply's steady window (3 s) and for the engine's own healthchecks to have run"
	sleep 5
	for _ in $(seq 1 120); do docker ps --filter "label=io.wbd.managed=true" --format '{{.Status}}' | grep -q 'health: starting' || break; sleep 1; done

	w=$(timed "no-op apply --all, $n instances" "$wbd" -f "$file" apply --all)
	c=-
	if $have_compose && [ "$n" -le 30 ]; then
		rm -rf "$rendered" && "$wbd" -f "$file" render --all -o "$rendered" >/dev/null
		before=$(for x in "${names[@]}"; do ids "$x"; done)
		c=$(timed "compose up -d --wait x$n" compose_up "${names[@]}")
		[ "$before" = "$(for x in "${names[@]}"; do ids "$x"; done)" ] || say "WARNING: docker compose up recreated containers wbd had created"
	fi
	goal=-
	[ "$n" = 30 ] && goal="<= 0.05 x and <= 1.5 s"
	grows=""
	[ -z "$prev_n" ] || grows=", $(awk -v a="$w" -v b="$prev_noop" -v n="$n" -v m="$prev_n" 'BEGIN {printf "x%.2f for x%.1f instances", a / b, n / m}')"
	row "no-op \`apply --all\`, $n instances (peer: compose CLI loop)" "$w s${grows}" "$c${c:+ s}" "$(ratio "$w" "$c")" "$goal"

	if $own && [ "$n" -ge 10 ]; then
		say "daemon passes over $n instances (wbd run --resync 2s), and as long a window without the daemon"
		dpid=$(cat "$work/docker.pid")
		"$wbd" run -f "$file" --resync 2s --log-level debug >"$work/run.log" 2>&1 &
		daemon_pid=$!
		for _ in $(seq 1 120); do [ "$(grep -c 'msg="pass done"' "$work/run.log")" -ge 2 ] && break; sleep 0.5; done
		first=$(grep -c 'msg="pass done"' "$work/run.log")
		w0=$(cpu "$daemon_pid") d0=$(cpu "$dpid") t0=$(now)
		for _ in $(seq 1 120); do [ "$(grep -c 'msg="pass done"' "$work/run.log")" -ge $((first + 10)) ] && break; sleep 0.5; done
		w1=$(cpu "$daemon_pid") d1=$(cpu "$dpid") window=$(since "$t0")
		passes=$(($(grep -c 'msg="pass done"' "$work/run.log") - first))
		kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null || true; daemon_pid=""
		b0=$(cpu "$dpid"); sleep "$window"; b1=$(cpu "$dpid")
		took=$(grep 'msg="pass done"' "$work/run.log" | tail -n +$((first + 1)) | head -n "$passes" | sed 's/.*took=\([^ ]*\).*/\1/' |
			awk '{v=$1; if (v ~ /µs$/) {sub(/µs$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else {sub(/s$/,"",v); v*=1000}; print v}')
		# shellcheck disable=SC2086
		wall=$(median $took)
		wcpu=$(awk -v a="$w0" -v b="$w1" -v p="$passes" 'BEGIN {printf "%.0f", (b - a) * 1000 / p}')
		draw=$(awk -v a="$d0" -v b="$d1" -v p="$passes" 'BEGIN {printf "%.0f", (b - a) * 1000 / p}')
		dnet=$(awk -v a="$d0" -v b="$d1" -v c="$b0" -v d="$b1" -v p="$passes" 'BEGIN {x = ((b - a) - (d - c)) * 1000 / p; if (x < 0) x = 0; printf "%.0f", x}')
		say "passes: $passes, took (ms): $(echo $took | tr '\n' ' '); dockerd CPU $d0 -> $d1 s with the daemon, $b0 -> $b1 s without, over ${window}s each"
		goal=-
		[ "$n" = 30 ] && goal="<= 100 ms wall, <= 100 ms dockerd CPU"
		row "daemon pass, $n unchanged instances: wall (median of $passes); CPU per pass" "$wall ms wall; wbd $wcpu ms, dockerd $dnet ms (raw $draw ms, less healthchecks)" - - "$goal"
	fi
	if [ "$n" = "$rename_at" ]; then rename_figure; fi
	prev_n=$n prev_create=$create prev_noop=$w largest=$n
done

say "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(docker version --format 'docker {{.Server.Version}} (API {{.Server.APIVersion}})'), $("$wbd" version | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
