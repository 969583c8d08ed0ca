"""Storage capacity of the perceptron from the Gardner volume (numerics.gardner).

Oracles: Gardner, J. Phys. A 21, 257 (1988), eq. for the spherical capacity
alpha_c(kappa) = 1 / int_{-kappa}^inf Dt (t + kappa)^2 (by scipy quadrature here), with
alpha_c(0) = 2 (Cover, IEEE Trans. Electron. Comput. 14, 326 (1965)); for +-1 weights the RS
entropy of Gardner & Derrida, J. Phys. A 21, 271 (1988), written out and integrated by scipy,
and its zero alpha_c = 0.833 (Krauth & Mézard, J. Phys. France 50, 3057 (1989)).
"""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import log_ndtr, ndtr

import derive
import numerics

SPHERE = derive.Prior.gaussian(0, 1)
ISING = derive.Prior.discrete({-1: sp.S.Half, 1: sp.S.Half})


def gardner_formula(kappa):
    """Gardner (1988): 1 / int_{-kappa}^inf Dt (t + kappa)^2, by adaptive quadrature."""
    value, _ = quad(
        lambda t: (t + kappa) ** 2 * math.exp(-t * t / 2) / math.sqrt(2 * math.pi),
        -kappa,
        np.inf,
        epsabs=0,
        epsrel=1e-13,
    )
    return 1 / value


def test_spherical_capacity_at_zero_margin_is_cover_two():
    res = numerics.gardner(SPHERE, kappa=0.0)
    assert res.converged and res.kind == "spherical"
    assert res.alpha_c == pytest.approx(2.0, abs=1e-6)


@settings(max_examples=12, deadline=None)
@given(st.floats(min_value=-4.0, max_value=6.0))
def test_spherical_capacity_equals_gardner_formula(kappa):
    res = numerics.gardner(SPHERE, kappa=kappa)
    assert res.converged
    # the closed form against adaptive quadrature (relative tolerance 1e-13 asked of QUADPACK;
    # the kernel's own rounding bound is < 1e-12 on this range)
    assert res.alpha_c == pytest.approx(gardner_formula(kappa), rel=1e-9)


@pytest.mark.parametrize("kappa", [-8.0, 12.0])
def test_spherical_capacity_far_in_both_tails(kappa):
    res = numerics.gardner(SPHERE, kappa=kappa)
    assert res.converged and res.error_bound < 1e-9
    assert res.alpha_c == pytest.approx(gardner_formula(kappa), rel=1e-8)


def test_spherical_capacity_unresolvable_margin_is_reported():
    # Phi(-45) underflows: the q -> 1 coefficient is 0 in double precision
    res = numerics.gardner(SPHERE, kappa=-45.0)
    assert not res.converged
    assert "not resolved" in res.message
    with pytest.raises(numerics.ConvergenceError):
        numerics.gardner(SPHERE, kappa=-45.0, strict=True)


def gardner_derrida_entropy(alpha, q, q_hat):
    """Gardner & Derrida (1988): s = -q_hat (1 - q)/2 + E ln 2cosh(sqrt(q_hat) z)
    + alpha E ln H(-sqrt(q) z / sqrt(1 - q)), kappa = 0, by scipy quadrature."""

    def gauss(fn):
        return quad(lambda z: fn(z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), -40, 40)[0]

    input_side = gauss(
        lambda z: abs(math.sqrt(q_hat) * z) + math.log1p(math.exp(-2 * abs(math.sqrt(q_hat) * z)))
    )
    output_side = gauss(lambda z: log_ndtr(math.sqrt(q) * z / math.sqrt(1 - q)))
    return -q_hat * (1 - q) / 2 + input_side + alpha * output_side


@pytest.fixture(scope="module")
def ising():
    return numerics.gardner(ISING, kappa=0.0)


def test_binary_capacity_is_krauth_mezard(ising):
    assert ising.converged and ising.kind == "discrete"
    assert 0.82 <= ising.alpha_c <= 0.84


def test_binary_saddle_point_against_independent_quadrature(ising):
    a, q, q_hat = ising.alpha_c, ising.q, ising.q_hat
    # q = E tanh^2(sqrt(q_hat) z) and q_hat = alpha E g_out^2 (Gardner & Derrida 1988), the
    # latter with g_out = phi(x) / (Phi(x) sqrt(1 - q)), x = sqrt(q) z / sqrt(1 - q)
    q_oracle = quad(lambda z: math.tanh(math.sqrt(q_hat) * z) ** 2 * math.exp(-z * z / 2), -40, 40)[
        0
    ] / math.sqrt(2 * math.pi)
    assert q == pytest.approx(q_oracle, abs=1e-9)

    def g2(z):
        x = math.sqrt(q) * z / math.sqrt(1 - q)
        ratio = math.exp(-x * x / 2 - log_ndtr(x)) / math.sqrt(2 * math.pi)
        return ratio**2 / (1 - q) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    assert q_hat == pytest.approx(a * quad(g2, -40, 40, limit=200)[0], rel=1e-8)
    # the entropy vanishes there, by the formula written out
    assert gardner_derrida_entropy(a, q, q_hat) == pytest.approx(0.0, abs=1e-9)


def test_binary_capacity_decreases_with_the_margin(ising):
    res = numerics.gardner(ISING, kappa=1.0)
    assert res.converged
    assert res.alpha_c < ising.alpha_c
    # below the spherical capacity at the same margin: +-1 weights lie on the sphere
    assert res.alpha_c < numerics.gardner(SPHERE, kappa=1.0).alpha_c


def test_binary_capacity_beyond_the_search_is_reported():
    res = numerics.gardner(ISING, kappa=-3.0, alpha_max=40.0)
    assert not res.converged and math.isnan(res.alpha_c)
    assert "stays positive" in res.message


@pytest.mark.parametrize("kappa", [float("nan"), float("inf"), "a", None])
def test_kappa_must_be_finite(kappa):
    with pytest.raises(derive.InputError, match="kappa"):
        numerics.gardner(SPHERE, kappa=kappa)


@pytest.mark.parametrize(
    "prior",
    [
        derive.Prior.laplace(1),
        derive.Prior.gaussian(1, 1),
        derive.Prior.gauss_bernoulli(sp.Rational(1, 2)),
        derive.Prior.gaussian(0, sp.Symbol("s", positive=True)),
    ],
    ids=["laplace", "gaussian-mean-1", "gauss-bernoulli", "symbolic-variance"],
)
def test_prior_of_the_wrong_kind_is_refused(prior):
    with pytest.raises(derive.ModelError):
        numerics.gardner(prior)


def test_not_a_prior_is_refused():
    with pytest.raises(derive.ModelError, match="derive.Prior"):
        numerics.gardner(ndtr)
