#!/usr/bin/env bash
# Entrypoint of wbd.local/postgres: a stand-in for the official postgres image's
# docker-entrypoint.sh, on Debian's PostgreSQL. It honours the same variables:
#
#   POSTGRES_USER              superuser name (default postgres)
#   POSTGRES_PASSWORD          its password, or
#   POSTGRES_PASSWORD_FILE     a file holding it (read as root, so a 0600 root file works)
#   POSTGRES_DB                database created at init (default: $POSTGRES_USER)
#   POSTGRES_INITDB_ARGS       extra initdb arguments (split on spaces)
#   POSTGRES_HOST_AUTH_METHOD  pg_hba method for network connections (default scram-sha-256)
#   PGDATA                     data directory (default /var/lib/postgresql/data)
#
# On an empty PGDATA it runs initdb, creates POSTGRES_DB, runs
# /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz, and stops; on a PGDATA that holds
# PG_VERSION it initialises nothing. Unlike the official image, the temporary server of
# the init phase listens on a private socket only, so `pg_isready` turns healthy only
# once the real server runs. Then it execs postgres in the foreground (as PID 1,
# so the image's STOPSIGNAL SIGINT gives a fast shutdown). Run as root, it chowns
# PGDATA and re-executes itself as the postgres user, like the official image.
set -Eeuo pipefail

log() { printf '%s [entrypoint] %s\n' "$(date -u '+%F %T UTC')" "$*"; }
fatal() { printf '%s [entrypoint] error: %s\n' "$(date -u '+%F %T UTC')" "$*" >&2; exit 1; }

# file_env VAR [DEFAULT]: sets VAR from VAR or from the file named by VAR_FILE.
file_env() {
	local var="$1" def="${2:-}" file_var="${1}_FILE" val
	if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then
		fatal "both $var and $file_var are set (but are exclusive)"
	fi
	val="$def"
	if [[ -n ${!var:-} ]]; then
		val="${!var}"
	elif [[ -n ${!file_var:-} ]]; then
		[[ -r ${!file_var} ]] || fatal "$file_var=${!file_var}: cannot read file"
		val="$(<"${!file_var}")"
	fi
	export "$var"="$val"
	unset "$file_var"
}

setup_env() {
	file_env POSTGRES_PASSWORD
	file_env POSTGRES_USER postgres
	file_env POSTGRES_DB "$POSTGRES_USER"
	file_env POSTGRES_INITDB_ARGS
	export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
	: "${POSTGRES_HOST_AUTH_METHOD:=}"
	DATABASE_ALREADY_EXISTS=
	if [[ -s $PGDATA/PG_VERSION ]]; then
		DATABASE_ALREADY_EXISTS=true
	fi
}

create_directories() {
	local uid
	uid="$(id -u)"
	mkdir -p "$PGDATA"
	chmod 00700 "$PGDATA" || :
	mkdir -p /var/run/postgresql || :
	chmod 03775 /var/run/postgresql || :
	if [[ $uid == 0 ]]; then
		# The data dir is usually a host bind mount that root created.
		find "$PGDATA" \! -user postgres -exec chown postgres:postgres '{}' +
		find /var/run/postgresql \! -user postgres -exec chown postgres:postgres '{}' +
	fi
}

verify_minimum_env() {
	if [[ -z $POSTGRES_PASSWORD && $POSTGRES_HOST_AUTH_METHOD != trust ]]; then
		fatal "database is uninitialized and superuser password is not specified.
  Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value for the
  superuser, e.g. \"-e POSTGRES_PASSWORD=password\" on \"docker run\", or set
  POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password."
	fi
}

init_database_dir() {
	local -a extra=()
	if [[ -n $POSTGRES_INITDB_ARGS ]]; then
		read -r -a extra <<<"$POSTGRES_INITDB_ARGS"
	fi
	# Local (socket) connections stay "trust", as in the official image, so that
	# `docker exec ... psql -U postgres` and `pg_isready` work without a password.
	initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
		"${extra[@]}"
}

setup_hba_conf() {
	local method="${POSTGRES_HOST_AUTH_METHOD:-}"
	if [[ -z $method ]]; then
		method="$(postgres -C password_encryption)" # scram-sha-256 since PostgreSQL 14
	fi
	{
		printf '\n'
		if [[ $method == trust ]]; then
			printf '# warning: trust is enabled for all connections\n'
		fi
		printf 'host all all all %s\n' "$method"
	} >>"$PGDATA/pg_hba.conf"
}

psql_init() {
	psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc "$@"
}

temp_server_start() {
	# While initialising: no TCP, and a private socket directory, so neither clients
	# nor a `pg_isready` healthcheck see a server that is about to stop again.
	INIT_SOCKET_DIR="$(mktemp -d /tmp/pg-init.XXXXXX)"
	export PGHOST="$INIT_SOCKET_DIR"
	PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -w \
		-o "-c listen_addresses='' -c unix_socket_directories='$INIT_SOCKET_DIR' -p 5432" start
}

temp_server_stop() {
	PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -m fast -w stop
	unset PGHOST
	rmdir "$INIT_SOCKET_DIR" || :
}

setup_db() {
	local exists
	exists="$(psql_init --dbname postgres --set db="$POSTGRES_DB" --tuples-only <<-'EOSQL'
		SELECT 1 FROM pg_database WHERE datname = :'db';
	EOSQL
	)"
	if [[ -z ${exists// /} ]]; then
		psql_init --dbname postgres --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db";
		EOSQL
		log "created database $POSTGRES_DB"
	fi
}

process_init_files() {
	local f
	for f in "$@"; do
		case "$f" in
		*.sh)
			if [[ -x $f ]]; then
				log "running $f"
				"$f"
			else
				log "sourcing $f"
				# shellcheck disable=SC1090
				. "$f"
			fi
			;;
		*.sql)
			log "running $f"
			psql_init --dbname "$POSTGRES_DB" -f "$f"
			;;
		*.sql.gz)
			log "running $f"
			gunzip -c "$f" | psql_init --dbname "$POSTGRES_DB"
			;;
		*) log "ignoring $f" ;;
		esac
	done
}

# wants_help: postgres options that only print and exit need no setup.
wants_help() {
	local arg
	for arg in "$@"; do
		case "$arg" in
		-'?' | --help | --describe-config | -V | --version) return 0 ;;
		esac
	done
	return 1
}

main() {
	if [[ ${1:-} == -* ]]; then
		set -- postgres "$@"
	fi
	if [[ ${1:-} == postgres ]] && ! wants_help "$@"; then
		setup_env
		create_directories
		if [[ $(id -u) == 0 ]]; then
			# Password file read above as root; the unprivileged run gets the value.
			exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
		fi
		if [[ -z $DATABASE_ALREADY_EXISTS ]]; then
			verify_minimum_env
			log "initialising a new cluster in $PGDATA"
			init_database_dir
			setup_hba_conf
			export PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}"
			temp_server_start
			setup_db
			shopt -s nullglob
			process_init_files /docker-entrypoint-initdb.d/*
			shopt -u nullglob
			temp_server_stop
			unset PGPASSWORD
			log "init complete; ready for start up"
		else
			log "PostgreSQL database directory appears to contain a database; skipping initialization"
		fi
		unset POSTGRES_PASSWORD
	fi
	exec "$@"
}

main "$@"
