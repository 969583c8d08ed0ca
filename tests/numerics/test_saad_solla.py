"""The Saad--Solla ODEs integrated (numerics.saad_solla) against online SGD simulations.

Saad & Solla, Phys. Rev. E 52, 4225 (1995); Biehl & Schwarze, J. Phys. A 28, 643 (1995);
Goldt, Advani, Saxe, Krzakala & Zdeborová, arXiv:1906.08632 (2019).
"""

import math

import numpy as np
import pytest
import sympy as sp

import derive
import numerics

u = sp.Symbol("u", real=True)
ERF = sp.erf(u / sp.sqrt(2))
RELU = sp.Max(0, u)
START = {"Q": np.eye(2), "R": np.zeros((2, 2)), "T": np.eye(2)}


def committee(g=ERF, K=2, M=2):
    return derive.CommitteeMachine(student=g, teacher=g, variable=u, K=K, M=M)


def test_unspecialised_start_has_eps_two_thirds():
    # Saad & Solla 1995: K = M = 2, Q = T = I, R = 0 gives eps_g = 2/3 for erf(x/sqrt 2)
    ode = numerics.saad_solla(committee(), eta=0.5, t_max=1.0, init=START, n_points=3)
    assert ode.eps_g[0] == pytest.approx(2 / 3, abs=1e-12)
    assert ode.Q.shape == (3, 2, 2) and ode.R.shape == (3, 2, 2) and ode.eps_g.shape == (3,)
    assert ode.converged and ode.seed is None


def _compare(g, eta, N, t_max, every, seeds, **extra):
    """Mean over seeds of (simulation - ODE from the simulation's own start) at t > 0."""
    gaps = []
    for seed in seeds:
        sim = numerics.online_sgd(
            committee(g),
            N=N,
            eta=eta,
            t_max=t_max,
            seed=seed,
            record_every=every,
            test_size=4000,
            **extra,
        )
        ode = numerics.saad_solla(
            committee(g), eta=eta, t_max=t_max, init=sim.initial, t_eval=sim.t, **extra
        )
        at = sim.t > 0
        gaps.append(
            dict(
                eps=(sim.eps_g - ode.eps_g)[at] / ode.eps_g[at],
                R=np.abs(sim.R - ode.R)[at].max(axis=(1, 2)),
                Q=np.abs(sim.Q - ode.Q)[at].max(axis=(1, 2)),
            )
        )
    return {k: np.mean([g[k] for g in gaps], axis=0) for k in gaps[0]}


@pytest.mark.parametrize("g, eta", [(ERF, 0.5), (RELU, 0.5)], ids=["erf", "relu"])
def test_ode_follows_the_simulation(g, eta):
    # Saad & Solla 1995: the order parameters of
    # online SGD at N = 1000 follow the ODE from the same start, during the early drop
    # (t = 2, 4, 6). Finite-size error: the order parameters fluctuate by O(N^-1/2) = 0.03
    # around the ODE, averaged here over 3 seeds; the bounds are 0.05 on R and Q and 10% on
    # eps_g (whose test-set estimate on 4000 samples has a standard error of ~2.5%).
    gap = _compare(g, eta, N=1000, t_max=6.0, every=2.0, seeds=[0, 1, 2])
    assert np.all(np.abs(gap["eps"]) < 0.10), gap["eps"]
    assert np.all(gap["R"] < 0.05), gap["R"]
    assert np.all(gap["Q"] < 0.05), gap["Q"]


def test_label_noise_and_weight_decay_follow_the_simulation():
    # Goldt et al. 2019: label noise adds eta^2 sigma^2 J2 to dQ/dt, weight decay
    # -kappa R and -2 kappa Q (the simulator decays by kappa/N per step); same finite-size
    # bounds as above, 2 seeds
    extra = dict(sigma=0.5, weight_decay=0.2)
    gap = _compare(ERF, 0.5, N=1000, t_max=6.0, every=3.0, seeds=[0, 1], **extra)
    assert np.all(np.abs(gap["eps"]) < 0.10), gap["eps"]
    assert np.all(gap["R"] < 0.05), gap["R"]
    assert np.all(gap["Q"] < 0.05), gap["Q"]


def _escape(N, t_max=320.0):
    """The plateau value and the time eps_g falls below half of it, from an O(N^-1/2) asymmetry."""
    d = np.array([[1.0, -1.0], [-0.5, 0.7]])
    init = {"Q": np.eye(2), "R": d / math.sqrt(N), "T": np.eye(2)}
    ode = numerics.saad_solla(committee(), eta=0.5, t_max=t_max, init=init, n_points=3201)
    plateau = ode.eps_g[np.searchsorted(ode.t, 20.0)]
    late = (ode.t > 20) & (ode.eps_g < plateau / 2)
    assert late.any(), f"no specialisation by t = {t_max} at N = {N}"
    return ode, plateau, ode.t[np.argmax(late)]


def test_plateau_length_grows_like_log_n():
    # Saad & Solla 1995; Biehl, Riegler & Wöhler, J. Phys. A 29, 4769 (1996): the
    # unspecialised plateau is left when the O(N^-1/2) initial asymmetry has grown to O(1) at
    # an exponential rate, so its length grows by the same amount per factor 100 of N
    escape = [_escape(N)[2] for N in (1e3, 1e5, 1e7)]
    first, second = escape[1] - escape[0], escape[2] - escape[1]
    assert first > 20
    assert abs(second - first) < 0.1 * first  # up to corrections of relative order N^-1/2


def test_plateau_is_unspecialised():
    # Saad & Solla 1995: on the plateau every student unit has the same overlap with
    # every teacher unit; at N = 1e6 the initial asymmetry is 1e-3, still below 1e-2 at t = 20
    ode, plateau, _ = _escape(1e6)
    R = ode.R[np.searchsorted(ode.t, 20.0)]
    assert np.ptp(R) < 1e-2
    assert 0.005 < plateau < 0.1  # far below the 2/3 of the start, far above 0


def test_the_simulation_start_is_the_ode_start():
    sim = numerics.online_sgd(committee(), N=300, eta=0.5, t_max=0.01, seed=4, test_size=100)
    ode = numerics.saad_solla(committee(), eta=0.5, t_max=1.0, init=sim.initial, n_points=2)
    assert np.array_equal(ode.Q[0], sim.Q[0]) and np.array_equal(ode.R[0], sim.R[0])
    assert np.array_equal(ode.T, sim.T)


def _bad(**change):
    init = {k: np.array(v) for k, v in START.items()}
    init.update(change)
    return init


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(eta=0.0), "eta"),
        (dict(eta=-0.5), "eta"),
        (dict(t_max=0.0), "t_max"),
        (dict(init=_bad(Q=[[1.0, 0.2], [0.0, 1.0]])), "not symmetric"),
        (dict(init=_bad(R=[[2.0, 0.0], [0.0, 0.0]])), "positive semi-definite"),
        (dict(init=_bad(Q=np.eye(3))), "shape"),
        (dict(init={"Q": np.eye(2), "R": np.zeros((2, 2))}), "missing"),
        (dict(init=_bad(v=np.ones(2))), "unknown key"),
        (dict(init=_bad(T=[[1.0, np.nan], [np.nan, 1.0]])), "NaN"),
        (dict(method="Euler"), "method"),
    ],
)
def test_bad_input(kwargs, words):
    args = dict(eta=0.5, t_max=1.0, init=START) | kwargs
    with pytest.raises(derive.InputError, match=words):
        numerics.saad_solla(committee(), **args)
