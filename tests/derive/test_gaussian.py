"""Tests of derive.gaussian.expectation against independent numerical integration.

Oracle: ``mpmath.quad`` (tanh-sinh) at 20 significant digits of an integrand written
*by hand* with mpmath functions (not lambdified from the sympy expression under test),
split at the integrand's kinks and at the mean; for the quadrature nodes that the rules
leave behind, ``scipy.integrate.quad`` (QUADPACK), a second implementation independent of
the mpmath code in ``GaussianExpectation.evalf``.

The closed forms are evaluated as ``expr.subs(point).rewrite(sp.erfc).evalf(30)`` with the
drawn floats converted to exact rationals; the oracle runs at 20 digits. Both sides carry
at least 20 correct digits, so the 1e-10 tolerances leave ten orders of magnitude for
round-off: they test the formulas, not floating point.

Relative to what: an expectation can cancel (E z^3 near mu = 0), so "relative 1e-10" is
relative to the scale ``E|f|`` (also computed by quadrature), the size of the terms that
are summed; where the result does not cancel this is the ordinary relative error.
"""

import functools
import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

import numerics
from derive import Equations, GaussianExpectation
from derive.gaussian import LogPhi, Phi, expectation

Z = sp.Symbol("z", real=True)
X = sp.Symbol("x", real=True)
SA, SB, SC, SD, MU = sp.symbols("a b c d mu", real=True)
SV = sp.Symbol("v", positive=True)
DPS = 30
RTOL = 1e-10  # both sides carry >= 20 digits (see module docstring)

means = st.floats(-2.0, 2.0)
variances = st.floats(0.1, 3.0)
offsets = st.floats(-2.0, 2.0)
# slopes a of either sign, bounded away from 0 (a -> 0 is the indicator of a constant)
slopes = st.tuples(st.sampled_from([-1, 1]), st.floats(0.2, 3.0)).map(lambda s: s[0] * s[1])


@functools.cache
def symbolic(builder, k):
    """``expectation`` of ``builder(k)`` against N(mu, v) with symbolic parameters, once per k
    (the derivation, ~0.3 s, would otherwise dominate every example)."""
    return expectation(builder(k), Z, MU, SV)


def exact(x):
    """A drawn float as the exact rational it represents."""
    return sp.Rational(x)


def closed(expr, point):
    """The closed form at ``point`` to 30 digits (Phi needs the erfc rewrite)."""
    value = expr.subs({k: exact(v) for k, v in point.items()}).rewrite(sp.erfc).evalf(DPS)
    assert value.is_number, f"not a number after substitution: {value}"
    return mpmath.mpf(str(value))


#: Breakpoints of the oracle, in standard deviations from the mean
SIGMAS = (-12, -8, -5, -3, -1.5, 0, 1.5, 3, 5, 8, 12)


def gauss_quad(f, mu, var, kinks=()):
    r""":math:`\int f(z) N(z; \mu, v) dz` by mpmath.quad at 20 digits, and the scale
    :math:`\int |f(z)| N(z; \mu, v) dz` at 8 digits (it only sets the tolerance).

    Split at the kinks of ``f`` (tanh-sinh is exponentially accurate on each smooth piece)
    and at the mean +- SIGMAS standard deviations: without these, a far tail cut by a kink
    (a mass ~1e-30) came out only to 3e-10 relative. With them, 20 and 30 digits agree to
    the 20th digit.
    """
    with mpmath.workdps(20):
        mu, s = mpmath.mpf(mu), mpmath.sqrt(mpmath.mpf(var))
        # also split around each kink: a kink many standard deviations out leaves a tail
        # mass ~1e-20 that tanh-sinh on (-inf, kink] resolves only to ~1e-5 relative otherwise
        grid = {mu + j * s for j in SIGMAS} | {mpmath.mpf(k) + j * s for k in kinks for j in SIGMAS}
        points = [-mpmath.inf] + sorted(grid) + [mpmath.inf]
        value = mpmath.quad(lambda t: f(t) * normal_pdf(t, mu, s), points)
    with mpmath.workdps(8):
        points = [-mpmath.inf] + sorted({mu, *map(mpmath.mpf, kinks)}) + [mpmath.inf]
        scale = mpmath.quad(lambda t: abs(f(t)) * normal_pdf(t, mu, s), points)
    return value, scale


def normal_pdf(t, mu, s):
    """N(t; mu, s^2) at the working precision: mpmath.npdf's formula, exp(-(t - mu)^2 /
    (2 s^2)) / (s sqrt(2 pi)), without its argument conversions (2.5x faster; the oracle
    evaluates it ~2000 times a quadrature)."""
    return mpmath.exp(-(((t - mu) / s) ** 2) / 2) / (s * mpmath.sqrt(2 * mpmath.pi))


def assert_close(got, expected, scale, rtol=RTOL):
    # the scale is floored at 1e-12: on far-tail masses (~1e-23, a kink ten standard
    # deviations out) the tanh-sinh oracle itself is only good to ~1e-6 relative (checked
    # against mpmath.ncdf, which the closed form matched to 5e-15), i.e. ~1e-29 absolute
    scale = max(scale, mpmath.mpf("1e-12"))
    assert abs(got - expected) <= rtol * scale, (got, expected, scale)


def theta(t):
    return mpmath.mpf(1) if t > 0 else (mpmath.mpf(0.5) if t == 0 else mpmath.mpf(0))


# --- polynomials ----------------------------------------------------------------------------


@given(k=st.integers(0, 6), mu=means, var=variances)
def test_polynomial_moments(k, mu, var):
    got = closed(expectation(Z**k, Z, exact(mu), exact(var)), {})
    value, scale = gauss_quad(lambda t: t**k, mu, var)
    assert_close(got, value, scale)


def test_polynomial_moments_symbolic():
    """The textbook moments, exactly: E z^4 = mu^4 + 6 mu^2 v + 3 v^2 (and parity)."""
    assert sp.expand(expectation(Z**4, Z, MU, SV) - (MU**4 + 6 * MU**2 * SV + 3 * SV**2)) == 0
    assert expectation(Z**5, Z, 0, SV) is sp.S.Zero
    assert expectation(Z**6, Z, 0, SV) == 15 * SV**3


# --- indicators -----------------------------------------------------------------------------


def heaviside_power(k):
    return sp.Heaviside(SA * Z + SB) * Z**k


def exp_power(k):
    return sp.exp(SC * Z + SD * Z**2) * Z**k


def phi_power(k):
    return Phi(SA * Z + SB) * Z**k


@given(k=st.integers(0, 3), a=slopes, b=offsets, mu=means, var=variances)
def test_heaviside_times_power(k, a, b, mu, var):
    """Theta(a z + b) z^k for a of either sign: the indicator becomes a limit of integration."""
    expr = symbolic(heaviside_power, k)
    got = closed(expr, {SA: a, SB: b, MU: mu, SV: var})
    value, scale = gauss_quad(
        lambda t: theta(a * t + b) * t**k, mu, var, kinks=[-mpmath.mpf(b) / mpmath.mpf(a)]
    )
    assert_close(got, value, scale)


@given(mu=means, var=variances)
def test_sign(mu, var):
    got = closed(expectation(sp.sign(Z), Z, exact(mu), exact(var)), {})
    value, scale = gauss_quad(lambda t: mpmath.sign(t), mu, var, kinks=[0])
    assert_close(got, value, scale)


# --- exponentials of quadratic forms --------------------------------------------------------


@given(
    k=st.integers(0, 3), c=st.floats(-1.5, 1.5), frac=st.floats(-2.0, 0.8), mu=means, var=variances
)
def test_exponential_quadratic_times_power(k, c, frac, mu, var):
    """exp(c z + d z^2) z^k with d = frac / (2 v) < 1/(2 v): the square is completed.

    frac <= 0.8 keeps the completed precision (1 - frac)/v >= 0.2/v, so the integral
    converges and the oracle's tails are resolved."""
    d = frac / (2 * var)
    expr = symbolic(exp_power, k)
    got = closed(expr, {SC: c, SD: d, MU: mu, SV: var})
    value, scale = gauss_quad(lambda t: mpmath.exp(c * t + d * t**2) * t**k, mu, var)
    assert_close(got, value, scale)


# --- Phi and erf ----------------------------------------------------------------------------


@given(k=st.integers(0, 2), a=slopes, b=offsets, mu=means, var=variances)
def test_phi_times_power(k, a, b, mu, var):
    """E[z^k Phi(a z + b)]: E Phi = Phi((a mu + b)/sqrt(1 + a^2 v)), then Stein's lemma."""
    expr = symbolic(phi_power, k)
    got = closed(expr, {SA: a, SB: b, MU: mu, SV: var})
    value, scale = gauss_quad(lambda t: mpmath.ncdf(a * t + b) * t**k, mu, var)
    assert_close(got, value, scale)


@given(a=slopes, b=offsets, mu=means, var=variances)
def test_erf(a, b, mu, var):
    got = closed(expectation(sp.erf(exact(a) * Z + exact(b)), Z, exact(mu), exact(var)), {})
    value, scale = gauss_quad(lambda t: mpmath.erf(a * t + b), mu, var)
    assert_close(got, value, scale)


# --- products -------------------------------------------------------------------------------

PRODUCTS = {
    # name: (sympy integrand in z, a, b, c; mpmath integrand; kinks)
    "Theta(z) exp(c z)": (
        lambda a, b, c: sp.Heaviside(Z) * sp.exp(c * Z),
        lambda a, b, c: lambda t: theta(t) * mpmath.exp(c * t),
        lambda a, b: [0],
    ),
    "Theta(a z + b) z exp(c z)": (
        lambda a, b, c: sp.Heaviside(a * Z + b) * Z * sp.exp(c * Z),
        lambda a, b, c: lambda t: theta(a * t + b) * t * mpmath.exp(c * t),
        lambda a, b: [-mpmath.mpf(b) / mpmath.mpf(a)],
    ),
    "sign(z) z^2 exp(c z)": (
        lambda a, b, c: sp.sign(Z) * Z**2 * sp.exp(c * Z),
        lambda a, b, c: lambda t: mpmath.sign(t) * t**2 * mpmath.exp(c * t),
        lambda a, b: [0],
    ),
    "Phi(a z + b) z exp(c z)": (
        lambda a, b, c: Phi(a * Z + b) * Z * sp.exp(c * Z),
        lambda a, b, c: lambda t: mpmath.ncdf(a * t + b) * t * mpmath.exp(c * t),
        lambda a, b: [],
    ),
    "erf(a z + b) exp(-z^2/4)": (
        lambda a, b, c: sp.erf(a * Z + b) * sp.exp(-(Z**2) / 4),
        lambda a, b, c: lambda t: mpmath.erf(a * t + b) * mpmath.exp(-(t**2) / 4),
        lambda a, b: [],
    ),
    "(1 + z) Theta(-z) + z^2 Phi(z)": (
        lambda a, b, c: (1 + Z) * sp.Heaviside(-Z) + Z**2 * Phi(Z),
        lambda a, b, c: lambda t: (1 + t) * theta(-t) + t**2 * mpmath.ncdf(t),
        lambda a, b: [0],
    ),
}


@given(
    name=st.sampled_from(sorted(PRODUCTS)),
    a=slopes,
    b=offsets,
    c=st.floats(-1.5, 1.5),
    mu=means,
    var=variances,
)
def test_products(name, a, b, c, mu, var):
    build, oracle, kinks = PRODUCTS[name]
    expr = expectation(build(exact(a), exact(b), exact(c)), Z, exact(mu), exact(var))
    assert not expr.has(GaussianExpectation), f"{name} should close: {expr}"
    got = closed(expr, {})
    value, scale = gauss_quad(oracle(a, b, c), mu, var, kinks(a, b))
    assert_close(got, value, scale)


# --- parity ---------------------------------------------------------------------------------

ODD = [
    Z,
    Z**3,
    Z**5,
    sp.sign(Z),
    Z**2 * sp.sign(Z),
    sp.erf(2 * Z),
    Phi(3 * Z) - sp.S.Half,
    Z * sp.exp(-(Z**2)),
    sp.tanh(Z),
    Z * sp.cosh(Z),
    sp.atan(Z**3) * sp.exp(Z**2 / 4),
]


@pytest.mark.parametrize("odd", ODD, ids=str)
def test_parity_gives_exact_zero(odd):
    """Odd integrands against a centred Gaussian: exactly 0, even when the rules could not
    close them (tanh, atan)."""
    assert expectation(odd, Z, 0, SV) is sp.S.Zero
    assert expectation(odd, Z) is sp.S.Zero


@pytest.mark.parametrize(
    "even, value",
    [
        (sp.Heaviside(Z), sp.S.Half),
        (Z * sp.sign(Z), sp.sqrt(2 / sp.pi)),  # E|z| for z ~ N(0, 1)
        (Z**2 * sp.Heaviside(Z), sp.S.Half),
        (Z * Phi(Z), 1 / (2 * sp.sqrt(sp.pi))),  # Stein: E Phi'(z) = 1/(2 sqrt(pi))
    ],
    ids=str,
)
def test_parity_does_not_zero_even_integrands(even, value):
    """The parity shortcut must not fire on integrands that are not odd."""
    assert sp.simplify(expectation(even, Z).rewrite(sp.erfc) - value) == 0


# --- what does not close --------------------------------------------------------------------


def scipy_gauss(f, mu, var):
    """QUADPACK on the real line; tolerances well below the 1e-10 checked."""
    s = math.sqrt(var)

    def density(t):
        return math.exp(-((t - mu) ** 2) / (2 * var)) / (math.sqrt(2 * math.pi) * s)

    value, err = quad(
        lambda t: f(t) * density(t), -np.inf, np.inf, epsabs=1e-14, epsrel=1e-13, limit=200
    )
    assert err < 1e-12
    return value


@settings(max_examples=10)  # each example is an mpmath quadrature at 30 digits (~0.2 s)
@given(a=slopes, b=offsets, mu=means, var=variances)
def test_tanh_stays_a_node(a, b, mu, var):
    """tanh does not close: a GaussianExpectation node whose evalf equals quadrature."""
    expr = expectation(sp.tanh(exact(a) * Z + exact(b)), Z, exact(mu), exact(var))
    if mu == 0 and b == 0:  # odd: parity gives the exact zero
        assert expr is sp.S.Zero
        return
    assert isinstance(expr, GaussianExpectation)
    expected = scipy_gauss(lambda t: math.tanh(a * t + b), mu, var)
    # |tanh| <= 1, and QUADPACK reaches ~1e-13 absolute: 1e-10 absolute is round-off-proof
    assert float(expr.evalf(20)) == pytest.approx(expected, rel=0, abs=1e-10)


def test_mixed_closed_and_node():
    """z^2 + tanh(z + 1): the polynomial closes, the tanh stays a node, the sum is right."""
    mu, var = sp.Rational(1, 3), sp.Integer(2)
    expr = expectation(Z**2 + sp.tanh(Z + 1), Z, mu, var)
    nodes = list(expr.atoms(GaussianExpectation))
    assert len(nodes) == 1
    assert sp.simplify(expr - nodes[0] - (mu**2 + var)) == 0
    expected = scipy_gauss(lambda t: t**2 + math.tanh(t + 1), 1 / 3, 2.0)
    assert float(expr.evalf(20)) == pytest.approx(expected, rel=1e-10)


def test_unclosed_expectation_is_deterministic():
    first = expectation(sp.tanh(Z), Z, sp.Rational(1, 3), 2)
    second = expectation(sp.tanh(Z), Z, sp.Rational(1, 3), 2)
    assert isinstance(first, GaussianExpectation)
    assert sp.srepr(first) == sp.srepr(second)


@pytest.mark.parametrize("integrand", [sp.Heaviside(sp.sin(Z)), Phi(sp.tanh(Z))], ids=str)
def test_nonlinear_argument_stays_a_node(integrand):
    expr = expectation(integrand, Z, sp.Rational(1, 3), 2)
    assert expr.has(GaussianExpectation)


# --- LogPhi ---------------------------------------------------------------------------------


@settings(max_examples=15)
@given(x=st.floats(-30.0, 30.0))
def test_log_phi_derivative(x):
    """d/dx log Phi(x) = phi(x) / Phi(x), to 30 digits on both sides."""
    derivative = sp.diff(LogPhi(X), X)
    got = mpmath.mpf(str(derivative.subs(X, exact(x)).evalf(DPS)))
    with mpmath.workdps(DPS + 20):
        expected = mpmath.npdf(x) / mpmath.ncdf(x)
        assert abs(got - expected) <= RTOL * abs(expected)
        log_phi = mpmath.mpf(str(LogPhi(exact(x)).evalf(DPS)))
        assert abs(log_phi - mpmath.log(mpmath.ncdf(x))) <= RTOL * max(1, abs(log_phi))


def mills(x):
    """phi(x) / Phi(x) at 50 digits."""
    with mpmath.workdps(50):
        return float(mpmath.npdf(x) / mpmath.ncdf(x))


def test_log_phi_derivative_compiled_in_the_tail():
    """The compiled derivative is exp(-x^2/2 - log_ndtr(x)) / sqrt(2 pi): finite at x = -40,
    where Phi(-40) ~ 1e-350 underflows and phi / Phi would be 0 / 0."""
    y = sp.Symbol("y", real=True)
    kernel = numerics.compile(Equations("t", "map", [X], [], {y: sp.diff(LogPhi(X), X)}))
    got = kernel(-40.0)
    assert math.isfinite(got)
    assert 40.02 < got < 40.03  # |x| + 1/|x| - 2/|x|^3 ... = 40.0249...
    # exp(a - b) with a ~ b ~ -800: the float64 rounding of each, ~1e-13 absolute, becomes
    # a ~1e-13 relative error of the result; 1e-11 leaves a margin of 100.
    for x in (-40.0, -25.0, -8.0, -1.0, 0.0, 3.0, 9.0):
        assert kernel(x) == pytest.approx(mills(x), rel=1e-11, abs=1e-300), x
