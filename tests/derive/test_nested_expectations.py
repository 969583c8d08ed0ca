"""Nested Gaussian expectations: bound variables, and the state evolution they carry.

A channel given only as a likelihood that the Gaussian rules do not close (logistic)
leaves ``Z_out`` as an expectation over ``z``; the state evolution averages ``g_out^2 Z_out``
over the teacher's local field, an expectation around it. The inner one must not capture
the outer variable (alpha-renaming), and the code generator must lower the pair to nested
quadrature.

Oracle: the state-evolution map of Barbier, Krzakala, Macris, Miolane & Zdeborová,
PNAS 116, 5451 (2019), eqs. (10)-(11) of the RS potential's stationarity (state evolution),

.. math::
    \\hat q = \\alpha\\, \\mathbb{E}_\\xi \\sum_y \\frac{(\\partial_\\omega Z)^2}{Z}
    \\Big|_{\\omega = \\sqrt q \\xi,\\ V = \\rho - q},\\qquad
    Z(y, \\omega, V) = \\int dz\\, P(y \\mid z)\\, N(z; \\omega, V),

written here with ``scipy.integrate.quad`` at both levels: ``Z`` and
``d_omega Z = int dz P(y|z) (z - omega)/V N(z; omega, V)`` by quadrature over ``z`` of a
likelihood written in numpy/scipy in this file (not lambdified from the derivation), then
``quad`` over ``xi``. For the Gaussian prior N(0, 1) the input side is
``q = q_hat / (1 + q_hat)`` (the posterior of ``w`` given ``B = q_hat w + sqrt(q_hat) xi``
is Gaussian with mean ``B / (1 + q_hat)``).
"""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import expit, ndtr

import derive
import numerics
from derive import GaussianExpectation
from derive.functions import nesting_level
from numerics.printer import lift_expectations

Y, Z = sp.symbols("y z", real=True)
BETA = sp.Symbol("beta", positive=True)
SIGMA = sp.Symbol("sigma", positive=True)
FLIP = sp.Symbol("epsilon", nonnegative=True)
MIX = sp.Symbol("m", nonnegative=True)

# Tolerance of the compiled map against the oracle: the oracle's inner quad runs at relative
# 1e-12 and its outer one at 1e-11; the compiled trapezoid rule (241 nodes on [-12, 12],
# spacing 0.1) converges like exp(-2 pi d / 0.1) for an integrand analytic in a strip of
# half-width d, and the logistic integrands here (beta <= 3) have d >= pi / 3, so its error
# is below 1e-20. 1e-8 leaves room for the oracle's own error only.
TOL = 1e-8


# --- the family of channels: (name, sympy Channel, numpy likelihood P(y | z; params)) ---


def _sign_np(y, z, eps):
    return np.where(y * z > 0, 1 - eps, eps)


CHANNELS = {
    "logistic": (
        lambda: derive.Channel.logistic(BETA),
        lambda y, z, p: expit(p["beta"] * y * z),
        {"beta": st.floats(0.5, 3.0)},
    ),
    "probit": (
        lambda: derive.Channel.probit(SIGMA),
        lambda y, z, p: ndtr(y * z / p["sigma"]),
        {"sigma": st.floats(0.3, 2.0)},
    ),
    "noisy sign": (
        lambda: derive.Channel.sign(FLIP),
        lambda y, z, p: _sign_np(y, z, p["epsilon"]),
        {"epsilon": st.floats(0.0, 0.3)},
    ),
    "logistic-sign mixture": (
        lambda: derive.Channel(
            MIX / (1 + sp.exp(-BETA * Y * Z)) + (1 - MIX) * sp.Heaviside(Y * Z),
            Y,
            Z,
            support=(-1, 1),
        ),
        lambda y, z, p: p["m"] * expit(p["beta"] * y * z) + (1 - p["m"]) * (y * z > 0),
        {"m": st.floats(0.1, 0.9), "beta": st.floats(0.5, 3.0)},
    ),
    "logistic-probit mixture": (
        lambda: derive.Channel(
            MIX / (1 + sp.exp(-BETA * Y * Z)) + (1 - MIX) * derive.gaussian.Phi(Y * Z / SIGMA),
            Y,
            Z,
            support=(-1, 1),
        ),
        lambda y, z, p: p["m"] * expit(p["beta"] * y * z) + (1 - p["m"]) * ndtr(y * z / p["sigma"]),
        {"m": st.floats(0.1, 0.9), "beta": st.floats(0.5, 3.0), "sigma": st.floats(0.3, 2.0)},
    ),
}

_MODELS, _KERNELS = {}, {}


def model(name):
    if name not in _MODELS:
        _MODELS[name] = derive.GLM(derive.Prior.gaussian(), CHANNELS[name][0]())
    return _MODELS[name]


def se_kernel(name):
    """The compiled state-evolution map of the channel ``name`` with a N(0, 1) prior."""
    if name not in _KERNELS:
        _KERNELS[name] = numerics.compile(derive.state_evolution(model(name)))
    return _KERNELS[name]


def compiled_q_hat(name, q, alpha, params):
    kernel = se_kernel(name)
    q_hat, _ = kernel(*kernel.bind(params, q=q, q_hat=1.0, alpha=alpha))
    return q_hat


# --- the oracle -------------------------------------------------------------------------


def z_out(like, y, omega, V):
    """``Z`` and ``d_omega Z`` by quadrature over ``z`` (split at the mean and at the kink z=0)."""
    s = math.sqrt(V)
    norm = 1.0 / (s * math.sqrt(2 * math.pi))

    def f0(z):
        return float(like(y, z)) * math.exp(-((z - omega) ** 2) / (2 * V)) * norm

    lo, hi = omega - 12 * s, omega + 12 * s
    cuts = sorted({lo, omega, hi} | ({0.0} if lo < 0 < hi else set()))
    Zv = dZ = 0.0
    for a, b in zip(cuts[:-1], cuts[1:]):
        Zv += quad(f0, a, b, epsabs=0, epsrel=1e-12, limit=200)[0]
        dZ += quad(lambda z: f0(z) * (z - omega) / V, a, b, epsabs=1e-15, epsrel=1e-12, limit=200)[
            0
        ]
    return Zv, dZ


def oracle_q_hat(like, alpha, q, rho=1.0, support=(-1.0, 1.0)):
    r""":math:`\alpha\,\mathbb{E}_\xi \sum_y (\partial_\omega Z)^2 / Z` by two levels of quad."""
    V = rho - q

    def integrand(xi):
        total = 0.0
        for y in support:
            Zv, dZ = z_out(like, y, math.sqrt(q) * xi, V)
            if Zv > 0:  # a label of likelihood 0 at this xi (noisy sign, epsilon = 0) adds 0
                total += dZ * dZ / Zv
        return total * math.exp(-xi * xi / 2) / math.sqrt(2 * math.pi)

    value = sum(
        quad(integrand, a, b, epsabs=1e-14, epsrel=1e-11, limit=200)[0]
        for a, b in ((-12.0, 0.0), (0.0, 12.0))
    )
    return alpha * value


# --- alpha-renaming ---------------------------------------------------------------------


def test_substitution_renames_a_bound_variable_that_would_capture():
    t, x = sp.symbols("t x", real=True)
    node = GaussianExpectation(sp.tanh(x + t), t)
    moved = node.subs(x, t)  # E_t'[tanh(t + t')]: t is now free, the bound one renamed
    assert moved.free_symbols == {t}


def test_xreplace_renames_a_bound_variable_that_would_capture():
    t, x = sp.symbols("t x", real=True)
    node = GaussianExpectation(sp.tanh(x + t), t)
    assert node.xreplace({x: 2 * t}).free_symbols == {t}


def test_substituted_nested_expectation_compiles_to_its_value():
    """E_t[(E_s[tanh(x + s)] + 0.3)^2] with x -> t, compiled (nested quadrature), equals the
    quadrature of u -> (E_s tanh(u + s) + 0.3)^2 written with scipy. A captured t would
    give E_t (E tanh(2 t) + 0.3)^2 = 0.09 instead."""
    t, x, a = sp.symbols("t x a", real=True)
    inner = GaussianExpectation(sp.tanh(a * x + t), t)
    outer = GaussianExpectation((inner.subs(x, t) + sp.Rational(3, 10)) ** 2, t)
    kernel = numerics.compile(derive.Equations("nested", "map", [a], [], {sp.Symbol("E"): outer}))

    def gauss(f):
        return quad(lambda s: f(s) * math.exp(-s * s / 2) / math.sqrt(2 * math.pi), -14, 14)[0]

    want = gauss(lambda u: (gauss(lambda s: math.tanh(u + s)) + 0.3) ** 2)
    # quad at ~1e-13 relative; the trapezoid rule (spacing 0.1) for tanh, analytic in a strip
    # of half-width pi/2, errs by exp(-2 pi (pi / 2) / 0.1) ~ 1e-43
    assert abs(kernel(1.0) - want) <= 1e-10


def test_logistic_state_evolution_keeps_its_outer_expectation():
    """The q_hat of the logistic channel is E_xi[... E_z[...] ...]: two levels, and the outer
    variable (the teacher's field) appears inside the inner expectations."""
    se = derive.state_evolution(derive.GLM(derive.Prior.gaussian(), derive.Channel.logistic(BETA)))
    q_hat = se["q_hat"]
    (outer,) = [n for n in q_hat.atoms(GaussianExpectation) if nesting_level(n) == 2]
    (xi,) = outer.variables
    inner = outer.integrand.atoms(GaussianExpectation)
    assert inner and all(xi in n.free_symbols for n in inner)


def test_lifted_nested_expectations_call_their_inner_functions():
    t, x, a = sp.symbols("t x a", real=True)
    expr = GaussianExpectation(GaussianExpectation(sp.tanh(a * x + t), t) ** 2, x)
    (_,), lifted = lift_expectations([expr])
    names = [name for name, _, _ in lifted]
    assert names[0].startswith("_expect_in_") and names[-1] == f"_expect_{len(lifted) - 1}"


# --- the state-evolution map against the oracle -----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["logistic", "probit"])
@pytest.mark.parametrize("q", [0.1, 0.5, 0.9])
def test_state_evolution_map_named_channels(name, q):
    params = {"beta": 1.0} if name == "logistic" else {"sigma": 1.0}
    like = CHANNELS[name][1]
    want = oracle_q_hat(lambda y, z: like(y, z, params), 2.0, q)
    got = compiled_q_hat(name, q, 2.0, params)
    assert abs(got - want) <= TOL * (1 + abs(want)), (got, want)


@st.composite
def channel_and_point(draw):
    name = draw(st.sampled_from(sorted(CHANNELS)))
    params = {k: draw(s) for k, s in CHANNELS[name][2].items()}
    q = draw(st.floats(0.05, 0.9))
    return name, params, q


@pytest.mark.slow
@settings(max_examples=8, deadline=None)
@given(channel_and_point())
def test_state_evolution_map_drawn_channels(case):
    name, params, q = case
    like = CHANNELS[name][1]
    want = oracle_q_hat(lambda y, z: like(y, z, params), 1.5, q)
    got = compiled_q_hat(name, q, 1.5, params)
    assert abs(got - want) <= TOL * (1 + abs(want)), (name, params, q, got, want)


@pytest.mark.slow
def test_logistic_fixed_point_equals_the_oracle_fixed_point():
    """numerics.state_evolution at alpha = 2, beta = 1 against the root of
    q = Q(q_hat(q)) with Q(x) = x / (1 + x) and the oracle's q_hat, by brentq."""
    alpha, params = 2.0, {"beta": 1.0}
    like = lambda y, z: expit(y * z)  # noqa: E731

    def gap(q):
        q_hat = oracle_q_hat(like, alpha, q)
        return q - q_hat / (1 + q_hat)

    want = brentq(gap, 0.05, 0.6, xtol=1e-11)
    got = numerics.state_evolution(model("logistic"), alpha, params=params, tol=1e-12)
    assert got.converged
    # the iteration contracts by ~0.4 per step here and stops at a step below 1e-12:
    # its distance to the fixed point is below 1e-11; brentq's below 1e-11
    assert abs(got.overlap - want) <= 1e-9, (got.overlap, want)
