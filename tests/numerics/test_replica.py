"""Tests of numerics.replica_symmetric: the SK phase diagram, low-temperature RS numbers,
thermodynamic consistency, the Ghatak-Sherrington model, and a Monte Carlo check.

Couplings K_ij ~ N(J_0/N, J^2/N) (Sherrington & Kirkpatrick, PRL 35, 1792 (1975)). Unless said otherwise J = 1, h = 0.
The solver iterates to tol = 1e-12 with Anderson acceleration and integrates by the
trapezoid rule on [-12, 12] with spacing <= 1/(2 beta J); for tanh(beta J sqrt(q) z) that
rule is exact to ~1e-9 relative even at beta = 100 (measured against 8001 nodes:
|dq| <= 8e-9, |du| <= 3e-9 for beta in [8, 50]).
"""

import json
import math

import networkx as nx
import numpy as np
import pytest
import sympy as sp
from scipy.optimize import brentq

import graphs
import numerics
from derive import ModelError, PairwiseModel

si, sj = sp.symbols("s_i s_j", real=True)
K, L, h, D = sp.symbols("K L h D", real=True)

SK = PairwiseModel((-1, 1), -K * si * sj, -h * si, variables=(si, sj))
GS = PairwiseModel((-1, 0, 1), -K * si * sj, D * si**2, variables=(si, sj))
H0 = {"h": 0.0}


def sk(T, J0=0.0, **kw):
    return numerics.replica_symmetric(SK, 1.0 / T, J0=J0, params=kw.pop("params", H0), **kw)


# --- paramagnet -----------------------------------------------------------------------------


@pytest.mark.parametrize("T", [1.5, 2.0, 3.0])
def test_paramagnet_above_tc(T):
    r"""At m = q = 0 the RS free energy is f = -T ln 2 - beta J^2 / 4 (the annealed one), so
    beta f = -ln 2 - beta^2/4, u = d(beta f)/d beta = -beta/2, s = beta (u - f) = ln 2 - beta^2/4.
    These are closed forms evaluated at the solver's q, which converges to 0 geometrically
    (rate beta^2 < 1): 1e-10 is ~1e5 times the float64 rounding of O(1) sums (measured 2e-15)."""
    beta = 1 / T
    r = sk(T)
    assert r.converged and r.phase == "paramagnetic"
    assert abs(r.m) < 1e-8 and r.q < 1e-8
    assert r.free_energy == pytest.approx(-T * math.log(2) - beta / 4, abs=1e-10)
    assert r.energy == pytest.approx(-beta / 2, abs=1e-10)
    assert r.entropy == pytest.approx(math.log(2) - beta**2 / 4, abs=1e-10)
    assert r.Q == 1.0


# --- para / spin glass / ferro lines ----------------------------------------------------------


def test_spin_glass_transition_at_T_equal_J():
    below, above = sk(0.97), sk(1.03)
    assert below.converged and above.converged
    # q ~ (1 - T) below: 0.03 at T = 0.97 (measured 0.0303); 0.01 is far from 0 and from it
    assert below.q > 0.01 and below.phase == "spin glass"
    # above T = 1, q = 0 is the only solution; the iteration contracts at rate beta^2 = 0.94
    assert above.q < 1e-6 and above.phase == "paramagnetic"


def test_overlap_grows_linearly_below_tc():
    """Expanding q = E tanh^2(beta sqrt(q) z) in q gives q = tau + O(tau^2), tau = 1 - T.
    Measured: q(0.98) = 0.020127, q(0.99) = 0.0100326, i.e. q = tau + 0.32 tau^2, a relative
    correction 0.32 tau = 0.6% at tau = 0.02. The brief's 20% would also pass a slope off by
    15%; 5% is ~8 times the measured correction and still catches a wrong prefactor.
    The relative correction must shrink with tau (halve when tau halves, to within 10%)."""
    q98, q99 = sk(0.98).q, sk(0.99).q
    assert q98 == pytest.approx(0.02, rel=0.05)
    assert q99 == pytest.approx(0.01, rel=0.05)
    ratio = (q98 / 0.02 - 1) / (q99 / 0.01 - 1)
    assert ratio == pytest.approx(2.0, rel=0.1)


@pytest.mark.parametrize("J0", [1.2, 1.5, 2.0])
def test_para_ferro_line_at_T_equal_J0(J0):
    """For J0 > J the paramagnet becomes unstable to m at T = J0 (linearise m = E tanh(beta J0
    m + ...): beta J0 = 1). m(0.97 J0) is ~0.1-0.2 (measured 0.109, 0.164, 0.212), far above
    1e-3; above the line m decays at rate 1/1.03 per step to < 1e-12 (measured)."""
    below, above = sk(0.97 * J0, J0), sk(1.03 * J0, J0)
    assert below.converged and above.converged
    assert below.m > 1e-3 and below.phase in ("ferromagnetic", "mixed")
    assert abs(above.m) < 1e-6


# --- T -> 0 ---------------------------------------------------------------------------------

E0 = -math.sqrt(2 / math.pi)  # RS ground-state energy per spin (SK 1975)


@pytest.fixture(scope="module")
def cold():
    """RS solutions at low T (each needs its own quadrature order, ~1 s to compile)."""
    return {T: sk(T) for T in (0.1, 0.04, 0.02, 0.01)}


def test_ground_state_energy(cold):
    """u(T) = u(0) + a T^p. The power, from three temperatures without using u(0):
    (u(0.04) - u(0.02)) / (u(0.02) - u(0.01)) = 2^p; measured p = 2.02 (and log-ratios of
    u(T) - u(0) of 2.017, 2.009, 2.004 at T = 0.04/0.02/0.01/0.005): the correction is T^2,
    consistent with s(T) = s(0) + c T (u - u(0) = c T^2 / 2 by du = T ds).
    So the quadratic extrapolation u(0) = (4 u(0.01) - u(0.02)) / 3 is exact up to O(T^3):
    measured error 2e-7 (linear extrapolation: 5e-5). The brief asks 2e-3; 1e-5 still has
    a factor 50 of margin and separates RS (-0.7979) from Parisi (-0.7632) by 3000 x."""
    u = {T: r.energy for T, r in cold.items()}
    assert all(r.converged for r in cold.values())
    p = math.log2((u[0.04] - u[0.02]) / (u[0.02] - u[0.01]))
    assert p == pytest.approx(2.0, abs=0.1)
    extrapolated = (4 * u[0.01] - u[0.02]) / 3
    assert extrapolated == pytest.approx(E0, abs=1e-5)
    assert abs(extrapolated - (-0.7632)) > 0.03  # not the full-RSB value


def test_rs_entropy_is_negative_at_low_temperature(cold):
    """RS's known failure: s(T) < 0 at low T, tending to -1/(2 pi) = -0.159. Measured
    s(0.1) = -0.104, s(0.01) = -0.1538 (s + 1/(2 pi) ~ 0.53 T): 0.01 at T = 0.01 is the
    linear correction (0.0053) with a factor-2 margin."""
    assert cold[0.1].entropy < -0.05
    assert cold[0.01].entropy == pytest.approx(-1 / (2 * math.pi), abs=0.01)
    assert cold[0.01].entropy < cold[0.02].entropy < cold[0.1].entropy < 0


# --- de Almeida-Thouless -----------------------------------------------------------------------


def test_at_stability():
    """In the paramagnet (q = 0) AT = beta^2 J^2 E sech^4(0) = beta^2 exactly: 1/1.44 at
    T = 1.2; at T = 0.5 the spin-glass RS solution is unstable (measured AT = 1.36).
    Tolerance: q -> 0 geometrically (factor beta^2 = 0.69) and the iteration stops at a
    change of 1e-12, leaving q ~ 2e-12 and AT low by ~2 beta^2 q; 1e-10 covers it."""
    hot, cold_ = sk(1.2), sk(0.5)
    assert hot.at == pytest.approx(1 / 1.2**2, abs=1e-10) and hot.at_stable
    assert cold_.q > 0.4 and cold_.at > 1.2 and not cold_.at_stable


# --- thermodynamic consistency -----------------------------------------------------------------


@pytest.mark.parametrize(
    "model, beta, J0, params, phase",
    [
        (SK, 2.0, 0.0, {"h": 0.0}, "spin glass"),
        (SK, 1 / 0.7, 1.5, {"h": 0.0}, "ferromagnetic"),
        (SK, 1.6, 0.5, {"h": 0.2}, "ferromagnetic"),
        (GS, 1.5, 0.0, {"D": 0.3}, "spin glass"),
    ],
)
def test_energy_is_derivative_of_beta_f(model, beta, J0, params, phase):
    """u = d(beta f)/d beta by a central difference (step 1e-4) with the saddle point
    re-solved at each beta. Truncation eps^2/6 (beta f)''' ~ 2e-9, rounding 1e-13/eps ~ 1e-9
    (the fixed point's 1e-12 error enters beta f only at second order, it is stationary);
    measured 2.5e-10 to 8e-10. 1e-7 keeps a factor 100 and is 1e-7 relative to |u| ~ 0.7.
    A fixed quadrature order keeps the three evaluations on the same rule."""
    eps = 1e-4

    def solve(b):
        r = numerics.replica_symmetric(model, b, J0=J0, params=params, order=1201)
        assert r.converged
        return r

    centre = solve(beta)
    assert centre.phase == phase
    fd = (
        (beta + eps) * solve(beta + eps).free_energy - (beta - eps) * solve(beta - eps).free_energy
    ) / (2 * eps)
    assert centre.energy == pytest.approx(fd, abs=1e-7)
    assert centre.entropy == pytest.approx(beta * (centre.energy - centre.free_energy), abs=1e-12)


# --- Ghatak-Sherrington ------------------------------------------------------------------------


def paramagnetic_Q(beta, Dv, J=1.0):
    """At m = q = 0 the RS site law is P(0) ∝ 1, P(+-1) ∝ e^A, A = beta^2 J^2 Q/2 - beta D,
    so Q = <s^2> solves Q = 2 e^A / (1 + 2 e^A) (brentq on [0, 1]: the right side maps
    [0, 1] into (0, 1))."""

    def g(Q):
        A = beta**2 * J**2 * Q / 2 - beta * Dv
        return 2 / (2 + math.exp(-A)) - Q

    return brentq(g, 0.0, 1.0, xtol=1e-15, rtol=1e-15)


def test_ghatak_sherrington_large_crystal_field():
    """D = 3, T = 0.5: the state 0 costs nothing, +-1 cost D = 3 >> T: Q = 2 e^{-6 + Q}/(...)
    ~ 0.005 (most spins in state 0), and no order (q = m = 0)."""
    r = numerics.replica_symmetric(GS, 2.0, params={"D": 3.0})
    assert r.converged and r.phase == "paramagnetic"
    assert r.Q < 0.01
    # the fixed point is solved to 1e-12; Q is O(1e-2), so 1e-10 is rounding plus margin
    assert r.Q == pytest.approx(paramagnetic_Q(2.0, 3.0), abs=1e-10)


def test_ghatak_sherrington_high_temperature_self_overlap():
    """D = 0, T -> infinity: the single-spin law is uniform on {-1, 0, 1}, Q = <s^2> = 2/3.
    At T = 100 the correction is dQ = Q(1-Q) beta^2 Q/2 = (2/27) beta^2 = 7.4e-6 (measured),
    so 1e-4. At T = 2, D = 0.5 (still paramagnetic) the exact self-consistent Q (oracle
    above) differs from 2/3 and must be matched to 1e-10."""
    r = numerics.replica_symmetric(GS, 0.01, params={"D": 0.0})
    assert r.Q == pytest.approx(2 / 3, abs=1e-4)
    assert r.Q - 2 / 3 == pytest.approx(2 / 27 * 0.01**2, rel=0.05)  # the O(beta^2) term
    r = numerics.replica_symmetric(GS, 0.5, params={"D": 0.5})
    assert r.phase == "paramagnetic"
    assert r.Q == pytest.approx(paramagnetic_Q(0.5, 0.5), abs=1e-10)
    assert abs(r.Q - 2 / 3) > 0.02


# --- initial conditions -----------------------------------------------------------------------


def test_paramagnetic_fixed_point_exists_at_any_temperature():
    """m = q = 0 solves the RS equations at every T (E tanh(0) = 0): from init="paramagnetic"
    the solver stays there even at T = 0.5, where that solution is unstable (AT = beta^2 = 4),
    while the ordered and glassy starts and an explicit one find the spin-glass solution."""
    para = sk(0.5, init="paramagnetic")
    assert para.converged and para.m == 0.0 and para.q == 0.0
    assert para.at == pytest.approx(4.0, abs=1e-12) and not para.at_stable
    qs = [sk(0.5, init=init).q for init in ("ordered", "glassy", [0.0, 0.5])]
    # same fixed point from every start: solved to 1e-12, agreement to 1e-10
    assert qs == pytest.approx([qs[0]] * 3, abs=1e-10) and qs[0] > 0.5


def test_bad_init():
    with pytest.raises(ValueError, match="init must be one of"):
        sk(0.5, init="random")
    with pytest.raises(ValueError, match=r"init must have 2 values \['m', 'q'\]"):
        sk(0.5, init=[0.0, 0.1, 0.2])


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_beta(beta):
    with pytest.raises(numerics.InputError, match="beta must be a finite positive number"):
        numerics.replica_symmetric(SK, beta, params=H0)


@pytest.mark.parametrize("J", [0.0, -1.0, float("nan")])
def test_bad_J(J):
    with pytest.raises(numerics.InputError, match=r"J \(the coupling spread\) must be a finite"):
        numerics.replica_symmetric(SK, 1.0, J=J, params=H0)


def test_missing_params():
    with pytest.raises(numerics.InputError, match=r"no value for \['h'\]"):
        numerics.replica_symmetric(SK, 1.0)
    with pytest.raises(numerics.InputError, match=r"\['h'\] are not node parameters"):
        numerics.replica_symmetric(GS, 1.0, params={"h": 0.0, "D": 0.0})
    with pytest.raises(numerics.InputError, match=r"argument 'D' .* is nan"):
        numerics.replica_symmetric(GS, 1.0, params={"D": float("nan")})


def test_non_bilinear_model():
    potts = PairwiseModel(range(3), -K * sp.KroneckerDelta(si, sj), variables=(si, sj))
    with pytest.raises(ModelError, match="bilinear"):
        numerics.replica_symmetric(potts, 1.0)
    two_terms = PairwiseModel((-1, 0, 1), -K * si * sj - L * si**2 * sj**2, variables=(si, sj))
    with pytest.raises(ModelError, match="bilinear"):
        numerics.replica_symmetric(two_terms, 1.0)


# --- the scale of the spins: a quadrature bug ---------------------------------------------------

SK_PLAIN = PairwiseModel((-1, 1), -K * si * sj, variables=(si, sj))
SK_TWICE = PairwiseModel((-1, 1), -2 * K * si * sj, variables=(si, sj))  # kappa = 2
SK_WIDE = PairwiseModel((-2, 2), -K * si * sj, variables=(si, sj))  # sigma = +-2


def rescaled(model, beta, order=None):
    """RS of a rescaled SK model next to plain SK at the equivalent temperature.

    -2 K s s' on +-1 is SK at 2 beta: Z(beta) = Z_SK(2 beta), so q = q_SK(2 beta) and
    u = d(beta f)/d beta = 2 u_SK(2 beta). On the alphabet +-2, sigma sigma' = 4 s s':
    Z(beta) = Z_SK(4 beta), q = 4 q_SK(4 beta), u = 4 u_SK(4 beta); AT is dimensionless
    and equal. The plain SK side uses 8001 nodes (reference accuracy).
    """
    scale = 2.0 if model is SK_TWICE else 4.0
    qscale = 1.0 if model is SK_TWICE else 4.0
    r = numerics.replica_symmetric(model, beta, order=order)
    ref = numerics.replica_symmetric(SK_PLAIN, scale * beta, order=8001)
    return (r.q - qscale * ref.q, r.energy - scale * ref.energy, r.at - ref.at)


@pytest.mark.parametrize("model, beta", [(SK_TWICE, 5.0), (SK_WIDE, 2.0)])
def test_rescaled_models_with_fine_quadrature(model, beta):
    """The identities hold to rounding once the quadrature resolves the integrand
    (measured <= 1e-13): the equations are right, only the default order is not."""
    dq, du, dat = rescaled(model, beta, order=8001)
    assert abs(dq) < 1e-10 and abs(du) < 1e-10 and abs(dat) < 1e-9


@pytest.mark.parametrize("model, beta", [(SK_TWICE, 5.0), (SK_WIDE, 2.0)])
def test_rescaled_models_with_default_quadrature(model, beta):
    """Default order: measured |dq| = 1.2e-4 / 5e-5, |du| = 9e-5 / 2e-5, |dAT| = 0.09 / 0.009
    for SK_TWICE at beta = 5 / SK_WIDE at beta = 2. Plain SK at the same effective beta is
    accurate to ~1e-8 (module docstring), so 1e-7 is what the default rule should deliver."""
    dq, du, dat = rescaled(model, beta)
    assert abs(dq) < 1e-7 and abs(du) < 1e-7 and abs(dat) < 1e-4


# --- Monte Carlo at high temperature ------------------------------------------------------------


def test_monte_carlo_energy_matches_rs_at_high_temperature():
    r"""SK, N = 200, T = 1.5 (beta = 2/3, paramagnet): RS gives u = -beta/2 exactly.

    Finite-size allowance, from the high-temperature (Aizenman-Lebowitz-Ruelle) expansion:
    log Z_N = N ln 2 + beta^2 (N-1)/4 + X_N with X_N -> Gaussian, E X = (1/4)(ln(1-b^2) + b^2),
    made of cycle terms b^k Y_k of variance b^{2k}/(2k), k >= 2. Hence per spin
    * mean: E u_N = -b/2 + b / (2 N (1 - b^2)) = -b/2 + 0.0030 (the -b/(2N) of the annealed
      (N-1) and the derivative of E X);
    * instance-to-instance spread: Var(dX/db) = sum_k (k/2) b^{2k-2} = [(1-b^2)^{-2} - 1]/2
      = 1.12, i.e. sd 1.06 / N = 0.0053 per spin.
    Measured on 8 instances (4000 sweeps): u_MC + b/2 had mean 0.0032 and sd 0.0040.
    We average 4 instances (sd 0.0026) and allow 3 combined standard errors (Monte Carlo
    batch means, 0.0013-0.0023 per instance at 2000 sweeps) plus 3 instance sd plus the
    known mean shift: 0.0135 in all, 4% of |u| = 1/3 (a model with J off by 10% or the wrong
    sign of the energy fails). Measured here: u_MC + b/2 = 0.0034, combined SE 0.00086.
    """
    N, T = 200, 1.5
    beta = 1 / T
    rs = sk(T)
    assert rs.energy == pytest.approx(-beta / 2, abs=1e-12)
    means, errors = [], []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        G = nx.complete_graph(N)
        for i, j in G.edges():
            G.edges[i, j]["K"] = rng.normal(0.0, 1.0 / math.sqrt(N))
        mc = graphs.monte_carlo(SK, G, beta, params=H0, sweeps=2000, seed=seed)
        e, se = mc.mean_energy()
        means.append(e / N)
        errors.append(se / N)
    mc_mean = float(np.mean(means))
    mc_se = math.sqrt(sum(s**2 for s in errors)) / len(errors)
    shift = beta / (2 * N * (1 - beta**2))
    instance_sd = math.sqrt(((1 - beta**2) ** -2 - 1) / 2) / N / math.sqrt(len(means))
    allowance = shift + 3 * instance_sd
    assert abs(mc_mean - rs.energy) < 3 * mc_se + allowance


# --- the result protocol ------------------------------------------------------------------------


def test_result_protocol_and_strict():
    """Near T = J the overlap relaxes as q_t - q* ~ (beta^2 J^2)^t (the slope of the RS map at
    q = 0 is beta^2 J^2, Sherrington & Kirkpatrick 1975): 20 iterations at T = 1.001 leave a
    residual far above 1e-12, so the solve is not converged, and strict=True raises."""
    short = sk(1.001, init="glassy", max_iter=20)
    assert isinstance(short, numerics.Result) and not short.converged
    assert short.iterations == 20 == len(short.residuals)
    assert short.residual == short.residuals[-1] > 1e-6
    with pytest.raises(numerics.ConvergenceError, match="RSResult: no convergence"):
        sk(1.001, init="glassy", max_iter=20, strict=True)
    done = sk(0.5, strict=True)
    d = json.loads(json.dumps(done.to_dict()))
    assert d["converged"] is True and d["phase"] == "spin glass"
    assert d["q"] == pytest.approx(done.q) and d["iterations"] == done.iterations


def test_init_by_state_name():
    """The same paramagnet from a dict start as from the named one (T = 2: a contraction)."""
    a = sk(2.0, init={"m": 0.3, "q": 0.2}, strict=True)
    b = sk(2.0, init="paramagnetic", strict=True)
    assert abs(a.m) < 1e-10 and a.q < 1e-10 and a.free_energy == pytest.approx(b.free_energy)
    with pytest.raises(numerics.InputError, match=r"\['x'\] are not states"):
        sk(2.0, init={"x": 0.3})
