r"""Hidden-manifold data: inputs on a curved low-dimensional manifold, labels from the latent.

The hidden manifold model of Goldt, Mézard, Krzakala, Zdeborová, PRX 10, 041044 (2020),
arXiv:1909.11500:

.. math::
    C_{\mu r} \sim N(0, 1), \qquad
    X_{\mu i} = f(u_{\mu i}), \quad u_{\mu i} = \frac{1}{\sqrt{D}} \sum_{r=1}^{D} C_{\mu r} F_{ri},
    \qquad y_\mu \sim P_\mathrm{out}\big(\cdot \mid z_\mu\big), \quad
    z_\mu = \frac{1}{\sqrt{D}} \sum_r C_{\mu r} \theta_r ,

with ``samples`` = :math:`n` rows, ``latent`` = :math:`D`, ``features`` = :math:`N`. The
labels see the latent :math:`C` only, through any :class:`derive.Channel` (sign, probit,
noisy sign, Gaussian-noise linear: sampled from the channel's own likelihood), or through a
two-layer teacher :math:`z_\mu = \sum_m v_m\, g(C_\mu \theta_m / \sqrt{D})`
(:class:`TwoLayerTeacher`). Random features of i.i.d. Gaussian inputs (Rahimi & Recht; Mei &
Montanari, arXiv:1908.05335) are the same construction with the inputs as the latent
(:func:`random_features`).

Features ``F`` are i.i.d. :math:`N(0, 1)` (``features_kind="gaussian"``) or have orthogonal
rows of squared norm :math:`N` (``"orthogonal"``, Haar; orthogonal columns when
:math:`D > N`). With ``normalize=True`` (the default) every column is then rescaled to squared
norm :math:`D`, so that each :math:`u_{\mu i}` is exactly standard normal, the normalisation
the moments :math:`(a, b, c)` of :func:`numerics.get_moments` assume (the rows stay
orthogonal up to :math:`O(1/\sqrt{D})`).
"""

from dataclasses import dataclass

import numpy as np

import derive

from .errors import InputError
from .gaussian_equivalence import evaluate_nonlinearity
from .params import parameter_values
from .results import SimulationResult
from .teacher_student import sample_channel

__all__ = [
    "HiddenManifoldData",
    "TwoLayerTeacher",
    "hidden_manifold",
    "random_features",
    "feature_matrix",
]

FEATURE_KINDS = ("gaussian", "orthogonal")


@dataclass(frozen=True, eq=False)
class TwoLayerTeacher:
    r"""A two-layer teacher on the latent: :math:`z = \sum_m v_m\, g(C \theta_m / \sqrt{D})`.

    Parameters
    ----------
    hidden : int
        Number of hidden units :math:`M`.
    g : sympy expression
        The teacher's activation, in ``variable``.
    variable : Symbol
    second_layer : sequence of float, optional
        :math:`v_m`; default :math:`1/\sqrt{M}` each (a soft committee machine).
    channel : derive.Channel, optional
        Labels drawn from the channel at :math:`z`; without one, :math:`y = z`.
    """

    hidden: int
    g: object
    variable: object
    second_layer: tuple = None
    channel: object = None


@dataclass(kw_only=True, repr=False)
class HiddenManifoldData(SimulationResult):
    """Hidden-manifold (or random-features) data.

    Attributes
    ----------
    X : ndarray (samples, features)
        The inputs :math:`f(C F / \\sqrt{D})`.
    y : ndarray (samples,)
        The labels.
    C : ndarray (samples, latent)
        The latent Gaussian coordinates.
    F : ndarray (latent, features)
        The feature matrix.
    theta : ndarray (latent,) or (latent, hidden)
        The teacher's weights on the latent.
    z : ndarray (samples,)
        The teacher's field (the channel's ``z``).
    """

    X: np.ndarray
    y: np.ndarray
    C: np.ndarray
    F: np.ndarray
    theta: np.ndarray
    z: np.ndarray


def _size(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def feature_matrix(latent, features, rng, kind="gaussian", normalize=True):
    """The ``latent x features`` matrix ``F`` (see the module docstring)."""
    if kind not in FEATURE_KINDS:
        raise InputError(f"features_kind must be one of {FEATURE_KINDS}, got {kind!r}")
    D, N = latent, features
    if kind == "gaussian":
        F = rng.standard_normal((D, N))
    elif D <= N:  # rows orthogonal, squared norm N
        Q, R = np.linalg.qr(rng.standard_normal((N, D)))
        F = np.sqrt(N) * (Q * np.sign(np.diag(R))).T
    else:  # columns orthogonal, squared norm D
        Q, R = np.linalg.qr(rng.standard_normal((D, N)))
        F = np.sqrt(D) * Q * np.sign(np.diag(R))
    if normalize:
        F *= np.sqrt(D) / np.linalg.norm(F, axis=0)
    return F


def _channel_labels(channel, params, z, rng):
    if not isinstance(channel, derive.Channel):
        raise InputError(
            f"teacher must be a derive.Channel or a TwoLayerTeacher, got {type(channel).__name__}"
        )
    values = parameter_values(channel.params, params)
    channel.check_values(values)
    return sample_channel(channel, values, z, rng)


def _two_layer_field(teacher, C, rng):
    M = _size("TwoLayerTeacher.hidden", teacher.hidden)
    D = C.shape[1]
    theta = rng.standard_normal((D, M))
    v = (
        np.full(M, 1 / np.sqrt(M))
        if teacher.second_layer is None
        else np.asarray(teacher.second_layer, dtype=float)
    )
    if v.shape != (M,) or not np.all(np.isfinite(v)):
        raise InputError(f"TwoLayerTeacher.second_layer must be {M} finite numbers, got {v}")
    fields = evaluate_nonlinearity(teacher.g, teacher.variable, C @ theta / np.sqrt(D))
    return theta, fields @ v


def hidden_manifold(
    samples,
    latent,
    features,
    f,
    variable,
    teacher,
    seed=None,
    params=None,
    features_kind="gaussian",
    normalize=True,
    F=None,
):
    r"""Sample hidden-manifold data (Goldt et al., arXiv:1909.11500; module docstring).

    Parameters
    ----------
    samples, latent, features : int
        :math:`n`, :math:`D`, :math:`N`.
    f : sympy expression
        The nonlinearity (folding function) in ``variable``.
    variable : Symbol
    teacher : derive.Channel or TwoLayerTeacher
        ``y ~ Pout(. | z)`` with :math:`z = C \theta / \sqrt{D}`, :math:`\theta \sim N(0, I_D)`.
    seed : int or numpy SeedSequence, optional
        Seeds a ``numpy.random.Generator``: the same seed gives the same data.
    params : dict, optional
        Values of the channel's parameters, by name.
    features_kind : {"gaussian", "orthogonal"}
    normalize : bool
        Rescale the columns of ``F`` to squared norm ``latent`` (``u`` exactly standard).
    F : array (latent, features), optional
        Use these features instead of drawing them.

    Returns
    -------
    HiddenManifoldData
        ``X, y, C, F, theta, z`` and the ``seed``.

    Raises
    ------
    InputError
        Sizes that are not positive integers, an unknown ``features_kind``, a given ``F`` of
        the wrong shape, channel parameters unknown or out of range.
    derive.ModelError
        A nonlinearity in another symbol, or not integrable against a Gaussian.
    """
    n, D, N = _size("samples", samples), _size("latent", latent), _size("features", features)
    derive.get.check_nonlinearity(f, variable)
    if isinstance(teacher, TwoLayerTeacher):
        derive.get.check_nonlinearity(teacher.g, teacher.variable)
    rng = np.random.default_rng(seed)
    if F is None:
        F = feature_matrix(D, N, rng, features_kind, normalize)
    else:
        F = np.array(F, dtype=float)
        if F.shape != (D, N) or not np.all(np.isfinite(F)):
            raise InputError(f"F must be a finite array of shape {(D, N)}, got {F.shape}")
    C = rng.standard_normal((n, D))
    X = evaluate_nonlinearity(f, variable, C @ F / np.sqrt(D))
    if isinstance(teacher, TwoLayerTeacher):
        theta, z = _two_layer_field(teacher, C, rng)
        y = z if teacher.channel is None else _channel_labels(teacher.channel, params, z, rng)
    else:
        if not isinstance(teacher, derive.Channel):
            raise InputError(
                "teacher must be a derive.Channel or a TwoLayerTeacher, got "
                f"{type(teacher).__name__}"
            )
        theta = rng.standard_normal(D)
        z = C @ theta / np.sqrt(D)
        y = _channel_labels(teacher, params, z, rng)
    return HiddenManifoldData(
        X=X,
        y=np.asarray(y, dtype=float),
        C=C,
        F=F,
        theta=theta,
        z=z,
        seed=seed,
        iterations=1,
        message=f"{n} samples, latent {D}, {N} features ({features_kind})",
    )


def random_features(samples, inputs, features, f, variable, teacher, seed=None, **options):
    r"""Random features of i.i.d. Gaussian inputs: :func:`hidden_manifold` with the inputs as
    the latent (``latent = inputs``), :math:`X = f(C F / \sqrt{d})` and labels from ``C``
    (Mei & Montanari, arXiv:1908.05335; Gerace et al., arXiv:2002.09339). ``.C`` holds the
    inputs."""
    return hidden_manifold(samples, inputs, features, f, variable, teacher, seed, **options)
