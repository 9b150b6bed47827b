#!/bin/sh
# Benchmarks of a fleet's validate, generate and test at 1, 100 and 1,000
# services (test at 1, 10 and 100), summarised by benchstat.
#
#   scripts/bench-fleet.sh                 # everything, -count 6
#   BENCH='Validate/services=1000' scripts/bench-fleet.sh
#   COUNT=3 OUT=/tmp/fleet.txt scripts/bench-fleet.sh
#
# The raw results are kept in $OUT (default $TMPDIR/bench-fleet.txt) so that two
# runs can be compared: benchstat old.txt new.txt.
set -eu
cd "$(dirname "$0")/.."
BENCH=${BENCH:-'^Benchmark(Validate|Generate|Test)$'}
COUNT=${COUNT:-6}
OUT=${OUT:-${TMPDIR:-/tmp}/bench-fleet.txt}
# Pinned so that the summary is the same tool on every machine.
BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

go test -run '^$' -bench "$BENCH" -count "$COUNT" -timeout 0 ./specs | tee "$OUT"
go run "$BENCHSTAT" "$OUT"
