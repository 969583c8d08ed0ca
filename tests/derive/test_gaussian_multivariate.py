"""Tests of the Gaussian engine's piecewise, orthant and multivariate rules.

Oracles: ``scipy.integrate.quad`` (QUADPACK) of integrands written by hand with numpy /
scipy, split at their kinks, for one-dimensional expectations; Monte Carlo with a stated
sample size (tolerance: 5 standard errors) for multivariate ones. Published values:
the moments ``(a, b, c)`` of ReLU, ``sign`` and ``erf(u/sqrt 2)`` (Goldt, Mezard,
Krzakala, Zdeborova, PRX 10, 041044 (2020), arXiv:1909.11500, sec. III); the orthant
probabilities of Sheppard's formula and its trivariate form (Owen, Commun. Stat. Simul.
Comput. 9, 389 (1980), eqs. 10,010.1 and 10,030.1).
"""

import functools
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import ndtr

from derive import GaussianExpectation, InputError
from derive.gaussian import Phi, expectation, multivariate_expectation

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


# --- multivariate expectations ---------------------------------------------------------

X4 = sp.symbols("x_1:5", real=True)
C4 = sp.Matrix(4, 4, lambda i, j: sp.Symbol(f"c_{min(i, j)}{max(i, j)}", real=True))


def covariances(n):
    """Positive-definite n x n covariances A A^T / m + 0.1 I, drawn by seed."""

    def make(seed):
        a = np.random.default_rng(seed).normal(size=(n, n + 2))
        return a @ a.T / (n + 2) + 0.1 * np.eye(n)

    return st.integers(0, 2**31).map(make)


def at(expr, cov):
    n = cov.shape[0]
    return float(
        expr.xreplace(
            {C4[i, j]: sp.Float(cov[i, j], 30) for i in range(n) for j in range(n)}
        ).evalf(15)
    )


def monte_carlo(f, cov, n=400_000, seed=0):
    """Mean and standard error of f(z), z ~ N(0, cov), from n draws."""
    z = np.random.default_rng(seed).multivariate_normal(np.zeros(len(cov)), cov, size=n)
    values = f(*z.T)
    return values.mean(), values.std() / math.sqrt(n)


def test_sheppard_and_isserlis_symbolic():
    r = sp.Symbol("r", real=True)
    cov = [[1, r], [r, 1]]
    got = multivariate_expectation(sp.Heaviside(X4[0]) * sp.Heaviside(X4[1]), X4[:2], cov)
    assert sp.simplify(got - (sp.Rational(1, 4) + sp.asin(r) / (2 * sp.pi))) == 0
    got = multivariate_expectation(X4[0] ** 2 * X4[1] ** 2, X4[:2], cov)
    assert sp.expand(got - (1 + 2 * r**2)) == 0


@settings(max_examples=5, deadline=None)
@given(cov=covariances(3))
def test_exponential_absorbed_with_stein(cov):
    """E[x1 x2 exp(-x3^2/2 + x1/3)] against Monte Carlo (400k draws, 5 standard errors)."""
    zs, c = X4[:3], C4[:3, :3]
    got = at(
        multivariate_expectation(zs[0] * zs[1] * sp.exp(-(zs[2] ** 2) / 2 + zs[0] / 3), zs, c),
        cov,
    )
    mean, se = monte_carlo(lambda a, b, d: a * b * np.exp(-d * d / 2 + a / 3), cov)
    assert abs(got - mean) < 5 * se


@settings(max_examples=5, deadline=None)
@given(cov=covariances(3))
def test_relu_product_closes_by_conditioning(cov):
    """E[relu(x1) x2 H(x3)]: Stein's lemma brings DiracDelta, removed by conditioning;
    closed form (no node) equal to Monte Carlo (400k draws, 5 standard errors)."""
    zs, c = X4[:3], C4[:3, :3]
    expr = multivariate_expectation(sp.Max(0, zs[0]) * zs[1] * sp.Heaviside(zs[2]), zs, c)
    assert not expr.has(GaussianExpectation)
    mean, se = monte_carlo(lambda a, b, d: np.maximum(a, 0) * b * (d > 0), cov)
    assert abs(at(expr, cov) - mean) < 5 * se


@functools.cache
def orthant4():
    return multivariate_expectation(sp.Mul(*[sp.Heaviside(z) for z in X4]), X4, C4)


def with_quadrature(expr, cov):
    """``expr`` at ``cov``, its one-dimensional nodes by QUADPACK (not mpmath: faster)."""
    n = cov.shape[0]
    expr = expr.xreplace({C4[i, j]: sp.Float(cov[i, j]) for i in range(n) for j in range(n)})
    values = {}
    for node in expr.atoms(GaussianExpectation):
        (t,) = node.variables
        f = sp.lambdify(t, node.integrand, modules=[{"Phi": ndtr}, "scipy"])
        values[node] = gaussian_quad(f)
    return float(expr.xreplace(values))


@settings(max_examples=2, deadline=None)
@given(cov=covariances(4))
def test_four_dimensional_orthant(cov):
    """P(x > 0) in 4-D: Plackett's reduction to a smooth 1-D integral, against Monte Carlo
    (400k draws, 5 standard errors)."""
    mean, se = monte_carlo(lambda *z: np.all(np.array(z) > 0, axis=0).astype(float), cov)
    assert abs(with_quadrature(orthant4(), cov) - mean) < 5 * se


def test_fallback_compiles_and_equals_monte_carlo():
    """tanh(x1) max(x2, 0) has no rule: the Cholesky fallback leaves a GaussianExpectation
    node, which numerics.compile lowers to quadrature; the compiled value equals Monte
    Carlo (1M draws, 5 standard errors)."""
    import derive
    import numerics

    cov = np.array([[1.0, 0.3], [0.3, 0.8]])
    zs, c = X4[:2], C4[:2, :2]
    expr = multivariate_expectation(sp.tanh(zs[0]) * sp.Max(zs[1], 0), zs, c)
    assert expr.has(GaussianExpectation)
    symbols = sorted(expr.free_symbols, key=str)
    eqs = derive.Equations("fallback", "map", symbols, [], {sp.Symbol("E"): expr})
    kernel = numerics.compile(eqs)
    values = {s.name: cov[int(s.name[2]), int(s.name[3])] for s in symbols}
    got = kernel(*kernel.bind(values))
    mean, se = monte_carlo(lambda a, b: np.tanh(a) * np.maximum(b, 0), cov, n=1_000_000)
    assert abs(float(np.ravel(got)[0]) - mean) < 5 * se


@pytest.mark.parametrize(
    "covariance, variables, match",
    [
        ([[1, 0], [0, 1]], X4[:3], "3 x 3"),
        ([[1, 2], [0, 1]], X4[:2], "symmetric"),
        ([[1, 0], [0, 1]], (X4[0], X4[0]), "distinct"),
    ],
)
def test_bad_input(covariance, variables, match):
    with pytest.raises(InputError, match=match):
        multivariate_expectation(X4[0], variables, covariance)
