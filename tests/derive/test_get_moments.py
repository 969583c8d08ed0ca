"""Tests of derive.get_moments: the Gaussian-equivalence moments (a, b, c) of a nonlinearity.

(a, b, c) = (E f(u), E u f(u), E f(u)^2) for u ~ N(0, 1) are the numbers through which random
features enter the Gaussian equivalence theorem (Goldt, Mézard, Krzakala, Zdeborová, PRX 10,
041044 (2020), arXiv:1909.11500; Mei & Montanari, arXiv:1908.05335, who call them mu_0, mu_1
and mu_star^2 = c - a^2 - b^2; Gerace et al., arXiv:2002.09339).

Oracles: probabilists' Gauss--Hermite quadrature (numpy, exact for polynomials of degree up to
2n - 1) for polynomial nonlinearities, ``scipy.integrate.quad`` (QUADPACK) split at the kinks
for piecewise-linear ones; both are evaluated on nonlinearities written with numpy by hand
from the drawn numbers, not lambdified from the sympy expression under test.
"""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import derive
from derive import GaussianExpectation

U = sp.Symbol("u", real=True)
#: Gauss--Hermite with 60 nodes integrates polynomials of degree <= 119 exactly, so the only
#: error is rounding: the closed forms are evaluated at 30 digits, the sum in doubles
#: (terms up to ~1e4 for degree 8), hence a 1e-10 tolerance relative to E|f|^2 + 1.
NODES, WEIGHTS = np.polynomial.hermite_e.hermegauss(60)
WEIGHTS = WEIGHTS / np.sqrt(2 * np.pi)


def value(expr):
    return float(sp.N(expr, 30))


@settings(max_examples=15)
@given(coefficients=st.lists(st.integers(-3, 3), min_size=1, max_size=5))
def test_polynomial_moments_equal_gauss_hermite(coefficients):
    """Any polynomial closes exactly (Gaussian moments); equal to Gauss--Hermite quadrature."""
    f = sum(c * U**k for k, c in enumerate(coefficients))
    moments = derive.get_moments(f, U)
    assert moments.exact
    values = np.polynomial.polynomial.polyval(NODES, coefficients)
    oracle = (WEIGHTS @ values, WEIGHTS @ (NODES * values), WEIGHTS @ values**2)
    scale = 1 + oracle[2]
    for m, o in zip(moments, oracle):
        assert abs(value(m) - o) <= 1e-10 * scale


def test_tanh_odd_gives_an_exact_zero_and_quadrature_nodes():
    """tanh is odd: a = 0 exactly (parity); b and c do not close and stay expectations."""
    moments = derive.get_moments(sp.tanh(U), U)
    assert moments.a == 0
    assert moments.b.has(GaussianExpectation) and moments.c.has(GaussianExpectation)
    assert not moments.exact


def test_shifted_odd_function_has_exact_mean():
    """sigmoid(u) - 1/2 is odd, so E sigmoid(u) = 1/2 exactly, from the even part of f."""
    moments = derive.get_moments(1 / (1 + sp.exp(-U)), U)
    assert moments.a == sp.Rational(1, 2)


def test_kappa_star_of_a_linear_function_vanishes():
    """f(u) = 3u - 1: a = -1, b = 3, c = 10, so kappa_star^2 = c - a^2 - b^2 = 0 (Mei &
    Montanari: a linear f has no nonlinear part)."""
    moments = derive.get_moments(3 * U - 1, U)
    assert tuple(moments) == (-1, 3, 10)
    assert moments.kappa_star_squared == 0


def test_variable_without_real_assumption_and_memo():
    """A plain Symbol works like a real one, and equal inputs share one derivation."""
    u = sp.Symbol("u")
    first = derive.get_moments(u**2, u)
    assert tuple(first) == (1, 0, 3)
    assert derive.get_moments(u**2, sp.Symbol("u")) is first


@pytest.mark.parametrize(
    "f, words",
    [
        (sp.exp(U**2), "grows"),
        (sp.exp(U**2 / 4), "grows"),  # E f^2 = E e^{u^2/2} diverges: the boundary case
        (U * sp.exp(U**2 / 4), "grows"),
        (sp.exp(sp.exp(U)), "grows"),
        (sp.sqrt(U), "not real"),
    ],
)
def test_non_integrable_or_complex_nonlinearity_is_refused(f, words):
    with pytest.raises(derive.ModelError, match=words):
        derive.get_moments(f, U)


def test_sub_gaussian_growth_is_accepted_and_exact():
    """exp(u^2/8): E f = (1 - 1/4)^(-1/2), E f^2 = (1 - 1/2)^(-1/2) (Gaussian integrals)."""
    moments = derive.get_moments(sp.exp(U**2 / 8), U)
    assert sp.simplify(moments.a - 2 / sp.sqrt(3)) == 0
    assert sp.simplify(moments.c - sp.sqrt(2)) == 0


def test_other_symbol_is_refused_by_name():
    x = sp.Symbol("x", real=True)
    with pytest.raises(derive.ModelError, match="depends on x"):
        derive.get_moments(sp.tanh(x * U), U)
    with pytest.raises(derive.ModelError, match="depends on x"):
        derive.get_moments(sp.tanh(x), U)


def test_bad_variable_or_expression_is_an_input_error():
    with pytest.raises(derive.InputError, match="Symbol"):
        derive.get_moments(sp.tanh(U), "u")
    with pytest.raises(derive.InputError, match="sympy expression"):
        derive.get_moments(sp.Eq(U, 1), U)


SQRT_PI = sp.sqrt(sp.pi)


@pytest.mark.parametrize(
    "f, reference",
    [
        # Goldt et al. 2020 (arXiv:1909.11500) and Mei & Montanari (arXiv:1908.05335):
        # ReLU mu_0 = 1/sqrt(2 pi), mu_1 = 1/2, E relu^2 = 1/2
        (sp.Max(0, U), (1 / sp.sqrt(2 * sp.pi), sp.Rational(1, 2), sp.Rational(1, 2))),
        (sp.sign(U), (0, sp.sqrt(2 / sp.pi), 1)),
        # erf(u / sqrt 2): E u f = sqrt(2/pi) / sqrt(2) (Stein), E f^2 = (2/pi) arcsin(1/2) = 1/3
        (sp.erf(U / sp.sqrt(2)), (0, 1 / SQRT_PI, sp.Rational(1, 3))),
        (sp.Abs(U), (sp.sqrt(2 / sp.pi), 0, 1)),
    ],
    ids=["relu", "sign", "erf", "abs"],
)
def test_reference_moments_are_exact(f, reference):
    moments = derive.get_moments(f, U)
    assert moments.exact
    for got, want in zip(moments, reference):
        assert sp.simplify(got - want) == 0


def test_erf_kappa_star():
    """kappa_star^2 = 1/3 - 1/pi for erf(u / sqrt 2), exactly."""
    moments = derive.get_moments(sp.erf(U / sp.sqrt(2)), U)
    assert sp.simplify(moments.kappa_star_squared - (sp.Rational(1, 3) - 1 / sp.pi)) == 0


def _gaussian_quad(g, kinks):
    """(E g, E u g, E g^2) by QUADPACK on the pieces between the kinks (1e-13 absolute, 1e-12 relative)."""
    from scipy.integrate import quad

    edges = [-np.inf, *sorted(kinks), np.inf]

    def expect(h):
        w = lambda t: h(t) * np.exp(-t * t / 2) / np.sqrt(2 * np.pi)  # noqa: E731
        return sum(
            quad(w, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
            for lo, hi in zip(edges[:-1], edges[1:])
        )

    return expect(g), expect(lambda t: t * g(t)), expect(lambda t: g(t) ** 2)


small = st.integers(-6, 6).map(lambda k: sp.Rational(k, 3))
kinks = st.integers(-5, 5).map(lambda k: sp.Rational(k, 4))
shapes = st.sampled_from(["relu", "abs", "min"])


@settings(max_examples=5)
@given(slope=small, offset=small, weight=small, kink=kinks, shape=shapes)
def test_piecewise_linear_moments_equal_quadrature(slope, offset, weight, kink, shape):
    """f = slope u + offset + weight h(u - kink), h = max(0, .), |.| or min(0, .): the closed
    moments (indicators become integration limits) equal QUADPACK split at the kink to 1e-10
    relative to 1 + E f^2 (the oracle is asked for 1e-12)."""
    t = float(kink)
    hinge = {"relu": sp.Max(0, U - kink), "abs": sp.Abs(U - kink), "min": sp.Min(0, U - kink)}
    by_hand = {
        "relu": lambda x: max(0.0, x - t),
        "abs": lambda x: abs(x - t),
        "min": lambda x: min(0.0, x - t),
    }
    f = slope * U + offset + weight * hinge[shape]
    s, o, w = float(slope), float(offset), float(weight)
    oracle = _gaussian_quad(lambda x: s * x + o + w * by_hand[shape](x), [t])
    moments = derive.get_moments(f, U)
    assert moments.exact
    for got, want in zip(moments, oracle):
        assert abs(value(got) - want) <= 1e-10 * (1 + oracle[2])
