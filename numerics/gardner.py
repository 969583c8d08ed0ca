r"""Storage capacity of the perceptron from the Gardner volume (derived in :mod:`derive.gardner`).

* **Spherical perceptron** (a centred Gaussian prior, read as the sphere
  :math:`|w|^2 = N\rho`): :math:`\alpha_c(\kappa)` is the compiled
  :func:`derive.gardner_capacity`, the :math:`q \to \rho` limit of the replica-symmetric
  saddle point (Gardner 1988). Far in the negative-margin tail the derived form is a sum of
  terms that cancel; their sum of magnitudes over the magnitude of their sum bounds the
  rounding error, and a capacity whose bound exceeds ``1e-9`` is reported
  ``converged=False``.
* **Weights with finitely many values** (a prior of atoms, e.g. :math:`\pm 1`): the RS
  saddle point of :func:`derive.gardner` is solved at fixed ``alpha`` (:func:`gardner_saddle`)
  and the capacity is the zero of the RS entropy in ``alpha`` (Brent's method), the value of
  Gardner & Derrida (1988) and Krauth & Mézard (1989): 0.833 for :math:`\pm 1` at
  :math:`\kappa = 0`.

Conventions: patterns with iid :math:`N(0, 1)` entries, the constraint
:math:`y\, w \cdot x / \sqrt N \ge \kappa`, :math:`\alpha = M/N`.

References
----------
E. Gardner, J. Phys. A 21, 257 (1988); E. Gardner & B. Derrida, J. Phys. A 21, 271 (1988);
W. Krauth & M. Mézard, J. Phys. France 50, 3057 (1989).
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

import derive

from .checks import number
from .compile import compile
from .printer import default_order, trapezoid_half_width
from .results import Result

__all__ = ["gardner", "gardner_saddle", "GardnerResult", "GardnerSaddle"]

#: The trapezoidal rules tried in turn for a prior of atoms (nodes on [-12, 12]).
ORDERS = (241, 481, 961)
QUADRATURE_TOL = 1e-9
ROUNDING_TOL = 1e-9


@dataclass(kw_only=True, repr=False)
class GardnerSaddle(Result):
    """The RS saddle point of the Gardner volume at one ``(alpha, kappa)``.

    Attributes
    ----------
    alpha, kappa : float
    q, q_hat, Q_hat : float
        Overlap of two solutions, its conjugate, the norm multiplier.
    phi : float
        Free entropy: log of the prior measure of the solutions, per weight.
    entropy : float or None
        For a prior of atoms: the entropy of the solutions (None for a density).
    """

    alpha: float = math.nan
    kappa: float = 0.0
    q: float = math.nan
    q_hat: float = math.nan
    Q_hat: float = 0.0
    phi: float = math.nan
    entropy: float = None


@dataclass(kw_only=True, repr=False)
class GardnerResult(Result):
    """The capacity :math:`\\alpha_c(\\kappa)`.

    Attributes
    ----------
    alpha_c : float
        The capacity (NaN where not resolved: then ``converged`` is False).
    kappa : float
    kind : str
        ``"spherical"`` or ``"discrete"``.
    method : str
        How it was obtained.
    q, q_hat, Q_hat, entropy : float or None
        For a prior of atoms: the saddle point at ``alpha_c`` (``entropy`` ~ 0).
    error_bound : float or None
        The estimated relative error of ``alpha_c`` (rounding for the spherical perceptron,
        quadrature for atoms).
    """

    alpha_c: float = math.nan
    kappa: float = 0.0
    kind: str = ""
    method: str = ""
    q: float = None
    q_hat: float = None
    Q_hat: float = None
    entropy: float = None
    error_bound: float = None


def gardner(prior, kappa=0.0, *, xtol=1e-11, alpha_max=100.0, check_quadrature=False, strict=False):
    r"""The storage capacity :math:`\alpha_c(\kappa)` of a perceptron with prior ``prior``.

    Parameters
    ----------
    prior : derive.Prior
        A centred Gaussian (the spherical perceptron, on the sphere
        :math:`|w|^2 = N\,\mathbb{E}w^2`) or a prior of finitely many atoms.
    kappa : float
        The margin (any finite value; negative margins included).
    xtol : float
        Tolerance of Brent's method on ``alpha`` (atoms).
    alpha_max : float
        Where the search for the entropy's zero gives up (atoms).
    check_quadrature : bool
        Atoms: also evaluate the entropy at the answer with twice the quadrature nodes
        (a second compiled kernel, ~10 s of numba compilation) and report a drift above
        ``QUADRATURE_TOL``. Without it the error bound of the trapezoidal rule from the
        integrands' widths decides (see :meth:`_Saddle.quadrature_bound`).
    strict : bool
        Raise :class:`~numerics.ConvergenceError` instead of returning ``converged=False``.

    Returns
    -------
    GardnerResult

    Raises
    ------
    derive.ModelError
        A prior that is neither a centred Gaussian nor a set of atoms.
    derive.InputError
        ``kappa`` not a finite number.

    Examples
    --------
    >>> import sympy as sp, derive
    >>> round(gardner(derive.Prior.gaussian(0, 1), kappa=0.0).alpha_c, 10)
    2.0
    """
    kappa = number("kappa", kappa, positive=False)
    kind = derive.gardner_kind(prior)
    if kind == "spherical":
        return _spherical(prior, kappa).finish(strict)
    return _discrete(prior, kappa, xtol, alpha_max, check_quadrature).finish(strict)


def _spherical(prior, kappa):
    kern = compile(derive.gardner_capacity(prior))
    alpha_c = float(kern(kappa))
    obs = dict(zip(kern.observables, kern.evaluate_observables(kappa)))
    terms = np.array([v for k, v in obs.items() if k.startswith("L_out_")])
    total = abs(terms.sum())
    bound = 4 * np.finfo(float).eps * np.abs(terms).sum() / total if total > 0 else math.inf
    method = "q -> 1 limit of the RS saddle point (Gardner 1988), compiled closed form"
    res = GardnerResult(
        alpha_c=alpha_c, kappa=kappa, kind="spherical", method=method, error_bound=bound
    )
    if not (math.isfinite(alpha_c) and alpha_c > 0 and bound < ROUNDING_TOL):
        res.converged = False
        res.message = (
            f"at kappa = {kappa:g} the terms of the q -> 1 coefficient cancel to a relative "
            f"rounding error bound of {bound:.2g} (> {ROUNDING_TOL:g}): alpha_c = {alpha_c:.6g} "
            "is not resolved in double precision"
        )
    else:
        res.message = f"closed form; relative rounding error bound {bound:.2g}"
    return res


# --- the RS saddle point for a prior of atoms (or a Gaussian) ---------------------------------


class _Saddle:
    """The compiled saddle-point equations of one prior, at two quadrature orders."""

    def __init__(self, prior, order=None):
        self.eqs = derive.gardner(prior)
        self.order = order or default_order("trapezoid", 1)
        self.kernel = compile(self.eqs, order=order)
        self.rho = float(prior.second_moment)
        values = [abs(float(c.value)) for c in prior.components if hasattr(c, "value")]
        # weights of one modulus: Q = rho whatever Q_hat (the Q_hat terms cancel)
        self.free_norm = not (values and len(prior.components) == len(values))
        self.free_norm = self.free_norm or max(values) - min(values) > 0
        atoms = [float(c.value) for c in prior.components if hasattr(c, "value")]
        self.spread = max(atoms) - min(atoms) if atoms else 0.0

    def quadrature_bound(self, q, q_hat):
        r"""The trapezoidal rule's error bound :math:`e^{-2\pi d/h}` (Trefethen & Weideman
        2014) at the saddle point: :math:`h` the node spacing, :math:`d` the half-width of
        the strip where the integrands are analytic in :math:`\xi`: the constraint's
        :math:`\log\Phi((\sqrt q\,\xi - \kappa)/\sqrt{\rho - q})` is analytic up to the
        zeros of :math:`\Phi`, the nearest at imaginary part 2.81 in its argument, so
        :math:`d_1 = 2.81\sqrt{(\rho - q)/q}`; the atoms' Boltzmann weights
        :math:`e^{\sqrt{\hat q}\xi v}` have the poles of their ratios at
        :math:`d_2 = \pi/(\sqrt{\hat q}\,\Delta v)`, :math:`\Delta v` the widest spread."""
        h = 2 * trapezoid_half_width(self.order) / (self.order - 1)
        d = math.inf
        if q > 0:
            d = 2.81 * math.sqrt(max(self.rho - q, 0.0) / q)
        if q_hat > 0 and self.spread > 0:
            d = min(d, math.pi / (math.sqrt(q_hat) * self.spread))
        return math.exp(-2 * math.pi * d / h) if d > 0 else math.inf

    def solve(self, alpha, kappa, q0=0.0, tol=1e-13, max_iter=5000, damping=0.5):
        """Damped iteration of ``q -> q_hat -> (Q_hat) -> q``; returns a GardnerSaddle."""
        k = self.kernel
        q, q_hat, norm_hat = float(q0), 0.0, 0.0
        history = []
        for it in range(1, max_iter + 1):
            q_hat = k(q, q_hat, norm_hat, alpha, kappa)[0]
            if self.free_norm:
                norm_hat = self._norm(q_hat, norm_hat, alpha, kappa)
            q_new = k(q, q_hat, norm_hat, alpha, kappa)[1]
            if not (math.isfinite(q_new) and math.isfinite(q_hat)):
                return GardnerSaddle(
                    alpha=alpha, kappa=kappa, converged=False, iterations=it,
                    message=f"the saddle-point iteration gave a non-finite value at q = {q:.6g}",
                )  # fmt: skip
            step = abs(q_new - q)
            history.append(step)
            q = (1 - damping) * q + damping * q_new
            if step < tol:
                break
        obs = dict(zip(k.observables, k.evaluate_observables(q, q_hat, norm_hat, alpha, kappa)))
        converged = bool(history) and history[-1] < tol
        return GardnerSaddle(
            alpha=alpha,
            kappa=kappa,
            q=q,
            q_hat=q_hat,
            Q_hat=norm_hat,
            phi=obs["phi"],
            entropy=obs["phi"] - obs["mean_log_mass"] if "mean_log_mass" in obs else None,
            converged=converged,
            iterations=len(history),
            residual=history[-1] if history else None,
            residuals=np.array(history),
            message=f"|q_new - q| < {tol:g}"
            if converged
            else f"no convergence in {max_iter} iterations (|dq| = {history[-1]:.2g})",
        )

    def _norm(self, q_hat, start, alpha, kappa):
        """``Q_hat`` with ``Q(Q_hat) = rho`` (``Q`` decreases with ``Q_hat``), by Brent."""
        k = self.kernel

        def gap(norm_hat):
            obs = k.evaluate_observables(0.0, q_hat, norm_hat, alpha, kappa)
            value = obs[k.observables.index("Q")] - self.rho
            return value if math.isfinite(value) else math.inf

        lo, hi, step = start, start, 1.0
        if gap(start) > 0:
            while gap(hi) > 0:
                hi, step = hi + step, 2 * step
        else:
            while gap(lo) <= 0:
                trial = lo - step
                if gap(trial) == math.inf:  # not normalisable there: come back halfway
                    step /= 2
                    if step < 1e-14:
                        break
                    continue
                lo, step = trial, 2 * step
        return brentq(gap, lo, hi, xtol=1e-14, rtol=1e-14)


def gardner_saddle(prior, alpha, kappa=0.0, *, q0=0.0, tol=1e-13, max_iter=5000, strict=False):
    r"""The RS saddle point of the Gardner volume (:func:`derive.gardner`) at one ``alpha``.

    Damped iteration of :math:`\hat q = \alpha\,\mathbb{E}\,g_\mathrm{out}^2(q)`,
    :math:`q = \mathbb{E} f_a^2(\hat Q + \hat q, \sqrt{\hat q}\xi)`, with :math:`\hat Q`
    solving :math:`Q = \rho` (by Brent's method) for weights of several moduli.

    Returns
    -------
    GardnerSaddle
    """
    kappa = number("kappa", kappa, positive=False)
    alpha = number("alpha", alpha, allow_zero=True)
    derive.gardner_kind(prior)
    return _saddle(prior).solve(alpha, kappa, q0, tol, max_iter).finish(strict)


_SADDLES = {}


def _saddle(prior, order=None):
    key = (derive.gardner(prior).key, order)
    if key not in _SADDLES:
        _SADDLES[key] = _Saddle(prior, order)
    return _SADDLES[key]


def _discrete(prior, kappa, xtol, alpha_max, check_quadrature):
    """The zero of the entropy, with the default quadrature, then finer ones (``ORDERS``) while
    the error bound of the rule exceeds ``QUADRATURE_TOL`` at the answer."""
    for order in ORDERS:
        res = _entropy_zero(_saddle(prior, order), kappa, xtol, alpha_max)
        if res.converged or res.error_bound is None:
            break
    if res.converged and check_quadrature:  # the same saddle point with twice the nodes
        check = _saddle(prior, 2 * _saddle(prior, order).order - 1).kernel
        values = check.evaluate_observables(res.q, res.q_hat, res.Q_hat, res.alpha_c, kappa)
        obs = dict(zip(check.observables, values))
        drift = abs(obs["phi"] - obs["mean_log_mass"] - res.entropy)
        if drift > QUADRATURE_TOL:
            res.converged = False
            res.message = f"the entropy at alpha_c moves by {drift:.2g} with twice the nodes"
    return res


def _entropy_zero(solver, kappa, xtol, alpha_max):
    method = "zero of the RS entropy (Gardner & Derrida 1988; Krauth & Mézard 1989), Brent in alpha"
    res = GardnerResult(kappa=kappa, kind="discrete", method=method)
    evaluations = []

    def entropy(alpha):
        s = solver.solve(alpha, kappa)
        evaluations.append(s)
        if not s.converged:
            raise _Unresolved(f"alpha = {alpha:.6g}: {s.message}")
        return s.entropy

    try:
        lo, hi = 0.0, 1.0
        if not entropy(lo) > 0:
            raise _Unresolved(f"the entropy at alpha = 0 is {evaluations[-1].entropy:.6g} <= 0")
        while entropy(hi) > 0:
            lo, hi = hi, 2 * hi
            if hi > alpha_max:
                raise _Unresolved(f"the entropy stays positive up to alpha = {alpha_max:g}")
        alpha_c = brentq(entropy, lo, hi, xtol=xtol, rtol=4 * np.finfo(float).eps)
    except _Unresolved as err:
        res.converged, res.message = False, str(err)
        res.iterations = len(evaluations)
        return res
    at = solver.solve(alpha_c, kappa)
    res.alpha_c, res.q, res.q_hat, res.Q_hat, res.entropy = (
        alpha_c, at.q, at.q_hat, at.Q_hat, at.entropy,
    )  # fmt: skip
    res.iterations = len(evaluations) + 1
    res.residual = abs(at.entropy)
    # the trapezoidal rule's error bound exp(-2 pi d / h) from the integrands' strip of
    # analyticity d (Trefethen & Weideman, SIAM Review 56, 385 (2014))
    res.error_bound = solver.quadrature_bound(at.q, at.q_hat) + xtol / alpha_c
    if res.error_bound > QUADRATURE_TOL:
        res.converged = False
        res.message = (
            f"at alpha_c = {alpha_c:.6g}, q = {at.q:.6g}, q_hat = {at.q_hat:.6g} the integrands "
            f"are too narrow for {solver.order} quadrature nodes "
            f"(error bound {res.error_bound:.2g})"
        )
        return res
    res.message = (
        f"entropy {at.entropy:.2g} at alpha_c; {solver.order} quadrature nodes, "
        f"error bound {res.error_bound:.2g}"
    )
    return res


class _Unresolved(Exception):
    """A step of the search could not be resolved; the message says which."""
