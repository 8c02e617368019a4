#!/bin/sh
# Entrypoint of wbd.local/redis: a stand-in for the official redis image's
# docker-entrypoint.sh, on Debian's redis-server.
#
# - `docker run IMAGE --appendonly yes` and `docker run IMAGE redis.conf` mean redis-server.
# - As root, it chowns the working directory (/data, usually a host bind mount) to redis
#   and re-executes itself as the redis user, like the official image.
# - Debian's redis-server keeps Redis's compiled-in protected mode, which refuses clients
#   from other containers when no password is set; the official image patches that
#   default off. Here `--protected-mode no` is inserted right after the optional config
#   file (unless that file sets protected-mode itself), so the caller's own arguments,
#   which come later, still win. Redis 7's default bind is "* -::*": no bind needed.
set -eu

# first arg is `-f` or `--some-option`, or ends in .conf
first="${1:-}"
if [ "${first#-}" != "$first" ] || [ "${first%.conf}" != "$first" ]; then
	set -- redis-server "$@"
fi

if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
	find . \! -user redis -exec chown redis '{}' +
	exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

case "${2:-}" in
-v | --version | -h | --help | --test-memory | --check-system) ;; # must come first
*) inject=yes ;;
esac
if [ "${1:-}" = redis-server ] && [ "${inject:-}" = yes ]; then
	shift
	if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
		conf=$1
		shift
		if [ -r "$conf" ] && grep -Eqi '^[[:space:]]*protected-mode[[:space:]]' "$conf"; then
			set -- redis-server "$conf" "$@" # the file decides, as with the official image
		else
			set -- redis-server "$conf" --protected-mode no "$@"
		fi
	else
		set -- redis-server --protected-mode no "$@"
	fi
	# Files redis writes stay private when the default umask is in force (as upstream).
	if [ "$(umask)" = 0022 ]; then
		umask 0077
	fi
fi

exec "$@"
