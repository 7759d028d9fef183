#!/usr/bin/env bash
# Two sciday builds side by side on the sample program, on loopback: the serving path's cost
# per request, compared in one run. wrk -t2 -c16 -d5s per case, the builds alternating, medians
# and the ratio of the second build's rate to the first's.
#
#   tools/ab-serving.sh OLD_BINARY NEW_BINARY [RUNS]     # needs wrk (Debian package)
set -euo pipefail
old=$(realpath "$1"); new=$(realpath "$2"); runs=${3:-5}
work=$(mktemp -d)
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

start() { # name binary
    SCIDAY_LOG=warn "$2" --database-url "sqlite://$work/$1.db" serve --demo --listen 127.0.0.1:0 \
        --no-dispatcher >"$work/$1.out" 2>"$work/$1.log" &
    echo $! >"$work/$1.pid"
    for _ in $(seq 1 150); do grep -q '^admin token' "$work/$1.out" 2>/dev/null && return; sleep 0.2; done
    echo "$1 did not start" >&2; exit 1
}
start old "$old"
start new "$new"
declare -A base token etag
feed="/feeds/programs/1.ics?from=2019-05-01"
for n in old new; do
    base[$n]=$(sed -n 's/^sciday listens on \(http[^ ]*\).*/\1/p' "$work/$n.out")
    token[$n]=$(sed -n 's/^admin token[^:]*: \(sciday_[^ ]*\)$/\1/p' "$work/$n.out")
    etag[$n]=$(curl -sI "${base[$n]}$feed" | tr -d '\r' | sed -n 's/^etag: //Ip')
done
for _ in $(seq 1 "$runs"); do
    for n in old new; do
        while IFS='|' read -r label header path; do
            header=${header//TOKEN/${token[$n]}}
            header=${header//ETAG/${etag[$n]}}
            wrk -t2 -c16 -d5s --latency -H "$header" "${base[$n]}$path" 2>/dev/null |
                awk -v label="$label" -v n="$n" '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
                     END {print label "\t" n "\t" r "\t" p50 "\t" p99}'
        done <<CASES
program feed 304|If-None-Match: ETAG|$feed
program feed 200|Accept: text/calendar|$feed
sessions list, anonymous|Accept: application/json|/api/v1/sessions?program_id=1&limit=20
assignments list, admin token|Authorization: Bearer TOKEN|/api/v1/assignments?program_id=1&limit=20
CASES
    done
done >"$work/results.tsv"
python3 - "$work/results.tsv" <<'PY'
import collections, statistics, sys
def ms(text):
    unit = text.lstrip("0123456789.")
    value = float(text[: len(text) - len(unit)])
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
runs = collections.defaultdict(lambda: collections.defaultdict(list))
for line in open(sys.argv[1]):
    label, build, rate, p50, p99 = line.rstrip("\n").split("\t")
    runs[label][build].append((float(rate), ms(p50), ms(p99)))
print("case | old req/s | new req/s | ratio | old p50 | new p50 | old p99 | new p99")
for label, builds in runs.items():
    med = lambda build, i: statistics.median(r[i] for r in builds[build])
    print(f"{label} | {med('old', 0):,.0f} | {med('new', 0):,.0f} | {med('new', 0) / med('old', 0):.2f} | "
          f"{med('old', 1):.2f} ms | {med('new', 1):.2f} ms | {med('old', 2):.2f} ms | {med('new', 2):.2f} ms")
PY
