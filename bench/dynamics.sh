#!/usr/bin/env bash
# dynamics.sh compares isweep's Go dynamics (internal/dynamics, gonum) with a
# straightforward NumPy/SciPy peer (bench/peer/whiten_numpy.py) on the same
# standard problems, on this machine, in one run:
#
#   1. pip-installs numpy, scipy and threadpoolctl when missing;
#   2. runs the Go benchmarks BenchmarkOnlineStep, BenchmarkFlowRHS and
#      BenchmarkPoint with -benchmem -count $COUNT (medians are reported) and
#      -cpu 1 (GOMAXPROCS 1): a sweep runs one point per core, and the NumPy
#      peer uses one BLAS thread, so both sides are timed single-threaded;
#   3. runs bench/peer/goreference (Go's answers: convergence time, steps,
#      divergence) and the NumPy peer for n in $DIMS, both networks, both modes;
#   4. prints a Markdown table and writes it to bench/out/dynamics-<date>.md
#      (dynamics-<date>-<HHMM>.md when that file exists already).
#
# Usage (from anywhere):  bench/dynamics.sh
# Settings (environment):
#   DIMS        dimensions, default "4 16 64 256"
#   COUNT       go test -count, default 3
#   REPEAT      NumPy repeats per point below n=256, default 5
#   REPEAT_BIG  NumPy repeats per point at n ≥ 256, default 1
#   PYTHON      Python interpreter, default python3
#   PEER_THREADS  BLAS threads of the NumPy peer, default 1 (0 = the BLAS
#               default, one per core). One thread by default: on this
#               2-core machine shared with other work, two OpenBLAS threads
#               made the n=256 interneuron step 5–15× slower and erratic.
# It exits non-zero when a Go benchmark fails to build or run (the table is
# still written, failed benchmarks read FAIL), or when a flow convergence time
# (Go or NumPy) misses the closed form by more than 1e-3 relative.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

DIMS="${DIMS:-4 16 64 256}"
COUNT="${COUNT:-3}"
REPEAT="${REPEAT:-5}"
REPEAT_BIG="${REPEAT_BIG:-1}"
PYTHON="${PYTHON:-python3}"
PEER_THREADS="${PEER_THREADS:-1}"

log() { printf '== %s\n' "$*" >&2; }

# Some processors' images set these to force an OpenBLAS kernel; the NumPy
# runs below drop them (only in those commands) so OpenBLAS picks its own.
openblas_env="OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE-<unset>}"
numpy_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)

if ! "$PYTHON" -c 'import numpy, scipy' 2>/dev/null; then
	log "installing numpy scipy"
	"$PYTHON" -m pip install -q numpy scipy
fi
if ! "$PYTHON" -c 'import threadpoolctl' 2>/dev/null; then
	log "installing threadpoolctl (reports the BLAS kernel)"
	"$PYTHON" -m pip install -q threadpoolctl
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

load_start="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
status=0
log "go benchmarks (count $COUNT; several minutes)"
if ! go test -run '^$' -bench 'BenchmarkOnlineStep|BenchmarkFlowRHS|BenchmarkPoint' -benchmem \
	-cpu 1 -count "$COUNT" ./internal/dynamics/ | tee "$work/go-bench.txt" >&2; then
	# A benchmark that fails (b.Fatal) does not stop the others: keep going,
	# the table marks it FAIL and lists why; the script still exits 1.
	log "go test -bench failed (see above); continuing, failed benchmarks read FAIL"
	status=1
fi

dims_csv="$(echo $DIMS | tr ' ' ',')"
log "go reference answers (internal/dynamics.Run on the same problems)"
: >"$work/go-reference.jsonl"
if ! { go build -o "$work/goreference" ./bench/peer/goreference &&
	"$work/goreference" -n "$dims_csv" | tee "$work/go-reference.jsonl" >&2; }; then
	log "bench/peer/goreference failed; the Go answers columns stay empty"
	status=1
fi

log "OpenBLAS as threadpoolctl reports it for the NumPy runs (threads before --threads $PEER_THREADS):"
"${numpy_env[@]}" "$PYTHON" -c '
import numpy, scipy.linalg, threadpoolctl
for lib in threadpoolctl.threadpool_info():
    if lib.get("user_api") == "blas":
        print("==   %s %s: kernel %s, %s threads, %s" % (lib.get("internal_api"), lib.get("version"),
              lib.get("architecture"), lib.get("num_threads"), lib.get("filepath")))
' >&2

log "numpy peer"
: >"$work/numpy.jsonl"
for algorithm in direct interneuron; do
	for mode in flow online; do
		for n in $DIMS; do
			repeat="$REPEAT"
			if [ "$n" -ge 256 ]; then repeat="$REPEAT_BIG"; fi
			log "numpy $algorithm $mode n=$n repeat=$repeat"
			"${numpy_env[@]}" "$PYTHON" bench/peer/whiten_numpy.py \
				--algorithm "$algorithm" --mode "$mode" --n "$n" --repeat "$repeat" \
				--threads "$PEER_THREADS" \
				>>"$work/numpy.jsonl"
		done
	done
done

date="$(date -u +%Y-%m-%d)"
cpu="$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"
mkdir -p bench/out
out="bench/out/dynamics-$date.md"
# A second run on the same day keeps the first: its file gets the time too.
if [[ -e "$out" ]]; then
	out="bench/out/dynamics-$date-$(date -u +%H%M).md"
fi
"${numpy_env[@]}" "$PYTHON" bench/peer/dynamics_table.py \
	--go-bench "$work/go-bench.txt" \
	--numpy "$work/numpy.jsonl" \
	--go-reference "$work/go-reference.jsonl" \
	--n "$dims_csv" \
	--date "$date" \
	--cpu "${cpu:-unknown}" \
	--cores "$(nproc)" \
	--go-version "$(go version)" \
	--openblas-env "$openblas_env" \
	--repeats "$REPEAT (n < 256), $REPEAT_BIG (n ≥ 256)" \
	--load "start $load_start, end $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')" \
	--out "$out" || status=1
log "written $out"
exit "$status"
