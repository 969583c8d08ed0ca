"""The recipes ``bp-random-graphs`` and ``sk-phase-diagram``, run with ``--quick`` through the
command line (once per module), and the numbers they must reproduce; for the recipes whose
grids run through ``numerics.sweep``, a run on two workers and a rerun from its checkpoint."""

import contextlib
import io
import json

import numpy as np
import pytest
from scipy.optimize import brentq

from cookbooks.cli import main


def run_quick(name, out_dir, seed=0, extra=()):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["run", name, "--quick", "--out", str(out_dir), "--seed", str(seed), *extra])
    assert code == 0, stderr.getvalue()[-2000:]
    results = json.loads((out_dir / f"{name}.json").read_text())
    assert (out_dir / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return results, stdout.getvalue(), stderr.getvalue()


# --- bp-random-graphs ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def bp_run(tmp_path_factory):
    return run_quick("bp-random-graphs", tmp_path_factory.mktemp("bp"), seed=1)


def test_bp_recipe_writes_json_table_and_progress(bp_run):
    results, out, err = bp_run
    assert results["quick"] is True and results["seed"] == 1
    for key in ("instability", "ferromagnet", "spin_glass", "exactness", "monte_carlo", "files"):
        assert key in results
    assert "f Bethe" in out and "f MC (TI)" in out and "q_BP" in out and "tree n=" in out
    assert "T = " in err


def test_bp_instability_temperatures_equal_the_references(bp_run):
    stab = bp_run[0]["instability"]
    for key in ("ferromagnetic", "spin_glass"):
        assert stab[key]["computed"] == pytest.approx(stab[key]["reference"], abs=1e-6)
    assert stab["ferromagnetic"]["reference"] == pytest.approx(2 / np.log(3))
    assert stab["spin_glass"]["reference"] == pytest.approx(1.1346, abs=1e-4)
    assert stab["spin_glass"]["ferromagnetic_instability"] is None  # symmetric ±J


def test_bp_ferromagnet_orders_below_tc_and_matches_monte_carlo(bp_run):
    ferro = bp_run[0]["ferromagnet"]
    tc = bp_run[0]["instability"]["ferromagnetic"]["computed"]
    bp, mc = ferro["bp"], ferro["monte_carlo"]
    T, m = np.array(bp["T"]), np.array(bp["m_abs"])
    assert all(bp["converged"])
    assert np.all(m[T > tc + 0.05] < 1e-6)  # paramagnet above the instability
    assert np.all(m[T < tc - 0.2] > 0.5)  # magnetised below it
    assert m[-1] > 0.99 and mc["m_abs"][-1] > 0.99
    # far from T_c, BP and Monte Carlo agree on |m| and on the energy
    shown = len(mc["T"]) - len(T)
    for k in np.nonzero(np.abs(T - tc) > 0.5)[0]:
        j = shown + k
        assert bp["u"][k] == pytest.approx(mc["u"][j], abs=0.02)
        if T[k] < tc:
            assert bp["m_abs"][k] == pytest.approx(mc["m_abs"][j], abs=0.02)


def test_bp_bethe_free_energy_matches_thermodynamic_integration(bp_run):
    ferro = bp_run[0]["ferromagnet"]
    ti = ferro["thermodynamic_integration"]
    assert ti["beta_f0"] == pytest.approx(-np.log(2))
    assert ti["u0"] == 0.0
    assert 0 < ti["max_statistical_error_f"] < 0.01
    assert 0 < ti["max_discretisation_error_f"] < 0.01
    assert ferro["comparison"]["max_abs_diff_f_bethe_vs_mc"] < 0.02


def test_bp_spin_glass_converges_only_above_the_instability(bp_run):
    results = bp_run[0]
    t_sg = results["instability"]["spin_glass"]["computed"]
    runs = results["spin_glass"]["runs"]
    for T, q, ok in zip(runs["T"], runs["q"], runs["converged"]):
        if T > t_sg + 0.05:
            assert all(ok) and max(q) < 1e-8
        elif T < t_sg - 0.05:
            assert not any(ok) or min(q) > 1e-3


def test_bp_is_exact_on_trees_and_not_on_a_loopy_grid(bp_run):
    ex = bp_run[0]["exactness"]
    assert ex["max_tree_marginal_error"] < 1e-12
    assert ex["max_tree_log_z_error"] < 1e-11
    for tree in ex["trees"]:
        assert 12 <= tree["n_nodes"] <= 16 and all(tree["converged"])
    assert max(ex["grid"]["marginal_error"]) > 1e-3
    assert max(ex["grid"]["log_z_error"]) > 1e-3


def test_bp_at_line_by_population_dynamics(bp_run):
    """The Bethe-lattice AT line of ±J, c = 3 (Mézard & Parisi, EPJB 20, 217 (2001)): from the
    homogeneous T_SG at h = 0 it falls with h, each point by population dynamics with its error
    bar; undamped BP on the sampled ±J graph converges 0.25 above it at h = 0.3 and not 0.2 below
    (the homogeneous assumption gave T = 1.068 at h = 0.3, where BP converges)."""
    results = bp_run[0]
    points = results["at_line"]["points"]
    assert points[0]["h"] == 0.0 and points[0]["method"] == "homogeneous"
    assert points[0]["T"] == results["instability"]["spin_glass"]["computed"]
    for p in points[1:]:
        assert p["method"] == "population" and p["converged"], p["message"]
        assert p["size"] > 0 and p["seed"] is not None and 0 < p["error"] < 0.02
    T = np.array([p["T"] for p in points])
    err = np.array([p["error"] for p in points])
    assert np.all(np.diff(T) < -3 * np.hypot(err[1:], err[:-1]))  # separated by 3 error bars
    (h03,) = [p for p in points if p["h"] == 0.3]
    assert h03["bp_above"]["converged"] and not h03["bp_below"]["converged"]
    assert h03["bp_above"]["T"] < 1.068


def same_numbers(a, b):
    """Two runs' JSON results, equal but for their files, times and sweep counts."""
    skip = {"files", "seconds", "sweeps"}
    return {k: v for k, v in a.items() if k not in skip} == {
        k: v for k, v in b.items() if k not in skip
    }


def parallel_then_resumed(name, tmp_path_factory):
    """A quick run on two worker processes with a fresh checkpoint directory, then a serial
    rerun with the same directory: the JSON results of both."""
    ckpt = tmp_path_factory.mktemp(f"{name}-checkpoint")
    first = run_quick(
        name, tmp_path_factory.mktemp(name), extra=("--workers", "2", "--checkpoint", str(ckpt))
    )
    again = run_quick(name, tmp_path_factory.mktemp(name), extra=("--checkpoint", str(ckpt)))
    return first[0], again[0]


# --- sk-phase-diagram ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sk_run(tmp_path_factory):
    return run_quick("sk-phase-diagram", tmp_path_factory.mktemp("sk"))


def test_sk_recipe_writes_json_table_and_progress(sk_run):
    results, out, err = sk_run
    for key in ("phase_diagram", "energy", "entropy", "tap", "rs", "files"):
        assert key in results
    assert set(results["phase_diagram"]["lines"]) == {"para_sg", "para_ferro", "at"}
    assert "transition lines" in out and "mean |m_TAP - m_MC|" in out
    assert "RS phase diagram T = " in err


def test_sk_phase_diagram_has_the_four_phases(sk_run):
    grid = sk_run[0]["phase_diagram"]["grid"]
    assert grid["all_converged"]
    assert all(
        grid["counts"][p] > 0 for p in ("paramagnetic", "ferromagnetic", "spin glass", "mixed")
    )
    J0, T = np.array(grid["J0"]), np.array(grid["T"])
    phase = np.array(grid["phase"])  # rows: T ascending
    assert phase[-1, 0] == "paramagnetic" and phase[0, 0] == "spin glass"
    assert phase[T.size // 2, -1] == "ferromagnetic"
    assert J0[0] == 0.0 and J0[-1] == 2.0 and 0 < T[0] and T[-1] == pytest.approx(1.6)


def test_sk_transition_lines_follow_the_references(sk_run):
    """The SK lines (Sherrington & Kirkpatrick, PRL 35, 1792 (1975)): T = J = 1 for J0 < J,
    T = J0 for J0 > J. The recipe's thresholds (q = 1e-6, m = 1e-3) bias them by ~1e-6 and
    brentq stops at xtol = 1e-5: 2e-5 is the stop rule plus the bias."""
    lines = sk_run[0]["phase_diagram"]["lines"]
    sg, ferro, at = lines["para_sg"], lines["para_ferro"], lines["at"]
    assert sg["T"] and max(abs(T - 1.0) for T in sg["T"]) < 2e-5
    assert ferro["T"] and max(abs(T - J0) for J0, T in zip(ferro["J0"], ferro["T"])) < 2e-5
    # the AT line leaves the multicritical point (1, 1) and falls with J0 (de Almeida &
    # Thouless 1978)
    T_at = np.array(at["T"], dtype=float)
    assert np.all(np.diff(T_at) < 0) and np.all((0 < T_at) & (T_at < 1))


def test_sk_rs_energy_entropy_and_references(sk_run):
    """RS at J0 = 0, T = 0.02 against its T = 0 limits (SK 1975): u -> -sqrt(2/pi) and
    s -> -1/(2 pi); u - u(0) is O(T^2) and the entropy is extrapolated linearly from
    T = 0.02 and 0.12, so 2e-3 and 3e-3 hold the remainders. The RS energy lies below the
    Parisi ground state -0.7632 (Crisanti & Rizzo, PRE 65, 046137 (2002): -0.763166)."""
    results = sk_run[0]
    gs = results["energy"]["ground_state"]
    assert gs["computed_lowest_T"] == pytest.approx(-np.sqrt(2 / np.pi), abs=2e-3)
    assert gs["computed_lowest_T"] < -0.763166
    mc = results["energy"]["monte_carlo"]
    # paramagnet at T = 1.9: u = -beta J^2 / 2 up to finite-N and Monte Carlo errors
    assert mc["u"][0] == pytest.approx(-0.5 / mc["T"][0], abs=0.01)
    ent = results["entropy"]
    assert 0.2 < ent["zero_crossing_T"] < 0.35
    assert ent["T0"]["computed_lowest_T"] < 0
    assert ent["T0"]["computed_extrapolated"] == pytest.approx(-1 / (2 * np.pi), abs=3e-3)


def test_sk_tap_is_much_closer_to_monte_carlo_than_naive_mean_field(sk_run):
    tap = sk_run[0]["tap"]
    assert tap["rs"]["above_at_line"] and tap["rs"]["at"] < 1
    assert tap["tap"]["converged"] and tap["naive_meanfield"]["converged"]
    assert tap["mean_abs_diff_tap_mc"] < 0.08
    assert tap["mean_abs_diff_nmf_mc"] > 3 * tap["mean_abs_diff_tap_mc"]
    assert len(tap["tap"]["m"]) == len(tap["monte_carlo"]["m"]) == tap["N"]


@pytest.fixture(scope="module")
def sk_parallel(tmp_path_factory):
    return parallel_then_resumed("sk-phase-diagram", tmp_path_factory)


def test_sk_two_workers_give_the_serial_numbers(sk_run, sk_parallel):
    """Every grid of the recipe is a numerics.sweep and the Monte Carlo seeds depend only on
    the grid positions: --workers 2 gives the serial JSON, number for number."""
    parallel = sk_parallel[0]
    assert same_numbers(parallel, sk_run[0])
    counts = sk_run[0]["sweeps"]["counts"]
    assert set(counts) == {
        "rs-diagram",
        "rs-lines-para_sg",
        "rs-lines-para_ferro",
        "rs-lines-at",
        "rs-curve",
        "monte-carlo",
    }
    assert parallel["sweeps"]["counts"] == counts
    assert all(c["computed"] == c["points"] > 0 for c in counts.values())


def test_sk_rerun_with_the_checkpoint_computes_nothing(sk_run, sk_parallel):
    again = sk_parallel[1]
    assert same_numbers(again, sk_run[0])
    assert all(c["computed"] == 0 for c in again["sweeps"]["counts"].values())


# --- ising-meanfield -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def im_run(tmp_path_factory):
    return run_quick("ising-meanfield", tmp_path_factory.mktemp("im"))


def _im_graphs(results):
    return [g for panel in results["panels"] for g in panel["graphs"]]


def test_ising_recipe_writes_json_table_and_progress(im_run):
    results, out, err = im_run
    assert [p["key"] for p in results["panels"]] == ["complete", "lattice", "rrg"]
    assert "Weiss T_c" in out and "graphs.meanfield vs Weiss" in err


def test_ising_weiss_critical_temperature_is_z_J(im_run):
    """Weiss (1907): T_c = z J; complete graph z = N - 1, J = 1/N; square lattice 4;
    3-regular 3. brentq stops at 1e-12 in beta: rel 1e-9 is loose."""
    for g in _im_graphs(im_run[0]):
        assert g["weiss_Tc"] == pytest.approx(g["degree"] * g["J"], rel=1e-9), g["label"]


def test_ising_weiss_curve_solves_the_weiss_equation(im_run):
    """m = tanh(z J m / T) (Weiss 1907) solved here by brentq: the positive root below
    T_c = z J, 0 above. The solver stops at |F(m) - m| < 1e-12, so |m - m*| <= 1e-12 / (1 - s)
    with s the slope of F at the root; points within 2% of T_c (s -> 1) are left out."""
    for g in _im_graphs(im_run[0]):
        a_c = g["degree"] * g["J"]
        for T, m in zip(g["weiss_curve"]["T"], g["weiss_curve"]["m"]):
            if abs(T - a_c) < 0.02 * a_c:
                continue
            a = a_c / T
            want = brentq(lambda x, a=a: np.tanh(a * x) - x, 1e-9, 1.0) if a > 1 else 0.0
            slope = a * (1 - want**2)
            assert m == pytest.approx(want, abs=1e-12 / (1 - slope) + 1e-13), (g["label"], T)


def test_ising_graph_meanfield_equals_weiss_on_regular_graphs(im_run):
    """graphs.meanfield (node by node on the graph, damped, tol 1e-10) on a regular graph is
    the homogeneous solution: the two solvers agree to their stopping rules."""
    for g in _im_graphs(im_run[0]):
        assert g["graph_meanfield"]["max_abs_diff_weiss"] < 1e-8, g["label"]


def test_ising_monte_carlo_matches_the_exact_low_temperature_magnetisation(im_run):
    """Below 0.8 T_c, Monte Carlo <|m|> against the exact infinite-system values: Yang,
    Phys. Rev. 85, 808 (1952) for the square lattice, m = (1 - sinh(2/T)^-4)^(1/8); the Bethe
    lattice of degree 3 (cavity field x = 2 atanh(tanh(1/T) tanh x), m = tanh(3 atanh(tanh(1/T)
    tanh x)), Bethe 1935) for the random 3-regular graph. Tolerance: 5 batch-means errors plus
    1e-3 for the finite size (L = 12, N = 200) far below T_c, where correlations are short."""
    panels = {p["key"]: p["graphs"][0]["monte_carlo"] for p in im_run[0]["panels"]}

    def bethe(T):
        t = np.tanh(1 / T)
        x = brentq(lambda x: 2 * np.arctanh(t * np.tanh(x)) - x, 1e-3, 50.0)
        return np.tanh(3 * np.arctanh(t * np.tanh(x)))

    exact = {
        "lattice": (lambda T: (1 - np.sinh(2 / T) ** -4) ** 0.125, 2 / np.log(1 + np.sqrt(2))),
        "rrg": (bethe, 2 / np.log(3)),
    }
    for key, (law, tc) in exact.items():
        mc = panels[key]
        checked = 0
        for T, m, err in zip(mc["T"], mc["m_abs"], mc["err"]):
            if T < 0.8 * tc:
                assert abs(m - law(T)) < 5 * err + 1e-3, (key, T)
                checked += 1
        assert checked >= 2


@pytest.fixture(scope="module")
def im_parallel(tmp_path_factory):
    return parallel_then_resumed("ising-meanfield", tmp_path_factory)


def test_ising_two_workers_give_the_serial_numbers(im_run, im_parallel):
    """One numerics.sweep task per graph, seeds from the grid positions: --workers 2 gives
    the serial JSON, number for number."""
    assert same_numbers(im_parallel[0], im_run[0])
    assert im_run[0]["sweeps"]["graphs"]["computed"] == im_run[0]["sweeps"]["graphs"]["points"] == 4


def test_ising_rerun_with_the_checkpoint_computes_nothing(im_run, im_parallel):
    again = im_parallel[1]
    assert same_numbers(again, im_run[0])
    assert again["sweeps"]["graphs"] == dict(im_run[0]["sweeps"]["graphs"], computed=0)


# --- teacher-student GLM recipes ----------------------------------------------------------


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory):
    return run_quick("perceptron-binary", tmp_path_factory.mktemp("pb"))


def test_perceptron_binary_thresholds(binary_run):
    """The quick run bisects to 2e-4: both thresholds land in the REFERENCE windows."""
    th = binary_run[0]["thresholds"]
    assert 1.240 <= th["alpha_it"] <= 1.250
    assert 1.485 <= th["alpha_alg"] <= 1.500
    assert "alpha_IT =" in binary_run[1]


def test_perceptron_binary_amp_follows_state_evolution(binary_run):
    """GAMP test errors (N = 2000, 5000 fresh inputs: binomial sd ~0.006) against the SE
    Bayes error interpolated at the same alpha; the finite-size spread of the overlap was
    measured at ~0.012 at N = 2000 (tests/numerics/test_glm_numerics.py), i.e. ~0.005 in
    error: 0.03 is about four combined standard deviations."""
    results = binary_run[0]
    se = results["state_evolution"]["uninformed"]
    alphas = np.array(se["alpha"])
    keep = np.array(se["overlap"]) < 0.99
    below = [p for p in results["amp"] if p["alpha"] < results["thresholds"]["alpha_alg"]]
    assert below
    for point in below:
        want = np.interp(point["alpha"], alphas[keep], np.array(se["bayes_error"])[keep])
        assert point["test_error"] == pytest.approx(want, abs=0.03)


def test_perceptron_binary_gamp_recovers_the_teacher_past_alpha_alg(binary_run):
    """Past the algorithmic threshold (Barbier et al., PNAS 2019) GAMP recovers the teacher."""
    results = binary_run[0]
    above = [p for p in results["amp"] if p["alpha"] > results["thresholds"]["alpha_alg"]]
    assert above
    for point in above:
        assert point["overlap"] > 0.99, point["message"]


def test_perceptron_binary_every_loop_is_a_named_sweep(binary_run):
    """Both SE branches and the GAMP instances run through numerics.sweep (one point per
    alpha, per instance): a serial run without a checkpoint computes every point."""
    counts = binary_run[0]["sweeps"]["counts"]
    assert counts == {
        "perceptron-binary-se-uninformed": dict(points=10, computed=10),
        "perceptron-binary-se-informed": dict(points=10, computed=10),
        "perceptron-binary-gamp": dict(points=3, computed=3),
    }


@pytest.fixture(scope="module")
def gaussian_run(tmp_path_factory):
    return run_quick("perceptron-gaussian", tmp_path_factory.mktemp("pg"))


def test_perceptron_gaussian_every_loop_is_a_named_sweep(gaussian_run):
    counts = gaussian_run[0]["sweeps"]["counts"]
    assert counts == {
        "perceptron-gaussian-se": dict(points=10, computed=10),
        "perceptron-gaussian-se-large": dict(points=3, computed=3),
        "perceptron-gaussian-gamp": dict(points=2, computed=2),
    }


def test_perceptron_gaussian_large_alpha_constant(gaussian_run):
    """alpha * error at alpha = 160 is within 0.1% of the published 0.4417 (measured 0.44164;
    the ladder of quadrature orders resolves the integrands up to this alpha)."""
    la = gaussian_run[0]["large_alpha"]
    assert la["alpha_times_error"][-1] == pytest.approx(0.4417, rel=1e-3)
    assert la["alpha_times_error"][0] < la["alpha_times_error"][-1]  # approached from below


@pytest.fixture(scope="module")
def cs_run(tmp_path_factory):
    return run_quick("compressed-sensing", tmp_path_factory.mktemp("cs"))


def test_compressed_sensing_algorithmic_line(cs_run):
    """alpha_alg from the jump of the SE branch agrees with max_r r mmse(r) (the noiseless
    recursion E -> mmse(alpha/E)) to the bisection tolerance 2e-3 plus the effect of the
    1e-8 noise; both lie above the information-theoretic line alpha = rho."""
    for p in cs_run[0]["algorithmic_line"]:
        assert p["alpha_alg"] == pytest.approx(p["alpha_bp"], abs=3e-3)
        assert p["alpha_alg"] > p["rho"]


def test_compressed_sensing_vamp_beats_amp_on_ill_conditioned_matrices(cs_run):
    runs = cs_run[0]["conditioning"]["runs"]
    iid, worst = runs[0], runs[-1]
    assert iid["condition_number"] == 1 and iid["amp"]["mse"] < 1e-6
    assert worst["condition_number"] >= 1000
    assert not worst["amp"]["converged"]
    assert worst["vamp"]["mse"] < 1e-4


def test_compressed_sensing_amp_and_vamp_see_the_same_instance(cs_run):
    """One sampled instance per sweep point, both algorithms on it: GAMP and VAMP reach the
    same fixed point, each stopping when its estimate moves by < 1e-8 per component, so
    their MSEs (>= 5e-9 here) agree to rel 1e-3 (2 * 1e-8 / sqrt(5e-9) ~ 3e-4). Two
    instances at alpha = 0.6 differ by ~40% (measured: 5.9e-9 and 3.6e-9)."""
    points = cs_run[0]["mse_vs_alpha"]["points"]
    assert [p["alpha"] for p in points] == [0.3, 0.6]
    for point in points:
        assert point["amp"]["mse"] == pytest.approx(point["vamp"]["mse"], rel=1e-3)


@pytest.fixture(scope="module")
def cs_parallel(tmp_path_factory):
    return parallel_then_resumed("compressed-sensing", tmp_path_factory)


def test_compressed_sensing_two_workers_give_the_serial_numbers(cs_run, cs_parallel):
    """The SE curve, the sampled instances, the algorithmic line and the conditioning runs
    are numerics.sweep grids whose seeds depend only on grid positions: --workers 2 gives
    the serial JSON, number for number. (compressed-sensing uses every GLM helper of
    cookbooks/glm_common.py; the perceptrons' sweeps go through the same ones.)"""
    parallel = cs_parallel[0]
    assert same_numbers(parallel, cs_run[0])
    counts = cs_run[0]["sweeps"]["counts"]
    assert counts == {
        "compressed-sensing-se": dict(points=8, computed=8),
        "compressed-sensing-amp-vamp": dict(points=2, computed=2),
        "compressed-sensing-line": dict(points=3, computed=3),
        "compressed-sensing-conditioning": dict(points=2, computed=2),
    }
    assert parallel["sweeps"]["counts"] == counts


def test_compressed_sensing_rerun_with_the_checkpoint_computes_nothing(cs_run, cs_parallel):
    again = cs_parallel[1]
    assert same_numbers(again, cs_run[0])
    assert all(c["computed"] == 0 for c in again["sweeps"]["counts"].values())
