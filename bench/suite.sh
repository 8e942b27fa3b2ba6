#!/usr/bin/env bash
# What the integration suite costs once built (issue 29's "≤ 2 minutes" and where its CPU goes):
# runs it RUNS times (default 1) at THREADS test threads (default: make test's 6) and prints,
# per run, its wall time and the whole machine's busy CPU seconds over the run, from
# /proc/stat. `time` alone undercounts: the emulators are forked by the zygote, which is never
# waited for, so their CPU (about half the suite's) is nobody's child time.
#
#   bench/suite.sh                  one run at 6 threads
#   THREADS=10 RUNS=3 bench/suite.sh
#
# Another load on the machine counts too (it is the whole machine's CPU): run it idle.
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-6}
runs=${RUNS:-1}
make -s venv
binary=$(cargo test --test it --no-run --message-format json 2>/dev/null \
    | grep '"name":"it"' | grep -o '"executable":"[^"]*"' | sed -E 's/.*:"(.*)"/\1/' | tail -n 1)
[ -x "$binary" ] || { echo "suite: the integration test binary did not build" >&2; exit 1; }
busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
ticks=$(getconf CLK_TCK)
for run in $(seq "$runs"); do
    before=$(busy)
    start=$(date +%s.%N)
    if "$binary" --test-threads "$threads" > target/bench-suite.log 2>&1; then result=passed; else result=FAILED; fi
    end=$(date +%s.%N)
    after=$(busy)
    summary=$(grep -E '^test result' target/bench-suite.log | tail -n 1)
    awk -v r="$run" -v t="$threads" -v a="$start" -v b="$end" \
        -v c="$(( (after - before) / ticks ))" -v res="$result" -v s="$summary" \
        'BEGIN { printf "suite: run %d, %d threads: %.1f s wall, %d s busy CPU (%s; %s)\n", r, t, b - a, c, res, s }'
done
