#!/usr/bin/env bash
# all.sh runs every measurement of BENCHMARKS.md sections 1 and 2 in one go
# on this machine:
#
#   1. bench/dynamics.sh: per-point compute of both networks, flow and
#      online, n in $DIMS, against the NumPy reference
#      (bench/out/dynamics-<date>.md);
#   2. bench/sweeps.sh: isweep sweeps of 10^3 to 10^6 points (embedded and
#      as server + worker processes) against the same points in a bare Go
#      loop, and the same 10^4-point sweep through a multiprocessing pool
#      and Ray Tune (bench/out/sweeps-<date>.md and .jsonl);
#   3. go run ./bench/pointcost: the cost model that sizes chunks against
#      measured points (bench/out/pointcost-<date>.md).
#
# Usage (from anywhere):  bench/all.sh
# Every setting of the two scripts (DIMS, COUNT, KINDS, SIZES, BIG_SIZE,
# BIG_KINDS, PEERS, …) passes through; see their headers. Run it on a quiet
# machine: other work moves every figure (the load average is recorded next
# to each).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
date="$(date -u +%Y-%m-%d)"
mkdir -p bench/out

printf '== bench/dynamics.sh\n' >&2
bench/dynamics.sh
printf '== bench/sweeps.sh\n' >&2
bench/sweeps.sh
printf '== go run ./bench/pointcost\n' >&2
go run ./bench/pointcost | tee "bench/out/pointcost-$date.md"
printf '== done: bench/out/dynamics-%s.md, bench/out/sweeps-%s.md, bench/out/pointcost-%s.md\n' "$date" "$date" "$date" >&2
