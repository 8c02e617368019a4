#!/usr/bin/env bash
# bench/edge.sh: what the app's clients see while an image edit rolls out,
# through the edge and without it, against `docker compose up -d` on the file
# wbd renders; and what the edge adds to every request, in one run.
#
#   bench/edge.sh [-r RUNS] [-w WBD]
#
#   -r RUNS   rollouts per way; the medians are reported (default 3)
#   -w WBD    the wbd binary to measure, static (default: built from this tree)
#
# Two instances on the local engine, bench-<random>-e with `edge: {drain: 5s}`
# and bench-<random>-n without, both on the stand-in images (the app's image
# flips between EDGE_BENCH_APPS, default wbd.local/app:1,wbd.local/app:2). A
# client (bench/edgeclient) requests GET /health on the published port at 100
# requests a second over 4 kept-alive HTTP/1.1 connections, from before each
# operation until the app answers after it; per operation: the failed
# requests (no answer, or not 200) and the p50/p99 latency of the answered.
#
#   wbd, edge        flip bench-e's image, `wbd apply` (start-first, drained)
#   wbd, no edge     flip bench-n's image, `wbd apply` (stop, then start)
#   compose          flip bench-n's image, `wbd render -o DIR`, then
#                    `docker compose -f DIR/NAME/compose.yaml -p NAME up -d`
#   compose, edge    the same on bench-e's file: compose recreates the app
#                    behind the edge, stopping the old one first
#
# Steady state, GET /health in alternating rounds on one kept-alive
# connection each (edgeclient -compare): the app's port against the edge's
# on the published ports of the two instances (both through Docker's port
# publishing), and on loopback a small server against `wbd edge` in front
# of it, both processes of this machine.
#
# Figures go to stdout as markdown, progress to stderr; everything it creates
# (the instances, their networks and directories, the edge image if it made
# it) is removed on exit. Figures are not assertions.
set -euo pipefail
shopt -s inherit_errexit

runs=3
wbd=""
while getopts "r:w:" opt; do
	case $opt in
	r) runs=$OPTARG ;;
	w) wbd=$OPTARG ;;
	*) sed -n '2,33p' "$0" >&2; exit 2 ;;
	esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
say() { printf 'edge: %s\n' "$*" >&2; }
die() { printf 'edge: error: %s\n' "$*" >&2; exit 1; }

IFS=, read -r app1 app2 <<<"${EDGE_BENCH_APPS:-wbd.local/app:1,wbd.local/app:2}"
docker info >/dev/null 2>&1 || die "no docker engine answers: run scripts/ensure-engine.sh"
docker compose version >/dev/null 2>&1 || die "no docker compose plugin: run scripts/compose-plugin.sh"
for img in "$app1" "$app2" wbd.local/postgres:15 wbd.local/redis:7; do
	docker image inspect "$img" >/dev/null 2>&1 || die "$img missing: run scripts/build-images.sh"
done

work=$(mktemp -d /tmp/wbd-edge.XXXXXX)
prefix="bench-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
e=$prefix-e
n=$prefix-n
file="$work/instances.yaml"
root="$work/srv"
client="$work/edgeclient"
pids=()
created=false
edge_images_before=$(docker image ls -q "wbd.local/edge" | sort -u)

cleanup() {
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	if $created; then
		"$wbd" -f "$file" down "$e" >/dev/null 2>&1
		"$wbd" -f "$file" down "$n" >/dev/null 2>&1
	fi
	# The edge image wbd made for this run, when none was there before.
	comm -13 <(echo "$edge_images_before") <(docker image ls -q "wbd.local/edge" | sort -u) |
		xargs -r docker image rm >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "$wbd" ]; then
	say "building wbd"
	wbd="$work/wbd"
	(cd "$repo" && CGO_ENABLED=0 go build -o "$wbd" ./cmd/wbd)
fi
(cd "$repo" && go build -o "$client" ./bench/edgeclient)

# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
eport=$(free_port)
nport=$(free_port)
[ "$nport" != "$eport" ] || nport=$((eport + 1))

# write_file IMAGE_E IMAGE_N
write_file() {
	cat >"$file" <<-EOF
		version: 1
		root: $root
		defaults:
		  images: {postgres: wbd.local/postgres:15, redis: wbd.local/redis:7}
		  env: {REFAPP_COMPUTE_DELAY: 50ms}
		instances:
		  $e:
		    port: $eport
		    edge: {drain: 5s}
		    images: {app: "$1"}
		  $n:
		    port: $nport
		    images: {app: "$2"}
	EOF
}
# Which image each instance runs, in files: the operations run in command
# substitutions, whose variables do not outlive them.
echo "$app1" >"$work/img-e"
echo "$app1" >"$work/img-n"
# flip INSTANCE: the other image for e or n, then the file with it.
flip() {
	if [ "$(cat "$work/img-$1")" = "$app1" ]; then echo "$app2" >"$work/img-$1"; else echo "$app1" >"$work/img-$1"; fi
	write_file "$(cat "$work/img-e")" "$(cat "$work/img-n")"
}

say "creating $e (edge) and $n (no edge)"
write_file "$app1" "$app1"
created=true
"$wbd" -f "$file" apply --all >/dev/null 2>&1 || die "wbd apply --all failed"

# measure PORT CMD...: the client on PORT around CMD; prints the client's
# JSON with the command's wall time and exit status added.
measure() {
	local p=$1
	shift
	local out="$work/client.out" err="$work/client.err" t0 t1 rc=0 cpid i
	: >"$err"
	"$client" -port "$p" -rate 100 -conns 4 >"$out" 2>"$err" &
	cpid=$!
	pids+=("$cpid")
	for i in $(seq 300); do
		grep -q 'first answer' "$err" && break
		kill -0 "$cpid" 2>/dev/null || die "edgeclient exited: $(cat "$err")"
		[ "$i" -lt 300 ] || die "the app on port $p does not answer"
		sleep 0.1
	done
	sleep 1 # a second of the steady state in every figure
	t0=$(date +%s.%N)
	"$@" >"$work/cmd.log" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	[ "$rc" = 0 ] || say "WARNING: $* exited $rc: $(tail -n 3 "$work/cmd.log")"
	grep -q Recreate "$work/cmd.log" || say "WARNING: $* recreated no container: $(tail -n 3 "$work/cmd.log")"
	kill -TERM "$cpid"
	wait "$cpid" || true
	sed "s/}\$/,\"wall_s\":$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}'),\"rc\":$rc}/" "$out"
}

wbd_edge() { flip e && "$wbd" -f "$file" apply "$e"; }
wbd_plain() { flip n && "$wbd" -f "$file" apply "$n"; }
compose_up() { # NAME: docker compose up -d on the file wbd renders for NAME
	rm -rf "$work/rendered" && "$wbd" -f "$file" render "$1" -o "$work/rendered" >/dev/null &&
		docker compose -f "$work/rendered/$1/compose.yaml" -p "$1" up -d
}
compose_plain() { flip n && compose_up "$n"; }
compose_edge() { flip e && compose_up "$e"; }

declare -A fails=() p50s=() p99s=() walls=()
record() { # KEY JSON
	local f p50 p99 w
	f=$(sed -n 's/.*"failed":\([0-9]*\).*/\1/p' <<<"$2")
	p50=$(sed -n 's/.*"p50_ms":\([0-9.]*\).*/\1/p' <<<"$2")
	p99=$(sed -n 's/.*"p99_ms":\([0-9.]*\).*/\1/p' <<<"$2")
	w=$(sed -n 's/.*"wall_s":\([0-9.]*\).*/\1/p' <<<"$2")
	say "$1: $2"
	fails[$1]+="$f "
	p50s[$1]+="$p50 "
	p99s[$1]+="$p99 "
	walls[$1]+="$w "
}

for ((r = 1; r <= runs; r++)); do
	say "run $r of $runs"
	record edge "$(measure "$eport" wbd_edge)"
	record plain "$(measure "$nport" wbd_plain)"
	record compose "$(measure "$nport" compose_plain)"
	record compose-edge "$(measure "$eport" compose_edge)"
	# compose left bench-e's app as compose makes it; wbd takes it from there.
	"$wbd" -f "$file" apply "$e" >/dev/null 2>&1 || say "WARNING: wbd apply $e after compose failed"
done

say "steady state through Docker: $n's app against $e's edge"
docker_cmp=$("$client" -compare "$nport,$eport" -n 20000 -rounds 20)
say "$docker_cmp"
say "steady state on loopback: a server against wbd edge in front of it"
"$client" -upstream >"$work/up.port" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/up.port" ] && break; sleep 0.1; done
up=$(cat "$work/up.port")
lport=$(free_port)
mkdir -p "$work/edge-state"
"$wbd" edge --listen "127.0.0.1:$lport" --target "127.0.0.1:$up" --state-dir "$work/edge-state" 2>"$work/edge.log" &
pids+=($!)
for _ in $(seq 50); do port_free "$lport" || break; sleep 0.1; done
loop_cmp=$("$client" -compare "$up,$lport" -n 20000 -rounds 20)
say "$loop_cmp"

field() { sed -n "s/.*\"$2\":{\"p50_ms\":\([0-9.]*\),\"p99_ms\":\([0-9.]*\)}.*/\1 \2/p" <<<"$1"; }
added() { sed -n "s/.*\"added_$2_ms\":\(-\{0,1\}[0-9.]*\).*/\1/p" <<<"$1"; }

echo "| rollout of an image edit | failed requests | p50 (ms) | p99 (ms) | command (s) |"
echo "|---|---:|---:|---:|---:|"
row() {
	# shellcheck disable=SC2086 # the lists are space-separated numbers
	printf '| %s | %s | %s | %s | %s |\n' "$1" "$(median ${fails[$2]})" "$(median ${p50s[$2]})" "$(median ${p99s[$2]})" "$(median ${walls[$2]})"
}
row "\`wbd apply\`, edge on (start-first, 5 s drain)" edge
row "\`wbd apply\`, edge off (stop, then start)" plain
row "\`docker compose up -d\`, the same file as edge off" compose
row "\`docker compose up -d\` on the edge instance's file" compose-edge
echo
echo "| steady state, GET /health | p50 (ms) | p99 (ms) |"
echo "|---|---:|---:|"
read -r a50 a99 <<<"$(field "$docker_cmp" a)"
read -r b50 b99 <<<"$(field "$docker_cmp" b)"
printf '| app, published by Docker | %s | %s |\n' "$a50" "$a99"
printf '| edge in front of it, published by Docker | %s | %s |\n' "$b50" "$b99"
printf '| **added by the edge** | **%s** | %s |\n' "$(added "$docker_cmp" p50)" "$(added "$docker_cmp" p99)"
read -r a50 a99 <<<"$(field "$loop_cmp" a)"
read -r b50 b99 <<<"$(field "$loop_cmp" b)"
printf '| a server on loopback | %s | %s |\n' "$a50" "$a99"
printf '| `wbd edge` in front of it, on loopback | %s | %s |\n' "$b50" "$b99"
printf '| **added by the edge, loopback** | **%s** | %s |\n' "$(added "$loop_cmp" p50)" "$(added "$loop_cmp" p99)"

say "runs: $runs per way; each row the median"
say "machine: $(nproc) cores, $(docker version --format 'docker {{.Server.Version}} (API {{.Server.APIVersion}})'), $(docker compose version --short 2>/dev/null | sed 's/^/compose /'), load $(cut -d' ' -f1-3 /proc/loadavg)"
