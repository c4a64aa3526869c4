-- Analyse an isweep sweep in DuckDB:
--   duckdb -c ".read examples/analyze.sql"            (from the repository root)
-- or, in Python: duckdb.sql(open("examples/analyze.sql").read())
-- It reads the headline example's folder output: change the path for yours
-- (for S3, load the httpfs extension and use s3://bucket/prefix/points/**/*.parquet).

-- Status of every point, per algorithm and mode.
SELECT algorithm, mode, status, count(*) AS points
FROM read_parquet('results/headline/points/**/*.parquet', hive_partitioning = true)
GROUP BY ALL ORDER BY ALL;

-- Best convergence time over eta (median over seeds) per algorithm, mode, n and init_scale.
WITH per_eta AS (
    SELECT algorithm, mode, n, init_scale, eta,
           median(conv_time) AS conv_time,
           avg(CASE WHEN status = 'converged' THEN 1 ELSE 0 END) AS converged
    FROM read_parquet('results/headline/points/**/*.parquet', hive_partitioning = true)
    GROUP BY ALL
)
SELECT algorithm, mode, n, init_scale,
       arg_min(eta, conv_time) AS best_eta,
       min(conv_time) AS best_conv_time
FROM per_eta
WHERE converged >= 0.5
GROUP BY ALL
ORDER BY algorithm, mode, n, init_scale;

-- The linear law and the logarithmic law, with R², per algorithm and mode (n = 8).
WITH per_eta AS (
    SELECT algorithm, mode, n, init_scale, eta, median(conv_time) AS conv_time
    FROM read_parquet('results/headline/points/**/*.parquet', hive_partitioning = true)
    WHERE status = 'converged'
    GROUP BY ALL
), best AS (
    SELECT algorithm, mode, n, init_scale, min(conv_time) AS tau FROM per_eta GROUP BY ALL
)
SELECT algorithm, mode,
       regr_slope(tau, init_scale)     AS slope_mu,     regr_r2(tau, init_scale)     AS r2_linear,
       regr_slope(tau, ln(init_scale)) AS slope_ln_mu,  regr_r2(tau, ln(init_scale)) AS r2_log
FROM best WHERE n = 8
GROUP BY ALL ORDER BY ALL;
