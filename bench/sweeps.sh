#!/usr/bin/env bash
# sweeps.sh measures isweep's orchestration efficiency on this machine and
# compares it with Ray Tune and a multiprocessing pool, in one run:
#
#   1. builds the isweep command and bench/sweep (the Go driver);
#   2. runs sweeps of $SIZES points of each kind in $KINDS through isweep
#      (flow2: cheap flow points, n = 2, ~0.07 ms; online4: 2000 online
#      steps, n = 4, ~0.7 ms), at the default (automatic) chunk size, both
#      as separate `isweep server` + `isweep worker` processes and as one
#      `isweep run` process; then $MID_SIZE points of each kind in
#      $MID_KINDS (online16: 5000 online steps, n = 16, ~5 ms), both ways;
#      then $BIG_SIZE points of each kind in $BIG_KINDS (separate), and of
#      each kind in $BIG_RUN_KINDS through one `isweep run` process.
#      Efficiency is measured against the same points integrated by a bare
#      Go loop in the same run (bench/sweep);
#   3. runs the same 100 × $PEER_SEEDS-point flow2 sweep through a
#      multiprocessing.Pool and through Ray Tune (installed with pip into a
#      virtual environment, $VENV, that sees the system packages), each
#      point integrated by the NumPy reference bench/peer/whiten_numpy.py;
#   4. writes every measurement as JSON lines and a Markdown table to
#      bench/out/sweeps-<date>.md.
#
# Usage (from anywhere):  bench/sweeps.sh
# Settings (environment):
#   KINDS       point kinds, default "flow2 online4"
#   SIZES       sweep sizes, default "1000 10000 100000"
#   MID_KINDS   point kinds of the costlier sweeps, default "online16"
#   MID_SIZE    their size, default 10000 (0 skips them)
#   BIG_SIZE    the large sweeps, default 1000000 (0 skips them)
#   BIG_KINDS   point kinds of the large sweeps, default "flow2 online4"
#   BIG_RUN_KINDS  point kinds of the large sweeps through `isweep run`,
#               default "flow2" (online4 would take 6 more minutes)
#   PEER_SEEDS  seeds of the peer sweep (100 points each), default 100
#   PEERS       peers to run, default "pool ray"
#   CHUNK       chunk written into the specs, default 0 (automatic)
#   PYTHON      Python interpreter, default python3
#   VENV        virtual environment for Ray, default ~/.cache/isweep-bench-venv
# The machine's load average is recorded with every figure: other work on
# the machine slows every point and so moves every number.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

KINDS="${KINDS:-flow2 online4}"
SIZES="${SIZES:-1000 10000 100000}"
MID_KINDS="${MID_KINDS:-online16}"
MID_SIZE="${MID_SIZE:-10000}"
BIG_SIZE="${BIG_SIZE:-1000000}"
BIG_KINDS="${BIG_KINDS:-flow2 online4}"
BIG_RUN_KINDS="${BIG_RUN_KINDS:-flow2}"
PEER_SEEDS="${PEER_SEEDS:-100}"
PEERS="${PEERS:-pool ray}"
CHUNK="${CHUNK:-0}"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-$HOME/.cache/isweep-bench-venv}"

log() { printf '== %s\n' "$*" >&2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
date="$(date -u +%Y-%m-%d)"
mkdir -p bench/out
jsonl="bench/out/sweeps-$date.jsonl"
: >"$jsonl"

log "building isweep and bench/sweep"
go build -o "$work/isweep" ./cmd/isweep
go build -o "$work/sweepbench" ./bench/sweep

csv() { echo "$*" | tr ' ' ','; }
for kind in $KINDS; do
	log "isweep: $kind, sizes $SIZES"
	"$work/sweepbench" -isweep "$work/isweep" -kinds "$kind" -sizes "$(csv $SIZES)" \
		-layouts separate,run -chunk "$CHUNK" -work "$work/sweeps" -out "$jsonl"
done
if [ "$MID_SIZE" -gt 0 ]; then
	for kind in $MID_KINDS; do
		log "isweep: $kind, $MID_SIZE points"
		"$work/sweepbench" -isweep "$work/isweep" -kinds "$kind" -sizes "$MID_SIZE" \
			-layouts separate,run -chunk "$CHUNK" -work "$work/sweeps" -out "$jsonl"
	done
fi
if [ "$BIG_SIZE" -gt 0 ]; then
	for kind in $BIG_KINDS; do
		log "isweep: $kind, $BIG_SIZE points (separate server and worker)"
		"$work/sweepbench" -isweep "$work/isweep" -kinds "$kind" -sizes "$BIG_SIZE" \
			-layouts separate -chunk "$CHUNK" -work "$work/sweeps" -out "$jsonl" -timeout 3h
	done
	for kind in $BIG_RUN_KINDS; do
		log "isweep: $kind, $BIG_SIZE points (one isweep run process)"
		"$work/sweepbench" -isweep "$work/isweep" -kinds "$kind" -sizes "$BIG_SIZE" \
			-layouts run -chunk "$CHUNK" -work "$work/sweeps" -out "$jsonl" -timeout 3h
	done
fi

if ! "$PYTHON" -c 'import numpy, scipy, pyarrow' 2>/dev/null; then
	log "installing numpy scipy pyarrow"
	"$PYTHON" -m pip install -q numpy scipy pyarrow
fi
for peer in $PEERS; do
	py="$PYTHON"
	if [ "$peer" = ray ]; then
		if [ ! -x "$VENV/bin/python" ]; then
			log "creating $VENV (with the system packages)"
			"$PYTHON" -m venv --system-site-packages "$VENV"
		fi
		if ! "$VENV/bin/python" -c 'import ray.tune' 2>/dev/null; then
			log "installing ray[tune] into $VENV"
			"$VENV/bin/python" -m pip install -q "ray[tune]"
		fi
		py="$VENV/bin/python"
	fi
	log "peer $peer: $((PEER_SEEDS * 100)) flow2 points"
	"$py" bench/peer/sweep_peers.py --peer "$peer" --seeds "$PEER_SEEDS" >>"$jsonl"
done

out="bench/out/sweeps-$date.md"
"$PYTHON" bench/sweeps_table.py --jsonl "$jsonl" --date "$date" \
	--cpu "$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)" \
	--go-version "$(go version)" --out "$out"
log "written $out and $jsonl"
