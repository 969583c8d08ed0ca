r"""Solve the state evolution of a GLM; free entropies and phase-transition thresholds.

The equations are :func:`derive.state_evolution` and :func:`derive.free_entropy`,
compiled with a trapezoid rule whose spacing follows the sharpest feature of
the integrands: at overlap ``q`` they vary on the scale
:math:`\sqrt{(\rho - q)/q}` in the Gaussian variable, so the number of nodes
grows as ``q -> rho`` (a ladder of cached kernels, see :func:`order_for`).

Thresholds follow REFERENCE.md: the algorithmic threshold is where the
uninformed branch stops existing, located by bisection on ``alpha`` with the
branch found by root-finding on :math:`q - Q(q)` (never by iterating near the
spinodal, where the iteration slows down critically); the
information-theoretic one is where the free entropies of the two branches cross.
"""

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

import derive

from .compile import compile
from .params import parameter_values

__all__ = ["state_evolution", "SEResult", "thresholds", "Thresholds", "order_for"]

#: Node counts of the trapezoid rule on [-12, 12] used as q approaches rho.
ORDER_LADDER = (241, 961, 3841, 15361, 61441)


def order_for(q, rho):
    """Smallest rung of :data:`ORDER_LADDER` whose spacing resolves ``sqrt((rho - q) / q)`` by 4."""
    scale = np.sqrt(max(rho - q, 1e-300) / max(q, 1e-12))
    for order in ORDER_LADDER:
        if 24.0 / (order - 1) <= scale / 4:
            return order
    return ORDER_LADDER[-1]


@dataclass
class SEResult:
    """State evolution at one ``alpha``.

    Attributes
    ----------
    overlap : float
        ``q``, the overlap of the Bayes-optimal estimator with the teacher.
    q_hat : float
    mse : float
        ``rho - q``.
    generalization_error, gibbs_error : float or None
        For channels with a discrete ``y``: the Bayes-optimal error
        ``1 - E max_y Zout`` and the Gibbs error (a posterior sample as
        predictor); for the sign channel, ``arccos(sqrt q)/pi`` and ``arccos(q)/pi``.
    free_entropy : float
    converged : bool
    iterations : int
    history : list of (q, q_hat)
    """

    overlap: float
    q_hat: float
    mse: float
    free_entropy: float
    converged: bool
    iterations: int
    history: list = field(repr=False, default_factory=list)
    generalization_error: float = None
    gibbs_error: float = None
    alpha: float = None


class _SE:
    """Compiled state evolution, free entropy and errors of one GLM."""

    def __init__(self, glm, params):
        self.glm = glm
        self.eqs = derive.state_evolution(glm)
        self.phi_eqs = derive.free_entropy(glm)
        self.error_eqs = derive.classification_errors(glm) if glm.channel.support else None
        values = parameter_values(glm.params, params)
        self.values = list(values.values())
        rho = glm.prior.second_moment.subs(values)
        self.rho = float(rho)
        self._kernels = {}

    def kernel(self, which, order):
        key = (which, order)
        if key not in self._kernels:
            eqs = {"se": self.eqs, "phi": self.phi_eqs, "err": self.error_eqs}[which]
            self._kernels[key] = compile(eqs, order=order)
        return self._kernels[key]

    def q_hat(self, q, alpha):
        q = min(q, self.rho * (1 - 1e-12))
        k = self.kernel("se", order_for(q, self.rho))
        return k.module.outputs(q, 0.0, alpha, *self.values)[0]

    def q_of(self, q_hat, alpha, q_guess):
        k = self.kernel("se", order_for(q_guess, self.rho))
        return k.module.outputs(q_guess, q_hat, alpha, *self.values)[1]

    def step(self, q, alpha):
        """One SE iteration ``q -> Q(q)``."""
        qh = self.q_hat(q, alpha)
        return self.q_of(qh, alpha, q), qh

    def free_entropy(self, q, q_hat, alpha):
        k = self.kernel("phi", order_for(q, self.rho))
        return k.module.outputs(q, q_hat, alpha, *self.values)[0]

    def errors(self, q):
        """Evaluated once per solution, on a fine grid with an *even* number of nodes: the
        integrands have a kink or a jump at 0 (a max, an indicator), which then falls midway
        between two nodes, where the trapezoid rule stays second order; a node on a dip
        narrower than the spacing (q -> rho) would otherwise be overweighted."""
        if self.error_eqs is None:
            return None, None
        k = self.kernel("err", ORDER_LADDER[-1] - 1)
        return k.module.outputs(q, *self.values)


@functools.lru_cache(maxsize=32)
def _compiled(glm, params):
    """One derivation and compilation per (GLM object, parameter values)."""
    return _SE(glm, dict(params))


def _prepared(glm, params):
    return _compiled(glm, tuple(sorted((str(k), float(v)) for k, v in dict(params or {}).items())))


def state_evolution(
    glm,
    alpha,
    init="uninformed",
    params=None,
    tol=1e-10,
    max_iter=10_000,
    damping=0.0,
    student=None,
):
    r"""Iterate Bayes-optimal state evolution at sample ratio ``alpha``.

    Parameters
    ----------
    glm : derive.GLM
    alpha : float
        ``M / N`` > 0.
    init : {"uninformed", "informed"} or float
        Starting overlap: 0, ``rho (1 - 1e-6)``, or a value.
    params : dict, optional
        Values of the prior's and channel's parameters (teacher's and student's).
    student : derive.GLM, optional
        Run GAMP with the student's denoisers on the teacher's (``glm``'s) data: the
        mismatched state evolution of :func:`derive.mismatched_state_evolution`. Then
        ``overlap`` is the teacher-student overlap ``m``, ``mse = rho - 2 m + q`` and the
        result also has ``q`` and ``chi``.

    Returns
    -------
    SEResult
    """
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a positive number, got {alpha}")
    if student is not None:
        return _iterate_mismatched(glm, student, alpha, init, params, tol, max_iter, damping)
    return _iterate(_prepared(glm, params), alpha, init, tol, max_iter, damping)


@functools.lru_cache(maxsize=32)
def _mismatched(teacher, student):
    return derive.mismatched_state_evolution(teacher, student)


def _iterate_mismatched(teacher, student, alpha, init, params, tol, max_iter, damping):
    eqs = _mismatched(teacher, student)
    named = parameter_values(eqs.params[1:], params)
    values = list(named.values())
    rho = float(teacher.prior.second_moment.subs(named))
    starts = {"uninformed": (1e-6, 1e-4), "informed": (rho * (1 - 1e-6), rho * (1 - 1e-6))}
    if init not in starts:
        raise ValueError(f"init must be 'uninformed' or 'informed' with a student, got {init!r}")
    m, q = starts[init]
    chi = max(rho - q, 1e-6)
    kernels = {}

    def kernel(order):
        if order not in kernels:
            kernels[order] = compile(eqs, order=order)
        return kernels[order]

    history, converged, hats = [], False, (0.0, 0.0, 0.0)
    it = 0
    for it in range(1, int(max_iter) + 1):
        width = min(chi, max(rho - m * m / q, 1e-300))  # the sharpest Gaussian in play
        k = kernel(order_for(max(rho - width, 0.0), rho))
        out = k.module.outputs(m, q, chi, *hats, alpha, *values)
        hats = out[:3]
        out = k.module.outputs(m, q, chi, *hats, alpha, *values)
        new = np.array(out[3:])
        new = (1 - damping) * new + damping * np.array([m, q, chi])
        new[1] = min(max(new[1], 1e-12), rho * 1e6)
        new[2] = max(new[2], 1e-14 * rho)
        new[0] = float(
            np.clip(
                new[0], -np.sqrt(rho * new[1]) * (1 - 1e-12), np.sqrt(rho * new[1]) * (1 - 1e-12)
            )
        )
        history.append(tuple(new))
        if not np.all(np.isfinite(new)):
            break
        change = float(np.max(np.abs(new - np.array([m, q, chi]))))
        m, q, chi = new
        if change < tol:
            converged = True
            break
    result = SEResult(
        overlap=float(m),
        q_hat=float(hats[1]),
        mse=float(rho - 2 * m + q),
        free_entropy=None,
        converged=converged,
        iterations=it,
        history=history,
        alpha=alpha,
    )
    result.q, result.chi = float(q), float(chi)
    return result


def _iterate(se, alpha, init, tol, max_iter, damping):
    starts = {"uninformed": 0.0, "informed": se.rho * (1 - 1e-6)}
    q = starts.get(init, init) if isinstance(init, str) else float(init)
    if isinstance(q, str):
        raise ValueError(f"init must be 'uninformed', 'informed' or a number, got {init!r}")
    history, converged, qh = [], False, 0.0
    it = 0
    for it in range(1, int(max_iter) + 1):
        new, qh = se.step(q, alpha)
        # keep V = rho - q > 0: at q = rho the output denoiser is 0 / 0
        new = min(max((1 - damping) * new + damping * q, 0.0), se.rho * (1 - 1e-12))
        history.append((new, qh))
        if not np.isfinite(new):
            break
        if abs(new - q) < tol:
            q, converged = new, True
            break
        q = new
    gen, gibbs = se.errors(q)
    return SEResult(
        overlap=q,
        q_hat=qh,
        mse=se.rho - q,
        free_entropy=se.free_entropy(q, qh, alpha),
        converged=converged,
        iterations=it,
        history=history,
        generalization_error=gen,
        gibbs_error=gibbs,
        alpha=alpha,
    )


@dataclass
class Thresholds:
    """``alpha_alg``: the uninformed branch jumps; ``alpha_it``: the free entropies cross."""

    alpha_alg: float
    alpha_it: float


def _first_root(se, alpha, grid):
    """The smallest q with Q(q) = q on the grid (the uninformed fixed point), refined;
    None if ``Q(q) - q`` keeps its sign over the grid. Scans upward and stops at the first
    sign change."""
    gap = lambda q: se.step(q, alpha)[0] - q  # noqa: E731
    previous = gap(grid[0])
    for k in range(1, len(grid)):
        current = gap(grid[k])
        if previous > 0 and current <= 0:
            return brentq(gap, grid[k - 1], grid[k], xtol=1e-12)
        previous = current
    return None


def thresholds(
    glm, alphas=(0.5, 3.0), params=None, jump=0.99, xtol=1e-5, grid=None, information=True
):
    r"""Algorithmic and information-theoretic thresholds of a GLM.

    Parameters
    ----------
    glm : derive.GLM
    alphas : (float, float)
        Bracket in which the uninformed branch disappears.
    params : dict, optional
    jump : float
        The uninformed branch counts as gone when its smallest fixed point
        exceeds ``jump * rho``.
    xtol : float
        Tolerance of the bisections in ``alpha``.
    grid : array, optional
        Overlaps scanned for the smallest root of :math:`Q(q) - q` (only those
        below ``jump * rho`` matter); default 200 points dense near ``rho``.
    information : bool
        Also locate ``alpha_it`` (else it is None): needs a finite free
        entropy on the informed branch (not the noiseless limit of a
        continuous prior, where it diverges).

    Returns
    -------
    Thresholds
    """
    se = _prepared(glm, params)
    rho = se.rho
    if grid is None:
        grid = rho * (1 - np.geomspace(1.0, 1e-4, 200))
        grid = np.concatenate([[0.0], grid[1:]])
    lo, hi = map(float, alphas)

    scan = grid[grid <= jump * rho]  # a root above jump * rho means the branch is gone

    def gone(alpha):
        return _first_root(se, alpha, scan) is None

    if gone(lo) or not gone(hi):
        raise ValueError(
            f"the uninformed branch must exist at alpha = {lo} and be gone at "
            f"alpha = {hi}; widen alphas"
        )
    while hi - lo > xtol:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if gone(mid) else (mid, hi)
    alpha_alg = 0.5 * (lo + hi)
    if not information:
        return Thresholds(alpha_alg=alpha_alg, alpha_it=None)

    def phi_branch(alpha, root):
        q = root
        qh = se.q_hat(q, alpha)
        return se.free_entropy(q, qh, alpha)

    def informed(alpha):
        res = _iterate(se, alpha, "informed", 1e-12, 2000, 0.0)
        return res.free_entropy

    def difference(alpha):
        return phi_branch(alpha, _first_root(se, alpha, scan)) - informed(alpha)

    a_lo = float(alphas[0])
    if difference(a_lo) < 0:
        raise ValueError(f"the informed branch already dominates at alpha = {a_lo}")
    alpha_it = brentq(difference, a_lo, alpha_alg - xtol, xtol=xtol)
    return Thresholds(alpha_alg=alpha_alg, alpha_it=alpha_it)
