# bench/lib.sh: what the bench scripts share; sourced, never run.

# port_free PORT: nothing answers on 127.0.0.1:PORT.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port: a free port in 32000-35999 (below the ephemeral range), tried
# from a random one up.
free_port() {
	local p=$((32000 + RANDOM % 4000))
	while ! port_free "$p"; do p=$((p + 1)); done
	echo "$p"
}

# median VALUES...: their median, printed with MEDIAN_FORMAT (%g); "n/a"
# without any.
median() {
	[ $# -gt 0 ] || { echo n/a; return; }
	printf '%s\n' "$@" | sort -g | awk -v f="${MEDIAN_FORMAT:-%g}" '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf f, m}'
}
