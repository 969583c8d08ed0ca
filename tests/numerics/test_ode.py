"""``numerics.integrate``: kind="ode" Equations through solve_ivp with the compiled rhs.

Oracles: closed-form solutions of the logistic equation (Verhulst 1838) and of a linear
ODE with a time-dependent forcing, x' = -k x + sin(t).
"""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import numerics
from derive import Equations, InputError
from numerics import ConvergenceError, integrate

t, x, y, r, K, k = sp.symbols("t x y r K k", real=True)
LOGISTIC = Equations("logistic growth", "ode", [t, x], [r, K], {x: r * x * (1 - x / K)}, time=t)
FORCED = Equations("forced decay", "ode", [t, x], [k], {x: -k * x + sp.sin(t)}, time=t)


@settings(max_examples=25, deadline=None)
@given(
    rate=st.floats(0.1, 3.0),
    capacity=st.floats(0.5, 10.0),
    start=st.floats(0.01, 0.99),
)
def test_logistic_growth_matches_its_closed_form(rate, capacity, start):
    x0 = start * capacity
    times = np.linspace(0.0, 5.0, 11)
    res = integrate(LOGISTIC, {"x": x0}, (0.0, 5.0), {"r": rate, "K": capacity}, t_eval=times)
    exact = capacity / (1 + (capacity / x0 - 1) * np.exp(-rate * times))
    assert res.converged
    # rtol 1e-8 of RK45: the global error stays within a few 1e-7 relative over 5 time units
    np.testing.assert_allclose(res["x"], exact, rtol=1e-6)


def test_time_dependent_forcing_matches_the_closed_form():
    # x' = -k x + sin t, x(0) = x0: x = x0 e^{-kt} + (k sin t - cos t + e^{-kt}) / (1 + k^2)
    k_, x0 = 0.7, 0.3
    times = np.linspace(0, 10, 21)
    res = integrate(
        FORCED, [x0], (0, 10), {"k": k_}, t_eval=times, method="DOP853", rtol=1e-11, atol=1e-12
    )
    exact = x0 * np.exp(-k_ * times) + (
        k_ * np.sin(times) - np.cos(times) + np.exp(-k_ * times)
    ) / (1 + k_**2)
    # local tolerance 1e-11 over ~100 steps: a global error well below 1e-8
    np.testing.assert_allclose(res.y[:, 0], exact, atol=1e-8)


def test_two_states_in_an_order_different_from_the_outputs():
    # outputs listed (y, x), inputs (x, y): the rhs must put dx/dt first. Harmonic oscillator.
    eqs = Equations("oscillator", "ode", [t, x, y], [], {y: -x, x: y}, time=t)
    res = integrate(eqs, {"x": 1.0, "y": 0.0}, (0, math.pi), t_eval=[math.pi])
    assert res.state == ("x", "y")
    assert res["x"][-1] == pytest.approx(-1.0, abs=1e-7)
    assert res["y"][-1] == pytest.approx(0.0, abs=1e-7)


def test_result_protocol_and_json():
    res = integrate(LOGISTIC, {"x": 0.1}, (0, 1), {"r": 1.0, "K": 1.0})
    d = res.to_dict()
    assert d["converged"] is True and d["state"] == ["x"]
    assert "ODEResult(converged=True" in repr(res)


def test_blow_up_is_not_converged_and_strict_raises():
    blow = Equations("blow-up", "ode", [t, x], [], {x: x**2}, time=t)  # x = 1/(1 - t)
    res = integrate(blow, {"x": 1.0}, (0, 2))
    assert not res.converged
    with pytest.raises(ConvergenceError):
        integrate(blow, {"x": 1.0}, (0, 2), strict=True)


@pytest.mark.parametrize(
    "y0, span, params, match",
    [
        ({"z": 1.0}, (0, 1), {"r": 1, "K": 1}, "unknown"),
        ({}, (0, 1), {"r": 1, "K": 1}, "missing"),
        ({"x": float("nan")}, (0, 1), {"r": 1, "K": 1}, "NaN"),
        ({"x": 1.0}, (1, 0), {"r": 1, "K": 1}, "t_span"),
        ({"x": 1.0}, (0, 1), {"r": 1, "K": 1, "typo": 2}, "parameters are"),
        ({"x": 1.0}, (0, 1), {"r": 1}, "no value"),
    ],
)
def test_bad_input_is_an_input_error(y0, span, params, match):
    with pytest.raises(InputError, match=match):
        integrate(LOGISTIC, y0, span, params)


def test_not_an_ode_is_refused():
    eqs = Equations("map", "map", [x], [k], {y: k * x})
    with pytest.raises(InputError, match="kind 'ode'"):
        numerics.integrate(eqs, [1.0], (0, 1), {"k": 1})


def test_an_ode_of_forty_variables_compiles_and_integrates():
    """40 decoupled decays y_k' = -(1 + k/40) y_k, y_k(0) = 1: the right-hand side has more
    than 30 arguments, which Python 3.11 calls through f(*tuple) and numba's inliner refused
    (a raw UnsupportedError for the Saad-Solla ODEs at K = M = 4). Closed form
    exp(-(1 + k/40)), to the solver's tolerance."""
    ys = sp.symbols("y0:40", real=True)
    eqs = Equations(
        "forty decays",
        "ode",
        [t, *ys],
        [],
        {s: -(1 + i / 40) * s for i, s in enumerate(ys)},
        time=t,
    )
    res = integrate(eqs, {s.name: 1.0 for s in ys}, (0.0, 1.0), {}, rtol=1e-10, atol=1e-12)
    want = np.exp(-(1 + np.arange(40) / 40))
    assert np.max(np.abs(res.y[-1] - want)) < 1e-8
