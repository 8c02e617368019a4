#!/usr/bin/env bash
# Builds the docker compose CLI plugin from the same docker/compose module
# wbd links (through the Go module proxy), so that tests can check that
# `docker compose` accepts what wbd renders, and benchmarks can compare.
# Debian's docker.io ships no compose v2 plugin. Idempotent.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
plugin=/usr/local/lib/docker/cli-plugins/docker-compose
version=$(cd "$repo" && go list -m -f '{{.Version}}' github.com/docker/compose/v5)

if [ -x "$plugin" ] && [ "$(cat "$plugin.version" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "building docker compose plugin $version"
(
  cd "$work"
  go mod init compose-plugin >/dev/null 2>&1
  go get "github.com/docker/compose/v5/cmd@$version" >/dev/null 2>&1
  mkdir -p "$(dirname "$plugin")"
  go build -trimpath -ldflags "-s -X github.com/docker/compose/v5/internal.Version=$version" -o "$plugin" github.com/docker/compose/v5/cmd
)
echo "$version" >"$plugin.version"
