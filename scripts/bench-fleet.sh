#!/bin/sh
# Benchmarks of a fleet's validate, generate and test at 1, 100 and 1,000
# services (test at 1, 10 and 100; 1,000 when asked), summarised by benchstat.
#
#   scripts/bench-fleet.sh                 # everything, -count 6
#   BENCH='Validate/services=1000' scripts/bench-fleet.sh
#   COUNT=3 OUT=/tmp/fleet.txt scripts/bench-fleet.sh
#   BASE=main COUNT=10 BENCH='^Benchmark(Validate|Generate)$' scripts/bench-fleet.sh
#
# The raw results are kept in $OUT (default $TMPDIR/bench-fleet.txt) so that two
# runs can be compared: benchstat old.txt new.txt.
#
# With BASE set to a commit, the benchmarks of that commit are built too (in
# a temporary checkout) and both binaries run in turns, one -count at a time,
# so that a change of machine load during the run hits both alike; benchstat
# then compares $OUT.base with $OUT. Only the ratio means something on a
# shared machine, not the absolute times.
set -eu
cd "$(dirname "$0")/.."
BENCH=${BENCH:-'^Benchmark(Validate|Generate|Test)$'}
# Test/services=1000 takes minutes per run: skipped unless asked for
# (SKIP= BENCH='Test/services=1000$' COUNT=3 scripts/bench-fleet.sh).
SKIP=${SKIP-'BenchmarkTest/services=1000$'}
COUNT=${COUNT:-6}
OUT=${OUT:-${TMPDIR:-/tmp}/bench-fleet.txt}
# Pinned so that the summary is the same tool on every machine.
BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

if [ -z "${BASE:-}" ]; then
	go test -run '^$' -bench "$BENCH" -skip "$SKIP" -count "$COUNT" -timeout 0 ./specs | tee "$OUT"
	go run "$BENCHSTAT" "$OUT"
	exit
fi

tmp=$(mktemp -d)
base=$tmp/base
cleanup() {
	git worktree remove --force "$base" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
git worktree add --quiet --detach "$base" "$BASE"
(cd "$base" && go test -c -o "$tmp/base.test" ./specs)
go test -c -o "$tmp/head.test" ./specs
: >"$OUT.base"
: >"$OUT"
i=0
while [ "$i" -lt "$COUNT" ]; do
	i=$((i + 1))
	echo "round $i of $COUNT" >&2
	(cd "$base/specs" && "$tmp/base.test" -test.run '^$' -test.bench "$BENCH" -test.skip "$SKIP" -test.count 1 -test.timeout 0) | tee -a "$OUT.base"
	(cd specs && "$tmp/head.test" -test.run '^$' -test.bench "$BENCH" -test.skip "$SKIP" -test.count 1 -test.timeout 0) | tee -a "$OUT"
done
go run "$BENCHSTAT" base="$OUT.base" head="$OUT"
