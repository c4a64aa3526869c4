"""Read an isweep results folder (or S3 prefix) the way an analyst would.

Used by interop_test.go: it reads the points, trajectories and summary
tables written by package results with pyarrow, pandas and DuckDB and prints
what each reader saw as one JSON document on stdout, for the Go test to
compare with the rows it wrote.

    python3 read_points.py --root DIR --sweep ID
    python3 read_points.py --s3 --root BUCKET/PREFIX --sweep ID
        (S3: ISWEEP_S3_ENDPOINT=http://host:port, AWS_ACCESS_KEY_ID,
         AWS_SECRET_ACCESS_KEY, AWS_REGION)
"""

import argparse
import hashlib
import json
import math
import os
import sys

try:
    import duckdb
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as ds
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq
except ImportError as exc:
    sys.stderr.write(f"{exc}; install with: python3 -m pip install pandas pyarrow duckdb\n")
    sys.exit(3)

POINT_COLUMNS = [
    "sweep_id", "point_id", "point_index", "chunk", "algorithm", "n", "mode",
    "eta", "init_scale", "input_spectrum", "spectrum_min", "spectrum_max",
    "conv_time", "conv_step", "diverged", "diverge_reason", "status", "error",
    "worker_host", "attempt", "started_at_us", "finished_at_us",
]
PANDAS_COLUMNS = ["point_id", "algorithm", "n", "conv_time", "status", "error"]
TRAJECTORY_COLUMNS = ["point_id", "algorithm", "n", "sample", "t", "step", "error"]

SUMMARY_SQL = """
SELECT algorithm, mode, n, init_scale,
       arg_min(eta, [conv_time, eta]) FILTER (WHERE status = 'converged' AND conv_time IS NOT NULL) AS best_eta,
       min(conv_time) FILTER (WHERE status = 'converged') AS best_conv_time,
       count(*) AS points,
       count(*) FILTER (WHERE status = 'converged') AS converged,
       count(*) FILTER (WHERE status = 'diverged') AS diverged
FROM points
WHERE sweep_id = $sweep
GROUP BY ALL
ORDER BY algorithm, mode, n, init_scale
"""


def plain(value):
    """Turns numpy, pandas and NaN values into JSON values."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def records(table, columns):
    table = table.select(columns)
    rows = table.to_pylist()
    return sorted(rows, key=lambda r: tuple(str(r[c]) for c in columns[:4]))


def with_times(table):
    """Adds started_at_us and finished_at_us (microseconds since the epoch)."""
    for name in ("started_at", "finished_at"):
        table = table.append_column(name + "_us", pc.cast(table.column(name), pa.int64()))
    return table


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--sweep", required=True)
    ap.add_argument("--s3", action="store_true")
    args = ap.parse_args()

    if args.s3:
        endpoint = os.environ["ISWEEP_S3_ENDPOINT"]
        scheme, _, host = endpoint.partition("://")
        fs = pafs.S3FileSystem(
            endpoint_override=host, scheme=scheme,
            access_key=os.environ["AWS_ACCESS_KEY_ID"],
            secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
            region=os.environ.get("AWS_REGION", "us-east-1"))
        root = args.root.strip("/")
    else:
        fs = pafs.LocalFileSystem()
        root = os.path.abspath(args.root)

    out = {"readers": {}}
    sweep_filter = ds.field("sweep_id") == args.sweep

    # pyarrow.dataset with Hive partitions.
    points = ds.dataset(root + "/points", filesystem=fs, format="parquet", partitioning="hive")
    table = with_times(points.to_table(filter=sweep_filter))
    out["readers"]["pyarrow"] = {
        "types": {f.name: str(f.type) for f in points.schema},
        "points": records(table, POINT_COLUMNS),
    }

    # pandas.read_parquet on the folder (pyarrow engine, its own inference).
    frame = pd.read_parquet(root + "/points", filesystem=fs, filters=[("sweep_id", "==", args.sweep)])
    out["readers"]["pandas"] = {
        "types": {c: str(frame[c].dtype) for c in ("algorithm", "n")},
        "points": sorted(
            ({c: plain(r[c]) for c in PANDAS_COLUMNS} for r in frame.to_dict("records")),
            key=lambda r: r["point_id"]),
    }

    # DuckDB: read_parquet with hive_partitioning on a folder; on S3 (no
    # httpfs offline) DuckDB queries the pyarrow dataset instead.
    con = duckdb.connect()
    if args.s3:
        con.register("points", points)
        con.register("trajectories", ds.dataset(root + "/trajectories", filesystem=fs, format="parquet", partitioning="hive"))
    else:
        con.execute(f"CREATE VIEW points AS SELECT * FROM read_parquet('{root}/points/**/*.parquet', hive_partitioning = true)")
        con.execute(f"CREATE VIEW trajectories AS SELECT * FROM read_parquet('{root}/trajectories/**/*.parquet', hive_partitioning = true)")
    types = {r[0]: r[1] for r in con.execute("DESCRIBE SELECT * FROM points").fetchall()}
    rel = con.execute(
        "SELECT *, epoch_us(started_at) AS started_at_us, epoch_us(finished_at) AS finished_at_us "
        "FROM points WHERE sweep_id = $sweep", {"sweep": args.sweep})
    names = [d[0] for d in rel.description]
    rows = [dict(zip(names, r)) for r in rel.fetchall()]
    out["readers"]["duckdb"] = {
        "types": types,
        "points": sorted(({c: plain(r[c]) for c in POINT_COLUMNS} for r in rows), key=lambda r: r["point_id"]),
    }
    rel = con.execute(SUMMARY_SQL, {"sweep": args.sweep})
    names = [d[0] for d in rel.description]
    out["summary_duckdb"] = [dict(zip(names, map(plain, r))) for r in rel.fetchall()]

    # Trajectories, through pyarrow and DuckDB.
    traj = ds.dataset(root + "/trajectories", filesystem=fs, format="parquet", partitioning="hive")
    out["trajectories"] = {
        "pyarrow": records(traj.to_table(filter=sweep_filter), TRAJECTORY_COLUMNS),
    }
    rel = con.execute(
        "SELECT point_id, algorithm, n, sample, t, step, error FROM trajectories "
        "WHERE sweep_id = $sweep ORDER BY point_id, sample", {"sweep": args.sweep})
    out["trajectories"]["duckdb"] = [dict(zip(TRAJECTORY_COLUMNS, map(plain, r))) for r in rel.fetchall()]

    # The summary file and the manifest.
    out["summary_file"] = pq.read_table(f"{root}/sweeps/{args.sweep}/summary.parquet", filesystem=fs).to_pylist()
    with fs.open_input_stream(f"{root}/sweeps/{args.sweep}/manifest.json") as f:
        manifest = json.load(f)
    checked = []
    for part in manifest["parts"]:
        with fs.open_input_stream(f"{root}/{part['key']}") as f:
            body = f.read()
        meta = pq.read_metadata(pa.BufferReader(body))
        checked.append({
            "key": part["key"],
            "sha256_ok": hashlib.sha256(body).hexdigest() == part["sha256"],
            "bytes_ok": len(body) == part["bytes"],
            "rows_ok": meta.num_rows == part["rows"],
        })
    out["manifest"] = {"status": manifest["status"], "counts": manifest["counts"], "parts": checked}

    # One part file on its own.
    key = next(p["key"] for p in manifest["parts"] if p["table"] == "points")
    single = pq.read_table(f"{root}/{key}", filesystem=fs)
    with fs.open_input_file(f"{root}/{key}") as f:
        footer = pq.read_metadata(f).metadata
    metadata = {k.decode(): v.decode() for k, v in footer.items() if k.startswith(b"isweep.")}
    out["single_file"] = {"key": key, "columns": single.column_names, "rows": single.num_rows, "metadata": metadata}
    if not args.s3:
        rel = con.execute(
            f"SELECT DISTINCT algorithm, n FROM read_parquet('{root}/{key}', hive_partitioning = true)")
        out["single_file"]["duckdb_partitions"] = [list(r) for r in rel.fetchall()]

    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main()
