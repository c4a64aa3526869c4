#!/usr/bin/env python3
"""whiten_numpy is the NumPy/SciPy peer of isweep's Go dynamics benchmarks.

It is the straightforward reference a researcher would write for the two
whitening networks of docs/model.md, on the same standard problems as the Go
benchmarks in internal/dynamics (BenchmarkPoint, BenchmarkOnlineStep,
BenchmarkFlowRHS):

- input covariance C = Q diag(s) Qᵀ, s = numpy.geomspace(0.5, 2, n), Q a
  Haar-random orthogonal matrix drawn from the seed (default 1);
- M₀ = μ I (init_shape identity, init_basis aligned), tolerance ε = 0.01;
- flow: μ = 10, the mean dynamics integrated with scipy.integrate.solve_ivp
  (RK45, rtol 1e-8, atol 1e-10) until the event e(t) = ε; direct integrates
  M (flattened), dM/dt = M⁻¹CM⁻¹ − I; interneuron integrates W (k×n, k = n),
  dW/dt = W(M⁻¹CM⁻¹ − I) with M = WᵀW and W₀ = U diag(√λ) Vᵀ;
- online: μ = 2, η = 0.01, batch 1, exactly 2000 steps, x = C^{1/2} g with
  g ~ N(0, I); the error is evaluated every 100 steps (20 records).

The whitening error is e = ‖M⁻¹CM⁻¹ − I‖₂, the largest absolute eigenvalue of
that symmetric matrix.

Command line (one JSON object per run on stdout):

    python3 whiten_numpy.py --algorithm direct --mode flow --n 16 --repeat 3
    python3 whiten_numpy.py --algorithm direct --mode online --n 64 --threads 1
    python3 whiten_numpy.py --algorithm interneuron --mode flow --n 4 --check

--check asserts correctness instead of only timing: in flow mode the
convergence time must match the closed form of model.md (aligned case) within
1e-3 relative; in online mode the mean online increment at a fixed state must
match the flow right-hand side within 5 standard errors (and, for the
interneuron network, one step must equal M ← A M A with A = (1 − η)I + η r rᵀ).
A failed check prints the reason on stderr and exits with status 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import time
from typing import Callable, Optional

import numpy as np
import scipy
from scipy.integrate import solve_ivp

ALGORITHMS = ("direct", "interneuron")
MODES = ("flow", "online")

# Standard problems shared with the Go benchmarks (internal/dynamics).
SPECTRUM_MIN = 0.5
SPECTRUM_MAX = 2.0
DEFAULT_SEED = 1
DEFAULT_TOL = 0.01
FLOW_INIT_SCALE = 10.0
FLOW_HORIZON = 1e4
FLOW_RTOL = 1e-8
FLOW_ATOL = 1e-10
ONLINE_INIT_SCALE = 2.0
ONLINE_ETA = 0.01
ONLINE_STEPS = 2000
ONLINE_RECORD = 20

# CHECK_RTOL is the largest relative gap allowed between the integrated and
# the closed-form flow convergence time in --check.
CHECK_RTOL = 1e-3
# CHECK_SAMPLES is the number of online increments averaged by --check;
# CHECK_Z is the largest allowed deviation in standard errors.
CHECK_SAMPLES = 20000
CHECK_Z = 5.0


@dataclasses.dataclass(frozen=True)
class Problem:
    """Problem is one sweep point: a network, a mode, C and the initial state.

    Build it with standard_problem (the benchmark problems) or make_problem.
    """

    algorithm: str
    mode: str
    spectrum: np.ndarray  # eigenvalues s of C, length n
    basis: np.ndarray  # Q, n×n orthogonal: C = Q diag(s) Qᵀ
    interneuron_basis: np.ndarray  # U, k×n with orthonormal columns
    init_scale: float  # μ: M₀ = μ I
    tol: float = DEFAULT_TOL
    eta: float = ONLINE_ETA
    steps: int = ONLINE_STEPS
    record: int = ONLINE_RECORD
    horizon: float = FLOW_HORIZON
    seed: int = DEFAULT_SEED

    @property
    def n(self) -> int:
        return self.spectrum.shape[0]

    @property
    def k(self) -> int:
        return self.interneuron_basis.shape[0]

    @property
    def covariance(self) -> np.ndarray:
        """covariance is C = Q diag(s) Qᵀ."""
        q = self.basis
        return (q * self.spectrum) @ q.T

    @property
    def covariance_sqrt(self) -> np.ndarray:
        """covariance_sqrt is C^{1/2} = Q diag(√s) Qᵀ."""
        q = self.basis
        return (q * np.sqrt(self.spectrum)) @ q.T

    def initial_m(self) -> np.ndarray:
        """initial_m is M₀ = μ I (identity shape; aligned with any basis)."""
        return self.init_scale * np.eye(self.n)

    def initial_w(self) -> np.ndarray:
        """initial_w is W₀ = U diag(√λ) Vᵀ with M₀ = V diag(λ) Vᵀ, V = Q."""
        lam = np.full(self.n, self.init_scale)
        return (self.interneuron_basis * np.sqrt(lam)) @ self.basis.T


def haar_orthonormal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """haar_orthonormal draws a rows×cols matrix with Haar-distributed
    orthonormal columns (rows ≥ cols): QR of a Gaussian matrix, signs fixed so
    that R has a positive diagonal."""
    if rows < cols:
        raise ValueError(f"rows: {rows} is below cols {cols}; need rows >= cols")
    q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q * np.sign(np.diag(r))


def make_problem(
    algorithm: str,
    mode: str,
    spectrum,
    init_scale: float,
    seed: int = DEFAULT_SEED,
    k: Optional[int] = None,
    **options,
) -> Problem:
    """make_problem builds a Problem with a Haar-random basis of C and a
    Haar-random interneuron U drawn from independent streams of seed.
    options are the remaining Problem fields (tol, eta, steps, record,
    horizon)."""
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"algorithm: {algorithm!r} is unknown; use one of {', '.join(ALGORITHMS)}"
        )
    if mode not in MODES:
        raise ValueError(f"mode: {mode!r} is unknown; use one of {', '.join(MODES)}")
    s = np.asarray(spectrum, dtype=float)
    if s.ndim != 1 or s.size < 1 or not np.all(s > 0):
        raise ValueError(
            f"spectrum: {s!r} is not allowed; give n >= 1 positive eigenvalues"
        )
    if not init_scale > 0:
        raise ValueError(f"init_scale: {init_scale} is not allowed; use init_scale > 0")
    n = s.size
    k = n if k is None else k
    if k < n:
        raise ValueError(f"k: {k} is below n {n}; use k >= n interneurons")
    basis_stream, interneuron_stream = (
        np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(2)
    )
    return Problem(
        algorithm=algorithm,
        mode=mode,
        spectrum=s,
        basis=haar_orthonormal(basis_stream, n, n),
        interneuron_basis=haar_orthonormal(interneuron_stream, k, n),
        init_scale=float(init_scale),
        seed=seed,
        **options,
    )


def standard_problem(
    algorithm: str, mode: str, n: int, seed: int = DEFAULT_SEED
) -> Problem:
    """standard_problem is the benchmark problem of the Go peer for n."""
    if n < 1:
        raise ValueError(f"n: {n} is not allowed; use n >= 1")
    scale = FLOW_INIT_SCALE if mode == "flow" else ONLINE_INIT_SCALE
    return make_problem(
        algorithm, mode, np.geomspace(SPECTRUM_MIN, SPECTRUM_MAX, n), scale, seed
    )


def whitening_error(m: np.ndarray, c: np.ndarray) -> float:
    """whitening_error is e = ‖M⁻¹CM⁻¹ − I‖₂ (largest |eigenvalue|)."""
    minv = np.linalg.inv(m)
    crr = minv @ c @ minv
    crr = 0.5 * (crr + crr.T)
    return float(np.max(np.abs(np.linalg.eigvalsh(crr - np.eye(m.shape[0])))))


# ---------------------------------------------------------------- flow mode


def flow_system(problem: Problem):
    """flow_system returns (rhs, y0, m_of) for solve_ivp: the right-hand side
    over the flattened state, the initial state, and the map from a state to
    M (M itself for direct, WᵀW for interneuron)."""
    c = problem.covariance
    n = problem.n
    eye = np.eye(n)
    if problem.algorithm == "direct":

        def m_of(y):
            return y.reshape(n, n)

        def rhs(t, y):
            minv = np.linalg.inv(y.reshape(n, n))
            return (minv @ c @ minv - eye).ravel()

        return rhs, problem.initial_m().ravel(), m_of

    k = problem.k

    def m_of(y):
        w = y.reshape(k, n)
        return w.T @ w

    def rhs(t, y):
        w = y.reshape(k, n)
        minv = np.linalg.inv(w.T @ w)
        return (w @ (minv @ c @ minv - eye)).ravel()

    return rhs, problem.initial_w().ravel(), m_of


def run_flow(problem: Problem) -> dict:
    """run_flow integrates the mean dynamics until e(t) = tol (an event of
    solve_ivp, located on the dense output) or the horizon. final_error is
    the error where the integration stopped (tol itself at convergence);
    min_error is the smaller of it and the initial error."""
    c = problem.covariance
    rhs, y0, m_of = flow_system(problem)
    e0 = whitening_error(m_of(y0), c)
    if e0 <= problem.tol:
        return dict(conv_time=0.0, steps=0, rhs_evals=0, final_error=e0, min_error=e0, status=0)

    def reached(t, y):
        return whitening_error(m_of(y), c) - problem.tol

    reached.terminal = True
    reached.direction = -1
    sol = solve_ivp(
        rhs,
        (0.0, problem.horizon),
        y0,
        method="RK45",
        rtol=FLOW_RTOL,
        atol=FLOW_ATOL,
        events=reached,
    )
    if sol.status < 0:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    events = sol.t_events[0]
    final_error = whitening_error(m_of(sol.y[:, -1]), c)
    return dict(
        conv_time=float(events[0]) if events.size else None,
        steps=int(sol.t.size - 1),
        rhs_evals=int(sol.nfev),
        final_error=final_error,
        min_error=min(final_error, e0),
        status=int(sol.status),
    )


def direct_g(m: float, a: float) -> float:
    """direct_g is G(m) = −m + (a/2) ln|(a + m)/(a − m)|, the time
    antiderivative of the direct network's scalar flow dm/dt = a²/m² − 1."""
    return -m + 0.5 * a * math.log(abs((a + m) / (a - m)))


def closed_form_direction_time(algorithm: str, s: float, m0: float, tol: float) -> float:
    """closed_form_direction_time is the flow convergence time of one
    eigen-direction (eigenvalue s of C, m0 of M₀) from model.md."""
    if abs(s / m0**2 - 1) <= tol:
        return 0.0
    a = math.sqrt(s)
    above = m0 > a
    if algorithm == "direct":
        m_eps = a / math.sqrt(1 - tol) if above else a / math.sqrt(1 + tol)
        return direct_g(m_eps, a) - direct_g(m0, a)
    if algorithm == "interneuron":
        u0 = m0 * m0
        if above:
            return 0.25 * math.log((u0 - s) * (1 - tol) / (s * tol))
        return 0.25 * math.log((s - u0) * (1 + tol) / (s * tol))
    raise ValueError(
        f"algorithm: {algorithm!r} is unknown; use one of {', '.join(ALGORITHMS)}"
    )


def closed_form_conv_time(problem: Problem) -> float:
    """closed_form_conv_time is the matrix flow convergence time in the
    aligned case M₀ = μ I: the largest over the eigen-directions of C."""
    return max(
        closed_form_direction_time(problem.algorithm, float(s), problem.init_scale, problem.tol)
        for s in problem.spectrum
    )


def check_flow(problem: Problem, outcome: dict, rtol: float = CHECK_RTOL) -> float:
    """check_flow raises AssertionError unless the integrated convergence
    time matches the closed form within rtol (relative); it returns the
    relative gap."""
    want = closed_form_conv_time(problem)
    got = outcome["conv_time"]
    if got is None:
        raise AssertionError(
            f"flow {problem.algorithm} n={problem.n}: got: no convergence within "
            f"horizon {problem.horizon}, want: conv_time {want:.8g}"
        )
    gap = abs(got - want) / max(abs(want), 1e-300)
    if gap > rtol:
        raise AssertionError(
            f"flow {problem.algorithm} n={problem.n}: got: conv_time {got:.8g}, "
            f"want: {want:.8g} (closed form), relative gap {gap:.3g} > {rtol:g}"
        )
    return gap


# -------------------------------------------------------------- online mode


def online_stepper(problem: Problem, rng: np.random.Generator):
    """online_stepper returns (state, step, m_of): the initial state (M for
    direct, W for interneuron), a function doing one in-place learning step
    with batch 1, and the map from a state to M."""
    c_half = problem.covariance_sqrt
    eta = problem.eta
    n = problem.n
    eye = np.eye(n)
    if problem.algorithm == "direct":

        def step(m):
            x = c_half @ rng.standard_normal(n)
            r = np.linalg.solve(m, x)
            m += eta * (np.outer(r, r) - eye)

        return problem.initial_m(), step, lambda m: m

    def step(w):
        x = c_half @ rng.standard_normal(n)
        m = w.T @ w
        r = np.linalg.solve(m, x)
        z = w @ r
        w += eta * (np.outer(z, r) - w)

    return problem.initial_w(), step, lambda w: w.T @ w


def sample_stream(problem: Problem) -> np.random.Generator:
    """sample_stream is the generator of the online samples g ~ N(0, I); it
    is independent of the streams that drew the bases."""
    return np.random.default_rng(np.random.SeedSequence(problem.seed).spawn(3)[2])


def run_online(problem: Problem) -> dict:
    """run_online runs exactly problem.steps learning steps, evaluating the
    error every steps/record steps; conv_step is the first recorded step with
    e ≤ tol (None if none). A state that stops being positive definite or
    finite at a record point ends the run as diverged."""
    c = problem.covariance
    state, step, m_of = online_stepper(problem, sample_stream(problem))
    every = max(1, problem.steps // problem.record)
    errors = []
    conv_step = None
    diverged = ""
    done = 0
    for i in range(1, problem.steps + 1):
        try:
            step(state)
        except np.linalg.LinAlgError:  # exactly singular M
            diverged = "not_positive_definite"
            break
        done = i
        if i % every and i != problem.steps:
            continue
        m = m_of(state)
        if not np.all(np.isfinite(m)):
            diverged = "non_finite"
            break
        if np.linalg.eigvalsh(0.5 * (m + m.T))[0] <= 0:
            diverged = "not_positive_definite"
            break
        e = whitening_error(m, c)
        errors.append((i, e))
        if conv_step is None and e <= problem.tol:
            conv_step = i
    return dict(
        conv_step=conv_step,
        conv_time=None if conv_step is None else problem.eta * conv_step,
        steps=done,
        final_error=errors[-1][1] if errors else None,
        min_error=min(e for _, e in errors) if errors else None,
        records=len(errors),
        diverged=diverged,
    )


def check_online(
    problem: Problem, samples: int = CHECK_SAMPLES, z_max: float = CHECK_Z
) -> float:
    """check_online raises AssertionError unless the mean online increment
    (state after one step − state before)/η at a fixed state matches the flow
    right-hand side within z_max standard errors in every entry; for the
    interneuron network it also checks one step against M ← A M A with
    A = (1 − η)I + η r rᵀ. It returns the largest z-score seen."""
    rng = sample_stream(problem)
    state, step, m_of = online_stepper(problem, rng)
    for _ in range(50):  # move off μI so that the check is not special
        step(state)
    rhs, _, _ = flow_system(problem)
    want = rhs(0.0, state.ravel()).reshape(state.shape)
    increments = np.empty((samples,) + state.shape)
    for i in range(samples):
        moved = state.copy()
        step(moved)
        increments[i] = (moved - state) / problem.eta
    mean = increments.mean(axis=0)
    stderr = increments.std(axis=0, ddof=1) / math.sqrt(samples)
    # Entries with no noise (none expected) must match to rounding.
    z = np.abs(mean - want) / np.maximum(stderr, 1e-12 * (1 + np.abs(want)))
    worst = float(z.max())
    if worst > z_max:
        raise AssertionError(
            f"online {problem.algorithm} n={problem.n}: got: mean increment off the "
            f"flow right-hand side by {worst:.3g} standard errors, want: <= {z_max:g}"
        )
    if problem.algorithm == "interneuron":
        replay = np.random.default_rng(7)
        w = state.copy()
        m = w.T @ w
        g = replay.standard_normal(problem.n)
        x = problem.covariance_sqrt @ g
        r = np.linalg.solve(m, x)
        a = (1 - problem.eta) * np.eye(problem.n) + problem.eta * np.outer(r, r)
        want_m = a @ m @ a
        _, one_step, _ = online_stepper(problem, np.random.default_rng(7))
        one_step(w)
        got_m = w.T @ w
        gap = float(np.max(np.abs(got_m - want_m)) / np.max(np.abs(want_m)))
        if gap > 1e-12:
            raise AssertionError(
                f"online interneuron n={problem.n}: got: WᵀW after a step differs "
                f"from A M A by {gap:.3g} (relative), want: <= 1e-12"
            )
    return worst


# ------------------------------------------------------------------ timing


def time_per_call(
    call: Callable[[], None],
    repeat: int,
    min_seconds: float = 0.2,
    reset: Optional[Callable[[], None]] = None,
    max_run: Optional[int] = None,
) -> list:
    """time_per_call returns `repeat` measurements of the seconds one call
    takes, each the mean over runs of consecutive calls lasting at least
    min_seconds in total. Runs double in length up to max_run calls
    (unbounded by default); reset, when given, is called untimed before each
    run, so that a stateful call (a learning step) never goes further from
    its start than max_run calls."""
    samples = []
    for _ in range(repeat):
        calls, elapsed, run = 0, 0.0, 1
        while elapsed < min_seconds:
            if reset is not None:
                reset()
            start = time.perf_counter()
            for _ in range(run):
                call()
            elapsed += time.perf_counter() - start
            calls += run
            run = run * 2 if max_run is None else min(run * 2, max_run)
        samples.append(elapsed / calls)
    return samples


def blas_report() -> list:
    """blas_report is what threadpoolctl says about the BLAS libraries loaded
    (kernel architecture, threads, version); empty if it is not installed."""
    try:
        import threadpoolctl
    except ImportError:
        return []
    import scipy.linalg  # noqa: F401  (load SciPy's BLAS too)

    return [
        {
            key: entry.get(key)
            for key in ("internal_api", "version", "architecture", "num_threads", "threading_layer", "filepath")
        }
        for entry in threadpoolctl.threadpool_info()
        if entry.get("user_api") == "blas"
    ]


def numpy_blas_name() -> Optional[str]:
    """numpy_blas_name is the BLAS NumPy was built against (show_config)."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older NumPy without mode="dicts"
        return None


def measure(problem: Problem, repeat: int) -> dict:
    """measure runs the point `repeat` times and times one step (online) or
    one right-hand side (flow) on its own, as the Go benchmarks do."""
    run = run_flow if problem.mode == "flow" else run_online
    point_seconds = []
    outcome = None
    for _ in range(repeat):
        start = time.perf_counter()
        outcome = run(problem)
        point_seconds.append(time.perf_counter() - start)
    report = dict(
        peer="numpy",
        algorithm=problem.algorithm,
        mode=problem.mode,
        n=problem.n,
        k=problem.k,
        seed=problem.seed,
        init_scale=problem.init_scale,
        tol=problem.tol,
        repeat=repeat,
        seconds_per_point=statistics.median(point_seconds),
        seconds_per_point_all=point_seconds,
        **outcome,
    )
    if problem.mode == "flow":
        rhs, y0, _ = flow_system(problem)
        per_rhs = time_per_call(lambda: rhs(0.0, y0), repeat)
        report["seconds_per_rhs"] = statistics.median(per_rhs)
        if outcome["rhs_evals"]:
            report["seconds_per_point_per_rhs"] = report["seconds_per_point"] / outcome["rhs_evals"]
        report["closed_form_conv_time"] = closed_form_conv_time(problem)
        if outcome["conv_time"] is not None:
            want = report["closed_form_conv_time"]
            report["conv_time_relative_gap"] = abs(outcome["conv_time"] - want) / want
    else:
        report["eta"] = problem.eta
        state, step, _ = online_stepper(problem, sample_stream(problem))
        start_state = state.copy()

        def restart():
            state[...] = start_state

        # Only the states a point sees: at most problem.steps steps from the
        # start, fewer when the point diverged (the direct network at n=256).
        last_good = outcome["steps"] - 1 if outcome["diverged"] else problem.steps
        per_step = time_per_call(lambda: step(state), repeat, reset=restart, max_run=max(1, last_good))
        report["seconds_per_step"] = statistics.median(per_step)
        report["seconds_per_point_per_step"] = report["seconds_per_point"] / max(outcome["steps"], 1)
    report.update(
        numpy_version=np.__version__,
        scipy_version=scipy.__version__,
        numpy_blas=numpy_blas_name(),
        blas=blas_report(),
    )
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="NumPy/SciPy peer of isweep's Go dynamics benchmarks "
        "(standard problems of internal/dynamics BenchmarkPoint)."
    )
    parser.add_argument("--algorithm", choices=ALGORITHMS, required=True)
    parser.add_argument("--mode", choices=MODES, required=True)
    parser.add_argument("--n", type=int, required=True, help="dimension n >= 1")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs (default 3)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed (default 1)")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="BLAS threads (needs threadpoolctl); default 0 keeps the BLAS default",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="assert correctness (closed form for flow, unbiased increments for online) instead of timing",
    )
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error(f"--n: {args.n} is not allowed; use n >= 1")
    if args.repeat < 1:
        parser.error(f"--repeat: {args.repeat} is not allowed; use repeat >= 1")
    if args.seed < 0:
        parser.error(f"--seed: {args.seed} is not allowed; use seed >= 0")
    if args.threads < 0:
        parser.error(f"--threads: {args.threads} is not allowed; use 0 (BLAS default) or a count >= 1")
    if args.threads:
        try:
            import threadpoolctl
        except ImportError:
            parser.error(
                f"--threads: {args.threads} needs threadpoolctl; "
                "pip install threadpoolctl or leave --threads at 0"
            )
        threadpoolctl.threadpool_limits(limits=args.threads, user_api="blas")
    problem = standard_problem(args.algorithm, args.mode, args.n, args.seed)

    if not args.check:
        print(json.dumps(measure(problem, args.repeat)))
        return 0
    try:
        if problem.mode == "flow":
            outcome = run_flow(problem)
            gap = check_flow(problem, outcome)
            report = dict(
                check="ok",
                conv_time=outcome["conv_time"],
                closed_form_conv_time=closed_form_conv_time(problem),
                relative_gap=gap,
                rhs_evals=outcome["rhs_evals"],
            )
        else:
            worst = check_online(problem)
            report = dict(check="ok", max_z_score=worst, samples=CHECK_SAMPLES)
    except AssertionError as failure:
        print(f"check failed: {failure}", file=sys.stderr)
        return 1
    report.update(algorithm=problem.algorithm, mode=problem.mode, n=problem.n)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
