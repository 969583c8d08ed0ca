"""The hidden-manifold online-SGD ODEs integrated (numerics.saad_solla_manifold).

Goldt, Mézard, Krzakala & Zdeborová, Phys. Rev. X 10, 041044 (2020), arXiv:1909.11500:
the GET covariance at t = 0, the ODEs of Sec. V (Eqs. (M1)-(M4) of derive.online_manifold) against online
SGD on hidden-manifold data, and their iid limit (Saad & Solla, PRE 52, 4225 (1995)).
"""

import math

import numpy as np
import pytest
import sympy as sp

import derive
import numerics
from derive import CommitteeMachine
from numerics import marchenko_pastur_nodes, saad_solla_manifold

u = sp.Symbol("u", real=True)
ERF = sp.erf(u / sp.sqrt(2))
SIGN = sp.sign(u)
MODEL = CommitteeMachine(ERF, variable=u, K=1, M=1)


def _draw(N, D, K=1, M=1, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, D)), rng.standard_normal((K, N)), rng.standard_normal((M, D))


def test_initial_order_parameters_are_the_get_covariance():
    # Goldt et al. (2020), the Gaussian equivalence property: Q = (c - a^2 - b^2) W + b^2 Sigma,
    # R = b S theta^T / D, T = theta theta^T / D, measured from the weights and F directly
    # (numerics.get_covariance takes F as D x N); exact up to rounding.
    F, W, B = _draw(300, 20, K=1, M=1, seed=1)
    ode = saad_solla_manifold(MODEL, SIGN, u, F, eta=0.5, t_max=0.1, init={"W": W, "B": B})
    moments = numerics.get_moments(SIGN, u)
    b = float(moments.b)
    assert ode.Q[0] == pytest.approx(numerics.get_covariance(W, F.T, moments), rel=1e-10)
    S = W @ F / math.sqrt(300)
    assert ode.R[0] == pytest.approx(b * S @ B.T / 20, rel=1e-10)
    assert ode.T == pytest.approx(B @ B.T / 20, rel=1e-10)
    assert ode.initial["Q"] == pytest.approx(ode.Q[0])
    assert ode.converged and ode.settings["spectrum"] == "empirical"


@pytest.fixture(scope="module")
def ode_and_sims():
    N, D, eta, t_max = 1000, 50, 0.5, 4.0
    F, W, B = _draw(N, D, seed=0)
    init = {"W": W, "B": B}
    ode = saad_solla_manifold(MODEL, SIGN, u, F, eta=eta, t_max=t_max, init=init, n_points=9)
    sims = [
        numerics.online_sgd(
            MODEL,
            N=N,
            eta=eta,
            t_max=t_max,
            seed=seed,
            init=init,
            inputs=numerics.HiddenManifold(D, SIGN, u, F),
            record_every=0.5,
            test_size=4000,
        )
        for seed in range(3)
    ]
    return ode, sims


def test_eps_g_at_start_is_the_measured_one(ode_and_sims):
    # the ODE's eps_g at t = 0 (the iid formula at the GET covariance) against the test-set
    # estimate of the simulations on the same weights: within 4 standard errors plus the GET's
    # finite-size correction (O(1/sqrt N) ~ 0.03 relative at N = 1000).
    ode, sims = ode_and_sims
    for sim in sims:
        assert abs(sim.eps_g[0] - ode.eps_g[0]) < 4 * sim.eps_g_error[0] + 0.03 * ode.eps_g[0]


def test_ode_follows_online_sgd_on_hidden_manifold_data(ode_and_sims):
    # Goldt et al. (2020), Sec. V: the ODEs against online SGD (f = sign, g = erf(x/sqrt 2),
    # N = 1000, D = 50, eta = 0.5, same F and initial weights, mean of 3 seeds) at t = 0.5 ... 4.
    # Measured gaps: R <= 0.013, Q <= 2.2 %, eps_g <= 5 %; tolerances: the order parameters
    # fluctuate by O(N^-1/2) ~ 0.03 per run, and the GET has O(N^-1/2) corrections.
    ode, sims = ode_and_sims
    assert np.allclose(sims[0].t, ode.t)
    R = np.mean([s.R[:, 0, 0] for s in sims], axis=0)
    Q = np.mean([s.Q[:, 0, 0] for s in sims], axis=0)
    eps = np.mean([s.eps_g for s in sims], axis=0)
    assert np.abs(R - ode.R[:, 0, 0]).max() < 0.06
    assert np.abs(Q / ode.Q[:, 0, 0] - 1).max() < 0.06
    assert np.abs(eps / ode.eps_g - 1).max() < 0.1
    assert ode.eps_g[-1] < 0.2 * ode.eps_g[0]  # it learns


def test_linear_f_orthogonal_features_reduce_to_iid_saad_solla():
    # f(u) = u (b = 1, kappa_star = 0) and F^T F / N = I (orthogonal columns): the student sees
    # D-dimensional Gaussian inputs, so Q(t) = Q_iid(t / delta) with delta = D / N for the iid
    # Saad-Solla ODEs with a trained second layer (Saad & Solla 1995; Goldt et al.,
    # arXiv:1906.08632, whose rate per iid time is eta_v delta) from the same Q, R, T, v; both
    # integrated to rtol 1e-9. (The equations with v = 1 are compared in
    # tests/derive/test_online_manifold_derive.py; their integration against SGD above.)
    N, D = 200, 20
    rng = np.random.default_rng(4)
    F = math.sqrt(N) * np.linalg.qr(rng.standard_normal((N, D)))[0]
    W, B = rng.standard_normal((1, N)), rng.standard_normal((1, D))
    delta, eta, eta_v, t_iid = D / N, 0.5, 3.0, 3.0
    times = np.linspace(0, t_iid, 7)
    hm = saad_solla_manifold(
        MODEL, u, u, F, eta, t_iid * delta, init={"W": W, "B": B}, t_eval=times * delta,
        rtol=1e-9, atol=1e-11, train_second_layer=True, eta_v=eta_v, v=[0.7],
    )  # fmt: skip
    assert np.allclose(hm.settings["rho"], 1.0)
    y0 = {"Q_0_0": hm.Q[0, 0, 0], "R_0_0": hm.R[0, 0, 0], "v_0": 0.7}
    params = {"eta": eta, "eta_v": eta_v * delta, "sigma": 0.0, "kappa": 0.0}
    params.update(T_0_0=hm.T[0, 0], A_0=1.0)
    iid = numerics.integrate(
        derive.saad_solla(MODEL, train_second_layer=True), y0, (0, t_iid), params,
        t_eval=times, rtol=1e-9, atol=1e-11,
    )  # fmt: skip
    assert hm.R[:, 0, 0] == pytest.approx(iid["R_0_0"], abs=1e-6)
    assert hm.Q[:, 0, 0] == pytest.approx(iid["Q_0_0"], abs=1e-6)
    assert hm.v[:, 0] == pytest.approx(iid["v_0"], abs=1e-6)
    assert abs(hm.v[-1, 0] - 0.7) > 0.05  # v moved


@pytest.mark.parametrize("delta", [0.5, 2.0])
def test_marchenko_pastur_moments(delta):
    # Marchenko & Pastur (1967): the eigenvalues of F^T F / N (F: N x D i.i.d. N(0, 1),
    # delta = D / N) have moments 1, 1 + delta, 1 + 3 delta + delta^2 (zero eigenvalues
    # included when delta > 1); the midpoint rule in theta is exponentially accurate.
    rho, w = marchenko_pastur_nodes(delta, 64)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert w @ rho == pytest.approx(1.0, abs=1e-10)
    assert w @ rho**2 == pytest.approx(1 + delta, abs=1e-10)
    assert w @ rho**3 == pytest.approx(1 + 3 * delta + delta**2, abs=1e-10)


def test_marchenko_pastur_start():
    # isotropic densities sigma(rho) = rho W0: Sigma = <rho> W0 = W0, so Q = c_f W0 at t = 0
    # (c_f = E sign^2 = 1) and R = R0, T = T0.
    ode = saad_solla_manifold(
        MODEL, SIGN, u, (1000, 50), 0.5, 1.0, init={"W": [[1.5]], "R": [[0.1]]}, n_points=3
    )
    assert ode.Q[0, 0, 0] == pytest.approx(1.5, rel=1e-10)
    assert ode.R[0, 0, 0] == pytest.approx(0.1, rel=1e-10)
    assert ode.settings["spectrum"] == "marchenko-pastur" and ode.converged


def test_marchenko_pastur_law_against_the_empirical_spectrum():
    # i.i.d. features F (N x D), weights drawn independently: the densities of the empirical
    # spectrum self-average to the isotropic ones on the Marchenko-Pastur law (Goldt et al.
    # 2020, Sec. V, the D -> oo limit). Measured at N = 2000, D = 200: eps_g within 1.5 %,
    # R within 0.01; tolerances 5 % and 0.04 (O(D^-1/2) ~ 0.07 relative fluctuations of the
    # per-eigenvalue densities, averaged over the spectrum).
    F, W, B = _draw(2000, 200, seed=2)
    emp = saad_solla_manifold(MODEL, SIGN, u, F, 0.5, 6.0, init={"W": W, "B": B}, n_points=7)
    start = {"W": emp.settings["W"][0], "R": emp.R[0], "T": emp.T}
    mp = saad_solla_manifold(MODEL, SIGN, u, (2000, 200), 0.5, 6.0, init=start, n_points=7)
    assert np.abs(mp.eps_g / emp.eps_g - 1).max() < 0.05
    assert np.abs(mp.R - emp.R).max() < 0.04


def test_bad_input():
    F, W, B = _draw(40, 5)
    ok = dict(init={"W": W, "B": B})
    with pytest.raises(derive.InputError, match="eta"):
        saad_solla_manifold(MODEL, SIGN, u, F, 0.0, 1.0, **ok)
    with pytest.raises(derive.InputError, match="t_max"):
        saad_solla_manifold(MODEL, SIGN, u, F, 0.5, -1.0, **ok)
    with pytest.raises(derive.InputError, match="F"):
        saad_solla_manifold(MODEL, SIGN, u, np.full((40, 5), np.nan), 0.5, 1.0, **ok)
    with pytest.raises(derive.InputError, match=r"init\['W'\]"):
        saad_solla_manifold(MODEL, SIGN, u, F, 0.5, 1.0, init={"W": W[:, :3], "B": B})
    with pytest.raises(derive.InputError, match=r"unknown key.*\['W', 'B'\]"):
        saad_solla_manifold(MODEL, SIGN, u, F, 0.5, 1.0, init={"Q": 1})
    with pytest.raises(derive.InputError, match="not a covariance"):
        saad_solla_manifold(MODEL, SIGN, u, (40, 5), 0.5, 1.0, init={"W": [[-1.0]]})
    with pytest.raises(derive.InputError, match="CommitteeMachine"):
        saad_solla_manifold("model", SIGN, u, F, 0.5, 1.0, **ok)
    with pytest.raises(derive.ModelError):
        saad_solla_manifold(MODEL, sp.sign(sp.Symbol("x")), u, F, 0.5, 1.0, **ok)


def test_saad_solla_routes_hidden_manifold_inputs():
    # numerics.saad_solla(..., inputs=HiddenManifold(D, f, u, F)) with the weights in init is
    # numerics.saad_solla_manifold on the same features: the same trajectory to rounding.
    F, W, B = _draw(300, 20, seed=4)
    spec = numerics.HiddenManifold(20, SIGN, u, F)
    kw = dict(eta=0.5, t_max=1.0, init={"W": W, "B": B}, n_points=5, rtol=1e-7, atol=1e-9)
    routed = numerics.saad_solla(MODEL, inputs=spec, **kw)
    direct = saad_solla_manifold(MODEL, SIGN, u, F, **kw)
    assert routed.settings["spectrum"] == "empirical"
    for name in ("t", "Q", "R", "T", "v", "eps_g"):
        assert getattr(routed, name) == pytest.approx(getattr(direct, name), rel=1e-12, abs=1e-14)


def test_saad_solla_from_hidden_manifold_sgd_starts_where_the_simulation_did():
    # init=sim.initial (the GET order parameters Q, R, T, v of online SGD on hidden-manifold
    # inputs, Goldt et al. 2020): spread isotropically over the Marchenko-Pastur spectrum the ODE
    # starts from the same Q, R, T, v, exactly (Q = c_f W at t = 0; f = erf(u/sqrt 2) has
    # c_f = 1/3, so a missing 1/c_f would show).
    spec = numerics.HiddenManifold(20, ERF, u)
    sim = numerics.online_sgd(
        MODEL, N=400, eta=0.5, t_max=0.05, seed=3, inputs=spec, train_second_layer=True, v=[0.7]
    )
    assert sorted(sim.initial) == ["Q", "R", "T", "v"]
    ode = numerics.saad_solla(
        MODEL, 0.5, 1.0, init=sim.initial, inputs=spec, N=400, train_second_layer=True,
        n_points=3,
    )  # fmt: skip
    assert ode.settings["spectrum"] == "marchenko-pastur" and ode.converged
    assert ode.settings["delta"] == pytest.approx(20 / 400)
    for name in ("Q", "R", "v"):
        assert getattr(ode, name)[0] == pytest.approx(sim.initial[name], rel=1e-9)
    assert ode.T == pytest.approx(sim.initial["T"], rel=1e-9)


def test_saad_solla_refuses_bad_hidden_manifold_routes():
    F, W, B = _draw(40, 5)
    start = {"Q": [[1.0]], "R": [[0.0]], "T": [[1.0]]}
    with pytest.raises(
        derive.InputError, match="inputs must be 'iid' or a numerics.HiddenManifold"
    ):
        numerics.saad_solla(MODEL, 0.5, 1.0, init=start, inputs="gaussian")
    with pytest.raises(derive.InputError, match=r"HiddenManifold\(F=...\)"):
        numerics.saad_solla(
            MODEL, 0.5, 1.0, init={"W": W, "B": B}, inputs=numerics.HiddenManifold(5, SIGN)
        )
    with pytest.raises(derive.InputError, match="N .the input dimension"):
        numerics.saad_solla(MODEL, 0.5, 1.0, init=start, inputs=numerics.HiddenManifold(5, SIGN))
    with pytest.raises(derive.InputError, match="N = 30 but HiddenManifold.F has 40 rows"):
        spec = numerics.HiddenManifold(5, SIGN, u, F)
        numerics.saad_solla(MODEL, 0.5, 1.0, init=start, inputs=spec, N=30)
