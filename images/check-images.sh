#!/usr/bin/env bash
# check-images.sh: prove that the stand-in images behave, on the local engine.
#
#   images/check-images.sh
#
# Run after scripts/build-images.sh. Creates only containers and a network named
# wbd-imgtest-*, plus a temp dir, and removes them all on exit. Talks only to
# 127.0.0.1 and to the test network's containers.
set -euo pipefail

readonly prefix=wbd-imgtest
readonly net="$prefix-net"
readonly pg_image=wbd.local/postgres:15 redis_image=wbd.local/redis:7
readonly admin_image=wbd.local/admin:1 broken_image=wbd.local/redis-broken:1 app_image=wbd.local/app:1
readonly app2_image=wbd.local/app:2 nostart_image=wbd.local/app-nostart:1
readonly crash_image=wbd.local/app-crash:1 unhealthy_image=wbd.local/app-unhealthy:1
readonly otherport_image=wbd.local/app-otherport:1 closeearly_image=wbd.local/app-closeearly:1
readonly password='s3cret-from-file'
created=()
tmp=""
checks=0

step() { printf '  %-60s' "$*"; }
ok() { checks=$((checks + 1)); printf 'ok%s\n' "${1:+  ($1)}"; }
fail() {
	printf 'FAIL\ncheck-images: %s\n' "$*" >&2
	exit 1
}

cleanup() {
	local c
	for c in "${created[@]}"; do
		docker rm -f -v "$c" >/dev/null 2>&1 || true
	done
	docker network rm "$net" >/dev/null 2>&1 || true
	[[ -n $tmp ]] && rm -rf "$tmp"
}

run_d() { # NAME ARGS...: docker run -d, remembering NAME for cleanup
	local name="$1"
	shift
	created+=("$name")
	docker run -d --name "$name" "$@" >/dev/null
}

# wait_for DESC SECONDS CMD...: poll CMD until it succeeds or the deadline passes.
wait_for() {
	local desc="$1" deadline=$((SECONDS + $2))
	shift 2
	until "$@" >/dev/null 2>&1; do
		((SECONDS < deadline)) || fail "timed out after ${2}s waiting for $desc"
		sleep 0.3
	done
}

# logs_have NAME REGEX: the container's logs match (read whole: no SIGPIPE under pipefail).
logs_have() {
	docker logs "$1" >"$tmp/logs" 2>&1
	grep -Eq -- "$2" "$tmp/logs"
}

# logs_after NAME MARK REGEX: a line matching REGEX follows the first line matching MARK.
logs_after() {
	docker logs "$1" >"$tmp/logs" 2>&1
	awk -v mark="$2" -v re="$3" '$0 ~ mark { seen = 1 } seen && $0 ~ re { found = 1 } END { exit !found }' "$tmp/logs"
}

healthy() { [[ $(docker inspect -f '{{.State.Health.Status}}' "$1") == healthy ]]; }

pg_client() { # ARGS...: psql from the same image, over the network, with a password
	docker run --rm --network "$net" -e PGPASSWORD="${PGPASS:-$password}" "$pg_image" \
		psql -h "$prefix-postgres" -U postgres -d wbd -v ON_ERROR_STOP=1 -tA "$@"
}

start_postgres() {
	run_d "$prefix-postgres" --network "$net" \
		-v "$tmp/pgdata:/var/lib/postgresql/data" \
		-v "$tmp/pgpass:/run/secrets/pgpass:ro" \
		-e POSTGRES_PASSWORD_FILE=/run/secrets/pgpass -e POSTGRES_DB=wbd \
		--health-cmd 'pg_isready -U postgres' --health-interval 1s --health-retries 30 \
		"$pg_image"
	wait_for "postgres to be healthy" 60 healthy "$prefix-postgres"
}

check_postgres() {
	echo "$pg_image"
	mkdir -p "$tmp/pgdata" # as wbd does: a host dir that root created
	printf '%s\n' "$password" >"$tmp/pgpass"
	chmod 0600 "$tmp/pgpass"

	step "first start: init from POSTGRES_PASSWORD_FILE (0600 root)"
	start_postgres
	logs_have "$prefix-postgres" 'init complete' || fail "no init in the logs"
	ok "healthy via pg_isready"

	step "docker exec psql -U postgres -c 'select 1'"
	[[ $(docker exec "$prefix-postgres" psql -U postgres -tA -c 'select 1') == 1 ]] || fail "select 1"
	ok

	step "psql from a second container, password auth"
	pg_client -c "create table kept(v text); insert into kept values ('hello')" >/dev/null ||
		fail "psql over the network"
	[[ $(pg_client -c 'show listen_addresses') == '*' ]] || fail "listen_addresses is not *"
	ok "listen_addresses=*, database wbd"

	step "wrong password is refused"
	if PGPASS=wrong pg_client -c 'select 1' >/dev/null 2>"$tmp/err"; then
		fail "a wrong password was accepted"
	fi
	grep -q 'password authentication failed' "$tmp/err" || fail "unexpected error: $(cat "$tmp/err")"
	ok "password authentication failed"

	step "data dir owned by postgres, PG_VERSION on the host"
	[[ -s $tmp/pgdata/PG_VERSION ]] || fail "no PG_VERSION on the host"
	local owner uid
	owner="$(stat -c %u "$tmp/pgdata")"
	uid="$(docker exec "$prefix-postgres" id -u postgres)"
	[[ $owner == "$uid" ]] || fail "owner $owner, want postgres ($uid)"
	ok "PG_VERSION $(cat "$tmp/pgdata/PG_VERSION"), uid $uid"

	step "docker stop (SIGINT, fast shutdown), rm, fresh start"
	[[ $(docker inspect -f '{{.Config.StopSignal}}' "$pg_image") == SIGINT ]] || fail "stop signal"
	local t0=$SECONDS
	docker stop "$prefix-postgres" >/dev/null
	local stop_s=$((SECONDS - t0))
	((stop_s < 8)) || fail "docker stop took ${stop_s}s"
	logs_after "$prefix-postgres" 'init complete' 'received fast shutdown request' || fail "no fast shutdown"
	docker rm -v "$prefix-postgres" >/dev/null
	start_postgres
	logs_have "$prefix-postgres" 'skipping initialization' || fail "no 'skipping initialization'"
	! logs_have "$prefix-postgres" 'initialising a new cluster' || fail "re-initialised"
	[[ $(pg_client -c 'select v from kept') == hello ]] || fail "data lost"
	ok "stopped in ${stop_s}s, no re-init, data kept"
}

redis_cli() { # ARGS...: redis-cli from another container, over the network
	docker run --rm --network "$net" "$redis_image" redis-cli -h "$prefix-redis" "$@"
}

check_redis() {
	echo "$redis_image"
	mkdir -p "$tmp/redis"
	step "redis-server --appendonly yes on a bind-mounted /data"
	run_d "$prefix-redis" --network "$net" -v "$tmp/redis:/data" "$redis_image" redis-server --appendonly yes
	wait_for "redis to answer" 30 docker exec "$prefix-redis" redis-cli PING
	ok

	step "SET from another container, KEYS via docker exec"
	[[ $(redis_cli SET cache:po_detail:abc hello) == OK ]] || fail "SET over the network"
	[[ $(docker exec "$prefix-redis" redis-cli KEYS 'cache:*') == cache:po_detail:abc ]] || fail "KEYS"
	[[ $(redis_cli CONFIG GET appendonly | tail -n 1) == yes ]] || fail "appendonly"
	[[ $(redis_cli CONFIG GET protected-mode | tail -n 1) == no ]] || fail "protected-mode"
	ok "appendonly yes, protected-mode no"

	step "stop, rm, fresh start on the same dir keeps the key"
	docker stop "$prefix-redis" >/dev/null
	docker rm -v "$prefix-redis" >/dev/null
	run_d "$prefix-redis" --network "$net" -v "$tmp/redis:/data" "$redis_image" redis-server --appendonly yes
	wait_for "redis to answer again" 30 docker exec "$prefix-redis" redis-cli PING
	[[ $(redis_cli GET cache:po_detail:abc) == hello ]] || fail "key lost"
	ok

	step "appendonly files on the host, owned by redis"
	local files owner uid
	files="$(cd "$tmp/redis" && find . -mindepth 1 | sort | tr '\n' ' ')"
	[[ -d $tmp/redis/appendonlydir ]] || fail "no appendonlydir on the host: $files"
	owner="$(stat -c %u "$tmp/redis/appendonlydir")"
	uid="$(docker exec "$prefix-redis" id -u redis)"
	[[ $owner == "$uid" ]] || fail "owner $owner, want redis ($uid)"
	ok "$files"
}

http_get() { # PORT PATH: a tiny HTTP/1.0 GET on 127.0.0.1, without curl
	local port="$1" path="$2" reply
	exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
	reply="$(cat <&3)"
	exec 3<&-
	printf '%s' "$reply"
}

check_admin() {
	echo "$admin_image"
	step "published on 127.0.0.1 only, GET / reaches postgres"
	run_d "$prefix-admin" --network "$net" -p 127.0.0.1::80 -e PGADMIN_TARGET_HOST="$prefix-postgres" "$admin_image"
	local port
	port="$(docker port "$prefix-admin" 80/tcp | head -n 1)"
	[[ $port == 127.0.0.1:* ]] || fail "published on $port"
	port="${port##*:}"
	wait_for "admin to answer" 20 http_get "$port" /misc/ping
	local page
	page="$(http_get "$port" /)"
	grep -q 'wbd admin stand-in' <<<"$page" || fail "page: $page"
	grep -q "postgres at $prefix-postgres:5432: reachable" <<<"$page" || fail "page: $page"
	ok "127.0.0.1:$port"

	step "docker stop is prompt (SIGTERM handled as PID 1)"
	local t0=$SECONDS
	docker stop "$prefix-admin" >/dev/null
	(((SECONDS - t0) < 5)) || fail "docker stop took $((SECONDS - t0))s"
	ok "$((SECONDS - t0))s"
}

check_broken() {
	echo "$broken_image"
	step "docker run -d ... redis-server --appendonly yes fails"
	created+=("$prefix-broken")
	if docker run -d --name "$prefix-broken" --network "$net" -v "$tmp/redis:/data" \
		"$broken_image" redis-server --appendonly yes >/dev/null 2>"$tmp/err"; then
		fail "it started"
	fi
	ok "$(grep -o 'no such file or directory' "$tmp/err" | head -n 1)"
}

# run_app NAME IMAGE: an app container on the test network, as wbd configures it.
run_app() {
	run_d "$1" --network "$net" -p 127.0.0.1::8000 \
		-e PGHOST="$prefix-postgres" -e PGDATABASE=wbd \
		-v "$tmp/pgpass:/run/secrets/pgpass:ro" -e POSTGRES_PASSWORD_FILE=/run/secrets/pgpass \
		-e REDIS_URL="redis://$prefix-redis:6379" "$2"
}

app_port() { # NAME: the app's published host port
	local port
	port="$(docker port "$1" 8000/tcp | head -n 1)"
	echo "${port##*:}"
}

health_is() { [[ $(docker inspect -f '{{.State.Health.Status}}' "$1") == "$2" ]]; }
exited() { [[ $(docker inspect -f '{{.State.Status}}' "$1") == exited ]]; }

# check_version NAME IMAGE VERSION: healthy, and GET /health names VERSION.
check_version() {
	local name="$1" image="$2" version="$3" port reply
	echo "$image"
	step "healthcheck turns healthy, GET /health says version $version"
	run_app "$name" "$image"
	wait_for "$image to be healthy" 60 healthy "$name"
	port="$(app_port "$name")"
	reply="$(http_get "$port" /health)"
	head -n 1 <<<"$reply" | grep -q ' 200 ' || fail "GET /health: $reply"
	grep -q "\"version\":\"$version\"" <<<"$reply" || fail "GET /health names no version $version: $reply"
	ok "GET /health 200 on 127.0.0.1:$port"
	step "GET /events streams server-sent events naming version $version"
	reply="$(http_get "$port" '/events?n=2&every=10ms')"
	grep -q 'text/event-stream' <<<"$reply" || fail "GET /events: $reply"
	[[ $(grep -c "^data: {\"i\":[12],\"n\":2,\"version\":\"$version\"}" <<<"$reply") == 2 ]] || fail "GET /events: $reply"
	ok "2 events"
}

check_app() {
	if ! docker image inspect "$app_image" >/dev/null 2>&1; then
		echo "$app_image"
		step "healthcheck /refapp healthcheck turns healthy"
		printf 'skipped (image not built)\n'
		return 0
	fi
	check_version "$prefix-app" "$app_image" 1
	check_version "$prefix-app2" "$app2_image" 2
}

check_nostart() {
	echo "$nostart_image"
	step "docker run -d fails: its entrypoint does not exist"
	created+=("$prefix-nostart")
	if docker run -d --name "$prefix-nostart" --network "$net" "$nostart_image" >/dev/null 2>"$tmp/err"; then
		fail "it started"
	fi
	grep -q 'no such file or directory' "$tmp/err" || fail "unexpected error: $(cat "$tmp/err")"
	[[ $(docker inspect -f '{{.State.Status}}' "$prefix-nostart") != running ]] || fail "it runs"
	ok "no such file or directory"
}

check_crash() {
	echo "$crash_image"
	step "serves, then exits with code 1 two seconds after starting"
	run_app "$prefix-crash" "$crash_image"
	wait_for "the crashing app to answer /health" 20 http_get "$(app_port "$prefix-crash")" /health
	wait_for "the crashing app to exit" 20 exited "$prefix-crash"
	local code started finished
	code="$(docker inspect -f '{{.State.ExitCode}}' "$prefix-crash")"
	((code == 1)) || fail "exit code $code, want 1"
	started="$(date -d "$(docker inspect -f '{{.State.StartedAt}}' "$prefix-crash")" +%s%N)"
	finished="$(date -d "$(docker inspect -f '{{.State.FinishedAt}}' "$prefix-crash")" +%s%N)"
	local ms=$(((finished - started) / 1000000))
	((ms >= 1500 && ms < 10000)) || fail "ran ${ms}ms, want about 2s"
	ok "exit 1 after ${ms}ms"

	step "docker stop before the crash stops the app gracefully"
	docker rm -f "$prefix-crash" >/dev/null
	run_app "$prefix-crash" "$crash_image"
	docker stop -t 5 "$prefix-crash" >/dev/null
	code="$(docker inspect -f '{{.State.ExitCode}}' "$prefix-crash")"
	((code == 0)) || fail "exit code $code after docker stop, want 0"
	ok "exit 0"
}

check_unhealthy() {
	echo "$unhealthy_image"
	step "runs and serves, but its healthcheck turns unhealthy"
	run_app "$prefix-unhealthy" "$unhealthy_image"
	wait_for "the app to turn unhealthy" 10 health_is "$prefix-unhealthy" unhealthy
	local port
	port="$(app_port "$prefix-unhealthy")"
	http_get "$port" /health | head -n 1 | grep -q ' 200 ' || fail "GET /health: $(http_get "$port" /health)"
	[[ $(docker inspect -f '{{.State.Status}}' "$prefix-unhealthy") == running ]] || fail "not running"
	ok "unhealthy, running, GET /health 200"
}

# check_misbehave IMAGE: healthy by its own healthcheck, yet the app's port
# answers nothing.
check_misbehave() {
	local image="$1" name="$prefix-${1//[\/:.]/-}"
	echo "$image"
	step "turns healthy, yet GET /health on its PORT gets no answer"
	run_app "$name" "$image"
	wait_for "$image to be healthy" 60 healthy "$name"
	local reply
	reply="$(http_get "$(app_port "$name")" /health || true)"
	[[ -z $reply ]] || fail "GET /health answered: $reply"
	ok "healthy, no answer"
}

main() {
	local t0=$SECONDS
	tmp="$(mktemp -d /tmp/wbd-imgtest.XXXXXX)"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	docker network create "$net" >/dev/null
	check_postgres
	check_redis
	check_admin
	check_broken
	check_app
	check_nostart
	check_crash
	check_unhealthy
	check_misbehave "$otherport_image"
	check_misbehave "$closeearly_image"
	printf '%d passed, 0 failed\n' "$checks"
	echo "check-images: all good in $((SECONDS - t0))s"
}

main "$@"
