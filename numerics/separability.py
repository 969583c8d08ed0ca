r"""Linear-separability thresholds: iid Gaussian inputs and hidden-manifold data.

``n`` samples in dimension ``p`` (``p`` features), labels :math:`y = \pm 1`. The data are
separable through the origin (some :math:`w \ne 0` with :math:`y_\mu\, w \cdot x_\mu > 0`
for every :math:`\mu`) with probability tending to one iff

.. math::
    \frac{n}{p} < \alpha_s = \frac{1}{\min_t h(t)}, \qquad
    h(t) = \mathbb{E}\,(Z - t\,Y V)_+^2

(Candès & Sur, arXiv:1804.09753, theorem 1, no intercept), with :math:`V \sim N(0, 1)` the
normalised field along the direction the labels depend on and :math:`Z \sim N(0, 1)`
independent. The integrand of :math:`h` is :func:`derive.separability`; here it is
integrated over :math:`v` by adaptive quadrature (split at :math:`v = 0`, where a sign
channel jumps) and minimised over ``t`` (:math:`h` is convex in ``t``).

* **Random labels** (``teacher=None``): :math:`h(t) \ge h(0) = 1/2`, :math:`\alpha_s = 2`
  (Cover 1965), for iid and for hidden-manifold inputs alike (points in general position).
* **Teacher labels on iid inputs**: ``y ~ teacher(z)``, :math:`z = w^* \cdot x / \sqrt p`
  with :math:`\mathbb{E} w^{*2} = 1`, so :math:`V = z`. A noiseless sign teacher gives
  :math:`h \to 0` (separable at every ``n/p``: :math:`\alpha_s = \infty`).
* **Hidden-manifold data** (Goldt et al., arXiv:1909.11500): :math:`x = f(C F/\sqrt d) - a`
  (centred features: the threshold through the origin is for centred data), labels
  ``y ~ teacher(z)``, :math:`z = \theta \cdot C / \sqrt d`. By the Gaussian equivalence the
  features are Gaussian, :math:`\Sigma = b^2 F^T F/d + (c - a^2 - b^2) I`, jointly with the
  latent field; separability is invariant under :math:`x \to \Sigma^{-1/2} x`, so only the
  correlation :math:`r` between :math:`z` and its best linear prediction from :math:`x`
  enters:

  .. math::
      r^2 = \frac{1}{\gamma} \int d\mu(s)\, \frac{b^2 s}{b^2 s + c - a^2 - b^2},
      \qquad \gamma = d/p,

  over the spectrum :math:`\mu` of :math:`F^T F/d` (Marchenko–Pastur for Gaussian ``F``), and
  the label law given :math:`V = v` is the teacher at :math:`z = r v + \sqrt{1 - r^2}\,\xi`.
  A noiseless teacher then acts like a noisy one: :math:`\alpha_s` is finite, and larger than
  Cover's 2 of random labels.
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.integrate import IntegrationWarning, quad
from scipy.optimize import minimize_scalar

import derive

from .compile import compile
from .erm import resolve_moments, spectrum_nodes
from .errors import InputError
from .params import parameter_values
from .results import Result

__all__ = [
    "separability_threshold",
    "SeparabilityResult",
    "hidden_manifold_correlation",
    "is_separable",
    "max_margin",
]

#: Quadrature tolerance of h(t) (absolute) and the largest slope searched.
QUAD_TOL = 1e-11
T_MAX = 2.0**30


@dataclass(kw_only=True, repr=False)
class SeparabilityResult(Result):
    r"""The separability threshold :math:`\alpha_s` in ``n/p``: separable iff ``n/p < alpha_s``.

    Attributes
    ----------
    alpha_s : float
        ``1 / h_min`` (``inf`` when the labels are a deterministic sign of the field).
    h_min, t_star : float
        :math:`\min_t h(t)` and where.
    correlation : float
        ``r`` (1 for iid inputs).
    data : str
        ``"iid"`` or ``"hidden manifold"``.
    labels : str
        The teacher channel, or ``"random"``.
    moments, gamma : tuple, float or None
        The GET moments ``(a, b, c)`` and ``gamma = d/p`` (hidden manifold).
    """

    alpha_s: float = math.nan
    h_min: float = math.nan
    t_star: float = math.nan
    correlation: float = 1.0
    data: str = "iid"
    labels: str = "random"
    moments: tuple = None
    gamma: float = None


def hidden_manifold_correlation(moments, gamma, spectrum="marchenko-pastur", eigenvalues=None):
    r"""``r``: the correlation of the latent field :math:`\theta \cdot C/\sqrt d` with its best
    linear prediction from the centred features, under the Gaussian equivalence,

    .. math:: r^2 = \frac{1}{\gamma}\int d\mu(s)\, \frac{b^2 s}{b^2 s + c - a^2 - b^2}

    (:math:`\mu` the spectrum of :math:`F^TF/d`, see ``numerics.erm.spectrum_nodes``;
    averaged over the teacher's direction :math:`\theta`).
    """
    a, b, c = moments
    noise = c - a * a - b * b
    if not noise > 1e-12:
        raise InputError(
            f"moments (a, b, c) = {(a, b, c)}: c - a^2 - b^2 = {noise:.3g}; a linear f makes "
            "the features a linear image of the latent (use iid data in dimension min(p, d))"
        )
    s, w = spectrum_nodes(gamma, spectrum, eigenvalues)
    r2 = float(np.sum(w * b * b * s / (b * b * s + noise))) / gamma
    return math.sqrt(min(max(r2, 0.0), 1.0))


def separability_threshold(
    teacher=None,
    f=None,
    variable=None,
    gamma=None,
    moments=None,
    *,
    params=None,
    spectrum="marchenko-pastur",
    eigenvalues=None,
    strict=False,
):
    r"""The linear-separability threshold :math:`\alpha_s` in ``n/p`` (module docstring).

    Parameters
    ----------
    teacher : derive.Channel or None
        Labels ``y = ±1`` from this channel of the teacher's field; ``None``: random labels.
    f, variable : sympy expression and Symbol, optional
        The nonlinearity of hidden-manifold data (its moments by ``numerics.get_moments``);
        or give ``moments=(a, b, c)``. Neither: iid Gaussian inputs.
    gamma : float
        ``d/p``, latent dimension over number of features (hidden manifold).
    params : dict, optional
        Values of the channel's parameters, by name.
    spectrum, eigenvalues
        The spectrum of :math:`F^TF/d`: ``"marchenko-pastur"`` (Gaussian ``F``),
        ``"orthogonal"``, or the eigenvalues of a given ``F``.
    strict : bool
        Raise :class:`~numerics.ConvergenceError` instead of returning ``converged=False``.

    Returns
    -------
    SeparabilityResult

    Examples
    --------
    >>> round(separability_threshold().alpha_s, 10)  # Cover: random labels
    2.0
    """
    hidden = f is not None or moments is not None
    res = SeparabilityResult(data="hidden manifold" if hidden else "iid")
    if teacher is not None and not isinstance(teacher, derive.Channel):
        raise InputError(f"teacher must be a derive.Channel or None, got {teacher!r}")
    values = {}
    if teacher is not None:
        values = parameter_values(teacher.params, params or {})
        teacher.check_values(values)
        res.labels = repr(teacher)
    elif params:
        raise InputError(f"params {sorted(params)} given without a teacher channel")
    if hidden:
        if gamma is None:
            raise InputError("hidden-manifold data need gamma = d/p")
        try:
            gamma = float(gamma)
        except (TypeError, ValueError):
            raise InputError(f"gamma must be a positive number, got {gamma!r}") from None
        if not (math.isfinite(gamma) and gamma > 0):
            raise InputError(f"gamma must be a positive number, got {gamma!r}")
        moments = resolve_moments(f, variable, moments)
        res.moments, res.gamma = moments, gamma
        res.correlation = hidden_manifold_correlation(moments, gamma, spectrum, eigenvalues)
    elif gamma is not None:
        raise InputError("gamma is for hidden-manifold data: give f and variable, or moments")
    # labels that do not depend on the field need no smoothing (one kernel for random labels)
    depends = teacher is not None and teacher.likelihood.has(teacher.z)
    smoothed = hidden and depends and res.correlation < 1 - 1e-12
    kern = compile(derive.separability(teacher, hidden=smoothed))
    named = {p.name: v for p, v in values.items()}
    if smoothed:
        named["r"] = res.correlation
    # the kernel's arguments by name, v and t filled in at each call
    args = list(kern.bind(named, v=0.0, t=0.0))
    _minimise(kern, args, kern.arguments.index("v"), kern.arguments.index("t"), res)
    return res.finish(strict)


def _average(kern, index, t, args, iv, it):
    """:math:`\\mathbb{E}_{v \\sim N(0,1)}` of output ``index`` at slope ``t`` (two half-lines)."""
    fn = kern.module.outputs
    total, error = 0.0, 0.0
    for lo, hi in ((-np.inf, 0.0), (0.0, np.inf)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", IntegrationWarning)
            try:
                value, err = quad(
                    lambda v: fn(*_at(args, iv, v, it, t))[index] * math.exp(-v * v / 2),
                    lo,
                    hi,
                    epsabs=QUAD_TOL,
                    epsrel=QUAD_TOL,
                    limit=200,
                )
            except IntegrationWarning as warn:
                raise _Unresolved(f"the v-integral at t = {t:.6g}: {warn}") from None
        total, error = total + value, error + err
    scale = 1 / math.sqrt(2 * math.pi)
    return total * scale, error * scale


def _at(args, iv, v, it, t):
    args[iv], args[it] = v, t
    return args


def _minimise(kern, args, iv, it, res):
    count = [0]

    def h(t):
        count[0] += 1
        return _average(kern, 0, t, args, iv, it)[0]

    try:
        wrong = _average(kern, 1, 0.0, args, iv, it)[0]
        if wrong < QUAD_TOL:  # Y V >= 0 almost surely: h(t) -> 0 as t -> inf (dominated)
            res.alpha_s, res.h_min, res.t_star = math.inf, 0.0, math.inf
            res.iterations = count[0]
            res.message = (
                f"P(Y V < 0) = {wrong:.2g}: the labels are the sign of the field, so "
                "h(t) = E(Z - t|V|)_+^2 -> 0 as t -> inf: separable at every n/p"
            )
            return
        # h is convex in t: walk out from 0 downhill, doubling, until it rises again
        h0, small = h(0.0), 1e-3
        h_plus, h_minus = h(small), h(-small)
        if h_plus >= h0 and h_minus >= h0:
            bounds = (-small, small)
        else:
            direction = 1.0 if h_plus < h0 else -1.0
            before, (t, ht), (t_new, h_new) = 0.0, (0.0, h0), (direction, h(direction))
            while h_new < ht:
                if abs(t_new) > T_MAX:
                    raise _Unresolved(
                        f"h(t) still decreases at t = {t_new:.3g} although P(Y V < 0) = {wrong:.3g}"
                    )
                before, (t, ht) = t, (t_new, h_new)
                t_new = 2 * t_new
                h_new = h(t_new)
            bounds = tuple(sorted((before, t_new)))
        found = minimize_scalar(h, bounds=bounds, method="bounded", options={"xatol": 1e-10})
    except _Unresolved as err:
        res.converged, res.message, res.iterations = False, str(err), count[0]
        return
    t_star = float(found.x)
    h_min = min(float(found.fun), h0)
    if h_min == h0:
        t_star = 0.0
    res.h_min, res.t_star = h_min, t_star
    res.alpha_s = 1.0 / h_min if h_min > 0 else math.inf
    res.iterations = count[0]
    res.converged = bool(found.success) and h_min > 0
    res.message = (
        f"min_t h(t) = {h_min:.12g} at t = {t_star:.6g} (quadrature tolerance {QUAD_TOL:g})"
        if res.converged
        else f"the minimisation over t did not converge: {found.message}"
    )


class _Unresolved(Exception):
    """A step could not be resolved; the message says which."""


# --- finite-size checks on sampled data --------------------------------------------------------


def _data(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    if X.ndim != 2 or X.shape[0] != y.size or X.size == 0:
        raise InputError(f"X must be (n, p) and y of length n; got {X.shape} and {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isin(y, (-1.0, 1.0)))):
        raise InputError("X must be finite and the labels y in {-1, 1}")
    return X, y


def is_separable(X, y):
    r"""Whether some :math:`w` has :math:`y_\mu\, x_\mu \cdot w \ge 1` for every row (a
    feasibility linear program, scipy's HiGHS: dual simplex, then interior point when the
    first reports numerical trouble): linear separability through the origin. Where neither
    decides, the least-distance program of :func:`max_margin` does."""
    from scipy.optimize import linprog

    X, y = _data(X, y)
    for method in ("highs-ds", "highs-ipm"):
        res = linprog(
            np.zeros(X.shape[1]),
            A_ub=-(y[:, None] * X),
            b_ub=-np.ones(y.size),
            bounds=(None, None),
            method=method,
        )
        if res.status in (0, 2):  # feasible, infeasible
            return res.status == 0
    return _least_norm(X, y) is not None


def _least_norm(X, y):
    """The least-norm ``w`` with ``y x . w >= 1`` (Lawson-Hanson LDP by NNLS), or None."""
    from scipy.optimize import nnls

    G = y[:, None] * X  # constraints G w >= 1
    E = np.vstack([G.T, np.ones((1, y.size))])
    f = np.zeros(E.shape[0])
    f[-1] = 1.0
    u, _ = nnls(E, f, maxiter=50 * E.shape[1])
    r = E @ u - f
    if abs(r[-1]) < 1e-12:  # the least-distance program is infeasible
        return None
    return -r[:-1] / r[-1]


def max_margin(X, y):
    r"""The largest margin :math:`\kappa^* = \max_{|w| = 1} \min_\mu y_\mu\, x_\mu \cdot w`
    of separable data (Gardner's stability with patterns of unit-variance entries:
    :math:`y\, w \cdot x / \sqrt N` at :math:`|w|^2 = N`): the least-norm :math:`w` with
    :math:`y_\mu x_\mu \cdot w \ge 1` (a least-distance program, solved exactly through
    non-negative least squares: Lawson & Hanson, *Solving Least Squares Problems* (1974),
    ch. 23), then the margin measured on the data, :math:`\min_\mu y_\mu x_\mu \cdot w/|w|`.
    NaN for data that are not separable."""
    X, y = _data(X, y)
    w = _least_norm(X, y)
    if w is None:
        return math.nan
    G = y[:, None] * X
    return float(np.min(G @ w) / np.linalg.norm(w))
