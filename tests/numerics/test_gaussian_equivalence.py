"""Tests of numerics.get_moments (GET moments as numbers) and of the GET covariance.

Moments (a, b, c) = (E f(u), E u f(u), E f(u)^2), u ~ N(0, 1), of the nonlinearities of
random-features models (Mei & Montanari, arXiv:1908.05335; Gerace et al., arXiv:2002.09339;
Goldt, Mézard, Krzakala, Zdeborová, PRX 10, 041044 (2020), arXiv:1909.11500). The oracle is
``scipy.integrate.quad`` (QUADPACK, adaptive Gauss--Kronrod) of the nonlinearity written
with numpy by hand, asked for 1e-13 absolute: the 1e-10 tolerance leaves three orders of
magnitude for the oracle's own error.
"""

import math

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad

import derive
import numerics

U = sp.Symbol("u", real=True)


def oracle(g):
    """(E g, E u g, E g^2) by QUADPACK on both half-lines."""

    def expect(h):
        weighted = lambda t: h(t) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi)  # noqa: E731
        return sum(
            quad(weighted, lo, hi, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
            for lo, hi in ((-np.inf, 0), (0, np.inf))
        )

    return expect(g), expect(lambda t: t * g(t)), expect(lambda t: g(t) ** 2)


SMOOTH = [
    ("tanh", sp.tanh(U), math.tanh),
    ("sigmoid", 1 / (1 + sp.exp(-U)), lambda t: 0.5 * (1 + math.tanh(t / 2))),
    ("softplus", sp.log(1 + sp.exp(U)), lambda t: max(t, 0) + math.log1p(math.exp(-abs(t)))),
]


@pytest.mark.parametrize("name, f, g", SMOOTH, ids=[s[0] for s in SMOOTH])
def test_smooth_moments_equal_quadpack(name, f, g):
    result = numerics.get_moments(f, U)
    assert result.converged
    for got, want in zip(result, oracle(g)):
        assert abs(got - want) <= 1e-10


def test_tanh_moments_to_twelve_digits():
    """a = 0 exactly (odd); b, c to 1e-12 (the oracle to 1e-13, see the module docstring)."""
    a, b, c = numerics.get_moments(sp.tanh(U), U)
    ref = oracle(math.tanh)
    assert a == 0.0
    assert abs(b - ref[1]) <= 1e-12
    assert abs(c - ref[2]) <= 1e-12


def test_result_protocol_and_kappa_star():
    result = numerics.get_moments(sp.tanh(U), U)
    assert result.kappa_star_squared == pytest.approx(result.c - result.b**2, abs=1e-15)
    assert set(result.to_dict()) >= {"a", "b", "c", "errors", "converged", "message"}
    assert max(result.errors) <= 1e-12


def test_unreachable_tolerance_is_not_converged_and_strict_raises():
    """A tolerance below double precision cannot be met: reported as not converged, with the
    reason, never as a number that looks right (the kernel of the tanh test is reused)."""
    result = numerics.get_moments(sp.tanh(U), U, tol=1e-300)
    assert not result.converged
    assert "missed" in result.message
    with pytest.raises(numerics.ConvergenceError):
        numerics.get_moments(sp.tanh(U), U, tol=1e-300, strict=True)


def test_bad_input():
    with pytest.raises(derive.ModelError, match="grows"):
        numerics.get_moments(sp.exp(U**2), U)
    with pytest.raises(derive.ModelError, match="depends on w"):
        numerics.get_moments(sp.tanh(sp.Symbol("w") * U), U)
    with pytest.raises(numerics.InputError, match="tol"):
        numerics.get_moments(sp.tanh(U), U, tol=0)
