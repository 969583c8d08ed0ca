"""Linear-separability thresholds (numerics.separability_threshold) against the published
values and against linear programming on sampled data.

Oracles: Cover, IEEE Trans. Electron. Comput. 14, 326 (1965) (random labels: n/p = 2, and
the exact finite-size law P(separable) = P(Bin(n - 1, 1/2) <= p - 1)); Candès & Sur,
arXiv:1804.09753 (2018), theorem 1 (separable iff p/n > min_t E (Z - tYV)_+^2), the function
written out with E (Z - c)_+^2 = (1 + c^2) Phi(-c) - c phi(c) and integrated by scipy; the
hidden manifold model of Goldt, Mézard, Krzakala & Zdeborová, arXiv:1909.11500.

Simulations: p = 50 features, separability decided by a feasibility LP (scipy's HiGHS):
exists w with y_mu w . x_mu >= 1 for all mu. The transition is smeared at finite p: by
Cover's exact law at p = 50, n/p = 0.6 * 2 is separable with probability 1 - 4e-6 and
n/p = 1.6 * 2 with probability 2e-6; the same relative margins (0.6 and 1.6 times the
threshold) are used for the teacher cases, whose measured transition at p = 50 is as sharp
(probability 1 at 0.6, 0 at 1.4 times the threshold over 6 seeds).
"""

import math

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad
from scipy.optimize import linprog, minimize_scalar
from scipy.special import ndtr

import derive
import numerics

U = sp.Symbol("u", real=True)
SIGN_MOMENTS = (0.0, math.sqrt(2 / math.pi), 1.0)  # a, b, c of sign(u) (Goldt et al. 2019)
P = 50
NOISY_SIGN = derive.Channel.sign(sp.Symbol("eps"))  # one kernel for every flip probability


def separable(X, y):
    """A feasibility LP: some w with y_mu x_mu . w >= 1 for every mu."""
    res = linprog(
        np.zeros(X.shape[1]),
        A_ub=-(y[:, None] * X),
        b_ub=-np.ones(len(y)),
        bounds=(None, None),
        method="highs",
    )
    assert res.status in (0, 2), res.message  # feasible or infeasible, nothing else
    return res.status == 0


def candes_sur_noisy_sign(flip):
    """min_t E (Z - t Y V)_+^2 with Y = sign(V), flipped with probability ``flip``."""

    def ramp(c):
        return (1 + c * c) * ndtr(-c) - c * math.exp(-c * c / 2) / math.sqrt(2 * math.pi)

    def h(t):
        def body(v):
            return ((1 - flip) * ramp(t * v) + flip * ramp(-t * v)) * math.exp(-v * v / 2)

        return 2 * quad(body, 0, np.inf, epsabs=1e-13)[0] / math.sqrt(2 * math.pi)

    return minimize_scalar(h, bounds=(0, 10), method="bounded", options={"xatol": 1e-10}).fun


def test_random_labels_give_cover_two():
    res = numerics.separability_threshold()
    assert res.converged
    assert res.alpha_s == pytest.approx(2.0, abs=1e-9)


def test_noiseless_sign_teacher_on_iid_data_is_always_separable():
    res = numerics.separability_threshold(NOISY_SIGN, params={"eps": 0.0})
    assert res.converged and res.alpha_s == math.inf


def test_noisy_teacher_threshold_equals_candes_sur():
    res = numerics.separability_threshold(NOISY_SIGN, params={"eps": 0.1})
    assert res.converged
    # both sides are quadratures to ~1e-11 and a minimisation to 1e-10 in t (quadratic there)
    assert 1 / res.alpha_s == pytest.approx(candes_sur_noisy_sign(0.1), rel=1e-8)


@pytest.mark.parametrize("factor, expected", [(0.6, True), (1.6, False)])
def test_random_labels_against_linear_programming(factor, expected):
    rng = np.random.default_rng(1)
    n = int(factor * 2 * P)
    for _ in range(3):
        X = rng.standard_normal((n, P))
        y = rng.choice([-1.0, 1.0], size=n)
        assert separable(X, y) is expected


@pytest.fixture(scope="module")
def hidden():
    return numerics.separability_threshold(derive.Channel.sign(), moments=SIGN_MOMENTS, gamma=1.0)


def test_hidden_manifold_teacher_labels_separable_beyond_iid_random_labels(hidden):
    # the GET makes the noiseless teacher on the latent a noisy one on the features (r < 1):
    # a finite threshold, above Cover's 2
    assert hidden.converged
    assert 0 < hidden.correlation < 1
    assert 2.0 < hidden.alpha_s < 4.0


def test_hidden_manifold_random_labels_give_cover_two():
    res = numerics.separability_threshold(None, moments=SIGN_MOMENTS, gamma=1.0)
    assert res.alpha_s == pytest.approx(2.0, abs=1e-9)


@pytest.mark.parametrize("factor, expected", [(0.6, True), (1.6, False)])
def test_hidden_manifold_threshold_against_linear_programming(hidden, factor, expected):
    n = int(factor * hidden.alpha_s * P)
    for seed in range(3):
        data = numerics.hidden_manifold(
            samples=n,
            latent=P,
            features=P,
            f=sp.sign(U),
            variable=U,
            teacher=derive.Channel.sign(),
            seed=seed,
        )
        assert separable(data.X, data.y) is expected


def test_correlation_from_a_sampled_feature_matrix_is_marchenko_pastur():
    rng = np.random.default_rng(0)
    d, p = 400, 400
    F = rng.standard_normal((d, p))
    eigenvalues = np.linalg.eigvalsh(F.T @ F / d)
    sampled = numerics.hidden_manifold_correlation(SIGN_MOMENTS, d / p, eigenvalues=eigenvalues)
    theory = numerics.hidden_manifold_correlation(SIGN_MOMENTS, d / p)
    # the spectrum of a 400 x 400 Wishart matrix: its linear statistics fluctuate ~ 1/p
    assert sampled == pytest.approx(theory, abs=5e-3)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(teacher=derive.Channel.gaussian(1)), derive.ModelError),
        (dict(teacher="sign"), derive.InputError),
        (dict(moments=SIGN_MOMENTS, gamma=-1.0), derive.InputError),
        (dict(moments=SIGN_MOMENTS), derive.InputError),
        (dict(gamma=1.0), derive.InputError),
        (dict(moments=(0.0, 1.0, 1.0), gamma=1.0), derive.InputError),
        (dict(params={"eps": 0.1}), derive.InputError),
    ],
    ids=[
        "real-labels",
        "not-a-channel",
        "gamma<0",
        "no-gamma",
        "gamma-alone",
        "linear-f",
        "params",
    ],
)
def test_bad_input(kwargs, error):
    with pytest.raises(error):
        numerics.separability_threshold(**kwargs)


def test_max_margin_of_a_toy_set_and_of_inseparable_data():
    # two patterns e_1, e_2 with label +1: the best unit w is (1, 1)/sqrt 2, margin 1/sqrt 2
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    y = np.array([1.0, 1.0])
    assert numerics.max_margin(X, y) == pytest.approx(1 / math.sqrt(2), abs=1e-12)
    assert numerics.is_separable(X, y)
    # x and -x with the same label: no w through the origin
    X = np.array([[1.0, 2.0], [-1.0, -2.0]])
    assert math.isnan(numerics.max_margin(X, y))
    assert not numerics.is_separable(X, y)
    with pytest.raises(derive.InputError):
        numerics.is_separable(X, np.array([0.0, 1.0]))
