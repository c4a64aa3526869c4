"""Analyse an isweep sweep in pandas: best convergence time over eta, and the
fitted laws, per algorithm, mode and n. (examples/analysis.ipynb does more:
every axis that varies, seed quartiles, fits against λ_max(M₀), figures.)

    python3 examples/analyze.py results/headline [SWEEP_ID]

With a sweep id, only that sweep's points: the rows its members table
(sweeps/<sweep_id>/members.parquet) lists, reused ones included. An output
stores each point once, in the parts of the sweep that computed it first,
so filtering the points table on sweep_id would miss the reused ones.

Needs pandas and pyarrow (python3 -m pip install pandas pyarrow numpy).
"""
import sys

import numpy as np
import pandas as pd
import pyarrow.dataset as ds


def load_points(root, sweep_id=None):
    """The points table stored under root (Hive-partitioned): every point
    of every sweep there, or, with sweep_id, the points of that sweep."""
    dataset = ds.dataset(f"{root}/points", format="parquet", partitioning="hive")
    df = dataset.to_table().to_pandas()
    df["algorithm"] = df["algorithm"].astype(str)
    if sweep_id:
        members = pd.read_parquet(f"{root}/sweeps/{sweep_id}/members.parquet", columns=["point_id", "sweep_id"])
        df = df.merge(members, on=["point_id", "sweep_id"])
    return df


def best_times(points):
    """Per (algorithm, mode, n, init_scale): the median over seeds of the
    convergence time at each eta (when at least half of the seeds converged),
    then the fastest eta."""
    per_eta = (
        points.assign(converged=points["status"] == "converged")
        .groupby(["algorithm", "mode", "n", "init_scale", "eta"], observed=True)
        .agg(conv_time=("conv_time", "median"), converged=("converged", "mean"))
        .reset_index()
    )
    per_eta = per_eta[per_eta["converged"] >= 0.5]
    idx = per_eta.groupby(["algorithm", "mode", "n", "init_scale"], observed=True)["conv_time"].idxmin()
    return per_eta.loc[idx].sort_values(["algorithm", "mode", "n", "init_scale"])


# The rule isweep report names a law by: the law whose R² is at least MIN_R2
# and exceeds the other's by at least R2_MARGIN; otherwise undecided.
MIN_R2, R2_MARGIN = 0.9, 0.05


def decide(r2_linear, r2_log):
    if r2_linear >= MIN_R2 and r2_linear - r2_log >= R2_MARGIN:
        return "linear"
    if r2_log >= MIN_R2 and r2_log - r2_linear >= R2_MARGIN:
        return "logarithmic"
    return "undecided"


def r_squared(x, y):
    b, a = np.polyfit(x, y, 1)
    residual = y - (a + b * x)
    return a, b, 1 - residual.var() / y.var()


def fits(best):
    rows = []
    for (alg, mode, n), g in best.groupby(["algorithm", "mode", "n"], observed=True):
        if len(g) < 3:
            continue
        mu, tau = g["init_scale"].to_numpy(), g["conv_time"].to_numpy()
        _, b_lin, r2_lin = r_squared(mu, tau)
        _, b_log, r2_log = r_squared(np.log(mu), tau)
        law = decide(r2_lin, r2_log)
        rows.append(dict(algorithm=alg, mode=mode, n=n, slope_mu=b_lin, r2_linear=r2_lin,
                         slope_ln_mu=b_log, r2_log=r2_log, law=law))
    return pd.DataFrame(rows)


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else "results/headline"
    sweep_id = sys.argv[2] if len(sys.argv) > 2 else None
    best = best_times(load_points(root, sweep_id))
    with pd.option_context("display.width", 160, "display.max_rows", 200):
        print(best.to_string(index=False))
        print()
        print(fits(best).to_string(index=False))
