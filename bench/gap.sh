#!/usr/bin/env bash
# bench/gap.sh: how long the app goes without an answer while wbd restarts
# or rolls out an instance, and while the imperative CLI's sequence restarts
# the same images, side by side.
#
#   bench/gap.sh [-r RUNS] [-w WBD] [-b BASELINE]
#
#   -r RUNS      runs per operation; the median is reported (default 3)
#   -w WBD       the wbd binary to measure (default: built from this tree)
#   -b BASELINE  another wbd binary (an older commit's) whose restart and
#                image rollout are measured too, in the same runs
#
# A client (bench/gapclient) requests GET /health on the app's published
# port on 127.0.0.1 every 20 ms during each operation, from before it starts
# until the app answers 200 again after it ended. Per operation: the longest
# time between two answers, the time covered by requests without an answer,
# and the command's wall time. The operations:
#
#   wbd restart     `wbd restart NAME`
#   imperative      on containers made with `docker run -d` (same images,
#                   mounts, environment, a network of their own), `docker
#                   stop` app, redis, postgres, then `docker start`
#                   postgres, redis, app
#   image rollout   images.app flipped between two tags of the same image,
#                   then `wbd apply NAME`
#   bad image       images.app set to a tag of wbd.local/app-crash:1 (exits at
#                   once), then `wbd apply NAME`: measured when it exits 3
#                   (rolled back), "n/a" otherwise; the good image is applied
#                   again after, untimed
#
# Needs the engine and the stand-in images (scripts/ensure-engine.sh,
# scripts/build-images.sh). Everything it creates (two instances named
# gap-<random>-w and -i, their networks, two image tags, directories) is
# removed on exit. Figures go to stdout as a markdown table, progress to
# stderr. Figures are not assertions.
set -euo pipefail
shopt -s inherit_errexit

runs=3
wbd=""
base=""
while getopts "r:w:b:" opt; do
	case $opt in
	r) runs=$OPTARG ;;
	w) wbd=$OPTARG ;;
	b) base=$OPTARG ;;
	*) sed -n '2,35p' "$0" >&2; exit 2 ;;
	esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
say() { printf 'gap: %s\n' "$*" >&2; }
die() { printf 'gap: error: %s\n' "$*" >&2; exit 1; }

docker info >/dev/null 2>&1 || die "no docker engine answers: run scripts/ensure-engine.sh"
for img in wbd.local/app:1 wbd.local/postgres:15 wbd.local/redis:7 wbd.local/app-crash:1; do
	docker image inspect "$img" >/dev/null 2>&1 || die "$img missing: run scripts/build-images.sh"
done

work=$(mktemp -d /tmp/wbd-gap.XXXXXX)
prefix="gap-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')"
name=$prefix-w # the instance wbd runs
imp=$prefix-i  # the imperative CLI's
tag="wbd.local/app:$prefix"
bad="wbd.local/app:$prefix-bad"
file="$work/instances.yaml"
root="$work/srv"
client="$work/gapclient"
created=false

cleanup() {
	set +e
	[ -n "${cpid:-}" ] && kill -KILL "$cpid" 2>/dev/null
	$created && "$wbd" -f "$file" down "$name" >/dev/null 2>&1
	for c in "$name" "$name-redis" "$name-postgres" "$imp" "$imp-redis" "$imp-postgres"; do
		docker rm -f "$c" >/dev/null 2>&1
	done
	docker network rm "$name" "$imp" >/dev/null 2>&1
	docker rmi "$tag" "$bad" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "$wbd" ]; then
	say "building wbd"
	wbd="$work/wbd"
	(cd "$repo" && go build -o "$wbd" ./cmd/wbd)
fi
(cd "$repo" && go build -o "$client" ./bench/gapclient)
docker tag wbd.local/app:1 "$tag"
docker tag wbd.local/app-crash:1 "$bad"

# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"
MEDIAN_FORMAT=%.2f
port=$(free_port)
iport=$(free_port)
[ "$iport" != "$port" ] || iport=$((port + 1))

# write_file APP_IMAGE: instances.yaml with the one instance wbd runs.
write_file() {
	printf 'version: 1\nroot: %s\ninstances:\n  %s:\n    port: %s\n    images: {app: %s, postgres: wbd.local/postgres:15, redis: wbd.local/redis:7}\n' \
		"$root" "$name" "$port" "$1" >"$file"
}

say "creating $name (wbd apply)"
write_file wbd.local/app:1
created=true
"$wbd" -f "$file" apply "$name" >/dev/null 2>&1 || die "wbd apply $name failed"

# The imperative CLI's instance, as e2e/legacy_test.go's startLegacy makes
# one, with render's environment and mounts.
say "creating $imp (docker run)"
d="$work/imp"
mkdir -p "$d"/{databases,redis,sandbox,exports,assets,secrets}
printf 'imperative-%s\n' "$imp" >"$d/secrets/postgres-password"
secret=/run/secrets/postgres_password
docker network create "$imp" >/dev/null
docker run -d --name "$imp-postgres" --network "$imp" \
	-v "$d/databases:/var/lib/postgresql/data" -v "$d/secrets/postgres-password:$secret:ro" \
	-e POSTGRES_PASSWORD_FILE=$secret wbd.local/postgres:15 >/dev/null
docker run -d --name "$imp-redis" --network "$imp" -v "$d/redis:/data" \
	wbd.local/redis:7 redis-server --appendonly yes >/dev/null
for _ in $(seq 240); do
	docker exec "$imp-postgres" pg_isready -U postgres >/dev/null 2>&1 && break
	sleep 0.5
done
docker run -d --name "$imp" --network "$imp" -p "$iport:8000" \
	-e PORT=8000 -e REDIS_URL="redis://$imp-redis:6379" -e PGHOST="$imp-postgres" -e PGPORT=5432 \
	-e PGUSER=postgres -e PGDATABASE=postgres -e POSTGRES_PASSWORD_FILE=$secret \
	-v "$d/secrets/postgres-password:$secret:ro" -v "$d/sandbox:/data/sandbox" \
	-v "$d/exports:/data/exports" -v "$d/assets:/data/assets" wbd.local/app:1 >/dev/null

imperative_restart() {
	docker stop "$imp" && docker stop "$imp-redis" && docker stop "$imp-postgres" &&
		docker start "$imp-postgres" && docker start "$imp-redis" && docker start "$imp"
}

# Each rollout flips the app image between two tags of the same image (the
# state in a file: runs happen in command substitutions).
echo 0 >"$work/flip"
rollout() { rollout_with "$wbd"; }
rollout_with() {
	if [ "$(cat "$work/flip")" = 0 ]; then
		echo 1 >"$work/flip"
		write_file "$tag"
	else
		echo 0 >"$work/flip"
		write_file wbd.local/app:1
	fi
	"$1" -f "$file" apply "$name"
}
bad_rollout() { write_file "$bad" && "$wbd" -f "$file" apply "$name"; }
good_again() {
	if [ "$(cat "$work/flip")" = 0 ]; then write_file wbd.local/app:1; else write_file "$tag"; fi
	"$wbd" -f "$file" apply "$name" >/dev/null 2>&1 || say "WARNING: applying the good image again failed"
}

# measure PORT CMD...: run CMD with the client on PORT; prints
# "GAP FAILED WALL RC" (seconds, seconds, seconds, CMD's exit status).
# The client is stopped once CMD ended and the app answered again; when
# CMD exited neither 0 nor 3 the app is not waited for.
measure() {
	local p=$1; shift
	local out="$work/client.out" err="$work/client.err" t0 t1 rc=0 i
	: >"$err"
	"$client" -port "$p" -settle 2m -max 10m >"$out" 2>"$err" &
	cpid=$!
	for i in $(seq 600); do
		grep -q 'first answer' "$err" && break
		kill -0 "$cpid" 2>/dev/null || die "gapclient exited: $(cat "$err")"
		[ "$i" -lt 600 ] || die "the app on port $p does not answer"
		sleep 0.1
	done
	t0=$(date +%s.%N)
	"$@" >"$work/cmd.log" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
		kill -KILL "$cpid" 2>/dev/null; wait "$cpid" 2>/dev/null || true; cpid=""
		echo "- - - $rc"
		return
	fi
	kill -TERM "$cpid"
	wait "$cpid" || true
	cpid=""
	sed -n 's/^gap=\([0-9.]*\) failed=\([0-9.]*\) .*/\1 \2/p' "$out" | tr '\n' ' '
	awk -v a="$t0" -v b="$t1" -v rc="$rc" 'BEGIN {printf "%.3f %d\n", b - a, rc}'
}

declare -A gaps=() faileds=() walls=()
record() { # KEY "GAP FAILED WALL RC"
	local g f w rc
	read -r g f w rc <<<"$2"
	say "$1: gap ${g}s, failed ${f}s, wall ${w}s, exit $rc"
	[ "$g" != - ] || return 0
	gaps[$1]+="$g "
	faileds[$1]+="$f "
	walls[$1]+="$w "
}

before=$(docker inspect -f '{{.Id}}' "$name-postgres" "$name-redis")
for ((r = 1; r <= runs; r++)); do
	say "run $r of $runs"
	# with a baseline, which of the two goes first alternates: the engine's
	# load drifts, and an operation can be slower right after another
	if [ -n "$base" ] && [ $((r % 2)) = 0 ]; then
		record restart-base "$(measure "$port" "$base" -f "$file" restart "$name")"
		record rollout-base "$(measure "$port" rollout_with "$base")"
	fi
	record restart "$(measure "$port" "$wbd" -f "$file" restart "$name")"
	record rollout "$(measure "$port" rollout)"
	if [ -n "$base" ] && [ $((r % 2)) = 1 ]; then
		record restart-base "$(measure "$port" "$base" -f "$file" restart "$name")"
		record rollout-base "$(measure "$port" rollout_with "$base")"
	fi
	record imperative "$(measure "$iport" imperative_restart)"
	m=$(measure "$port" bad_rollout)
	read -r _ _ _ rc <<<"$m"
	if [ "$rc" = 3 ]; then record bad "$m"; else say "bad image: wbd apply exited $rc, not 3 (no rollback): n/a"; fi
	good_again
done
[ "$before" = "$(docker inspect -f '{{.Id}}' "$name-postgres" "$name-redis")" ] ||
	say "WARNING: a rollout recreated postgres or redis"

echo "| operation | longest gap (s) | failed-request time (s) | command wall time (s) |"
echo "|---|---:|---:|---:|"
row() {
	# shellcheck disable=SC2086 # the lists are space-separated numbers
	printf '| %s | %s | %s | %s |\n' "$1" "$(median ${gaps[$2]:-})" "$(median ${faileds[$2]:-})" "$(median ${walls[$2]:-})"
}
row "\`wbd restart\`" restart
row "imperative: \`docker stop\` app, redis, postgres; \`docker start\` postgres, redis, app" imperative
row "good app image rollout (\`wbd apply\`)" rollout
row "bad app image (\`wbd apply\` exits 3, rolled back)" bad
if [ -n "$base" ]; then
	row "\`wbd restart\`, baseline wbd (-b)" restart-base
	row "good app image rollout (\`wbd apply\`), baseline wbd (-b)" rollout-base
fi

say "machine: $(nproc) cores, $(docker version --format 'docker {{.Server.Version}} (API {{.Server.APIVersion}})'), $("$wbd" version 2>/dev/null | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
