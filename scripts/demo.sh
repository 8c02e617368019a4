#!/usr/bin/env bash
# The README's first command: run one live wb-fastr instance, "demo", on the
# local Docker engine with wbd, from nothing. As root on a fresh Debian it
# installs and starts the engine, builds local stand-in images (no registry is
# needed), writes a demo instances file under $WBD_DEMO_ROOT and applies it.
#
#   scripts/demo.sh        bring the demo up (again: converges, changes nothing)
#   scripts/demo.sh down   take it down; its data stays in $WBD_DEMO_ROOT/demo
set -euo pipefail
cd "$(dirname "$0")/.."

root="${WBD_DEMO_ROOT:-/tmp/wbd-demo}"
port="${WBD_DEMO_PORT:-18080}"
admin_port="${WBD_DEMO_ADMIN_PORT:-18081}"
file="$root/instances.yaml"
wbd=bin/wbd

step() { printf '\n== %s\n' "$*"; }

if [ "${1:-}" = down ]; then
  go build -o "$wbd" ./cmd/wbd
  "$wbd" -f "$file" down demo
  echo "demo is down; its data is still in $root/demo"
  exit 0
fi

step "docker engine"
scripts/ensure-engine.sh

step "stand-in images (built locally, no registry)"
scripts/build-images.sh

step "wbd"
go build -o "$wbd" ./cmd/wbd
"$wbd" version

step "instances file: $file"
mkdir -p "$root"
cat >"$file" <<YAML
version: 1
root: $root
defaults:
  images:
    app: wbd.local/app:1
    postgres: wbd.local/postgres:15
    redis: wbd.local/redis:7
    admin: wbd.local/admin:1
instances:
  demo:
    port: $port
    admin: {port: $admin_port}
    env:
      REFAPP_COMPUTE_DELAY: 2s
YAML
cat "$file"
"$wbd" -f "$file" validate

step "wbd apply demo"
"$wbd" -f "$file" apply demo

step "wbd status demo"
"$wbd" -f "$file" status demo

get() { curl -fsS "http://127.0.0.1:$port/datasets/hmis" | sed 's/"data":{[^}]*},//'; }

step "the app: the first request computes from postgres, the next comes from redis"
# A demo run before this one left its cache in redis/: start cold.
"$wbd" -f "$file" cache flush demo
get
sleep 0.5 # the app stores the result just after it answers
get

step "wbd restart demo: the cache survives, so the first request after it is warm"
"$wbd" -f "$file" restart demo
get

cat <<MSG

The demo instance runs:
  app     http://127.0.0.1:$port/datasets/hmis   (health: /health)
  admin   http://127.0.0.1:$admin_port/
  redis   docker exec demo-redis redis-cli KEYS "cache:*"
  data    $root/demo/{databases,redis,sandbox,exports,assets}

Try:  $wbd -f $file plan demo         # after editing $file, then apply demo
      $wbd -f $file cache stats demo
Down: make demo-down                  # data stays on disk
MSG
