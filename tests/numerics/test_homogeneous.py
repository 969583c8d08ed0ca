"""Tests of numerics.homogeneous: Weiss mean-field from the derived equations.

Oracles: the Weiss equation m = tanh(beta (z J m + h)) (Weiss 1907) written here and solved
by scipy.optimize.brentq; its critical temperature T_c = z J; for spin-1 (Blume-Capel) the
single-site law written here by hand.
"""

import json
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

import numerics
from derive import PairwiseModel

si, sj, J, h, D = sp.symbols("s_i s_j J h D", real=True)
ISING = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
BLUME_CAPEL = PairwiseModel((-1, 0, 1), -J * si * sj, D * si**2 - h * si, variables=(si, sj))


def weiss_roots(beta, z, Jv, hv):
    """All roots of tanh(beta (z J m + h)) - m on [-1, 1], by brentq on a fine grid."""
    g = lambda m: math.tanh(beta * (z * Jv * m + hv)) - m  # noqa: E731
    grid = np.linspace(-1.0, 1.0, 4001)
    exact = [float(u) for u in grid if g(u) == 0]  # e.g. m = 1 when tanh rounds to 1
    return exact + [
        brentq(g, u, v, xtol=1e-15, rtol=1e-15)
        for u, v in zip(grid[:-1], grid[1:])
        if g(u) * g(v) < 0
    ]


@settings(deadline=None, max_examples=25)
@example(T=0.3125, z=5, Jv=1.0, hv=1.0)  # the root rounds to m = 1 exactly
@given(T=st.floats(0.3, 8.0), z=st.integers(1, 6), Jv=st.floats(0.2, 1.5), hv=st.floats(0.01, 1.0))
def test_ordered_start_reaches_the_largest_weiss_root(T, z, Jv, hv):
    """With h > 0 the map is increasing and F(1) < 1: iterates from m = 1 decrease onto the
    largest root. Stop rule 1e-13 with slope s < 1: |m - m*| <= 1e-13 / (1 - s)."""
    r = numerics.meanfield_homogeneous(
        ISING, z, 1.0 / T, {"J": Jv, "h": hv}, tol=1e-13, strict=True
    )
    root = max(weiss_roots(1.0 / T, z, Jv, hv))
    slope = z * Jv / T * (1 - root**2)
    assert r.m[0] == pytest.approx(root, abs=1e-13 / max(1 - slope, 1e-3) + 1e-14)


def test_temperature_sweep_is_the_ordered_branch():
    """z = 4, J = 1, h = 0: m > 0 below T_c = 4 (the positive Weiss root), m = 0 above."""
    Ts = np.array([1.0, 2.0, 3.0, 3.9, 4.1, 6.0])
    r = numerics.meanfield_homogeneous(ISING, 4, 1 / Ts, {"J": 1.0, "h": 0.0}, strict=True)
    assert r.converged and r.point_converged.all() and r.moments == ("m",)
    for T, m in zip(Ts, r.m):
        want = max(weiss_roots(1 / T, 4, 1.0, 0.0)) if T < 4 else 0.0
        # near T_c the slope is 0.97 (T = 4.1): 1e-12 / 0.03 bounds the stop-rule error
        assert m == pytest.approx(max(want, 0.0), abs=1e-9)


def test_follow_keeps_the_metastable_branch_up_to_the_spinodal():
    """T = 2, z = 4, J = 1 (beta z J = 2): a field sweep from h = -0.3 up, continued from the
    previous solution, stays on the negative root while it exists (hysteresis), up to the
    spinodal h_s where the negative root disappears; from the ordered start it is positive."""
    hs = np.linspace(-0.3, 0.3, 13)
    follow = numerics.meanfield_homogeneous(
        ISING, 4, 0.5, {"J": 1.0, "h": hs}, init=-1.0, branch="follow", strict=True
    )
    ordered = numerics.meanfield_homogeneous(ISING, 4, 0.5, {"J": 1.0, "h": hs}, strict=True)
    for hv, m_f, m_o in zip(hs, follow.m, ordered.m):
        roots = weiss_roots(0.5, 4, 1.0, hv)
        assert m_o == pytest.approx(max(roots), abs=1e-10)
        # spinodal of m = tanh(2m + h): 2 sech^2(2m + h) = 1 at m = -1/sqrt(2), so
        # h_s = 2/sqrt(2) - acosh(sqrt(2)) = 0.533 > 0.3: the negative root exists throughout
        assert min(roots) < -0.5
        assert m_f == pytest.approx(min(roots), abs=1e-10)
    assert follow.params["J"] == 1.0 and len(follow.params["h"]) == 13


def test_spin_one_against_the_hand_written_site_law():
    """Blume-Capel: m = 2 sinh(b H) / (e^{b D} + 2 cosh(b H)), H = z J m + h (one moment for
    this pair energy). T = 1, z = 4, J = 1, D = 0.5, h = 0.1: brentq on [0.01, 1]."""
    b, z, Dv, hv = 1.0, 4, 0.5, 0.1

    def g(m):
        H = z * m + hv
        return 2 * math.sinh(b * H) / (math.exp(b * Dv) + 2 * math.cosh(b * H)) - m

    want = brentq(g, 0.01, 1.0, xtol=1e-15)
    r = numerics.meanfield_homogeneous(
        BLUME_CAPEL, z, b, {"J": 1.0, "D": Dv, "h": hv}, tol=1e-13, strict=True
    )
    assert r.m[0] == pytest.approx(want, abs=1e-11)


@pytest.mark.parametrize("z, Jv", [(4, 1.0), (3, 0.5), (19, 1 / 20)])
def test_critical_temperature_is_z_J(z, Jv):
    """Weiss: d tanh(b z J m)/dm at m = 0 is b z J, so T_c = z J; the Jacobian by central
    differences (eps 1e-6) is exact to ~1e-10 for the odd tanh, brentq stops at 1e-12."""
    c = numerics.meanfield_critical_temperature(ISING, z, {"J": Jv, "h": 0.0}, strict=True)
    assert c.T == pytest.approx(z * Jv, rel=1e-8)
    assert json.loads(json.dumps(c.to_dict()))["T"] == pytest.approx(z * Jv, rel=1e-8)


def test_no_transition_and_strict():
    """An antiferromagnetic J < 0 never orders ferromagnetically: no eigenvalue reaches +1."""
    c = numerics.meanfield_critical_temperature(ISING, 4, {"J": -1.0, "h": 0.0}, beta_max=1e3)
    assert not c.converged and math.isnan(c.T) and "no instability" in c.message
    with pytest.raises(numerics.ConvergenceError, match="no instability"):
        numerics.meanfield_critical_temperature(
            ISING, 4, {"J": -1.0, "h": 0.0}, beta_max=1e3, strict=True
        )


def test_result_protocol_and_strict():
    """Three iterations do not converge m = tanh(2 m) from m = 1 to 1e-12."""
    r = numerics.meanfield_homogeneous(ISING, 4, 0.5, {"J": 1.0, "h": 0.0}, max_iter=3)
    assert isinstance(r, numerics.Result) and not r.converged and r.iterations == 3
    assert not r.point_converged[0] and r.residual > 1e-6
    d = json.loads(json.dumps(r.to_dict()))
    assert d["converged"] is False and d["moments"] == ["m"] and len(d["state"]) == 1
    with pytest.raises(numerics.ConvergenceError, match="point 0"):
        numerics.meanfield_homogeneous(ISING, 4, 0.5, {"J": 1.0, "h": 0.0}, max_iter=3, strict=True)


def test_bad_arguments():
    with pytest.raises(numerics.InputError, match=r"no value for \['h'\]"):
        numerics.meanfield_homogeneous(ISING, 4, 0.5, {"J": 1.0})
    with pytest.raises(numerics.InputError, match="the degree"):
        numerics.meanfield_homogeneous(ISING, 4, 0.5, {"J": 1.0, "h": 0.0, "z": 3})
    with pytest.raises(numerics.InputError, match="degree must be"):
        numerics.meanfield_homogeneous(ISING, 0, 0.5, {"J": 1.0, "h": 0.0})
    with pytest.raises(numerics.InputError, match="beta must be finite and positive"):
        numerics.meanfield_homogeneous(ISING, 4, [0.5, -1.0], {"J": 1.0, "h": 0.0})
    with pytest.raises(numerics.InputError, match="one common length"):
        numerics.meanfield_homogeneous(ISING, 4, [0.5, 1.0], {"J": 1.0, "h": [0.0, 0.1, 0.2]})
    with pytest.raises(numerics.InputError, match="branch must be"):
        numerics.meanfield_homogeneous(ISING, 4, 0.5, {"J": 1.0, "h": 0.0}, branch="up")
