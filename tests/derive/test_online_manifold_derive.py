"""The hidden-manifold Saad--Solla ODEs (derive.saad_solla_manifold, manifold_coefficients).

Goldt, Mézard, Krzakala & Zdeborová, Phys. Rev. X 10, 041044 (2020), arXiv:1909.11500,
Sec. V and its appendix: the mean step of the projections s_k(rho) of the student on the
eigenvectors of Omega is the mean of Delta_k z for Gaussian directions z, written through
coefficients G, H (regression of z on two fields at a time) and the second moment E.
"""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

import derive
from derive import CommitteeMachine, manifold_coefficients, saad_solla_manifold

u = sp.Symbol("u", real=True)
ERF = sp.erf(u / sp.sqrt(2))


def _point(eqs, values):
    """The outputs and observables of ``eqs`` at ``values`` (by name), by sympy evalf."""
    subs = {s: sp.Float(values[s.name], 30) for s in eqs.inputs + eqs.params if s.name in values}
    exprs = dict(eqs.outputs) | dict(eqs.observables)
    return {s.name: float(e.xreplace(subs).evalf(30)) for s, e in exprs.items()}


def _covariance(rng, n):
    X = rng.standard_normal((n, n + 2))
    return X @ X.T / (n + 2) + 0.2 * np.eye(n)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_linear_activation_coefficients_are_the_second_layers(seed):
    # For g(u) = u the step Delta_k = eta v_k (sum_n A_n nu_n - sum_j v_j lambda_j) is linear,
    # so E[Delta_k z] = eta v_k (sum_n A_n Cov(nu_n, z) - sum_j v_j Cov(lambda_j, z)) exactly:
    # the regression through the 2 x 2 inverses (Goldt et al. 2020, Sec. V; Eq. (M4) of
    # derive.online_manifold) must give
    # G_kj = -v_k v_j and H_kn = v_k A_n at any valid covariance.
    rng = np.random.default_rng(seed)
    model = CommitteeMachine(u, variable=u, K=2, M=2)
    eqs = manifold_coefficients(model, train_second_layer=True)
    C = _covariance(rng, 4)  # the GET covariance of (lambda_1, lambda_2, nu_1, nu_2)
    b, c = 0.8, 1.0  # Q = b^2 Sigma + (c - b^2) W with W = Sigma = Q
    v, A = rng.uniform(0.5, 1.5, 2), rng.uniform(0.5, 1.5, 2)
    values = {"b_f": b, "c_f": c, "sigma": 0.0, "eta": 1.0, "eta_v": 1.0, "kappa": 0.0}
    for i in range(2):
        values[f"v_{i}"], values[f"A_{i}"] = v[i], A[i]
        for k in range(i, 2):
            values[f"Sigma_{i}_{k}"] = values[f"W_{i}_{k}"] = C[i, k]
            values[f"T_{i}_{k}"] = C[2 + i, 2 + k]
        for n in range(2):
            values[f"rbar_{i}_{n}"] = C[i, 2 + n] / b
    out = _point(eqs, values)
    for k in range(2):
        for j in range(2):
            assert out[f"G_{k}_{j}"] == pytest.approx(-v[k] * v[j], rel=1e-10, abs=1e-12)
            assert out[f"H_{k}_{j}"] == pytest.approx(v[k] * A[j], rel=1e-10, abs=1e-12)
    assert out["Q_0_1"] == pytest.approx(C[0, 1], rel=1e-12)


def test_erf_coefficients_against_monte_carlo():
    # E[Delta_k z] = eta [d-part: sum_j G_kj Cov(lambda_j, z) + sum_n H_kn Cov(nu_n, z)] for any
    # Gaussian z jointly with the fields (Goldt et al. 2020, Sec. V; Eqs. (M1), (M4) of
    # derive.online_manifold), and
    # E[Delta_k Delta_l] = eta^2 E_kl; Monte Carlo with 4e5 samples: standard errors below
    # 2e-3, tolerance 0.01.
    rng = np.random.default_rng(3)
    model = CommitteeMachine(ERF, variable=u, K=1, M=1)
    eqs = manifold_coefficients(model)
    C = np.array([[1.3, 0.5, 0.4], [0.5, 0.9, 0.2], [0.4, 0.2, 1.0]])  # (lambda, nu, z)
    sigma = 0.3
    values = {"b_f": 1.0, "c_f": 1.0, "sigma": sigma, "A_0": 1.0, "eta": 1.0, "kappa": 0.0}
    values.update(Sigma_0_0=C[0, 0], W_0_0=C[0, 0], rbar_0_0=C[0, 1], T_0_0=C[1, 1])
    out = _point(eqs, values)
    lam, nu, z = np.linalg.cholesky(C) @ rng.standard_normal((3, 400_000))
    g = lambda x: special.erf(x / np.sqrt(2))  # noqa: E731
    dg = lambda x: np.sqrt(2 / np.pi) * np.exp(-(x**2) / 2)  # noqa: E731
    delta = dg(lam) * (g(nu) - g(lam))
    mean_z = np.mean(delta * z)
    assert mean_z == pytest.approx(out["G_0_0"] * C[0, 2] + out["H_0_0"] * C[1, 2], abs=0.01)
    noisy = dg(lam) * (g(nu) + sigma * rng.standard_normal(lam.size) - g(lam))
    assert np.mean(noisy**2) == pytest.approx(out["E_0_0"], abs=0.01)
    eps = 0.5 * np.mean((g(nu) - g(lam)) ** 2)
    assert eps == pytest.approx(out["eps_g"], abs=0.01)


def test_linear_f_on_orthogonal_features_is_the_iid_equation():
    # b = c_f = 1 (f linear, kappa_star = 0) and rho = 1 (F^T F / N = I): delta * dr/dt at
    # r = R, sigma = Q, t = T is the iid dR/dt of Saad & Solla (1995), and
    # delta * dsigma/dt the iid dQ/dt (Goldt et al. 2020, Sec. V: the student sees a
    # D-dimensional Gaussian input, in the time t / delta).
    model = CommitteeMachine(u, variable=u, K=2, M=1)
    rng = np.random.default_rng(5)
    C = _covariance(rng, 3)
    # weight decay kappa / N per step is kappa delta / D: the iid decay rate is kappa delta
    delta, eta, kappa = 0.25, 0.7, 0.4
    coef_in = {"b_f": 1.0, "c_f": 1.0, "sigma": 0.2, "A_0": 1.0, "T_0_0": C[2, 2], "eta": eta}
    coef_in["kappa"] = kappa * delta
    iid_in = {"eta": eta, "sigma": 0.2, "kappa": kappa * delta, "A_0": 1.0, "T_0_0": C[2, 2]}
    iid_in["t"] = 0.0
    for i in range(2):
        for k in range(i, 2):
            coef_in[f"Sigma_{i}_{k}"] = coef_in[f"W_{i}_{k}"] = C[i, k]
            iid_in[f"Q_{i}_{k}"] = C[i, k]
        coef_in[f"rbar_{i}_0"] = iid_in[f"R_{i}_0"] = C[i, 2]
    coef = _point(manifold_coefficients(model), coef_in)
    ode_in = dict(coef, rho=1.0, tt_0_0=C[2, 2], eta=eta, delta=delta, b_f=1.0, c_f=1.0, t=0.0)
    ode_in.update(kappa=kappa, **{f"sigma_{i}_{k}": C[i, k] for i in range(2) for k in range(i, 2)})
    ode_in.update({f"r_{i}_0": C[i, 2] for i in range(2)})
    manifold = _point(saad_solla_manifold(model), ode_in)
    iid = _point(derive.saad_solla(model), iid_in)
    for name in ("R_0_0", "R_1_0"):
        assert delta * manifold["r" + name[1:]] == pytest.approx(iid[name], rel=1e-10)
    for name in ("Q_0_0", "Q_0_1", "Q_1_1"):
        assert delta * manifold["sigma" + name[1:]] == pytest.approx(iid[name], rel=1e-10)
        # W = w.w/N: for f linear x.x/N = c_f = 1, its equation is the iid one in time t
        assert coef["dW" + name[1:]] == pytest.approx(iid[name], rel=1e-10)


def test_linear_second_layer_equation():
    # g(u) = u: I2(a, b) = C_ab, so dv_i/dt = eta_v [sum_n A_n R_in - sum_k v_k Q_ik]
    # (Goldt et al., arXiv:1906.08632), with Q and R the GET covariance
    # Q = b^2 Sigma + (c_f - b^2) W, R = b rbar (Goldt et al. 2020, the Gaussian equivalence property).
    model = CommitteeMachine(u, variable=u, K=2, M=1)
    eqs = manifold_coefficients(model, train_second_layer=True)
    b, c = 0.7, 1.3
    Sigma = np.array([[1.1, 0.2], [0.2, 0.9]])
    W = np.array([[1.4, -0.1], [-0.1, 1.2]])
    rbar, v = np.array([0.3, -0.5]), np.array([0.8, 1.1])
    values = {"b_f": b, "c_f": c, "sigma": 0.0, "eta": 0.5, "eta_v": 0.3, "kappa": 0.0}
    values.update(A_0=1.2, T_0_0=1.0, v_0=v[0], v_1=v[1], rbar_0_0=rbar[0], rbar_1_0=rbar[1])
    for i in range(2):
        for k in range(i, 2):
            values[f"Sigma_{i}_{k}"], values[f"W_{i}_{k}"] = Sigma[i, k], W[i, k]
    out = _point(eqs, values)
    Q, R = b**2 * Sigma + (c - b**2) * W, b * rbar
    for i in range(2):
        assert out[f"dv_{i}"] == pytest.approx(0.3 * (1.2 * R[i] - Q[i] @ v), rel=1e-12)


def test_equations_structure():
    model = CommitteeMachine(u, variable=u, K=2, M=1)
    eqs = saad_solla_manifold(model)
    assert eqs.kind == "ode" and eqs.time.name == "t"
    names = {s.name for s in eqs.state}
    assert names == {"sigma_0_0", "sigma_0_1", "sigma_1_1", "r_0_0", "r_1_0"}
    assert {s.name for s in eqs.by_role("data")} == {"rho", "tt_0_0"} | {
        s.name for s in manifold_coefficients(model).outputs if not s.name.startswith("d")
    }
    coef = manifold_coefficients(model, train_second_layer=True)
    assert {"dW_0_1", "dv_1", "G_1_0", "H_1_0", "E_0_1"} <= {s.name for s in coef.outputs}
    # one derivation per model value (derive.memoized)
    assert saad_solla_manifold(CommitteeMachine(u, variable=u, K=2, M=1)) is eqs


def test_bad_model():
    with pytest.raises(derive.ModelError, match="CommitteeMachine"):
        saad_solla_manifold("not a model")
    with pytest.raises(derive.ModelError, match="CommitteeMachine"):
        manifold_coefficients(derive.Prior.gaussian(0, 1))
