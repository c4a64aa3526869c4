#!/usr/bin/env python3
"""sweep_peers runs isweep's cheap benchmark sweep through two Python peers.

The sweep is the one bench/sweep runs as kind flow2: every combination of
algorithm (direct, interneuron), init_scale (numpy.logspace(0, 2, 50)) and
seed (range(seeds)), each point the mean dynamics (flow) with n = 2, the
input spectrum numpy.geomspace(0.5, 2, 2) in a Haar-random basis drawn from
the seed, tol 0.01, integrated by the NumPy reference bench/peer/whiten_numpy.py
(make_problem + run_flow). 100 points per seed: --seeds 100 is 10,000 points.

Peers:

- pool: a plain multiprocessing.Pool with one process per core, pool.map
  over the points (default chunksize), results written to one Parquet file;
- ray: Ray Tune on a local Ray cluster (ray.init(num_cpus=cores)), one
  trial per point through tune.grid_search over the three axes, each trial
  one CPU; the trials' metrics are collected from the ResultGrid and written
  to one Parquet file. Ray's automatic per-trial loggers are switched off
  (TUNE_DISABLE_AUTO_CALLBACK_LOGGERS=1) and trial actors are reused
  (TuneConfig(reuse_actors=True)), which only helps Ray. Ray's local mode
  (ray.init(local_mode=True)) is gone from Ray 2.60 ("`local_mode` is no
  longer supported"), so the cluster runs on this machine.

Each peer prints one JSON object: wall seconds (from the start of the peer,
Ray's start included, to its results on disk), the sum of per-point compute
seconds (time.perf_counter around make_problem + run_flow inside the worker),
orchestration efficiency = compute / (wall × cores), points per second, and
the peak of the summed resident memory of this process and all its
descendants, sampled from /proc every 0.2 s.

    python3 sweep_peers.py --peer pool --seeds 100
    python3 sweep_peers.py --peer ray --seeds 100 --cores 2
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import whiten_numpy  # noqa: E402

SPECTRUM = np.geomspace(0.5, 2.0, 2)
SCALES = np.logspace(0, 2, 50)
ALGORITHMS = ("direct", "interneuron")


def sweep_points(seeds: int) -> list:
    """sweep_points lists the points of the flow2 sweep as (algorithm,
    init_scale, seed) tuples, in isweep's grid order (last axis fastest)."""
    return [
        (algorithm, float(scale), seed)
        for algorithm in ALGORITHMS
        for scale in SCALES
        for seed in range(seeds)
    ]


def run_point(point) -> dict:
    """run_point integrates one point with the NumPy reference and times it."""
    algorithm, scale, seed = point
    start = time.perf_counter()
    problem = whiten_numpy.make_problem(algorithm, "flow", SPECTRUM, scale, seed=seed, tol=0.01)
    outcome = whiten_numpy.run_flow(problem)
    compute = time.perf_counter() - start
    return dict(
        algorithm=algorithm,
        init_scale=scale,
        seed=seed,
        conv_time=outcome["conv_time"],
        steps=outcome["steps"],
        final_error=outcome["final_error"],
        compute_seconds=compute,
    )


class MemorySampler:
    """MemorySampler records the peak of the summed VmRSS of this process
    and all its descendants, read from /proc."""

    def __init__(self, every: float = 0.2):
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def sample(self):
        children = {}
        rss = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
            except OSError:
                continue
            pid = int(name)
            ppid = int(fields.get("PPid", "0").strip() or 0)
            children.setdefault(ppid, []).append(pid)
            kb = fields.get("VmRSS", "0 kB").split()
            rss[pid] = int(kb[0]) * 1024 if kb else 0
        total, stack = 0, [os.getpid()]
        while stack:
            pid = stack.pop()
            total += rss.get(pid, 0)
            stack.extend(children.get(pid, []))
        self.peak = max(self.peak, total)


def write_parquet(rows: list, path: str) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), path, compression="zstd")
    return os.path.getsize(path)


def run_pool(points: list, cores: int, out: str) -> dict:
    import multiprocessing

    start = time.perf_counter()
    with multiprocessing.Pool(cores) as pool:
        rows = pool.map(run_point, points)
    size = write_parquet(rows, os.path.join(out, "pool.parquet"))
    wall = time.perf_counter() - start
    return dict(rows=rows, wall=wall, parquet_bytes=size, versions={"python": sys.version.split()[0]})


def run_ray(points: list, cores: int, out: str) -> dict:
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    import ray
    from ray import tune

    def trainable(config):
        return run_point((config["algorithm"], config["init_scale"], config["seed"]))

    seeds = sorted({p[2] for p in points})
    start = time.perf_counter()
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": 1}),
            param_space={
                "algorithm": tune.grid_search(list(ALGORITHMS)),
                "init_scale": tune.grid_search([float(s) for s in SCALES]),
                "seed": tune.grid_search(seeds),
            },
            tune_config=tune.TuneConfig(num_samples=1, reuse_actors=True),
            run_config=tune.RunConfig(storage_path=os.path.join(out, "ray"), verbose=0),
        )
        grid = tuner.fit()
        rows = []
        for result in grid:
            if result.error:
                raise RuntimeError(f"trial failed: {result.error}")
            m = result.metrics
            rows.append({k: m[k] for k in ("algorithm", "init_scale", "seed", "conv_time", "steps", "final_error", "compute_seconds")})
        size = write_parquet(rows, os.path.join(out, "ray.parquet"))
        wall = time.perf_counter() - start
    finally:
        ray.shutdown()
    return dict(rows=rows, wall=wall, parquet_bytes=size, versions={"python": sys.version.split()[0], "ray": ray.__version__})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", choices=("pool", "ray"), required=True)
    parser.add_argument("--seeds", type=int, default=100, help="seeds; the sweep has 100 points per seed (default 100)")
    parser.add_argument("--cores", type=int, default=os.cpu_count(), help="worker processes / Ray CPUs (default: all cores)")
    parser.add_argument("--out", default=None, help="folder for the results (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds: {args.seeds} is not allowed; use 1 or more")
    if args.cores < 1:
        parser.error(f"--cores: {args.cores} is not allowed; use 1 or more")
    points = sweep_points(args.seeds)
    load_start = " ".join(open("/proc/loadavg").read().split()[:3])
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or tmp
        os.makedirs(out, exist_ok=True)
        with MemorySampler() as mem:
            run = run_pool(points, args.cores, out) if args.peer == "pool" else run_ray(points, args.cores, out)
    rows = run["rows"]
    if len(rows) != len(points):
        print(f"sweep_peers: {args.peer} returned {len(rows)} points, want {len(points)}", file=sys.stderr)
        return 1
    compute = sum(r["compute_seconds"] for r in rows)
    versions = dict(run["versions"], numpy=np.__version__)
    import scipy

    versions["scipy"] = scipy.__version__
    print(json.dumps(dict(
        peer=args.peer,
        points=len(points),
        cores=args.cores,
        wall_seconds=run["wall"],
        compute_seconds=compute,
        efficiency=compute / (run["wall"] * args.cores),
        points_per_second=len(points) / run["wall"],
        peak_bytes=mem.peak,
        parquet_bytes=run["parquet_bytes"],
        converged=sum(1 for r in rows if r["conv_time"] is not None),
        versions=versions,
        load_start=load_start,
        load_end=" ".join(open("/proc/loadavg").read().split()[:3]),
    )))
    return 0


if __name__ == "__main__":
    sys.exit(main())
