"""numerics.erm (the replica saddle point of ERM on random features) and erm_simulation.

References: Gerace, Loureiro, Krzakala, Mezard & Zdeborova, ICML 2020, arXiv:2002.09339
(the saddle point, eqs. (3.3)-(3.6), and its agreement with simulations, fig. 2); Hastie,
Montanari, Rosset & Tibshirani 2019, arXiv:1903.08560 (the isotropic ridgeless risk,
theorem 1); Mei & Montanari 2019, arXiv:1908.05335 (double descent of random features);
Marchenko & Pastur 1967 (the spectrum's moments).
"""

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

import derive
import numerics
from derive import Channel, Loss
from numerics.erm import erm_module, spectrum_nodes

u = sp.Symbol("u", real=True)
ERF = sp.erf(u)


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_ridgeless_iid_matches_hastie_et_al(alpha):
    # f = u with orthogonal F and gamma = 1: x is isotropic Gaussian, the ridgeless limit of
    # ridge regression is the minimum-norm interpolator (Hastie et al. 2019, thm 1) with
    # gamma_H = p/n = 1/alpha, signal r^2 = 1 and noise sigma^2 = 1/4:
    # excess risk sigma^2 g/(1 - g) for g < 1, r^2 (1 - 1/g) + sigma^2/(g - 1) for g > 1.
    # lam = 1e-9 shifts the risk by O(lam) = 1e-9, far below 1e-6
    noise = 0.25
    res = numerics.erm(
        Loss.square(),
        Channel.gaussian(noise),
        u,
        u,
        alpha=alpha,
        gamma=1.0,
        lam=1e-9,
        spectrum="orthogonal",
        tol=1e-13,
        max_iter=100000,
    )
    g = 1 / alpha
    expected = noise * g / (1 - g) if g < 1 else (1 - 1 / g) + noise / (g - 1)
    assert res.converged
    assert res.excess_risk == pytest.approx(expected, abs=1e-6)


def test_square_loss_channel_side_is_the_mismatched_gaussian_student():
    # ERM is the zero-temperature limit of a mismatched student (Gerace et al. 2020, sec. 3):
    # for the square loss, prox = (omega + V y) / (1 + V) is the Gaussian channel's
    # g_out = (y - omega) / (1 + V) at any temperature, so the hats of the ERM driver equal
    # those of derive.mismatched_state_evolution with a Channel.gaussian(1) student, derived
    # and compiled separately (GaussianExpectation nodes, the trapezoid rule of the kernels);
    # both quadratures are converged to ~1e-13
    from derive import GLM, Prior

    teacher = GLM(Prior.gaussian(0, 1), Channel.sign())
    student = GLM(Prior.gaussian(0, 1), Channel.gaussian(1))
    kernel = numerics.compile(derive.mismatched_state_evolution(teacher, student))
    m, q, v, alpha = 0.4, 0.7, 1.3, 1.5
    args = kernel.bind(dict(m=m, q=q, chi=v, m_hat=1, q_hat=1, chi_hat=1, alpha=alpha))
    se = dict(zip(kernel.outputs, kernel(*args)))
    module = erm_module(Loss.square(), Channel.sign())
    xi = np.linspace(-11, 11, 801)
    w = (xi[1] - xi[0]) * np.exp(-(xi**2) / 2) / np.sqrt(2 * np.pi)
    sums = module.erm_average(
        m, q, v, 1.0, np.array([-1.0, 1.0]), xi, w, np.zeros(1), np.ones(1), 0.0
    )
    assert alpha * sums[0] == pytest.approx(se["m_hat"], abs=1e-10)
    assert alpha * sums[1] == pytest.approx(se["q_hat"], abs=1e-10)
    assert alpha * sums[2] == pytest.approx(se["chi_hat"], abs=1e-10)


def _tolerance(sim, p):
    # four standard errors of the mean over seeds (each seed's error spreads with the finite
    # p, n and test set) plus 2/p for the O(1/p) finite-size shift of the mean, measured at
    # p = 200 to be below 0.013 in the settings below
    return 4 * sim.test_error_std / math.sqrt(sim.seeds) + 2 / p


@pytest.mark.parametrize(
    "loss, lam, alpha",
    [
        (Loss.square(), 1e-2, 0.5),
        (Loss.square(), 1e-2, 2.0),
        (Loss.logistic(), 1e-1, 1.0),
        (Loss.logistic(), 1e-1, 2.5),
    ],
    ids=["ridge-0.5", "ridge-2", "logistic-1", "logistic-2.5"],
)
def test_theory_matches_simulation(loss, lam, alpha):
    # Gerace et al. 2020, fig. 2: the saddle point against ERM on random-features data with
    # f = erf, sign teacher, gamma = d/p = 1/2
    p = 200
    theory = numerics.erm(loss, Channel.sign(), ERF, u, alpha=alpha, gamma=0.5, lam=lam)
    sim = numerics.erm_simulation(
        loss,
        Channel.sign(),
        ERF,
        u,
        alpha=alpha,
        gamma=0.5,
        lam=lam,
        features=p,
        seeds=6,
        seed=1,
        test_samples=2000,
    )
    assert theory.converged and sim.converged
    assert abs(theory.test_error - sim.test_error) < _tolerance(sim, p)


def test_ridge_peaks_at_the_interpolation_threshold():
    # Mei & Montanari 2019: at vanishing ridge the test error of random features peaks where
    # n = p; a ridge of 1e-2 lowers it there
    small = [
        numerics.erm(Loss.square(), Channel.sign(), ERF, u, alpha=a, gamma=0.5, lam=1e-4)
        for a in (0.7, 1.0, 1.4)
    ]
    smooth = numerics.erm(Loss.square(), Channel.sign(), ERF, u, alpha=1.0, gamma=0.5, lam=1e-2)
    errors = [r.test_error for r in small]
    assert errors[1] > max(errors[0], errors[2])
    assert smooth.test_error < errors[1]


@settings(max_examples=15, deadline=None)
@given(
    y=st.sampled_from([-1.0, 1.0]),
    omega=st.floats(-6, 6, allow_nan=False),
    v=st.floats(0.05, 20, allow_nan=False),
)
def test_logistic_prox_by_newton_is_the_minimiser(y, omega, v):
    # the Newton iteration of the compiled kernel against Brent's bounded search
    # (xatol 1e-10: its error is ~1e-9 on this strictly convex objective)
    module = erm_module(Loss.logistic(), Channel.sign())
    z, dz = module.erm_prox_newton(y, omega, v, 0.0, 1.0, math.nan)
    objective = lambda t: math.log1p(math.exp(-y * t)) + (t - omega) ** 2 / (2 * v)  # noqa: E731
    best = minimize_scalar(
        objective,
        bounds=(omega - 2 * v - 1, omega + 2 * v + 1),
        method="bounded",
        options={"xatol": 1e-10},
    ).x
    assert z == pytest.approx(best, abs=1e-7)
    assert 0 < dz <= 1


def test_logistic_prox_solves_stationarity_on_a_grid():
    # regression: plain Newton inside the bracket crept along and returned |G| = 11.7 at
    # y = -1, omega = 4.4, V = 12.5; the safeguarded iteration must solve
    # G(z) = z - omega - V y / (1 + e^{y z}) = 0 to its own tolerance, 1e-13 (1 + |z|)
    module = erm_module(Loss.logistic(), Channel.sign())
    worst = 0.0
    for v in (0.01, 1.0, 12.4854, 1e3):
        for y in (-1.0, 1.0):
            for omega in np.linspace(-40, 40, 401):
                z, _ = module.erm_prox_newton(y, omega, v, 0.0, 1.0, math.nan)
                g = z - omega - v * y / (1 + math.exp(y * z))
                worst = max(worst, abs(g) / (1 + abs(z)))
    assert worst < 1e-12


def test_marchenko_pastur_moments():
    # Marchenko & Pastur 1967: F^T F / d with ratio c = p/d has E s = 1, E s^2 = 1 + c
    for gamma in (0.5, 2.0):
        s, w = spectrum_nodes(gamma)
        assert w.sum() == pytest.approx(1.0, abs=1e-12)
        assert w @ s == pytest.approx(1.0, abs=1e-9)
        assert w @ s**2 == pytest.approx(1.0 + 1.0 / gamma, abs=1e-9)


def test_empirical_spectrum_agrees_with_marchenko_pastur():
    # the eigenvalues of one drawn F (p = 400) against the limiting density: the
    # learning curve moves by O(1/sqrt p) ~ 0.05 relative at most
    rng = np.random.default_rng(0)
    F = rng.normal(size=(200, 400))
    eig = np.linalg.eigvalsh(F.T @ F / 200)
    kw = dict(alpha=1.5, gamma=0.5, lam=1e-2)
    mp = numerics.erm(Loss.square(), Channel.sign(), ERF, u, **kw)
    emp = numerics.erm(Loss.square(), Channel.sign(), ERF, u, eigenvalues=eig, **kw)
    assert emp.test_error == pytest.approx(mp.test_error, rel=0.05)


def test_non_convergence_is_reported():
    res = numerics.erm(
        Loss.square(), Channel.sign(), ERF, u, alpha=1.0, gamma=0.5, lam=0, max_iter=3
    )
    assert not res.converged
    assert "interpolation threshold" in res.message
    with pytest.raises(numerics.ConvergenceError):
        numerics.erm(
            Loss.square(),
            Channel.sign(),
            ERF,
            u,
            alpha=1.0,
            gamma=0.5,
            lam=0,
            max_iter=3,
            strict=True,
        )


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(alpha=0.0), "alpha"),
        (dict(gamma=-1.0), "gamma"),
        (dict(lam=-1e-3), "lam"),
        (dict(alpha=float("nan")), "alpha"),
    ],
)
def test_bad_input_is_refused(bad, match):
    kw = dict(alpha=1.0, gamma=0.5, lam=1e-2)
    kw.update(bad)
    with pytest.raises(derive.InputError, match=match):
        numerics.erm(Loss.square(), Channel.sign(), ERF, u, **kw)


@pytest.mark.parametrize("bad, match", [(dict(features=0), "features"), (dict(seeds=0), "seeds")])
def test_bad_simulation_input_is_refused(bad, match):
    kw = dict(alpha=1.0, gamma=0.5, lam=1e-2, features=20, seeds=2)
    kw.update(bad)
    with pytest.raises(derive.InputError, match=match):
        numerics.erm_simulation(Loss.square(), Channel.sign(), ERF, u, **kw)
