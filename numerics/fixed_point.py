"""``fixed_point``: damped (optionally Anderson-accelerated) iteration ``x = F(x)``.

Non-convergence is never hidden: the result carries ``converged``, the number
of iterations, the residual history and a message; a non-finite value stops the
iteration with ``converged=False`` (or raises :class:`ConvergenceError` when
``strict=True``).
"""

from dataclasses import dataclass, field

import numpy as np

from .errors import ConvergenceError

__all__ = ["fixed_point", "FixedPointResult"]


@dataclass
class FixedPointResult:
    """Result of :func:`fixed_point`.

    Attributes
    ----------
    x : ndarray
        The last iterate (the fixed point if ``converged``).
    converged : bool
    iterations : int
    residuals : ndarray
        ``max |F(x_t) - x_t|`` at each iteration.
    message : str
    """

    x: np.ndarray
    converged: bool
    iterations: int
    residuals: np.ndarray = field(repr=False)
    message: str = ""


def _as_map(F, params):
    if hasattr(F, "module") and hasattr(F, "arguments"):  # a compiled Kernel
        kernel = F
        n_state = len(kernel.outputs)
        names = list(kernel.arguments[n_state:])
        params = dict(params or {})
        missing = [n for n in names if n not in params]
        if missing:
            raise ValueError(f"fixed_point: no value for parameter(s) {missing} of the kernel")
        values = [float(params[n]) for n in names]
        return lambda x: np.asarray(kernel.module.outputs(*x, *values), dtype=float)
    if params:
        raise ValueError("params= is only used when F is a compiled Kernel")
    return lambda x: np.asarray(F(x), dtype=float)


def fixed_point(
    F, x0, params=None, damping=0.0, tol=1e-10, max_iter=10_000, anderson=0, strict=False
):
    r"""Solve :math:`x = F(x)` by damped iteration.

    .. math:: x_{t+1} = (1 - d)\, F(x_t) + d\, x_t

    With ``anderson = m > 0`` the update is Anderson's mixing over the last
    ``m`` residuals (Walker & Ni, SIAM J. Numer. Anal. 49, 1715 (2011)),
    falling back to the damped step when the least-squares problem is singular.

    Parameters
    ----------
    F : callable or numerics.Kernel
        Maps an array to an array of the same shape. A ``Kernel`` of
        ``kind="fixed_point"`` equations is used as ``x -> outputs(*x, *params)``.
    x0 : array_like
        Starting point.
    params : dict, optional
        Parameter values by name, when ``F`` is a Kernel.
    damping : float in [0, 1)
    tol : float
        Stop when ``max |F(x) - x| < tol``.
    max_iter : int
    anderson : int
        Memory of Anderson acceleration; 0 switches it off.
    strict : bool
        Raise :class:`ConvergenceError` instead of returning ``converged=False``.

    Returns
    -------
    FixedPointResult

    Examples
    --------
    >>> import numpy as np
    >>> r = fixed_point(lambda x: np.cos(x), [1.0])
    >>> r.converged, round(float(r.x[0]), 10)
    (True, 0.7390851332)
    """
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    if int(max_iter) < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    step = _as_map(F, params)
    x = np.array(x0, dtype=float)
    if not np.all(np.isfinite(x)):
        raise ValueError("fixed_point: x0 contains NaN or inf")
    residuals, past_x, past_r = [], [], []
    message = f"no convergence to tol={tol} in {max_iter} iterations"
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        fx = step(x)
        if fx.shape != x.shape:
            raise ValueError(f"F changed the shape of x: {x.shape} -> {fx.shape}")
        if not np.all(np.isfinite(fx)):
            message = f"F(x) is not finite at iteration {it}"
            residuals.append(np.inf)
            break
        r = fx - x
        res = float(np.max(np.abs(r))) if r.size else 0.0
        residuals.append(res)
        if res < tol:
            x, converged, message = fx, True, f"converged in {it} iterations"
            break
        new = (1.0 - damping) * fx + damping * x
        if anderson:
            past_x.append(x.ravel().copy())
            past_r.append(r.ravel().copy())
            del past_x[: -anderson - 1], past_r[: -anderson - 1]
            if len(past_r) > 1:
                dR = np.diff(np.array(past_r), axis=0).T
                dX = np.diff(np.array(past_x), axis=0).T
                gamma, *_ = np.linalg.lstsq(dR, r.ravel(), rcond=None)
                candidate = (
                    x.ravel() + (1.0 - damping) * r.ravel() - (dX + (1.0 - damping) * dR) @ gamma
                )
                if np.all(np.isfinite(candidate)):
                    new = candidate.reshape(x.shape)
        x = new
    result = FixedPointResult(x, converged, it, np.array(residuals), message)
    if strict and not converged:
        raise ConvergenceError(message, result)
    return result
