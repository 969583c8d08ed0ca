"""Tests of numerics.rs_phases: the ordered RS branch, the phase diagram and the transition
lines of the Sherrington-Kirkpatrick model (couplings N(J0/N, J^2/N), J = 1, h = 0).

Oracles: the lines T = J (para - spin glass, J0 < J) and T = J0 (para - ferro, J0 > J) of
Sherrington & Kirkpatrick, PRL 35, 1792 (1975), and an independent implementation of the
SK RS equations (eqs. 11-12 of SK 1975) and of the AT condition (de Almeida & Thouless,
J. Phys. A 11, 983 (1978), eq. 25) written here with numpy's Gauss-Hermite nodes.
"""

import json
import math
import pickle

import numpy as np
import pytest
import sympy as sp
from scipy.optimize import brentq

import numerics
from derive import PairwiseModel

si, sj = sp.symbols("s_i s_j", real=True)
K, h = sp.symbols("K h", real=True)
SK = PairwiseModel((-1, 1), -K * si * sj, -h * si, variables=(si, sj))


@pytest.fixture(scope="module")
def rs():
    return numerics.OrderedRS(SK, params={"h": 0.0}, T_min=0.2)


# --- the independent oracle ------------------------------------------------------------------

_Z, _W = np.polynomial.hermite_e.hermegauss(301)
_W = _W / _W.sum()  # E_z over N(0, 1)


def sk_rs(T, J0, m=1.0, q=1.0):
    """m = E tanh(b(J0 m + sqrt(q) z)), q = E tanh^2(...) by plain iteration (SK 1975 eqs.
    11-12, J = 1, h = 0) with 301 Gauss-Hermite nodes; returns (m, q, AT) with
    AT = b^2 E sech^4 (de Almeida & Thouless 1978, eq. 25)."""
    b = 1.0 / T
    for _ in range(100_000):
        t = np.tanh(b * (J0 * m + math.sqrt(q) * _Z))
        new_m, new_q = _W @ t, _W @ t**2
        if abs(new_m - m) + abs(new_q - q) < 1e-14:
            break
        m, q = new_m, new_q
    t = np.tanh(b * (J0 * m + math.sqrt(q) * _Z))
    return m, q, b * b * (_W @ (1 - t**2) ** 2)


# --- transition lines ----------------------------------------------------------------------


@pytest.mark.parametrize("J0", [0.0, 0.5])
def test_para_spin_glass_line_at_T_equal_J(rs, J0):
    """q = 1e-6 is crossed within ~1e-6 of T = J (q ~ 1 - T/J just below it, SK 1975); the
    stop rule xtol = 1e-7: 1e-5 is ten times the bias."""
    c = numerics.rs_crossing(rs, "q", 1e-6, (0.9, 1.1), J0=J0, xtol=1e-7, strict=True)
    assert abs(c.T - 1.0) < 1e-5


@pytest.mark.parametrize("J0", [1.25, 1.5])
def test_para_ferro_line_at_T_equal_J0(rs, J0):
    """m = 1e-3 is crossed where m^2 ~ 3 (T_c - T) / T_c: ~1e-6 below T = J0 (SK 1975)."""
    c = numerics.rs_crossing(rs, "m", 1e-3, (J0 - 0.1, J0 + 0.1), J0=J0, xtol=1e-7, strict=True)
    assert abs(c.T - J0) < 1e-5


@pytest.mark.parametrize("J0", [1.1, 1.25])
def test_at_line_matches_an_independent_solution(rs, J0):
    """AT = 1 on the ferromagnetic solution, against brentq on the oracle. At T > 0.4 both
    quadratures are exact to better than 1e-9 (301 Hermite nodes agree with 161 to 5e-7 in
    the AT temperature at J0 = 1.25; the trapezoid rule is sized by quadrature_order), and
    both brentqs stop at 1e-9: 1e-6 is loose."""
    c = numerics.rs_crossing(rs, "at", 1.0, (0.4, 1.4), J0=J0, xtol=1e-9, strict=True)
    want = brentq(lambda T: sk_rs(T, J0)[2] - 1.0, 0.4, 1.4, xtol=1e-9)
    assert c.T == pytest.approx(want, abs=1e-6)


def test_transition_lines_from_a_phase_diagram(rs):
    J0s, Ts = [0.0, 0.5, 1.1, 1.25], [0.5, 0.8, 0.95, 1.05, 1.15, 1.2, 1.3, 1.6]
    diagram = numerics.rs_phase_diagram(rs, J0s, Ts, strict=True)
    lines = numerics.rs_transition_lines(rs, diagram, xtol=1e-7, strict=True)
    sg, ferro, at = lines["para_sg"], lines["para_ferro"], lines["at"]
    assert sg.J0 == [0.0, 0.5] and ferro.J0 == [1.1, 1.25] and at.J0 == [1.1, 1.25]
    assert max(abs(T - 1.0) for T in sg.T) < 1e-5  # SK 1975: T = J
    assert max(abs(T - J0) for J0, T in zip(ferro.J0, ferro.T)) < 1e-5  # SK 1975: T = J0
    for J0, T in zip(at.J0, at.T):  # de Almeida & Thouless 1978, against the oracle
        want = brentq(lambda t, J0=J0: sk_rs(t, J0)[2] - 1, 0.4, 1.4)
        assert T == pytest.approx(want, abs=1e-5)
    assert json.loads(json.dumps(at.to_dict()))["T"] == at.T


# --- the phase diagram ---------------------------------------------------------------------


def test_phase_diagram_against_the_oracle(rs):
    """Each point's phase from the oracle's (m, q, AT) with the thresholds of RSResult.phase."""
    J0s, Ts = [0.0, 1.5], [0.5, 1.2]
    diagram = numerics.rs_phase_diagram(rs, J0s, Ts, strict=True)
    assert diagram.converged and diagram.point_converged.all()
    for i, T in enumerate(Ts):
        for j, J0 in enumerate(J0s):
            m, q, at = sk_rs(T, J0)
            want = (
                ("ferromagnetic" if at < 1 else "mixed")
                if abs(m) > 1e-6
                else ("spin glass" if q > 1e-6 else "paramagnetic")
            )
            assert diagram.phase[i][j] == want
            assert diagram.m[i, j] == pytest.approx(m, abs=1e-8)
    assert sum(diagram.counts.values()) == 4
    d = json.loads(json.dumps(diagram.to_dict()))
    assert d["phase"] == diagram.phase and d["converged"] is True


# --- sweeps: parallel and resumable --------------------------------------------------------


def test_diagram_and_lines_are_the_same_on_two_processes_and_resume_from_checkpoints(tmp_path):
    """The rows and the crossings are numerics.sweep tasks: two worker processes (fresh
    solvers, no memo) give the serial numbers bit for bit, and a rerun with the same
    checkpoint directory computes nothing. One column (J0 = 1.25) keeps it short: no
    para--SG crossing there, so that line is an empty sweep."""
    J0s, Ts = [1.25], [0.8, 1.05, 1.3]

    def once(**defaults):
        solver = numerics.OrderedRS(SK, params={"h": 0.0}, T_min=0.5)
        with numerics.sweep_defaults(**defaults):
            d = numerics.rs_phase_diagram(solver, J0s, Ts, name="pd")
            lines = numerics.rs_transition_lines(solver, d, xtol=1e-3, name="pd")
        return d, lines

    serial, serial_lines = once()
    for defaults in ({"executor": 2, "checkpoint_dir": tmp_path}, {"checkpoint_dir": tmp_path}):
        d, lines = once(**defaults)
        assert d.phase == serial.phase and d.retries == serial.retries
        for key in ("m", "q", "at"):
            assert np.array_equal(getattr(d, key), getattr(serial, key)), key
        assert {k: line.T for k, line in lines.items()} == {
            k: line.T for k, line in serial_lines.items()
        }
    assert serial.computed == 3 and serial_lines["para_ferro"].computed == 1
    assert serial_lines["para_sg"].T == [] and serial_lines["para_ferro"].T[0] is not None
    assert d.computed == 0 and all(line.computed == 0 for line in lines.values())
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["pd-at.jsonl", "pd-para_ferro.jsonl", "pd.jsonl"]


def test_ordered_rs_prints_by_content_and_pickles_without_its_memo(rs):
    rs(1.3, J0=0.5)
    copy = pickle.loads(pickle.dumps(rs))
    assert repr(copy) == repr(rs) and "T_min=0.2" in repr(rs) and "0x" not in repr(rs)
    assert copy._solutions == {} and copy.retries == 0
    assert copy(1.3, J0=0.5).q == rs(1.3, J0=0.5).q


# --- the result protocol and bad input -------------------------------------------------------


def test_crossing_without_sign_change(rs):
    """At J0 = 0 the RS q is positive on all of [0.5, 0.9] (T < J): no crossing."""
    c = numerics.rs_crossing(rs, "q", 1e-6, (0.5, 0.9))
    assert not c.converged and c.T is None and "does not change sign" in c.message
    assert json.loads(json.dumps(c.to_dict()))["T"] is None
    with pytest.raises(numerics.ConvergenceError, match="does not change sign"):
        numerics.rs_crossing(rs, "q", 1e-6, (0.5, 0.9), strict=True)


def test_phase_diagram_strict_raises_on_a_point_that_did_not_converge():
    """Five iterations cannot converge the spin glass at T = 0.5 (tol 1e-12)."""
    short = numerics.OrderedRS(SK, params={"h": 0.0}, T_min=0.5, max_iter=5)
    d = numerics.rs_phase_diagram(short, [0.0], [0.5])
    assert not d.converged and not d.point_converged[0, 0]
    with pytest.raises(numerics.ConvergenceError, match="1 not converged"):
        numerics.rs_phase_diagram(short, [0.0], [0.5], strict=True)


def test_bad_arguments(rs):
    with pytest.raises(numerics.InputError, match="quantity must be one of"):
        numerics.rs_crossing(rs, "x", 0.0, (0.5, 1.0))
    with pytest.raises(numerics.InputError, match="bracket must be"):
        numerics.rs_crossing(rs, "q", 0.0, (1.0, 0.5))
    with pytest.raises(numerics.InputError, match="T_min must be"):
        numerics.OrderedRS(SK, params={"h": 0.0}, T_min=0.0)
    with pytest.raises(numerics.InputError, match="unknown option"):
        numerics.OrderedRS(SK, params={"h": 0.0}, order=3)
    with pytest.raises(numerics.InputError, match="unknown line"):
        d = numerics.rs_phase_diagram(rs, [0.0], [2.0])
        numerics.rs_transition_lines(rs, d, thresholds={"sg": 1e-3})
