r"""Teacher-student data for a GLM: ``w* ~ P0``, ``X`` Gaussian (or rotationally invariant),
``y ~ Pout(. | X w*)``.

The teacher is sampled from any prior of :mod:`derive.priors`: atoms exactly, Gaussian
pieces with ``rng.normal``, every other piece of a density by inverting its CDF, tabulated
on a grid of the piece (cut where the tail mass is below ``1e-14`` of the piece), with the
density interpolated linearly between the nodes (:func:`sample_prior`).
"""

from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy import integrate

import derive
from derive.priors import Atom

from .compile import compile
from .errors import InputError
from .params import parameter_values
from .results import SimulationResult

__all__ = ["teacher_student", "TeacherStudent", "sample_prior", "sample_channel", "model_values"]

#: Nodes of the tabulated CDF of one piece of a density.
GRID = 20001


@dataclass(kw_only=True, repr=False)
class TeacherStudent(SimulationResult):
    """A teacher-student data set: ``X`` (M x N), labels ``y``, teacher ``w_star``."""

    X: np.ndarray
    y: np.ndarray
    w_star: np.ndarray


def model_values(glm, params):
    """``{Symbol: float}`` for the GLM's parameters, checked at the edge.

    Raises
    ------
    InputError
        For a key the model does not have (listing the known ones), a missing or
        non-finite value, or a value outside the parameter's declared range.
    """
    if not isinstance(glm, derive.GLM):
        raise InputError(f"expected a derive.GLM, got {type(glm).__name__}")
    values = parameter_values(glm.params, params)
    glm.check_values(values)
    return values


def _piece_sampler(g, lo, hi, w, values):
    """``(mass, draw)`` for one smooth piece ``g`` on ``(lo, hi)`` at numerical ``values``."""
    expr = g.subs(values)
    lo, hi = float(sp.sympify(lo).subs(values)), float(sp.sympify(hi).subs(values))
    coeffs = derive.priors._log_quadratic(expr, w)
    if coeffs is not None and np.isinf(lo) and np.isinf(hi):
        g0, g1, g2 = (float(c) for c in coeffs)
        if g2 < 0:  # a Gaussian: exact
            var = -1 / (2 * g2)
            mean = g1 * var
            mass = float(np.exp(g0 + mean**2 / (2 * var)) * np.sqrt(2 * np.pi * var))
            return mass, lambda rng, k: rng.normal(mean, np.sqrt(var), size=k)
    f = sp.lambdify(w, expr, "numpy")
    dens = lambda x: np.broadcast_to(np.asarray(f(x), dtype=float), np.shape(x))  # noqa: E731
    a, b = _finite_range(dens, lo, hi)
    x = np.linspace(a, b, GRID)
    p = dens(x)
    if np.any(~np.isfinite(p)) or np.any(p < 0):
        raise InputError(f"the prior's density {expr} is negative or not finite on ({a}, {b})")
    cdf = np.concatenate([[0.0], np.cumsum((p[1:] + p[:-1]) / 2 * np.diff(x))])
    mass = cdf[-1]

    def draw(rng, k):
        u = rng.random(k) * mass
        j = np.clip(np.searchsorted(cdf, u, side="right") - 1, 0, GRID - 2)
        # invert the linear density on [x_j, x_j+1]: c(t) = p_j t + (p_j+1 - p_j) t^2 / (2h)
        h = x[j + 1] - x[j]
        r = u - cdf[j]
        slope = (p[j + 1] - p[j]) / h
        disc = np.sqrt(np.maximum(p[j] ** 2 + 2 * slope * r, 0.0))
        safe = np.where(np.abs(slope) > 1e-300, slope, 1.0)
        t = np.where(
            np.abs(slope) * h > 1e-12 * np.maximum(p[j], 1e-300),
            (disc - p[j]) / safe,
            r / np.maximum(p[j], 1e-300),
        )
        return x[j] + np.clip(t, 0.0, h)

    return mass, draw


def _finite_range(dens, lo, hi):
    """``(a, b)`` inside ``(lo, hi)`` leaving a tail mass below 1e-14 of the piece."""
    a = lo if np.isfinite(lo) else None
    b = hi if np.isfinite(hi) else None
    anchor = a if a is not None else (b if b is not None else 0.0)
    total = integrate.quad(dens, lo, hi, limit=200)[0]
    if not total > 0:
        raise InputError("a piece of the prior's density has no mass")
    step = 1.0
    while a is None:
        if integrate.quad(dens, -np.inf, anchor - step, limit=200)[0] < 1e-14 * total:
            a = anchor - step
        step *= 2
        if step > 1e12:
            raise InputError("the prior's density has a tail too heavy to sample")
    step = 1.0
    while b is None:
        if integrate.quad(dens, anchor + step, np.inf, limit=200)[0] < 1e-14 * total:
            b = anchor + step
        step *= 2
        if step > 1e12:
            raise InputError("the prior's density has a tail too heavy to sample")
    return a, b


def sample_prior(prior, values, n, rng):
    """``n`` draws from ``prior`` at parameter ``values`` ``{Symbol: float}``."""
    samplers = []
    for c in prior.components:
        mass = float(c.mass.subs(values))
        if isinstance(c, Atom):
            value = float(c.value.subs(values))
            samplers.append((mass, lambda rng, k, v=value: np.full(k, v)))
            continue
        for g, lo, hi in c.pieces():
            m, draw = _piece_sampler(g, lo, hi, c.variable, values)
            samplers.append((mass * m, draw))
    weights = np.array([max(m, 0.0) for m, _ in samplers])
    which = rng.choice(len(samplers), size=n, p=weights / weights.sum())
    w = np.empty(n)
    for k, (_, draw) in enumerate(samplers):
        mask = which == k
        if mask.any():
            w[mask] = draw(rng, int(mask.sum()))
    return w


def sample_channel(channel, values, z, rng):
    """Labels ``y ~ Pout(. | z)`` for the array ``z``, at parameter ``values`` ``{Symbol: float}``:
    a discrete ``y`` from the channel's compiled likelihoods, a real one from its ``output``."""
    ch = channel
    if ch.support is None:
        if ch.output is None:
            raise InputError(
                "teacher_student samples a real y only from channels y = f(z) + noise "
                "(Channel.gaussian, Channel.relu, or Channel(..., output=(f(z), noise_var)))"
            )
        f = sp.lambdify(ch.z, ch.output[0].subs(values), "numpy")
        noise = float(ch.output[1].subs(values))
        mean = np.broadcast_to(np.asarray(f(z), dtype=float), z.shape)
        return mean + rng.normal(0.0, np.sqrt(noise), size=z.size)
    kernel = compile(ch.likelihoods())
    named = {p.name: v for p, v in values.items()}
    probs = kernel.array(z, *[float(named[p.name]) for p in ch.params])
    cum = np.cumsum(probs, axis=0)
    u = rng.random(z.size) * cum[-1]
    index = (u[None, :] > cum).sum(axis=0)
    return np.array([float(v) for v in ch.support])[np.minimum(index, len(ch.support) - 1)]


def teacher_student(glm, n, alpha, seed=None, params=None, condition_number=None):
    r"""Sample ``(X, y, w_star)``: ``w_star ~ P0``, ``X_{mu i} ~ N(0, 1/n)``, ``y ~ Pout(. | X w_star)``.

    With ``condition_number`` the matrix is instead :math:`U\,\mathrm{diag}(s)\,V^T` with
    Haar-distributed orthogonal ``U``, ``V`` and singular values geometrically
    spaced between 1 and ``1/condition_number``, rescaled so that
    :math:`\|X\|_F^2 = M` (the same average row norm as the i.i.d. case).

    Returns
    -------
    TeacherStudent
        A :class:`~numerics.SimulationResult` with ``X``, ``y``, ``w_star`` and ``seed``.

    Raises
    ------
    InputError
        For ``n`` not a positive integer, ``alpha`` not positive (or ``alpha n < 1``),
        and parameters that are unknown, missing or out of range.
    """
    values = model_values(glm, params)
    try:
        alpha = float(alpha)
    except (TypeError, ValueError):
        raise InputError(f"alpha must be positive, got {alpha!r}") from None
    if not alpha > 0 or not np.isfinite(alpha):
        raise InputError(f"alpha must be positive, got {alpha}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive integer, got {n!r}")
    n = int(n)
    m = int(round(alpha * n))
    if m < 1:
        raise InputError(f"alpha * n = {alpha * n:.3g} gives no rows; take n >= {1 / alpha:.3g}")
    if condition_number is not None and not float(condition_number) >= 1:
        raise InputError(f"condition_number must be >= 1, got {condition_number}")
    rng = np.random.default_rng(seed)
    w = sample_prior(glm.prior, values, n, rng)
    if condition_number is None:
        X = rng.normal(0.0, 1.0 / np.sqrt(n), size=(m, n))
    else:
        k = min(m, n)
        U, _ = np.linalg.qr(rng.normal(size=(m, m)))
        Vt, _ = np.linalg.qr(rng.normal(size=(n, n)))
        s = np.geomspace(1.0, 1.0 / float(condition_number), k)
        s *= np.sqrt(m / np.sum(s**2))
        X = (U[:, :k] * s) @ Vt[:k, :]
    y = sample_channel(glm.channel, values, X @ w, rng)
    return TeacherStudent(
        X=X, y=y, w_star=w, seed=seed, iterations=1, message=f"{m} x {n} teacher-student data"
    )
