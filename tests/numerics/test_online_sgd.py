"""The online SGD simulator of soft committee machines (numerics.online_sgd).

The update is the one of Saad & Solla, Phys. Rev. E 52, 4225 (1995) (Goldt et al.,
arXiv:1906.08632, with a trained second layer); checked here step by step against a
plain numpy loop, and its test-set error against the published eps_g = 2/3 of the
unspecialised start Q = T = I, R = 0 (Saad & Solla 1995).
"""

import math

import numpy as np
import pytest
import sympy as sp

import derive
import numerics
from numerics.online_sgd import activation_kernel, sgd_steps

u = sp.Symbol("u", real=True)
ERF = sp.erf(u / sp.sqrt(2))


def committee(K=2, M=2, g=ERF):
    return derive.CommitteeMachine(student=g, teacher=g, variable=u, K=K, M=M)


def _erf2(x):
    return math.erf(x / math.sqrt(2))


def _derf2(x):
    return math.sqrt(2 / math.pi) * math.exp(-x * x / 2)


def test_steps_equal_a_numpy_loop():
    # Goldt et al. 2019: w_k += eta/sqrt(N) v_k g'(lambda_k) (y - yhat) x, decay kappa/N,
    # v_k += eta_v/N g(lambda_k) (y - yhat); written out with math.erf as the oracle
    rng = np.random.default_rng(1)
    K, N, n = 3, 40, 25
    W0, v0 = rng.standard_normal((K, N)), rng.standard_normal(K)
    X, y = rng.standard_normal((n, N)), rng.standard_normal(n)
    eta, eta_v, kappa = 0.7, 0.3, 0.5
    W, v = W0.copy(), v0.copy()
    act = activation_kernel(ERF, u)
    buf = [np.empty(K) for _ in range(3)]
    sgd_steps(act.module.outputs, W, v, X, y, eta / N**0.5, eta_v / N, 1 - kappa / N, True, *buf)
    Wr, vr = W0.copy(), v0.copy()
    for x, target in zip(X, y):
        lam = Wr @ x / math.sqrt(N)
        g = np.array([_erf2(a) for a in lam])
        dg = np.array([_derf2(a) for a in lam])
        err = target - vr @ g
        Wr = (1 - kappa / N) * Wr + (eta / math.sqrt(N)) * (vr * dg * err)[:, None] * x
        vr = vr + (eta_v / N) * g * err
    assert np.allclose(W, Wr, rtol=1e-12, atol=1e-12)
    assert np.allclose(v, vr, rtol=1e-12, atol=1e-12)


def _orthogonal_start(N, K, M, seed=0):
    """Student and teacher rows orthogonal with norm sqrt(N): Q = T = I, R = 0 exactly."""
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((N, K + M)))
    rows = q.T * math.sqrt(N)
    return rows[:K], rows[K:]


def test_unspecialised_start_has_eps_two_thirds():
    # Saad & Solla 1995: erf(x/sqrt 2), K = M = 2, Q = T = I, R = 0 gives eps_g = 2/3
    W, B = _orthogonal_start(500, 2, 2)
    r = numerics.online_sgd(
        committee(), N=500, eta=0.1, t_max=0.01, init={"W": W, "B": B}, test_size=20000
    )
    assert np.allclose(r.initial["Q"], np.eye(2), atol=1e-12)
    assert np.allclose(r.initial["R"], 0, atol=1e-12)
    assert np.allclose(r.initial["T"], np.eye(2), atol=1e-12)
    # test-set estimate: 4 standard errors (the estimate's own, ~0.005 at 20000 samples)
    assert abs(r.eps_g[0] - 2 / 3) < 4 * r.eps_g_error[0]


def test_result_fields_and_initial_state():
    r = numerics.online_sgd(committee(3, 2), N=200, eta=0.5, t_max=1.0, seed=3, record_every=0.25)
    assert r.t.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert r.Q.shape == (5, 3, 3) and r.R.shape == (5, 3, 2) and r.T.shape == (2, 2)
    assert r.v.shape == (5, 3) and r.eps_g.shape == (5,) and r.eps_g_error.shape == (5,)
    assert np.allclose(r.Q, np.transpose(r.Q, (0, 2, 1)))
    assert set(r.initial) == {"Q", "R", "T"}
    assert np.array_equal(r.initial["Q"], r.Q[0])
    assert r.converged and r.seed == 3 and r.iterations == 200
    assert r.to_dict()["settings"]["N"] == 200


def test_reproducible_from_seed():
    run = dict(N=100, eta=0.5, t_max=2.0, sigma=0.1, record_every=0.5, test_size=500)
    a = numerics.online_sgd(committee(), seed=7, **run)
    b = numerics.online_sgd(committee(), seed=7, **run)
    c = numerics.online_sgd(committee(), seed=8, **run)
    assert np.array_equal(a.Q, b.Q) and np.array_equal(a.eps_g, b.eps_g)
    assert not np.array_equal(a.Q, c.Q)


def test_drawn_start_has_unit_overlaps_up_to_finite_size():
    # N(0, 1) weights: Q = I + O(N^-1/2), R = O(N^-1/2); 5 standard deviations at N = 2000
    r = numerics.online_sgd(committee(), N=2000, eta=0.5, t_max=0.001, seed=0, test_size=1000)
    tol = 5 * math.sqrt(2 / 2000)
    assert np.abs(r.initial["Q"] - np.eye(2)).max() < tol
    assert np.abs(r.initial["R"]).max() < tol
    assert np.abs(r.initial["T"] - np.eye(2)).max() < tol


def test_second_layer_initial_and_training():
    r = numerics.online_sgd(
        committee(),
        N=200,
        eta=0.5,
        t_max=1.0,
        train_second_layer=True,
        v=[0.3, -0.2],
        record_every=0.5,
        test_size=500,
    )
    assert r.initial["v"].tolist() == [0.3, -0.2]
    assert not np.array_equal(r.v[-1], r.v[0])


def test_hidden_manifold_overlaps_follow_the_gaussian_equivalence():
    # Goldt, Mezard, Krzakala, Zdeborova, PRX 10, 041044 (2020): the covariance
    # of lambda = w . x / sqrt(N) is b^2 Sigma + (c - b^2) W, with (a, b, c) = (0, sqrt(2/pi), 1)
    # for f = sign; checked against the empirical covariance of the fields on the stored test
    # set (20000 samples: standard error ~ sqrt(2/20000) = 0.01 on O(1) entries; 5 of them,
    # plus the O(D^-1/2) corrections to the equivalence at D = 100: 0.1 in all)
    hm = numerics.HiddenManifold(D=100, f=sp.sign(u))
    r = numerics.online_sgd(committee(), N=400, eta=0.2, t_max=0.01, inputs=hm, test_size=100)
    moments = r.settings["get_moments"]
    assert abs(moments["a"]) < 1e-12
    assert abs(moments["b"] - math.sqrt(2 / math.pi)) < 1e-9
    assert abs(moments["c"] - 1) < 1e-9
    rng = np.random.default_rng(5)
    W = rng.standard_normal((2, 400))
    F = rng.standard_normal((400, 100))
    theta = rng.standard_normal((2, 100))
    hm = numerics.HiddenManifold(D=100, f=sp.sign(u), F=F)
    r = numerics.online_sgd(
        committee(),
        N=400,
        eta=0.2,
        t_max=0.0025,
        inputs=hm,
        init={"W": W, "B": theta},
        test_size=100,
    )
    C = rng.standard_normal((20000, 100))
    X = np.sign(C @ F.T / 10)
    lam, nu = X @ W.T / 20, C @ theta.T / 10
    assert np.abs(r.initial["Q"] - lam.T @ lam / 20000).max() < 0.1
    assert np.abs(r.initial["R"] - lam.T @ nu / 20000).max() < 0.1
    assert np.abs(r.initial["T"] - theta @ theta.T / 100).max() < 1e-12


def test_divergence_is_reported():
    # an unbounded ReLU student diverges at a large learning rate (erf saturates instead)
    relu = committee(g=sp.Max(u, 0))
    r = numerics.online_sgd(relu, N=100, eta=20.0, t_max=5.0, seed=0, test_size=100)
    assert not r.converged and "non-finite" in r.message
    with pytest.raises(numerics.ConvergenceError):
        numerics.online_sgd(relu, N=100, eta=20.0, t_max=5.0, seed=0, test_size=100, strict=True)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(N=0), "N"),
        (dict(N=10.5), "N"),
        (dict(eta=0.0), "eta"),
        (dict(eta=-1), "eta"),
        (dict(t_max=0), "t_max"),
        (dict(t_max=float("nan")), "t_max"),
        (dict(sigma=-0.1), "sigma"),
        (dict(record_every=0), "record_every"),
        (dict(init={"W": np.ones((3, 50))}), "init['W']"),
        (dict(init={"B": np.ones((2, 49))}), "init['B']"),
        (dict(init={"Q": np.eye(2)}), "unknown key"),
        (dict(inputs="gaussian"), "inputs"),
        (dict(A=[1.0]), "A"),
    ],
)
def test_bad_input(kwargs, words):
    args = dict(N=50, eta=0.5, t_max=1.0, test_size=10) | kwargs
    with pytest.raises(derive.InputError, match=words.replace("[", r"\[").replace("]", r"\]")):
        numerics.online_sgd(committee(), **args)


def test_activation_without_a_derivative_is_refused():
    with pytest.raises(derive.InputError, match="derivative"):
        activation_kernel(sp.sign(u), u)


def test_not_a_committee_machine_is_refused():
    with pytest.raises(derive.InputError, match="CommitteeMachine"):
        numerics.online_sgd(object(), N=10, eta=0.5, t_max=1.0)
