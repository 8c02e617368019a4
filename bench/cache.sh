#!/usr/bin/env bash
# bench/cache.sh: the cache's figures against their peers, in one run.
#
#   bench/cache.sh [-c COUNT]
#
#   -c COUNT  runs of each benchmark; the median is reported (default 3)
#
# Runs, one package after the other so they do not share the CPU,
#   - cache's BenchmarkHit (in the cache module): a 1 KB and a 1 MB hit of
#     GetOrLoad against a raw GETEX plus json.Unmarshal of the same bytes,
#   - the reference app's BenchmarkCachedRequest: GET /datasets/hmis answered
#     from the cache, in process, against the cache hit it makes, with its
#     versions kept by notifications (as it runs) and queried per request
#     (as when its notifications are down, and as it was before them),
# and prints one markdown table with each ratio next to its goal and the
# allocations per op. Each ratio comes from an Interleaved benchmark, both
# sides in turn in every op, so a machine busy with other work slows both
# alike. Needs redis-server and Postgres's initdb/postgres (as the tests
# do); progress goes to stderr, the table to stdout. Figures, not
# assertions: nothing fails because a number moved.
set -euo pipefail

count=3
while getopts "c:" opt; do
	case $opt in
	c) count=$OPTARG ;;
	*) sed -n '2,20p' "$0" >&2; exit 2 ;;
	esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d /tmp/wbd-cache-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
say() { printf 'bench/cache: %s\n' "$*" >&2; }

load() { uptime | sed 's/.*load average/load average/'; }
bench() { # OUT DIR PKG BENCH
	if ! (cd "$2" && go test -run '^$' -bench "$4" -benchmem -count "$count" "$3") >"$1"; then
		cat "$1" >&2
		exit 1
	fi
}
say "cache: BenchmarkHit, $count runs ($(load))"
bench "$out/cache.txt" "$repo/cache" . '^BenchmarkHit$'
say "refapp: BenchmarkCachedRequest, $count runs ($(load))"
bench "$out/refapp.txt" "$repo" ./examples/refapp '^BenchmarkCachedRequest$'
say "done ($(load))"

# median FILE BENCH UNIT: the median of the value before UNIT on BENCH's lines.
median() {
	grep -E "^Benchmark$2-[0-9]+ " "$1" | awk -v unit="$3" '{
		for (i = 2; i < NF; i++) if ($(i + 1) == unit) print $i
	}' | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "-"; exit }
		print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	}'
}

us() { awk -v ns="$1" 'BEGIN { if (ns == "-") print "-"; else if (ns >= 1e6) printf "%.2f ms", ns / 1e6; else printf "%.1f µs", ns / 1e3 }'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN { if (r == "-") print "-"; else printf "%.2f (≤ %s: %s)", r, g, (r <= g) ? "met" : "not met" }'; }

row() { # LABEL FILE INTERLEAVED A PEER GOAL ALLOC_A ALLOC_PEER
	local a peer ratio
	a=$(median "$2" "$3" "$4-ns/op")
	peer=$(median "$2" "$3" "$5-ns/op")
	ratio=$(median "$2" "$3" "$4/$5")
	printf '| %s | %s | %s | %s | %s, %s |\n' "$1" "$(us "$a")" "$(us "$peer")" "$(verdict "$ratio" "$6")" \
		"$(median "$2" "$7" allocs/op)" "$(median "$2" "$8" allocs/op)"
}

echo "| figure | wbd | peer | ratio (goal) | allocs/op wbd, peer |"
echo "|---|---:|---:|---|---|"
row "1 KB cache hit vs \`GETEX\` + \`json.Unmarshal\`" "$out/cache.txt" Hit/1KB/Interleaved hit raw 1.3 Hit/1KB/GetOrLoad Hit/1KB/RawGETEXUnmarshal
row "1 MB cache hit vs \`GETEX\` + \`json.Unmarshal\`" "$out/cache.txt" Hit/1MB/Interleaved hit raw 1.1 Hit/1MB/GetOrLoad Hit/1MB/RawGETEXUnmarshal
row "refapp cached \`GET /datasets/hmis\` vs its cache hit" "$out/refapp.txt" CachedRequest/Interleaved request hit 2 CachedRequest/Request CachedRequest/Hit
row "the same, version queried per request (notifications down; before)" "$out/refapp.txt" CachedRequest/InterleavedQueried request hit 2 CachedRequest/RequestQueried CachedRequest/Hit
echo
echo "Medians of $count runs; single benchmarks, ns/op:"
for b in Hit/1KB/GetOrLoad Hit/1KB/RawGETEXUnmarshal Hit/1MB/GetOrLoad Hit/1MB/RawGETEXUnmarshal; do
	echo "- $b: $(median "$out/cache.txt" "$b" ns/op), $(median "$out/cache.txt" "$b" B/op) B/op"
done
for b in CachedRequest/Request CachedRequest/RequestQueried CachedRequest/Hit CachedRequest/VersionQuery; do
	echo "- $b: $(median "$out/refapp.txt" "$b" ns/op), $(median "$out/refapp.txt" "$b" B/op) B/op"
done
