#!/bin/sh
# Rule evaluation and dashboard queries of a fleet on a real Prometheus.
#
#   scripts/bench-ruleeval.sh                      # 1,000 services × 3 instances
#   SERVICES=50 EVALS=4 N=5 scripts/bench-ruleeval.sh   # a quick rehearsal
#   N=0 scripts/bench-ruleeval.sh                  # rules only: no records' history, no queries
#
# Steps (docs/benchmarks-fleet.md explains the choices):
#  1. internal/benchfleet writes the fleet's generated rule file (fleet.yml),
#     the naive alternative (naive.yml: every service's single-service
#     alerts over raw series, no recording rules) and the fleet dashboard.
#  2. Prometheus starts without rules, with the remote-write receiver on.
#  3. benchfleet remote-writes the series SERVICES × INSTANCES processes
#     export per the middleware's metric contract: HISTORY of scrapes up
#     to now, in time order, then one scrape per scrape interval, live, so
#     that the rule manager (which evaluates at the wall clock) reads
#     current data for the whole measurement.
#  4. benchfleet backfills the fleet's recorded series over the history
#     (query_range of each record at the evaluation interval, written
#     back; what promtool tsdb create-blocks-from rules does, faster), so
#     that the dashboard's range queries read an hour of records, as they
#     would on a server that had been up.
#  5. (0) without rules, Prometheus' CPU time per evaluation interval is
#     the baseline (ingestion); (a) fleet.yml is loaded, its groups'
#     evaluation times are read from /api/v1/rules over EVALS evaluations
#     of every group, and Prometheus' CPU time meanwhile.
#  6. Every query of the fleet dashboard runs N times through the HTTP API,
#     with every variable at All and with service=svc-0.
#  7. (b) naive.yml replaces fleet.yml; its evaluation times likewise.
#
# Heavy (456k series; Prometheus takes a few GiB): never run in CI. The
# working directory is kept in $WORK for inspection; it is removed at the
# next run.
set -eu
cd "$(dirname "$0")/.."
SERVICES=${SERVICES:-1000}
INSTANCES=${INSTANCES:-3}
HISTORY=${HISTORY:-70m} # in minutes
EVALS=${EVALS:-10}
N=${N:-20}
PORT=${PORT:-19090}
PROMETHEUS=${PROMETHEUS:-prometheus}
PROMTOOL=${PROMTOOL:-promtool}
WORK=${WORK:-${TMPDIR:-/tmp}/bench-ruleeval}
URL=http://127.0.0.1:$PORT

say() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

rm -rf "$WORK"
mkdir -p "$WORK"
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

say "versions"
"$PROMETHEUS" --version 2>&1 | head -1
"$PROMTOOL" --version 2>&1 | head -1

say "rule files and dashboard for $SERVICES services"
go build -o "$WORK/benchfleet" ./internal/benchfleet
"$WORK/benchfleet" files -services "$SERVICES" -out "$WORK"
"$PROMTOOL" check rules "$WORK/fleet.yml" "$WORK/naive.yml" | grep -v '^  '

# config RULEFILE: prometheus.yml evaluating RULEFILE (none if empty) at
# the spec's evaluation interval.
config() {
	{
		echo "global: {scrape_interval: 15s, evaluation_interval: 30s}"
		# The records' history is written after the raw series' (see step 4).
		echo "storage: {tsdb: {out_of_order_time_window: 2h}}"
		if [ -n "$1" ]; then echo "rule_files: [$1]"; fi
	} >"$WORK/prometheus.yml"
}
reload() {
	config "$1"
	curl -fsS -X POST "$URL/-/reload"
}

say "prometheus on $URL"
config ""
"$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/data" \
	--storage.tsdb.retention.time=1d --web.listen-address="127.0.0.1:$PORT" \
	--web.enable-remote-write-receiver --web.enable-lifecycle >"$WORK/prometheus.log" 2>&1 &
prom=$!
pids="$pids $prom"
until curl -fsS "$URL/-/ready" >/dev/null 2>&1; do
	kill -0 "$prom" || { cat "$WORK/prometheus.log"; exit 1; }
	sleep 1
done

say "series: $HISTORY of history, then live"
"$WORK/benchfleet" write -services "$SERVICES" -instances "$INSTANCES" -url "$URL/api/v1/write" \
	-history "$HISTORY" -ready "$WORK/ready" 2>"$WORK/write.log" &
writer=$!
pids="$pids $writer"
until [ -s "$WORK/ready" ]; do
	kill -0 "$writer" || { cat "$WORK/write.log"; exit 1; }
	sleep 5
done
cat "$WORK/write.log"
ready=$(cat "$WORK/ready")
curl -fsS "$URL/api/v1/query" --data-urlencode 'query=count({__name__=~"db_.+|go_sql_.+"})' | sed 's/^/active series: /'
echo
ps -o rss= -p "$prom" | awk '{printf "prometheus RSS: %.0f MiB\n", $1/1024}'

if [ "$N" -gt 0 ]; then # the records' history serves only the dashboard's queries
	say "backfill the fleet's records over the history"
	# Pass after pass, each up to the time it starts, until one is short, so
	# that the live evaluations take over with little gap.
	from=$(date -u -d "$ready - $(echo "$HISTORY" | sed 's/m$//') minutes" +%s)
	while :; do
		to=$(date -u +%s)
		"$WORK/benchfleet" records -services "$SERVICES" -url "$URL" \
			-from "$(date -u -d "@$from" +%Y-%m-%dT%H:%M:%SZ)" -to "$(date -u -d "@$to" +%Y-%m-%dT%H:%M:%SZ)" \
			2>>"$WORK/records.log" || { cat "$WORK/records.log"; exit 1; }
		from=$((to + 30))
		[ $(($(date -u +%s) - to)) -gt 60 ] || break
	done
	cat "$WORK/records.log"
fi

say "(0) no rules, ingestion only: the baseline, $EVALS evaluation intervals"
"$WORK/benchfleet" rules -url "$URL" -evals "$EVALS" | tee "$WORK/none.txt"

say "(a) the fleet rules: $EVALS evaluations of every group"
reload fleet.yml
sleep 65 # the first evaluations
curl -fsS "$URL/api/v1/query" --data-urlencode 'query=max(count_over_time(service:db_queries_total:rate5m[1h]))' |
	sed 's/^/samples of a record over the last hour (120 at 30s): /'
echo
"$WORK/benchfleet" rules -url "$URL" -evals "$EVALS" | tee "$WORK/fleet.txt"
ps -o rss= -p "$prom" | awk '{printf "prometheus RSS: %.0f MiB\n", $1/1024}'

if [ "$N" -gt 0 ]; then
	say "the fleet dashboard's queries, $N runs each"
	"$WORK/benchfleet" queries -url "$URL" -dashboard "$WORK/dashboard.json" -n "$N" | tee "$WORK/queries.txt"
fi

say "(b) the naive rules: $EVALS evaluations of every group"
reload naive.yml
sleep 65
"$WORK/benchfleet" rules -url "$URL" -evals "$EVALS" | tee "$WORK/naive.txt"
ps -o rss= -p "$prom" | awk '{printf "prometheus RSS: %.0f MiB\n", $1/1024}'

say "ratios (b)/(a)"
cpu() { sed -n 's/^prometheus CPU per evaluation interval ([^)]*): //p' "$1"; }
wall() { sed -n 's/.*per round (sum over groups[^:]*: median \([^,]*\),.*/\1/p' "$1"; }
echo "CPU per interval above the baseline: fleet $(cpu "$WORK/fleet.txt"), naive $(cpu "$WORK/naive.txt"), baseline $(cpu "$WORK/none.txt")"
"$WORK/benchfleet" ratio "$(cpu "$WORK/naive.txt")" "$(cpu "$WORK/fleet.txt")" "$(cpu "$WORK/none.txt")"
echo "summed group evaluation times: fleet $(wall "$WORK/fleet.txt"), naive $(wall "$WORK/naive.txt")"
"$WORK/benchfleet" ratio "$(wall "$WORK/naive.txt")" "$(wall "$WORK/fleet.txt")"
