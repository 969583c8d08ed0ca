"""Tests of the Gaussian engine's piecewise, orthant and multivariate rules.

Oracles: ``scipy.integrate.quad`` (QUADPACK) of integrands written by hand with numpy /
scipy, split at their kinks, for one-dimensional expectations; Monte Carlo with a stated
sample size (tolerance: 5 standard errors) for multivariate ones. Published values:
the moments ``(a, b, c)`` of ReLU, ``sign`` and ``erf(u/sqrt 2)`` (Goldt, Mezard,
Krzakala, Zdeborova, PRX 10, 041044 (2020), arXiv:1909.11500, sec. III); the orthant
probabilities of Sheppard's formula and its trivariate form (Owen, Commun. Stat. Simul.
Comput. 9, 389 (1980), eqs. 10,010.1 and 10,030.1).
"""

import math

import numpy as np
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import ndtr

from derive import GaussianExpectation
from derive.gaussian import Phi, expectation

Z = sp.Symbol("z", real=True)
PDF = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731


def gaussian_quad(f, kinks=()):
    """E f(z), z ~ N(0, 1), by QUADPACK on pieces split at the kinks (abs. error ~1e-12)."""
    points = sorted({-12.0, 12.0, *[float(k) for k in kinks if -12 < k < 12]})
    return sum(
        quad(lambda x: f(x) * PDF(x), a, b, epsabs=1e-13, limit=200)[0]
        for a, b in zip(points[:-1], points[1:])
    )


def moments(f):
    return tuple(sp.simplify(expectation(e, Z)) for e in (f, Z * f, f**2))


# --- piecewise nonlinearities: exact moments -----------------------------------------


def test_relu_moments_exact():
    assert moments(sp.Max(0, Z)) == (1 / sp.sqrt(2 * sp.pi), sp.S.Half, sp.S.Half)


def test_sign_moments_exact():
    assert moments(sp.sign(Z)) == (0, sp.sqrt(2 / sp.pi), 1)


def test_abs_moments_exact():
    assert moments(sp.Abs(Z)) == (sp.sqrt(2 / sp.pi), 0, 1)


def test_erf_moments_exact():
    """E[erf(z/sqrt 2)^2] = 1/3 needs the two-factor orthant rule (rho = 1/2)."""
    assert moments(sp.erf(Z / sp.sqrt(2))) == (0, 1 / sp.sqrt(sp.pi), sp.Rational(1, 3))


def test_heaviside_power_merges():
    assert expectation(sp.Heaviside(Z) ** 2, Z) == sp.S.Half
    assert expectation(sp.Heaviside(Z) * sp.Heaviside(-Z), Z) == 0


rationals = st.fractions(-2, 2, max_denominator=8)


@settings(max_examples=6, deadline=None)
@given(
    breaks=st.lists(rationals, min_size=2, max_size=3, unique=True),
    values=st.lists(rationals, min_size=4, max_size=4),
    power=st.sampled_from([1, 2]),
)
def test_piecewise_linear_moments_equal_quadrature(breaks, values, power):
    """A continuous piecewise-linear f through (break_k, value_k), constant outside:
    E[z^j f(z)^power] (j = 0, 1) equals quadrature to 1e-9."""
    xs = sorted(sp.Rational(b) for b in breaks)
    ys = [sp.Rational(v) for v in values[: len(xs)]]
    pieces = [(ys[0], Z < xs[0])]
    for (x0, y0), (x1, y1) in zip(zip(xs, ys), zip(xs[1:], ys[1:])):
        pieces.append((y0 + (y1 - y0) * (Z - x0) / (x1 - x0), Z < x1))
    pieces.append((ys[-1], True))
    f = sp.Piecewise(*pieces)
    fx = np.interp  # the same function by numpy
    xf, yf = [float(x) for x in xs], [float(y) for y in ys]
    for j in (0, 1):
        got = float(expectation(Z**j * f**power, Z).evalf(20))
        want = gaussian_quad(lambda x, j=j: x**j * fx(x, xf, yf) ** power, xf)
        assert abs(got - want) < 1e-9


@settings(max_examples=4, deadline=None)
@given(
    a=st.floats(0.2, 3).map(sp.Rational),
    b=st.floats(-2, 2).map(sp.Rational),
    sgn=st.sampled_from([-1, 1]),
)
def test_relu_of_linear_form(a, b, sgn):
    """E[max(0, a z + b)^2] and E[min(a z + b, 0)] against quadrature."""
    a = sgn * a
    kink = -float(b / a)
    got = float(expectation(sp.Max(0, a * Z + b) ** 2, Z).evalf(20))
    want = gaussian_quad(lambda x: max(0.0, float(a) * x + float(b)) ** 2, [kink])
    assert abs(got - want) < 1e-9
    got = float(expectation(sp.Min(a * Z + b, 0), Z).evalf(20))
    want = gaussian_quad(lambda x: min(float(a) * x + float(b), 0.0), [kink])
    assert abs(got - want) < 1e-9


# --- orthant rule: products of Phi / Heaviside of linear forms --------------------------

slopes = st.tuples(st.sampled_from([-1, 1]), st.floats(0.2, 3.0)).map(
    lambda s: sp.Rational(s[0] * s[1])
)


@settings(max_examples=8, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(["phi", "step"]), min_size=2, max_size=3),
    a=st.lists(slopes, min_size=3, max_size=3),
    k=st.sampled_from([0, 1, 2]),
)
def test_orthant_products_equal_quadrature(kinds, a, k):
    """E[z^k prod_i F_i(a_i z)], F = Phi or Heaviside: closed (no node), equal to quadrature."""
    factors = [Phi(ai * Z) if kind == "phi" else sp.Heaviside(ai * Z) for kind, ai in zip(kinds, a)]
    got = expectation(Z**k * sp.Mul(*factors), Z)
    assert not got.has(GaussianExpectation)
    af = [float(x) for x in a]

    def f(x):
        out = x**k
        for kind, ai in zip(kinds, af):
            out *= ndtr(ai * x) if kind == "phi" else float(ai * x > 0)
        return out

    assert abs(float(got.evalf(20)) - gaussian_quad(f, [0.0])) < 1e-10


def test_orthant_with_offsets_is_left_to_quadrature():
    got = expectation(Phi(Z + 1) * Phi(2 * Z - 1), Z)
    assert got.has(GaussianExpectation)
    want = gaussian_quad(lambda x: ndtr(x + 1) * ndtr(2 * x - 1))
    assert abs(float(got.evalf(20)) - want) < 1e-10


def test_four_factors_left_to_quadrature():
    got = expectation(Phi(Z) * Phi(2 * Z) * Phi(3 * Z) * Phi(-Z), Z)
    assert got.has(GaussianExpectation)
