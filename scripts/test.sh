#!/usr/bin/env bash
# Runs every test of wbd, after setting up what they need on this machine: the
# second command of the README, and what CI runs. As root on a fresh Debian it
# installs redis-server, debootstrap and docker.io, starts dockerd, builds the
# stand-in images and the docker compose plugin.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

# Tests that need a real engine or redis-server fail, rather than skip,
# when this is set: `make test` means every test.
export CI="${CI:-true}"

step "packages"
need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v debootstrap >/dev/null || need+=(debootstrap)
# The reference app's tests run a real Postgres from Debian's packages.
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || need+=(postgresql)
# e2e reaches the local engine through ssh://, served by an sshd of its own.
command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
# The status page is tested in a real headless browser.
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing ${need[*]}: run as root, or: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  echo "installing ${need[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
# The test suites start their own redis-server; the Debian service is not needed.
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), postgres $(ls /usr/lib/postgresql), debootstrap ok"

step "docker engine"
scripts/ensure-engine.sh

step "stand-in images"
scripts/build-images.sh

step "docker compose plugin"
scripts/compose-plugin.sh
docker compose version

# cache/ is a module of its own, so that an app can import it without wbd's
# dependencies; the root's ./... does not reach into it.
cache_modules=(cache cache/cacheprom)

step "go vet and gofmt"
go vet ./...
for m in "${cache_modules[@]}"; do (cd "$m" && go vet ./...); done
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi

step "go test"
go test -timeout 40m -count=1 ./...

step "the cache module on its own, and under the race detector"
# It must build from its own go.mod: no Docker, compose, moby or otel module.
if (cd cache && go list -m all) | grep -E 'docker|moby|compose-spec|containerd|opentelemetry'; then
  echo "cache/go.mod pulls in the tool's dependencies above" >&2
  exit 1
fi
for m in "${cache_modules[@]}"; do
  (cd "$m" && go test -timeout 20m -count=1 ./... && go test -timeout 20m -count=1 -race ./...)
done

step "fuzz the instances.yaml parser and what render makes of it"
go test ./spec -run '^$' -fuzz FuzzParse -fuzztime 20s -fuzzminimizetime 5s
go test ./render -run '^$' -fuzz FuzzRenderExact -fuzztime 20s -fuzzminimizetime 5s

echo
echo "all tests passed"
