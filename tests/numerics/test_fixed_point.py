"""Tests of numerics.fixed_point: convergence, damping, Anderson, failures, Kernels.

Oracles: fixed points known in closed form, and scipy.optimize.brentq on the
same scalar equation written here.
"""

import json
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import brentq

import derive
import numerics
from numerics import ConvergenceError, fixed_point


@given(c=st.lists(st.floats(-5, 5), min_size=1, max_size=4), k=st.floats(0.05, 0.9))
def test_contraction_converges_with_decreasing_residuals(c, k):
    """x = k cos(x) + c, a contraction with constant k < 1 (|d/dx k cos x| <= k)."""
    c = np.array(c)
    r = fixed_point(lambda x: k * np.cos(x) + c, np.zeros_like(c), tol=1e-12)
    assert r.converged and r.message.startswith("converged")
    assert r.iterations == len(r.residuals)
    assert r.residuals[-1] < 1e-12
    # For a contraction |F(x_{t+1}) - x_{t+1}| <= k |F(x_t) - x_t|: the residuals decrease
    # (strictly, up to the last one or two at rounding level).
    res = r.residuals[r.residuals > 1e-14]
    assert np.all(res[1:] <= k * res[:-1] + 1e-15)
    # the point is a fixed point; a-posteriori bound |x - x*| <= k res / (1 - k)
    np.testing.assert_allclose(r.x, k * np.cos(r.x) + c, atol=1e-12 * (1 + k / (1 - k)))


@given(damping=st.floats(0.0, 0.95), x0=st.floats(-10, 10))
def test_damping_keeps_the_error_bound(damping, x0):
    """F(x) = 0.5 x + 1 has x* = 2 and Lipschitz constant 0.5; the damped map
    (1 - d) F + d id has constant L = d + 0.5 (1 - d) < 1 and the same fixed point, so
    |x_t - x*| <= |x0 - x*| L**t and, at the stop, |x - x*| <= res * L / (1 - L)."""
    tol = 1e-11
    r = fixed_point(lambda x: 0.5 * x + 1.0, [x0], damping=damping, tol=tol, max_iter=100_000)
    assert r.converged
    L = damping + 0.5 * (1 - damping)
    # the returned x is F(x_t) (undamped), and |F(x_t) - x*| = 0.5 |x_t - x*| = |res| < tol
    assert abs(r.x[0] - 2.0) <= tol + 1e-15
    # geometric decay of the residual at rate L
    expected_its = math.log(tol / max(abs(0.5 * (x0 - 2.0)), 1e-300)) / math.log(L)
    assert r.iterations <= max(expected_its, 0) + 2


def test_damping_stabilises_an_oscillating_map():
    """F(x) = -1.5 x + 5 (x* = 2) diverges undamped (slope -1.5); with d = 0.5 the
    iteration map has slope 0.5 - 0.75 = -0.25 and converges."""
    plain = fixed_point(lambda x: -1.5 * x + 5.0, [0.0], max_iter=200)
    assert not plain.converged
    damped = fixed_point(lambda x: -1.5 * x + 5.0, [0.0], damping=0.5)
    assert damped.converged and damped.x[0] == pytest.approx(2.0, abs=1e-10)


@pytest.mark.parametrize("damping", [-0.1, 1.0, 1.5])
def test_damping_out_of_range(damping):
    with pytest.raises(ValueError, match=r"damping must be in \[0, 1\)"):
        fixed_point(lambda x: x, [0.0], damping=damping)


def test_anderson_is_faster_on_a_slow_linear_contraction():
    """x = 0.99 x + 0.01 c: plain iteration contracts by 0.99 a step (~2500 steps to 1e-10);
    Anderson mixing solves a linear problem in a few steps."""
    c = np.array([1.0, -2.0, 0.5])
    F = lambda x: 0.99 * x + 0.01 * c  # noqa: E731
    plain = fixed_point(F, np.zeros(3), tol=1e-10)
    fast = fixed_point(F, np.zeros(3), tol=1e-10, anderson=3)
    assert plain.converged and fast.converged
    np.testing.assert_allclose(plain.x, c, atol=1e-8)  # |x - c| <= res * 0.99 / 0.01
    np.testing.assert_allclose(fast.x, c, atol=1e-8)
    assert fast.iterations < plain.iterations
    assert fast.iterations <= 10 and plain.iterations > 1000


@given(
    c=st.lists(st.floats(-5, 5), min_size=1, max_size=4),
    k=st.floats(0.05, 0.95),
    damping=st.floats(0.0, 0.9),
    memory=st.integers(1, 5),
)
def test_anderson_finds_the_same_fixed_point(c, k, damping, memory):
    """Nonlinear contraction x = k cos(x) + c: Anderson mixing (any memory, any damping)
    stops at the point plain iteration finds; both stop at residual 1e-12, i.e. within
    1e-12 / (1 - k) <= 2e-11 of the fixed point."""
    c = np.array(c)
    F = lambda x: k * np.cos(x) + c  # noqa: E731
    plain = fixed_point(F, np.zeros_like(c), tol=1e-12, max_iter=100_000)
    fast = fixed_point(
        F, np.zeros_like(c), tol=1e-12, anderson=memory, damping=damping, max_iter=100_000
    )
    assert plain.converged and fast.converged
    np.testing.assert_allclose(fast.x, plain.x, atol=5e-11)


def test_non_finite_stops():
    def F(x):
        with np.errstate(over="ignore"):
            return 10.0 * x

    r = fixed_point(F, [1.0])
    assert not r.converged
    assert "not finite" in r.message
    assert r.iterations < 400  # 10**309 overflows at the 309th step
    assert np.isinf(r.residuals[-1])


def test_nan_stops():
    r = fixed_point(lambda x: np.full_like(x, np.nan), [1.0, 2.0])
    assert not r.converged and r.message == "F(x) is not finite at iteration 1"


def test_strict_raises_convergence_error():
    with pytest.raises(
        ConvergenceError, match=r"no convergence to tol=1e-10 in 5 iterations"
    ) as info:
        fixed_point(lambda x: 0.99 * x + 1.0, [0.0], max_iter=5, strict=True)
    assert info.value.result is not None and info.value.result.iterations == 5
    with pytest.raises(ConvergenceError, match="not finite"):
        fixed_point(lambda x: x * np.nan, [1.0], strict=True)


def test_bad_inputs():
    with pytest.raises(ValueError, match="x0 contains NaN"):
        fixed_point(lambda x: x, [np.nan])
    with pytest.raises(ValueError, match="changed the shape"):
        fixed_point(lambda x: np.zeros(3), [0.0, 1.0])
    with pytest.raises(ValueError, match="params= is only used"):
        fixed_point(lambda x: x, [0.0], params={"beta": 1.0})


si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
ISING = derive.PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))


@given(
    beta=st.floats(0.1, 2.0), z=st.integers(1, 6), Jv=st.floats(0.1, 1.5), hv=st.floats(0.05, 1.0)
)
def test_kernel_weiss_matches_brentq(beta, z, Jv, hv):
    """m = tanh(beta (z J m + h)) with h > 0: the largest root is the one reached from m = 1
    (the map is increasing, so iterates from above decrease monotonically onto it)."""
    zs = sp.Symbol("z", positive=True, integer=True)
    kernel = numerics.compile(derive.meanfield(ISING, degree=zs))
    assert kernel.arguments == ("m", "beta", "z", "J", "h")
    r = fixed_point(
        kernel,
        [1.0],
        params={"beta": beta, "z": z, "J": Jv, "h": hv},
        tol=1e-13,
        max_iter=100_000,
        strict=True,
    )
    g = lambda m: math.tanh(beta * (z * Jv * m + hv)) - m  # noqa: E731
    # g(1) < 0 and g(0) = tanh(beta h) > 0: the root in (0, 1] that is largest
    grid = np.linspace(0.0, 1.0, 2001)
    sign_change = [(u, v) for u, v in zip(grid[:-1], grid[1:]) if g(u) * g(v) <= 0]
    u, v = sign_change[-1]
    root = brentq(g, u, v, xtol=1e-15, rtol=1e-15)
    # stop rule |F(m) - m| < 1e-13 and slope s = F'(m*) < 1: |m - m*| <= 1e-13 / (1 - s)
    slope = beta * z * Jv * (1 - root**2)
    assert r.x[0] == pytest.approx(root, abs=1e-13 / max(1 - slope, 1e-3) + 1e-14)


def test_kernel_needs_its_parameters():
    kernel = numerics.compile(derive.meanfield(ISING, degree=4))
    with pytest.raises(numerics.InputError, match=r"no value for \['J', 'h'\]"):
        fixed_point(kernel, [0.5], params={"beta": 1.0})
    with pytest.raises(numerics.InputError, match=r"no argument\(s\) \['K'\]"):
        fixed_point(kernel, [0.5], params={"beta": 1.0, "J": 1.0, "h": 0.0, "K": 2.0})
    with pytest.raises(numerics.InputError, match="are the state x"):
        fixed_point(kernel, [0.5], params={"beta": 1.0, "J": 1.0, "h": 0.0, "m": 2.0})


def test_kernel_state_is_bound_by_name_not_position():
    """Inputs (y, x) but outputs in the order (x, y): x is F's first component.

    x = a y / 2, y = 1 - x / 2 has the unique solution y = 1 / (1 + a / 4), x = a y / 2
    (a linear contraction for a = 1: spectral radius 1/2)."""
    x, y, a = sp.symbols("x y a")
    eqs = derive.Equations("swap", "fixed_point", [y, x], [a], {x: a * y / 2, y: 1 - x / 2})
    kernel = numerics.compile(eqs)
    assert kernel.arguments[:2] == ("y", "x") and kernel.outputs == ("x", "y")
    r = fixed_point(kernel, [0.0, 0.0], params={"a": 1.0}, tol=1e-14, strict=True)
    y_star = 1 / (1 + 1 / 4)
    # contraction rate 1/2: the stop rule 1e-14 bounds the error by 2e-14
    assert r.x[0] == pytest.approx(y_star / 2, abs=1e-13)
    assert r.x[1] == pytest.approx(y_star, abs=1e-13)


def test_result_protocol():
    r = fixed_point(lambda x: 0.5 * x + 1.0, [0.0], tol=1e-12)
    assert isinstance(r, numerics.Result)
    assert r.converged and r.residual == r.residuals[-1] < 1e-12
    assert r.iterations == len(r.residuals)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["x"] == pytest.approx([2.0], abs=1e-11) and d["converged"] is True
    failed = fixed_point(lambda x: x + 1.0, [0.0], max_iter=3)
    assert json.loads(json.dumps(failed.to_dict()))["converged"] is False
    assert "FixedPointResult(converged=False, iterations=3" in repr(failed)
