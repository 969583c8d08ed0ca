"""Tests of numerics.hidden_manifold (hidden-manifold data) and of the GET covariance on it.

The hidden manifold model and its Gaussian equivalence theorem: Goldt, Mézard, Krzakala,
Zdeborová, PRX 10, 041044 (2020), arXiv:1909.11500. Student pre-activations
lambda_k = w_k . (x - a) / sqrt(N) on inputs x = f(C F / sqrt(D)) are jointly Gaussian with
E[lambda_k lambda_l] = (c - a^2 - b^2) W_kl + b^2 Sigma_kl (their Eq. for the GET covariance);
random features of i.i.d. inputs (Mei & Montanari, arXiv:1908.05335) are the case D = input
dimension.
"""

import numpy as np
import pytest
import sympy as sp

import derive
import numerics
from derive import Channel
from numerics.hidden_manifold import (
    TwoLayerTeacher,
    feature_matrix,
    hidden_manifold,
    random_features,
)

U = sp.Symbol("u", real=True)
SIZES = dict(samples=4000, latent=50, features=100)


def students(F, seed):
    """Two random students and two in the span of the features (for which b^2 Sigma differs
    most from b^2 W: Sigma_kk ~ N / D W_kk)."""
    rng = np.random.default_rng(seed)
    D, N = F.shape
    return np.vstack([rng.standard_normal((2, N)), rng.standard_normal((2, D)) @ F / np.sqrt(D)])


@pytest.mark.parametrize("kind", ["gaussian", "orthogonal"])
@pytest.mark.parametrize("name, f", [("sign", sp.sign(U)), ("relu", sp.Max(0, U))])
def test_get_covariance_matches_measured(kind, name, f):
    """The GET prediction agrees with the covariance measured on n = 4000 samples within 4.5
    standard errors per entry (10 distinct entries: a two-sided 4.5 sigma miss has
    probability 7e-6 per entry), while the prediction that ignores the latent structure,
    (c - a^2) W (centred features as if independent), is off by more than 10 standard errors."""
    moments = numerics.get_moments(f, U)
    data = hidden_manifold(
        **SIZES, f=f, variable=U, teacher=Channel.sign(), seed=3, features_kind=kind
    )
    W = students(data.F, seed=4)
    predicted = numerics.get_covariance(W, data.F, moments)
    measured, error = numerics.measured_covariance(W, data.X, moments.a)
    iu = np.triu_indices(len(W))
    z = ((measured - predicted) / error)[iu]
    assert np.abs(z).max() < 4.5
    naive = (moments.c - moments.a**2) * W @ W.T / W.shape[1]
    assert np.abs((measured - naive) / error)[iu].max() > 10


def test_labels_see_the_latent_only_sign_teacher():
    """y = sign(z) with z = C theta / sqrt(D), exactly."""
    data = hidden_manifold(
        samples=300, latent=20, features=40, f=sp.sign(U), variable=U,
        teacher=Channel.sign(), seed=0,
    )  # fmt: skip
    assert np.array_equal(data.y, np.sign(data.C @ data.theta / np.sqrt(20)))
    assert np.array_equal(data.z, data.C @ data.theta / np.sqrt(20))


def test_gaussian_noise_teacher_and_parameters_by_name():
    """y = z + sqrt(Delta) xi: the residual variance within 4 standard errors (n = 4000)."""
    delta = sp.Symbol("Delta", positive=True)
    data = hidden_manifold(
        samples=4000, latent=10, features=10, f=sp.sign(U), variable=U,
        teacher=Channel.gaussian(delta), params={"Delta": 0.3}, seed=2,
    )  # fmt: skip
    assert abs(np.var(data.y - data.z) - 0.3) < 4 * 0.3 * np.sqrt(2 / 4000)
    with pytest.raises(numerics.InputError, match="Delta"):
        hidden_manifold(
            samples=10, latent=5, features=5, f=sp.sign(U), variable=U,
            teacher=Channel.gaussian(delta), params={"delta": 0.3},
        )  # fmt: skip


def test_two_layer_teacher():
    """z = sum_m v_m g(C theta_m / sqrt(D)), v_m = 1/sqrt(M); y = sign(z) through the channel
    (g = sign, M = 3: a committee of three sign units, the majority vote)."""
    data = hidden_manifold(
        samples=200, latent=12, features=30, f=sp.sign(U), variable=U,
        teacher=TwoLayerTeacher(3, sp.sign(U), U, channel=Channel.sign()), seed=5,
    )  # fmt: skip
    assert data.theta.shape == (12, 3)
    z = np.sign(data.C @ data.theta / np.sqrt(12)).sum(axis=1) / np.sqrt(3)
    assert np.allclose(data.z, z, rtol=1e-12, atol=1e-14)
    assert np.array_equal(data.y, np.sign(z))


def test_features_and_inputs():
    """Orthogonal rows (F F^T = N I without normalisation); normalised columns have squared
    norm D, so each u = C F / sqrt(D) is standard normal; X = f(u) entrywise."""
    rng = np.random.default_rng(0)
    F = feature_matrix(8, 20, rng, "orthogonal", normalize=False)
    assert np.allclose(F @ F.T, 20 * np.eye(8), atol=1e-10)
    data = random_features(
        samples=30, inputs=8, features=20, f=sp.Max(0, U), variable=U,
        teacher=Channel.sign(), seed=7,
    )  # fmt: skip
    assert np.allclose((data.F**2).sum(axis=0), 8)
    assert np.allclose(data.X, np.maximum(data.C @ data.F / np.sqrt(8), 0), atol=1e-14)


def test_seeded():
    kw = dict(samples=20, latent=5, features=7, f=sp.sign(U), variable=U, teacher=Channel.sign())
    first, again, other = (hidden_manifold(**kw, seed=s) for s in (11, 11, 12))
    assert np.array_equal(first.X, again.X) and np.array_equal(first.y, again.y)
    assert not np.array_equal(first.X, other.X)
    assert first.seed == 11


@pytest.mark.parametrize(
    "change, error, words",
    [
        (dict(samples=0), numerics.InputError, "samples"),
        (dict(latent=2.5), numerics.InputError, "latent"),
        (dict(features_kind="haar"), numerics.InputError, "features_kind"),
        (dict(teacher="sign"), numerics.InputError, "teacher"),
        (dict(f=sp.exp(U**2)), derive.ModelError, "grows"),
        (dict(f=sp.tanh(sp.Symbol("v") * U)), derive.ModelError, "depends on v"),
        (dict(F=np.ones((3, 3))), numerics.InputError, "shape"),
    ],
)
def test_bad_input(change, error, words):
    kw = dict(samples=10, latent=4, features=6, f=sp.sign(U), variable=U, teacher=Channel.sign())
    kw.update(change)
    with pytest.raises(error, match=words):
        hidden_manifold(**kw)


def test_covariance_bad_shapes():
    with pytest.raises(numerics.InputError, match="columns"):
        numerics.get_covariance(np.ones((2, 5)), np.ones((3, 4)), (0, 1, 1))
    with pytest.raises(numerics.InputError, match="moments"):
        numerics.get_covariance(np.ones((2, 4)), np.ones((3, 4)), (0, 1))
