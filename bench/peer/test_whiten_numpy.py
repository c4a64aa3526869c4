"""Tests of the NumPy peer (bench/peer/whiten_numpy.py): its closed forms
reproduce model.md's reference table, its integrator reproduces the closed
forms, its --check mode passes for n = 1, 4 and fails on wrong answers."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import whiten_numpy as peer  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "whiten_numpy.py")

# model.md, "Reference values" (ε = 0.01, one direction): s, m₀, direct τ,
# interneuron τ, given to 5 decimals.
REFERENCE = [
    (1, 0.05, 2.00314, 1.15315),
    (1, 2, 3.43888, 1.42343),
    (1, 10, 11.88785, 2.29756),
    (1, 50, 51.96818, 3.10469),
    (0.25, 10, 10.96907, 2.64602),
    (4, 50, 53.89633, 2.75782),
]
ROUNDING = 6e-6  # the table's last decimal


@pytest.mark.parametrize("s, m0, direct, interneuron", REFERENCE)
def test_closed_form_reproduces_reference_table(s, m0, direct, interneuron):
    for algorithm, want in (("direct", direct), ("interneuron", interneuron)):
        got = peer.closed_form_direction_time(algorithm, s, m0, 0.01)
        assert abs(got - want) <= ROUNDING, f"{algorithm} s={s} m0={m0}: got: {got:.7f} want: {want}"


@pytest.mark.parametrize("s, m0, direct, interneuron", REFERENCE)
def test_flow_reproduces_reference_table(s, m0, direct, interneuron):
    for algorithm, want in (("direct", direct), ("interneuron", interneuron)):
        problem = peer.make_problem(algorithm, "flow", [s], m0, seed=3)
        got = peer.run_flow(problem)["conv_time"]
        assert got is not None, f"{algorithm} s={s} m0={m0}: got: no convergence want: {want}"
        assert abs(got - want) <= ROUNDING + 1e-7 * want, (
            f"{algorithm} s={s} m0={m0}: got: {got:.7f} want: {want}"
        )


def test_within_tolerance_at_start_converges_at_zero():
    problem = peer.make_problem("direct", "flow", [1.0, 1.0], 1.0)
    got = peer.run_flow(problem)
    assert got["conv_time"] == 0.0 and got["rhs_evals"] == 0, f"got: {got} want: conv_time 0, no RHS"


@pytest.mark.parametrize("algorithm", peer.ALGORITHMS)
@pytest.mark.parametrize("mode", peer.MODES)
@pytest.mark.parametrize("n", [1, 4])
def test_check_mode_passes(algorithm, mode, n):
    run = subprocess.run(
        [sys.executable, SCRIPT, "--algorithm", algorithm, "--mode", mode, "--n", str(n), "--check"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, f"got: exit {run.returncode}, stderr {run.stderr!r} want: exit 0"
    report = json.loads(run.stdout)
    assert report["check"] == "ok", f"got: {report} want: check ok"
    if mode == "flow":
        assert report["relative_gap"] <= peer.CHECK_RTOL, f"got: {report} want: gap <= 1e-3"
        # ε = 0.01 needs a real integration, not a start inside the tolerance.
        assert report["closed_form_conv_time"] > 1, f"got: {report} want: τ > 1"


def test_check_flow_rejects_a_wrong_time():
    problem = peer.standard_problem("direct", "flow", 4)
    looser = dataclasses.replace(problem, tol=0.02)  # converges earlier
    outcome = peer.run_flow(looser)
    with pytest.raises(AssertionError, match="closed form"):
        peer.check_flow(problem, outcome)


class _WrongSampler(peer.Problem):
    """_WrongSampler draws x = C g instead of C^{1/2} g: a bug --check must catch."""

    @property
    def covariance_sqrt(self):
        return self.covariance


@pytest.mark.parametrize("algorithm", peer.ALGORITHMS)
def test_check_online_rejects_a_wrong_sampler(algorithm):
    good = peer.standard_problem(algorithm, "online", 4)
    wrong = _WrongSampler(**{f.name: getattr(good, f.name) for f in dataclasses.fields(good)})
    with pytest.raises(AssertionError, match="standard errors"):
        peer.check_online(wrong, samples=4000)


def test_online_is_deterministic_per_seed():
    first = peer.run_online(peer.standard_problem("interneuron", "online", 4, seed=5))
    again = peer.run_online(peer.standard_problem("interneuron", "online", 4, seed=5))
    other = peer.run_online(peer.standard_problem("interneuron", "online", 4, seed=6))
    assert first == again, f"got: {again} want: {first}"
    assert first["final_error"] != other["final_error"], f"got: same final error {first['final_error']} for seeds 5 and 6"
    assert first["steps"] == peer.ONLINE_STEPS and first["records"] == peer.ONLINE_RECORD, (
        f"got: {first['steps']} steps, {first['records']} records want: {peer.ONLINE_STEPS}, {peer.ONLINE_RECORD}"
    )


def test_direct_online_with_a_large_step_diverges_as_data():
    problem = dataclasses.replace(peer.standard_problem("direct", "online", 4), eta=2.5)
    got = peer.run_online(problem)
    assert got["diverged"] in ("not_positive_definite", "non_finite"), f"got: {got} want: diverged"
    assert got["steps"] < problem.steps, f"got: {got['steps']} steps want: an early stop"


@pytest.mark.parametrize("n", [1, 3, 8])
def test_problem_matrices(n):
    problem = peer.make_problem("interneuron", "flow", np.geomspace(0.5, 2, n), 3.0, seed=2, k=n + 2)
    q, u = problem.basis, problem.interneuron_basis
    for name, got, want in (
        ("QᵀQ", q.T @ q, np.eye(n)),
        ("UᵀU", u.T @ u, np.eye(n)),
        ("C^{1/2}C^{1/2}", problem.covariance_sqrt @ problem.covariance_sqrt, problem.covariance),
        ("W₀ᵀW₀", problem.initial_w().T @ problem.initial_w(), problem.initial_m()),
    ):
        assert np.allclose(got, want, atol=1e-12), f"{name}: got: {got} want: {want}"
    assert np.allclose(np.linalg.eigvalsh(problem.covariance), np.geomspace(0.5, 2, n)), "eigenvalues of C"


def test_timing_report_fields():
    for mode, unit in (("flow", "seconds_per_rhs"), ("online", "seconds_per_step")):
        run = subprocess.run(
            [sys.executable, SCRIPT, "--algorithm", "direct", "--mode", mode, "--n", "4", "--repeat", "1"],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, f"got: exit {run.returncode}, {run.stderr!r} want: 0"
        report = json.loads(run.stdout)
        assert report["seconds_per_point"] > 0 and report[unit] > 0, f"got: {report} want: positive timings"
        if mode == "flow":
            assert report["conv_time_relative_gap"] <= peer.CHECK_RTOL, f"got: {report}"
        else:
            assert report["steps"] == peer.ONLINE_STEPS, f"got: {report['steps']} want: {peer.ONLINE_STEPS}"


def test_cli_rejects_a_bad_dimension():
    run = subprocess.run(
        [sys.executable, SCRIPT, "--algorithm", "direct", "--mode", "flow", "--n", "0"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "--n: 0" in run.stderr, f"got: exit {run.returncode}, {run.stderr!r}"


def test_threads_flag_limits_blas():
    pytest.importorskip("threadpoolctl")
    run = subprocess.run(
        [sys.executable, SCRIPT, "--algorithm", "interneuron", "--mode", "flow", "--n", "4",
         "--repeat", "1", "--threads", "1"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, f"got: exit {run.returncode}, {run.stderr!r} want: 0"
    threads = [lib["num_threads"] for lib in json.loads(run.stdout)["blas"]]
    assert threads and all(t == 1 for t in threads), f"got: BLAS threads {threads} want: all 1"
