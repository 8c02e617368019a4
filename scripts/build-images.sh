#!/usr/bin/env bash
# build-images.sh: build wbd's stand-in images locally, with no container registry.
#
#   scripts/build-images.sh [--force] [--refresh-rootfs] [IMAGE...]
#
# IMAGE is any of: postgres redis admin app app2 app-nostart app-crash app-unhealthy
# app-otherport app-closeearly redis-broken (default: all).
#
#   wbd.local/postgres:15      Debian's PostgreSQL, official-image entrypoint variables
#   wbd.local/redis:7          Debian's redis-server, reachable from other containers
#   wbd.local/admin:1          pgAdmin stand-in: static Go server on :80 (images/admin)
#   wbd.local/app:1            the reference app, static Go (./examples/refapp), version 1
#   wbd.local/app:2            the same app built as version 2 (GET /health says which)
#   wbd.local/app-nostart:1    app:1 whose container cannot start (no entrypoint file)
#   wbd.local/app-crash:1      app:1 that exits 1 two seconds after starting
#   wbd.local/app-unhealthy:1  app:1 that serves but whose healthcheck always fails
#   wbd.local/app-otherport:1  app:1 on PORT+1, healthy, nothing on PORT
#   wbd.local/app-closeearly:1 app:1 on PORT+1, healthy, closing every connection on PORT
#   wbd.local/redis-broken:1   a redis image whose container cannot start
#
# The misbehaving app images are thin layers on wbd.local/app:1 (built first
# when selected, else it must exist).
#
# postgres and redis are built FROM one base, wbd.local/standin-base:bookworm, a
# `debootstrap --variant=minbase bookworm` rootfs with both servers installed, imported
# with `docker import`. Its tarball is cached in /var/cache/wbd-images/ (WBD_IMAGE_CACHE)
# so later runs skip debootstrap. Every image carries the label io.wbd.standin.hash,
# a hash of its inputs, and is built only when that hash changed.
#
#   --force            rebuild every selected image (the cached rootfs is reused)
#   --refresh-rootfs   debootstrap again (e.g. for Debian security updates), then rebuild
#
# Environment: WBD_IMAGE_CACHE, WBD_DEBIAN_MIRROR, WBD_DEBIAN_SECURITY_MIRROR
# (default: the URIs in /etc/apt/sources.list{,.d/*}, else deb.debian.org).
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
repo_root="$(cd "$script_dir/.." && pwd -P)"
readonly script_dir repo_root
readonly images_dir="$repo_root/images"
readonly cache_dir="${WBD_IMAGE_CACHE:-/var/cache/wbd-images}"
readonly suite=bookworm
readonly label_hash=io.wbd.standin.hash
readonly base_image="wbd.local/standin-base:$suite"
readonly all_images=(postgres redis admin app app2 app-nostart app-crash app-unhealthy app-otherport app-closeearly redis-broken)

force=false
refresh_rootfs=false
work=""
rootfs_build_dir=""
failures=()

say() { printf '%s\n' "$*"; }
warn() { printf 'build-images: warning: %s\n' "$*" >&2; }
die() { printf 'build-images: error: %s\n' "$*" >&2; exit 1; }

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

now_ms() { local t="${EPOCHREALTIME/./}"; echo $((t / 1000)); }

# report IMAGE STATUS START_MS DETAIL: the one progress line per image.
report() {
	local ms=$(($(now_ms) - $3))
	printf '%-34s %-10s %4d.%01ds  %s\n' "$1" "$2" $((ms / 1000)) $((ms % 1000 / 100)) "$4"
}

image_label() { # IMAGE LABEL
	docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null | sed 's/^<no value>$//' || true
}

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

image_size() { # human size of IMAGE
	local bytes
	bytes="$(docker image inspect --format '{{.Size}}' "$1" 2>/dev/null || echo 0)"
	awk -v b="$bytes" 'BEGIN { if (b >= 1e6) printf "%.0f MB", b / 1e6; else printf "%.0f kB", b / 1e3 }'
}

sha() { sha256sum | cut -d' ' -f1; }

# hash_dir DIR: hash of the names and contents of the files under DIR.
hash_dir() {
	local dir="$1" f
	(
		cd "$dir"
		find . -type f -print | LC_ALL=C sort | while IFS= read -r f; do
			printf '%s %s\n' "$f" "$(sha <"$f")"
		done
	) | sha
}

# remove_replaced OLD_ID NEW_IMAGE: drop the image a rebuild replaced when nothing
# else uses it (plain `docker image rm`: it refuses if a container or tag needs it).
remove_replaced() {
	local old="$1" new
	new="$(image_id "$2")"
	if [[ -n $old && $old != "$new" ]]; then
		docker image rm "$old" >/dev/null 2>&1 || true
	fi
}

# docker_build IMAGE HASH CONTEXT [BUILD_ARG...]: legacy builder (no BuildKit, no pull).
# The image IMAGE named before is removed once replaced.
docker_build() {
	local image="$1" hash="$2" ctx="$3" log old
	shift 3
	old="$(image_id "$image")"
	local -a args=()
	local a
	for a in "$@"; do args+=(--build-arg "$a"); done
	if $force; then
		args+=(--no-cache)
	fi
	log="$work/build-${image//[\/:]/_}.log"
	if ! DOCKER_BUILDKIT=0 docker build --force-rm --pull=false \
		--label "$label_hash=$hash" --label "io.wbd.standin=$image" \
		"${args[@]}" -t "$image" "$ctx" >"$log" 2>&1; then
		sed 's/^/    /' "$log" >&2
		return 1
	fi
	remove_replaced "$old" "$image"
}

# go_build OUT PKG [LDFLAGS]: a static linux binary for the engine's architecture.
go_build() {
	local out="$1" pkg="$2" ldflags="-s${3:+ $3}" arch
	command -v go >/dev/null 2>&1 || die "go is not on PATH (needed to build $pkg)"
	arch="$(docker version --format '{{.Server.Arch}}')"
	(cd "$repo_root" && CGO_ENABLED=0 GOOS=linux GOARCH="$arch" \
		go build -trimpath -buildvcs=false -ldflags="$ldflags" -o "$out" "$pkg")
}

# up_to_date IMAGE HASH STARTED_MS: true, and reported, when IMAGE exists
# with that hash and --force is off.
up_to_date() {
	! $force && [[ $(image_label "$1" "$label_hash") == "$2" ]] || return 1
	report "$1" up-to-date "$3" "$(image_size "$1")"
}

#
# The shared Debian rootfs and its base image.
#

host_arch() { dpkg --print-architecture 2>/dev/null || docker version --format '{{.Server.Arch}}'; }

# apt_uris: "URI SUITE" pairs from the host's apt sources (one-line and deb822 forms).
apt_uris() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } print $i, $(i + 1) }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		awk '
			function flush() { if (types ~ /(^| )deb( |$)/ && enabled != "no") { n = split(uris, u, " "); m = split(suites, s, " "); for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) print u[i], s[j] } types = uris = suites = enabled = "" }
			/^[[:space:]]*#/ { next }
			/^[[:space:]]*$/ { flush(); next }
			{ key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ /, ""); if (key == "types") types = $0; else if (key == "uris") uris = $0; else if (key == "suites") suites = $0; else if (key == "enabled") enabled = tolower($0) }
			END { flush() }' "$f"
	done
}

debian_mirror() {
	local m
	m="${WBD_DEBIAN_MIRROR:-$(apt_uris | awk -v s="$suite" '$2 == s { print $1; exit }')}"
	echo "${m:-http://deb.debian.org/debian}"
}

debian_security_mirror() {
	local m
	m="${WBD_DEBIAN_SECURITY_MIRROR:-$(apt_uris | awk -v s="$suite-security" '$2 == s { print $1; exit }')}"
	echo "${m:-http://deb.debian.org/debian-security}"
}

rootfs_packages() { sed 's/#.*//' "$images_dir/rootfs/packages" | xargs; }

# rootfs_key: hash of everything that shapes the rootfs (suite, arch, packages, recipe).
rootfs_key() {
	{
		echo "$suite $(host_arch)"
		rootfs_packages
		declare -f make_rootfs install_rootfs_packages strip_rootfs
	} | sha
}

require_root() {
	((EUID == 0)) || die "$1 needs root (debootstrap, chroot): run as root, e.g. sudo $0"
}

ensure_debootstrap() {
	command -v debootstrap >/dev/null 2>&1 && return 0
	say "  installing debootstrap with apt-get"
	{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap; } \
		>"$work/apt-debootstrap.log" 2>&1 || {
		tail -n 20 "$work/apt-debootstrap.log" >&2
		die "apt-get install debootstrap failed"
	}
}

in_root() { # ROOT CMD...: run CMD in the chroot with a clean environment
	local root="$1"
	shift
	chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

install_rootfs_packages() { # ROOT
	local root="$1" apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
	in_root "$root" apt-get update
	in_root "$root" apt-get "${apt_opts[@]}" dist-upgrade
	# As the official postgres image: no cluster made by the package (initdb runs at start).
	in_root "$root" apt-get "${apt_opts[@]}" install postgresql-common
	sed -ri 's/^#?\s*(create_main_cluster)\s*=.*$/\1 = false/' "$root/etc/postgresql-common/createcluster.conf"
	# shellcheck disable=SC2046
	in_root "$root" apt-get "${apt_opts[@]}" install $(rootfs_packages)
}

strip_rootfs() { # ROOT
	local root="$1"
	in_root "$root" apt-get clean
	rm -f "$root/usr/sbin/policy-rc.d"
	rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
		"$root"/usr/share/man/* "$root"/usr/share/info/* \
		"$root"/usr/share/lintian "$root"/usr/share/linda "$root"/var/lib/dpkg/*-old \
		"$root"/tmp/* "$root"/var/tmp/* "$root"/root/.cache
	find "$root/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
	find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
	find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
	find "$root/var/log" -type f -exec truncate -s 0 {} +
	: >"$root/etc/resolv.conf"
	: >"$root/etc/hostname"
	rm -f "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"
}

# make_rootfs TAR ENVFILE: debootstrap, install, strip, tar.
make_rootfs() {
	local tar="$1" envfile="$2" root mirror security arch t
	arch="$(host_arch)"
	mirror="$(debian_mirror)"
	security="$(debian_security_mirror)"
	rootfs_build_dir="$(mktemp -d "$cache_dir/rootfs-build.XXXXXX")"
	root="$rootfs_build_dir/root"

	t="$(now_ms)"
	if ! debootstrap --variant=minbase --arch="$arch" "$suite" "$root" "$mirror" \
		>"$rootfs_build_dir/debootstrap.log" 2>&1; then
		tail -n 30 "$rootfs_build_dir/debootstrap.log" >&2
		die "debootstrap $suite from $mirror failed"
	fi
	report "  rootfs: debootstrap" "done" "$t" "$suite minbase from $mirror"

	t="$(now_ms)"
	rm -f "$root/etc/apt/sources.list"
	cat >"$root/etc/apt/sources.list.d/debian.sources" <<-EOF
		Types: deb
		URIs: $mirror
		Suites: $suite $suite-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

		Types: deb
		URIs: $security
		Suites: $suite-security
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	# dpkg never unpacks these, so the package database stays consistent and a later
	# apt-get in a derived image works. PostgreSQL's JIT is the only user of LLVM and Z3
	# (~130 MB); without its provider (llvmjit.so) PostgreSQL runs without JIT, silently.
	cat >"$root/etc/dpkg/dpkg.cfg.d/wbd-exclude" <<-'EOF'
		path-exclude /usr/share/doc/*
		path-include /usr/share/doc/*/copyright
		path-exclude /usr/share/man/*
		path-exclude /usr/share/info/*
		path-exclude /usr/share/locale/*
		path-include /usr/share/locale/locale.alias
		path-exclude /usr/lib/*/libLLVM-*.so*
		path-exclude /usr/lib/*/libz3.so*
		path-exclude /usr/lib/postgresql/*/lib/llvmjit*
		path-exclude /usr/lib/postgresql/*/lib/bitcode/*
	EOF
	printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
		>"$root/etc/apt/apt.conf.d/wbd-norecommends"
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	mount -t proc proc "$root/proc"
	if ! install_rootfs_packages "$root" >"$rootfs_build_dir/apt.log" 2>&1; then
		tail -n 30 "$rootfs_build_dir/apt.log" >&2
		die "installing $(rootfs_packages) in the rootfs failed"
	fi
	strip_rootfs "$root"
	umount "$root/proc"
	report "  rootfs: packages" "done" "$t" "$(rootfs_packages) (+ $suite-security updates)"

	t="$(now_ms)"
	local pg_major
	pg_major="$(find "$root/usr/lib/postgresql" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n 1)"
	{
		echo "PG_MAJOR=$pg_major"
		echo "PG_VERSION=$(in_root "$root" dpkg-query -W -f "\${Version}" "postgresql-$pg_major")"
		echo "REDIS_VERSION=$(in_root "$root" dpkg-query -W -f "\${Version}" redis-server)"
	} >"$tar.env.tmp"
	tar --numeric-owner --xattrs -C "$root" \
		--exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' \
		-cf "$tar.tmp" .
	mv "$tar.env.tmp" "$envfile"
	mv "$tar.tmp" "$tar"
	cleanup_rootfs_build
	report "  rootfs: tarball" "done" "$t" "$tar ($(du -m "$tar" | cut -f1) MB)"
}

# cleanup_rootfs_build removes the build tree, but only once nothing is mounted in it.
cleanup_rootfs_build() {
	local dir="$rootfs_build_dir" m
	[[ -n $dir && -d $dir ]] || return 0
	awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while IFS= read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	if awk -v d="$dir/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
		warn "left $dir in place: something is still mounted in it"
	else
		rm -rf "$dir"
	fi
	rootfs_build_dir=""
	rm -f "$cache_dir"/*.tmp
}

# ensure_base: the imported rootfs image, from the cached tarball or a new debootstrap.
ensure_base() {
	local key t tar envfile old
	key="$(rootfs_key)"
	if ! $refresh_rootfs && [[ $(image_label "$base_image" "$label_hash") == "$key" ]]; then
		return 0
	fi
	t="$(now_ms)"
	tar="$cache_dir/rootfs-$suite-$(host_arch)-${key:0:16}.tar"
	envfile="$tar.env"
	mkdir -p "$cache_dir" 2>/dev/null || true
	if [[ -w $cache_dir ]]; then
		exec 9>"$cache_dir/.lock"
		flock 9 # one rootfs build at a time; a second run then finds the tarball
	fi
	if $refresh_rootfs || [[ ! -s $tar || ! -s $envfile ]]; then
		require_root "building the Debian rootfs"
		ensure_debootstrap
		make_rootfs "$tar" "$envfile"
		find "$cache_dir" -maxdepth 1 -name "rootfs-$suite-*.tar*" \
			! -name "$(basename "$tar")" ! -name "$(basename "$envfile")" -delete
		refresh_rootfs=false # once per run
	fi
	local PG_MAJOR PG_VERSION REDIS_VERSION
	# shellcheck disable=SC1090
	. "$envfile"
	old="$(image_id "$base_image")"
	docker import \
		--change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		--change "ENV LANG=C.UTF-8" \
		--change 'CMD ["bash"]' \
		--change "LABEL $label_hash=$key" \
		--change "LABEL io.wbd.standin=$base_image" \
		--change "LABEL io.wbd.standin.pg-major=$PG_MAJOR" \
		--change "LABEL io.wbd.standin.pg-version=$PG_VERSION" \
		--change "LABEL io.wbd.standin.redis-version=$REDIS_VERSION" \
		--message "debootstrap --variant=minbase $suite + $(rootfs_packages)" \
		"$tar" "$base_image" >/dev/null
	exec 9>&- # unlock
	remove_replaced "$old" "$base_image"
	report "$base_image" built "$t" "$(image_size "$base_image"), from $(basename "$tar")"
}

# build_on_base NAME IMAGE: postgres and redis, thin images FROM the base.
build_on_base() {
	local name="$1" image="$2" t hash base_id pg_major ctx
	t="$(now_ms)"
	# The base's image ID, not only its rootfs hash: a re-import gives a new ID.
	base_id="$(image_id "$base_image")"
	pg_major="$(image_label "$base_image" io.wbd.standin.pg-major)"
	hash="$({ echo "$base_id"; hash_dir "$images_dir/$name"; } | sha)"
	if up_to_date "$image" "$hash" "$t"; then
		return 0
	fi
	if [[ $name == postgres && $pg_major != 15 ]]; then
		warn "Debian's PostgreSQL is $pg_major, not 15: $image is named for 15"
	fi
	ctx="$work/ctx-$name"
	cp -a "$images_dir/$name" "$ctx"
	chmod 0755 "$ctx/docker-entrypoint.sh"
	docker_build "$image" "$hash" "$ctx" "BASE_IMAGE=$base_image" "PG_MAJOR=$pg_major" || return 1
	local version
	case "$name" in
	postgres) version="PostgreSQL $(image_label "$base_image" io.wbd.standin.pg-version)" ;;
	redis) version="redis-server $(image_label "$base_image" io.wbd.standin.redis-version)" ;;
	esac
	report "$image" built "$t" "$(image_size "$image"), $version"
}

# build_go_image NAME IMAGE PKG BINARY [LDFLAGS]: a static Go binary in a scratch image,
# from the Dockerfile in images/NAME.
build_go_image() {
	local name="$1" image="$2" pkg="$3" bin="$4" ldflags="${5:-}" t hash ctx
	t="$(now_ms)"
	ctx="$work/ctx-${image//[\/:]/_}"
	mkdir -p "$ctx"
	cp "$images_dir/$name/Dockerfile" "$ctx/Dockerfile"
	go_build "$ctx/$bin" "$pkg" "$ldflags" || return 1
	hash="$(hash_dir "$ctx")"
	if up_to_date "$image" "$hash" "$t"; then
		return 0
	fi
	docker_build "$image" "$hash" "$ctx" || return 1
	report "$image" built "$t" "$(image_size "$image"), $pkg${ldflags:+ ($ldflags)}"
}

# build_on_app NAME IMAGE WHAT [PKG BINARY]: a thin image FROM wbd.local/app:1 with
# the files of images/NAME, and PKG's static binary when given.
build_on_app() {
	local name="$1" image="$2" what="$3" pkg="${4:-}" bin="${5:-}" t hash app_id ctx
	t="$(now_ms)"
	app_id="$(image_id "$app_image")"
	[[ -n $app_id ]] || die "$image is built on $app_image, which does not exist: build app too"
	ctx="$work/ctx-$name"
	cp -a "$images_dir/$name" "$ctx"
	if [[ -n $pkg ]]; then
		find "$ctx" -name '*.go' -delete
		go_build "$ctx/$bin" "$pkg" || return 1
	fi
	# app:1's image ID, so that a new app:1 rebuilds the images on it.
	hash="$({ echo "$app_id"; hash_dir "$ctx"; } | sha)"
	if up_to_date "$image" "$hash" "$t"; then
		return 0
	fi
	docker_build "$image" "$hash" "$ctx" "APP_IMAGE=$app_image" || return 1
	report "$image" built "$t" "$(image_size "$image"), $what"
}

build_redis_broken() {
	local image=wbd.local/redis-broken:1 t hash
	t="$(now_ms)"
	hash="$(hash_dir "$images_dir/redis-broken")"
	if up_to_date "$image" "$hash" "$t"; then
		return 0
	fi
	docker_build "$image" "$hash" "$images_dir/redis-broken" || return 1
	report "$image" built "$t" "$(image_size "$image"), cannot start by design"
}

readonly app_image=wbd.local/app:1

# app:1 and app:2 are one Dockerfile and one package, linked with another version.
build_app() { # VERSION
	build_go_image app "wbd.local/app:$1" ./examples/refapp refapp "-X main.version=$1"
}

image_name() { # NAME
	case "$1" in
	postgres) echo wbd.local/postgres:15 ;;
	redis) echo wbd.local/redis:7 ;;
	admin) echo wbd.local/admin:1 ;;
	app) echo wbd.local/app:1 ;;
	app2) echo wbd.local/app:2 ;;
	app-nostart | app-crash | app-unhealthy | app-otherport | app-closeearly) echo "wbd.local/$1:1" ;;
	redis-broken) echo wbd.local/redis-broken:1 ;;
	esac
}

build() { # NAME
	case "$1" in
	postgres) build_on_base postgres wbd.local/postgres:15 ;;
	redis) build_on_base redis wbd.local/redis:7 ;;
	admin) build_go_image admin wbd.local/admin:1 ./images/admin admin ;;
	app) build_app 1 ;;
	app2) build_app 2 ;;
	app-nostart) build_on_app app-nostart wbd.local/app-nostart:1 "cannot start by design" ;;
	app-crash) build_on_app app-crash wbd.local/app-crash:1 "exits 1 after 2s by design" ./images/app-crash crash ;;
	app-unhealthy) build_on_app app-unhealthy wbd.local/app-unhealthy:1 "never healthy by design" ;;
	app-otherport) build_on_app app-otherport wbd.local/app-otherport:1 "listens on another port by design" ./images/misbehave misbehave ;;
	app-closeearly) build_on_app app-closeearly wbd.local/app-closeearly:1 "closes connections early by design" ./images/misbehave misbehave ;;
	redis-broken) build_redis_broken ;;
	*) die "unknown image $1 (want one of: ${all_images[*]})" ;;
	esac
}

cleanup() {
	cleanup_rootfs_build
	[[ -n $work ]] && rm -rf "$work"
}

main() {
	local -a selected=()
	local arg name t0
	for arg in "$@"; do
		case "$arg" in
		--force) force=true ;;
		--refresh-rootfs) refresh_rootfs=true force=true ;;
		-h | --help) usage; return 0 ;;
		-*) die "unknown flag $arg (see --help)" ;;
		*) selected+=("$arg") ;;
		esac
	done
	((${#selected[@]})) || selected=("${all_images[@]}")
	for name in "${selected[@]}"; do
		[[ " ${all_images[*]} " == *" $name "* ]] || die "unknown image $name (want one of: ${all_images[*]})"
	done

	"$script_dir/ensure-engine.sh"
	work="$(mktemp -d "${TMPDIR:-/tmp}/wbd-build-images.XXXXXX")"
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	t0="$(now_ms)"
	if [[ " ${selected[*]} " == *" postgres "* || " ${selected[*]} " == *" redis "* ]]; then
		ensure_base
	fi
	local rc t
	for name in "${selected[@]}"; do
		t="$(now_ms)"
		# A subshell outside any condition, so that errexit holds inside each build.
		set +e
		(
			set -e
			build "$name"
		)
		rc=$?
		set -e
		if ((rc != 0)); then
			report "$(image_name "$name")" FAILED "$t" "see the output above"
			failures+=("$name")
		fi
	done
	# Old bases and thin images that rebuilds left untagged, if nothing uses them.
	docker image ls --quiet --filter dangling=true --filter "label=$label_hash" |
		xargs -r docker image rm >/dev/null 2>&1 || true
	if ((${#failures[@]})); then
		report "build-images" FAILED "$t0" "${failures[*]}"
		exit 1
	fi
	report "build-images" "done" "$t0" "${selected[*]}"
}

main "$@"
