r"""Phase-transition thresholds of a GLM from its state evolution, by root-finding on the SE.

With :math:`V = \rho - q` and the state-evolution map :math:`V \mapsto V_\mathrm{in}(\hat q(V))`
(:mod:`numerics.state_evolution`), write its relative step
:math:`r(V; \alpha) = 1 - V_\mathrm{in}(\hat q(V))/V`: ``q`` grows where ``r > 0``.

* **Algorithmic threshold** :math:`\alpha_\mathrm{alg}`: the uninformed fixed point (the
  largest root of ``r``) merges with the unstable one and disappears (a saddle-node). Below
  it ``r`` dips below 0 between the two roots; at it the dip touches 0. So
  :math:`\alpha_\mathrm{alg}` is the root in ``alpha`` of
  :math:`m(\alpha) = \min_{V} r(V; \alpha)` over :math:`V \in [(1 - \mathrm{jump})\rho, \rho]`,
  a smooth function of ``alpha`` (:math:`m' = \partial_\alpha r` at the minimum): the
  minimum is located on a grid and refined by a bounded scalar minimisation, the root by
  Brent's method. No SE is iterated near the spinodal (critical slowing down).
* **Information-theoretic threshold** :math:`\alpha_\mathrm{IT}`: where the free entropies
  of the uninformed fixed point (a root of ``r``, by Brent's method) and of the informed one
  (:func:`numerics.state_evolution` from ``"informed"``) cross.

A state evolution that does not converge, a root that is not bracketed or a free entropy
that is not finite makes the threshold ``None`` and the result ``converged=False``, with
the reason: never a value.

References
----------
Barbier, Krzakala, Macris, Miolane & Zdeborová, PNAS 116, 5451 (2019); Györgyi, Phys. Rev.
A 41, 7097 (1990) (binary perceptron: alpha_IT = 1.245, alpha_alg = 1.493).
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from .errors import InputError
from .results import Result
from .state_evolution import _bound, _check_alpha, _iterate

__all__ = ["thresholds", "Thresholds"]


class _Unresolved(Exception):
    """A quantity inside the search could not be resolved; the message says which."""


@dataclass(kw_only=True, repr=False)
class Thresholds(Result):
    r"""``alpha_alg``: the uninformed branch disappears; ``alpha_it``: the free entropies cross.

    Attributes
    ----------
    alpha_alg, alpha_it : float or None
        ``None`` where the search could not resolve it (then ``converged`` is False and
        ``message`` says why), or ``alpha_it`` when ``information=False``.
    overlap_spinodal : float or None
        ``q`` where the uninformed branch disappears.
    xtol : float
        The tolerance the thresholds are located to (Brent's method in ``alpha``).
    iterations, residual
        Evaluations of the SE map; :math:`|\min_V r|` at ``alpha_alg``.
    """

    alpha_alg: float = None
    alpha_it: float = None
    overlap_spinodal: float = None
    xtol: float = None


def thresholds(
    glm,
    alphas=(0.5, 3.0),
    params=None,
    jump=0.99,
    xtol=1e-7,
    grid=None,
    information=True,
    strict=False,
):
    r"""Algorithmic and information-theoretic thresholds of a GLM.

    Parameters
    ----------
    glm : derive.GLM
    alphas : (float, float)
        Bracket in which the uninformed branch disappears.
    params : dict, optional
        The model's parameters by name.
    jump : float
        In ``(0, 1)``: only fixed points with ``q <= jump * rho`` count as the uninformed
        branch.
    xtol : float
        Absolute tolerance of the thresholds in ``alpha``; the state evolution inside is
        solved to relative tolerance ``1e-3 * xtol`` (its roots to ``1e-14``).
    grid : array, optional
        Values of ``V / rho`` in ``[1 - jump, 1]`` scanned for the minimum of ``r`` and the
        roots; default 160 points, geometric.
    information : bool
        Also locate ``alpha_it`` (else it is None): needs a finite free entropy on the
        informed branch (not the noiseless limit of a continuous prior, where it diverges).
    strict : bool
        Raise :class:`~numerics.ConvergenceError` instead of returning ``converged=False``.

    Returns
    -------
    Thresholds
    """
    try:
        lo, hi = alphas
    except (TypeError, ValueError):
        raise InputError(f"alphas must be a pair (low, high), got {alphas!r}") from None
    lo, hi = _check_alpha(lo), _check_alpha(hi)
    if not lo < hi:
        raise InputError(f"alphas must be an increasing pair, got {alphas}")
    xtol = float(xtol)
    if not xtol > 0:
        raise InputError(f"xtol must be > 0, got {xtol}")
    jump = float(jump)
    if not 0 < jump < 1:
        raise InputError(f"jump must be in (0, 1), got {jump}")
    se = _bound(glm, params)
    rho = se.rho
    if grid is None:
        grid = np.geomspace(1.0, 1.0 - jump, 160)
    grid = np.asarray(grid, dtype=float)
    inside = (grid >= (1 - jump) * (1 - 1e-12)) & (grid <= 1)
    if grid.ndim != 1 or grid.size < 3 or not np.all(inside):
        raise InputError(f"grid must hold >= 3 values of V / rho in [{1 - jump:g}, 1]")
    v_grid = np.sort(grid)[::-1] * rho  # from V = rho (q = 0) down
    count = [0]

    def r(V, alpha):
        count[0] += 1
        value = 1.0 - se.v_in(se.q_hat(V, alpha)) / V
        if not np.isfinite(value):
            raise _Unresolved(f"the SE map is not finite at alpha = {alpha}, V = {V:.6g}")
        return value

    def dip(alpha):
        """(min_V r, argmin V): the grid's minimum refined by a bounded minimisation in log V."""
        values = np.array([r(v, alpha) for v in v_grid])
        k = int(np.argmin(values))
        a, b = v_grid[min(k + 1, v_grid.size - 1)], v_grid[max(k - 1, 0)]
        if a == b:
            return values[k], v_grid[k]
        best = minimize_scalar(
            lambda y: r(np.exp(y), alpha),
            bounds=(np.log(a), np.log(b)),
            method="bounded",
            options=dict(xatol=1e-12),
        )
        if best.fun < values[k]:
            return float(best.fun), float(np.exp(best.x))
        return float(values[k]), float(v_grid[k])

    def uninformed_root(alpha):
        """The largest V with r = 0 (smallest q), by Brent's method in log V: scanned from
        V = rho down to the minimum of r (which is < 0 while the branch exists)."""
        value, v_dip = dip(alpha)
        if not value < 0:
            raise _Unresolved(f"no uninformed fixed point with q <= {jump} rho at alpha = {alpha}")
        points = [v for v in v_grid if v > v_dip] + [v_dip]
        previous = r(points[0], alpha)
        for k in range(1, len(points)):
            current = r(points[k], alpha)
            if previous > 0 and current <= 0:
                y, info = brentq(
                    lambda y: r(np.exp(y), alpha),
                    np.log(points[k]),
                    np.log(points[k - 1]),
                    xtol=1e-14,
                    full_output=True,
                )
                if not info.converged:
                    raise _Unresolved(f"Brent's method found no root of the SE at alpha = {alpha}")
                return float(np.exp(y))
            previous = current
        raise _Unresolved(f"r does not change sign above its minimum at alpha = {alpha}")

    messages = []
    alpha_alg = alpha_it = q_spin = residual = None
    try:
        m_lo, m_hi = dip(lo)[0], dip(hi)[0]
        if not (m_lo < 0 < m_hi):
            raise InputError(
                f"the uninformed branch must exist at alpha = {lo} and be gone at "
                f"alpha = {hi} (min r = {m_lo:.3g}, {m_hi:.3g}); widen alphas"
            )
        alpha_alg, info = brentq(
            lambda a: dip(a)[0], lo, hi, xtol=xtol / 10, rtol=1e-15, full_output=True
        )
        if not info.converged:
            raise _Unresolved("Brent's method did not converge on alpha_alg")
        m_alg, v_spin = dip(alpha_alg)
        q_spin, residual = rho - v_spin, abs(m_alg)
        messages.append(f"alpha_alg: the SE's minimum relative step is 0 to xtol = {xtol:g}")
    except _Unresolved as err:
        messages.append(f"alpha_alg unresolved: {err}")
        alpha_alg = None

    if information and alpha_alg is not None:
        se_tol = 1e-3 * xtol

        def phi_uninformed(alpha):
            V = uninformed_root(alpha)
            phi, note = se.free_entropy(V, alpha)
            if note or not np.isfinite(phi):
                raise _Unresolved(f"uninformed free entropy at alpha = {alpha}: {phi} {note}")
            return phi

        def phi_informed(alpha):
            res = _iterate(se, alpha, 1e-6 * rho, se_tol, 20_000, 0.0)
            if not res.converged or not np.isfinite(res.free_entropy):
                raise _Unresolved(
                    f"the informed SE at alpha = {alpha} did not converge: {res.message}"
                )
            return res.free_entropy

        def difference(alpha):
            return phi_uninformed(alpha) - phi_informed(alpha)

        try:
            top = alpha_alg - 1e-3 * (alpha_alg - lo)
            d_lo, d_top = difference(lo), difference(top)
            if not (d_lo > 0 > d_top):
                raise _Unresolved(
                    f"the free entropies do not cross in [{lo}, {top:.6g}] "
                    f"(uninformed - informed = {d_lo:.3g}, {d_top:.3g})"
                )
            alpha_it, info = brentq(difference, lo, top, xtol=xtol / 10, full_output=True)
            if not info.converged:
                raise _Unresolved("Brent's method did not converge on alpha_it")
            messages.append(f"alpha_it: the free entropies cross, to xtol = {xtol:g}")
        except _Unresolved as err:
            messages.append(f"alpha_it unresolved: {err}")
            alpha_it = None

    converged = alpha_alg is not None and (alpha_it is not None or not information)
    result = Thresholds(
        converged=converged,
        iterations=count[0],
        residual=residual,
        message="; ".join(messages),
        alpha_alg=None if alpha_alg is None else float(alpha_alg),
        alpha_it=None if alpha_it is None else float(alpha_it),
        overlap_spinodal=None if q_spin is None else float(q_spin),
        xtol=xtol,
    )
    return result.finish(strict)
