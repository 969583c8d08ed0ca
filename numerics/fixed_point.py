"""``fixed_point``: damped (optionally Anderson-accelerated) iteration ``x = F(x)``.

Non-convergence is never hidden: the result carries ``converged``, the number
of iterations, the residual history and a message; a non-finite value stops the
iteration with ``converged=False`` (or raises :class:`ConvergenceError` when
``strict=True``).
"""

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .results import Result

__all__ = ["fixed_point", "FixedPointResult"]


@dataclass(kw_only=True, repr=False)
class FixedPointResult(Result):
    """Result of :func:`fixed_point` (the common fields of :class:`numerics.Result`).

    Attributes
    ----------
    x : ndarray
        The last iterate (the fixed point if ``converged``).
    residuals : ndarray
        ``max |F(x_t) - x_t|`` at each iteration; ``residual`` is the last one.
    """

    x: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _as_map(F, params):
    """``x -> F(x)`` as a float array; a compiled Kernel is bound by role and name."""
    if hasattr(F, "module") and hasattr(F, "bind"):  # a compiled Kernel
        return _kernel_map(F, params)
    if params:
        raise InputError("params= is only used when F is a compiled Kernel")
    return lambda x: np.asarray(F(x), dtype=float)


def _kernel_map(kernel, params):
    """The map ``x -> outputs`` of a ``kind="fixed_point"`` kernel.

    Output ``k`` is the new value of the state argument of the same name (role
    ``"state"``); every other argument is bound by name from ``params``, once.
    """
    state = kernel.names("state")
    if sorted(state) != sorted(kernel.outputs):
        raise InputError(
            f"fixed_point: the kernel of '{kernel.equations.name}' is not a fixed point: its "
            f"state arguments {list(state)} are not its outputs {list(kernel.outputs)}"
        )
    given = {str(k): v for k, v in dict(params or {}).items()}
    clash = sorted(set(given) & set(state))
    if clash:
        raise InputError(f"fixed_point: {clash} are the state x, not parameters")
    values = list(kernel.bind(given, **{n: 0.0 for n in state}))
    slots = [kernel.arguments.index(n) for n in kernel.outputs]

    def step(x):
        for slot, v in zip(slots, x):
            values[slot] = v
        return np.asarray(kernel.module.outputs(*values), dtype=float)

    return step


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
        Parameter values by name, when ``F`` is a Kernel (every argument that is not
        a state; :class:`InputError` lists them if one is missing or unknown).
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
        raise InputError(f"damping must be in [0, 1), got {damping}")
    if int(max_iter) < 1:
        raise InputError(f"max_iter must be at least 1, got {max_iter}")
    step = _as_map(F, params)
    x = np.array(x0, dtype=float)
    if not np.all(np.isfinite(x)):
        raise InputError("fixed_point: x0 contains NaN or inf")
    residuals, past_x, past_r = [], [], []
    message = f"no convergence to tol={tol} in {max_iter} iterations"
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        fx = step(x)
        if fx.shape != x.shape:
            raise InputError(f"F changed the shape of x: {x.shape} -> {fx.shape}")
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
    result = FixedPointResult(
        x=x,
        converged=converged,
        iterations=it,
        residual=residuals[-1] if residuals else None,
        residuals=np.array(residuals),
        message=message,
    )
    return result.finish(strict)
