"""Tests of numerics.population: population dynamics of the replica-symmetric cavity fields on a
random regular graph and the growth rate of squared perturbations over it.

Oracles, independent of the library:

* zero field, symmetric couplings: every cavity field stays 0, the derivative of the bias is
  tanh(beta J), and the spin-glass growth per generation is (c - 1) E tanh^2(beta J)
  (Mézard & Parisi, Eur. Phys. J. B 20, 217 (2001), §5; Mézard & Montanari, *Information,
  Physics, and Computation* (2009), §17.3). For ±J couplings this gives the Bethe-lattice
  spin-glass temperature tanh^2(beta_c) = 1/(c - 1), T_c = 1.1346 for c = 3; for Gaussian
  couplings the expectation is computed here by scipy's quad.
* with a field the estimate has no closed form: two population sizes and two seeds must agree
  within their error bars, and belief propagation on a sampled graph (tests/numerics/
  test_stability.py) must be stable above and unstable below the estimate.
"""

import math

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad

from derive import PairwiseModel
from numerics import ConvergenceError, InputError
from numerics.population import population_dynamics, spin_glass_instability

si, sj = sp.symbols("s_i s_j", real=True)
J, h = sp.symbols("J h", real=True)
ISING = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
PM_J = {"J": {1.0: 0.5, -1.0: 0.5}}


def gaussian(rng, n):
    return rng.normal(0.0, 1.0, n)


def test_zero_field_pm_j_law():
    """(c - 1) tanh^2(beta_c) = 1 for ±J on c = 3: T_c = 1 / atanh(1 / sqrt 2) = 1.134593."""
    r = spin_glass_instability(
        ISING,
        3,
        PM_J,
        {"h": 0.0},
        betas=[0.8, 0.95],
        size=200,
        equilibration=20,
        generations=20,
        runs=2,
        xtol=1e-9,
    )
    exact = 1 / math.atanh(1 / math.sqrt(2))
    assert r.converged, r.message
    # within its error bar (3 standard errors), plus Brent's tolerance on beta (1e-9)
    assert abs(r.temperature - exact) <= 3 * r.temperature_error + 1e-8
    assert r.temperature == pytest.approx(1.1346, abs=5e-5)


@pytest.mark.parametrize("beta", [0.6, 1.0])
def test_zero_field_gaussian_couplings(beta):
    """J ~ N(0, 1): growth (c - 1) E tanh^2(beta J), the expectation by quadrature here.

    Every generation averages 2 * 2000 independent tanh^2(beta J) draws (variance < 0.1 each):
    the run-to-run standard error is ~ 1e-3 per generation, divided by sqrt(40) over the
    window; 4 standard errors of the 4 runs (a Student t with 3 degrees of freedom exceeds 4
    with probability ~3%, hence also the absolute floor 0.01 on log growth)."""
    expected, _ = quad(
        lambda x: math.tanh(beta * x) ** 2 * math.exp(-(x**2) / 2) / math.sqrt(2 * math.pi),
        -math.inf,
        math.inf,
    )
    r = population_dynamics(
        ISING, 3, {"J": gaussian}, beta, {"h": 0.0}, size=2000, equilibration=20, generations=40
    )
    assert r.converged and r.runs == 4
    assert r.log_growth_error > 0
    assert abs(r.log_growth - math.log(2 * expected)) < max(4 * r.log_growth_error, 0.01)


def test_population_sizes_and_seeds_agree_with_a_field():
    """±J, h = 0.3, beta = 1.4 (close to the instability): P = 2000 with two seeds and P = 4000
    agree within 3 combined standard errors. The population-control bias is O(1/P): measured
    +0.008 in log growth at P = 500, below the error bars (~0.0015) from P = 2000 on."""
    kw = dict(equilibration=60, generations=60, runs=3)
    a = population_dynamics(ISING, 3, PM_J, 1.4, {"h": 0.3}, size=2000, seed=0, **kw)
    b = population_dynamics(ISING, 3, PM_J, 1.4, {"h": 0.3}, size=2000, seed=1, **kw)
    c = population_dynamics(ISING, 3, PM_J, 1.4, {"h": 0.3}, size=4000, seed=2, **kw)
    for x, y in ((a, b), (a, c), (b, c)):
        assert abs(x.log_growth - y.log_growth) < 3 * math.hypot(
            x.log_growth_error, y.log_growth_error
        )
    # the fields are not homogeneous: their spread is of the order of the couplings
    assert np.std(c.fields) > 0.1
    assert c.seed == 2 and c.size == 4000 and c.fields.shape == (4000, 1)


def test_field_changes_the_growth_rate():
    """With the field the one-step zero-field average misses the answer: at beta = 1.2,
    (c - 1) tanh^2(beta) = 1.37 > 1, while the population (correlated fields along the path)
    gives log growth < 0 (stable), separated by many error bars."""
    r = population_dynamics(
        ISING, 3, PM_J, 1.2, {"h": 0.3}, size=1000, equilibration=60, generations=60, runs=3
    )
    assert math.log(2 * math.tanh(1.2) ** 2) > 0.3
    assert r.log_growth + 5 * r.log_growth_error < 0


def test_no_crossing_is_not_converged():
    r = spin_glass_instability(
        ISING,
        3,
        PM_J,
        {"h": 0.0},
        betas=[0.2, 0.4],
        size=100,
        equilibration=5,
        generations=5,
        runs=2,
    )
    assert not r.converged
    assert "no instability up to beta = 0.4" in r.message
    assert math.isnan(r.temperature)
    with pytest.raises(ConvergenceError, match="no instability"):
        spin_glass_instability(
            ISING,
            3,
            PM_J,
            {"h": 0.0},
            betas=[0.2, 0.4],
            size=100,
            equilibration=5,
            generations=5,
            runs=2,
            strict=True,
        )


def test_large_error_bar_is_not_converged():
    """A tiny population gives an error bar above error_tol: converged=False, with the reason."""
    r = spin_glass_instability(
        ISING,
        3,
        PM_J,
        {"h": 0.3},
        betas=[0.8, 3.0],
        size=50,
        equilibration=10,
        generations=10,
        runs=3,
        error_tol=1e-6,
    )
    assert not r.converged
    assert "exceeds error_tol" in r.message


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(runs=1), "runs must be an integer >= 2"),
        (dict(size=0), "size must be an integer >= 2"),
        (dict(beta=-1.0), "beta must be a finite number > 0"),
        (dict(beta=math.nan), "beta must be a finite number > 0"),
        (dict(couplings={"K": 1.0}), r"no distribution for edge parameter\(s\) \['J'\]"),
        (dict(couplings={"J": 1.0, "K": 1.0}), r"\['K'\] are not edge parameters"),
        (dict(couplings={"J": {1.0: 0.7}}), "probabilities must be >= 0 and sum to 1"),
        (dict(couplings={"J": lambda rng, n: np.ones(n + 1)}), "must return 20 finite numbers"),
        (dict(params={}), r"no value for model parameter\(s\) \['h'\]"),
        (dict(params={"h": "a"}), "is not a number"),
    ],
)
def test_bad_input(kwargs, match):
    args = dict(couplings=PM_J, beta=1.0, params={"h": 0.0}, size=10, runs=2)
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        population_dynamics(
            ISING,
            3,
            args.pop("couplings"),
            args.pop("beta"),
            args.pop("params"),
            equilibration=2,
            generations=2,
            **args,
        )
