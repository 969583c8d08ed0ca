r"""``integrate``: solve the initial-value problem of ``kind="ode"`` equations.

The right-hand side is the compiled kernel's ``rhs`` (one code generator for every
family); :func:`scipy.integrate.solve_ivp` does the stepping. The state is bound by
name (the equations' ``"state"`` role), the parameters by name, never by position.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp

from .compile import compile
from .errors import InputError
from .printer import default_order
from .results import Result

__all__ = ["integrate", "ODEResult", "QUADRATURE_RESOLUTION"]

METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")


@dataclass(kw_only=True, repr=False)
class ODEResult(Result):
    """A solved initial-value problem.

    Attributes
    ----------
    t : ndarray, shape (n,)
    y : ndarray, shape (n, n_state)
        The state at each time, columns in :attr:`state` order.
    state : tuple of str
        The names of the state variables.
    nfev : int
        Evaluations of the right-hand side.
    quadrature_resolution : float or None
        For right-hand sides with Gaussian averages left to quadrature: the largest change
        of the right-hand side at the stored states checked (first, middle, last) when every
        average is recomputed on 1.5 times as many nodes per variable, relative to the
        largest right-hand side there (None without quadrature, or unchecked).
    """

    t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    y: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    state: tuple = ()
    nfev: int = 0
    quadrature_resolution: float = None

    def __getitem__(self, name):
        """The trajectory of one state variable, by name."""
        if name not in self.state:
            raise KeyError(f"no state variable {name!r}; the state is {list(self.state)}")
        return self.y[:, self.state.index(name)]


def _initial(kernel, y0):
    state = tuple(s.name for s in kernel.equations.state)
    if hasattr(y0, "items"):
        given = {str(k): v for k, v in y0.items()}
        unknown = sorted(set(given) - set(state))
        missing = [n for n in state if n not in given]
        if unknown or missing:
            raise InputError(
                f"y0: the state of '{kernel.equations.name}' is {list(state)}"
                + (f"; unknown {unknown}" if unknown else "")
                + (f"; missing {missing}" if missing else "")
            )
        y0 = [given[n] for n in state]
    y0 = np.array(y0, dtype=float).ravel()
    if y0.shape != (len(state),):
        raise InputError(f"y0 must have {len(state)} entries {list(state)}, got {y0.size}")
    if not np.all(np.isfinite(y0)):
        raise InputError("y0 contains NaN or inf")
    return y0


def integrate(
    equations,
    y0,
    t_span,
    params=None,
    *,
    method="RK45",
    t_eval=None,
    rtol=1e-8,
    atol=1e-10,
    max_step=np.inf,
    check_quadrature=True,
    strict=False,
):
    r"""Integrate :math:`dy/dt = F(t, y; \theta)` from ``t_span[0]`` to ``t_span[1]``.

    Parameters
    ----------
    equations : derive.Equations or numerics.Kernel
        ``kind="ode"``: output ``y`` is ``dy/dt``.
    y0 : mapping name -> float, or array in the state order
    t_span : (float, float)
    params : mapping name -> float
        Every other argument of the equations (by name; unknown names are refused).
    method : str
        A :func:`scipy.integrate.solve_ivp` method: one of :data:`METHODS`.
    t_eval : array, optional
        Times at which to store the solution (default: the solver's steps).
    rtol, atol, max_step : float
        Passed to ``solve_ivp``.
    check_quadrature : bool
        When the right-hand side holds Gaussian averages left to quadrature, recompute it
        at the first, middle and last stored states on 1.5 times as many nodes per variable
        (a second compiled kernel); a change above :data:`QUADRATURE_RESOLUTION` relative to
        the largest right-hand side makes the result not converged, with the figure in the
        message (``quadrature_resolution``).
    strict : bool
        Raise :class:`~numerics.ConvergenceError` if the integration fails.

    Returns
    -------
    ODEResult

    Examples
    --------
    >>> import sympy as sp
    >>> from derive import Equations
    >>> t, x, k = sp.symbols("t x k")
    >>> decay = Equations("decay", "ode", [t, x], [k], {x: -k * x}, time=t)
    >>> r = integrate(decay, {"x": 1.0}, (0.0, 2.0), {"k": 0.5}, t_eval=[2.0])
    >>> round(float(r["x"][-1]), 8), round(float(np.exp(-1.0)), 8)
    (0.36787944, 0.36787944)
    """
    kernel = equations if hasattr(equations, "module") else compile(equations)
    eqs = kernel.equations
    if eqs.kind != "ode":
        raise InputError(
            f"integrate needs equations of kind 'ode', got {eqs.kind!r} ('{eqs.name}')"
        )
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; use one of {METHODS}")
    y0 = _initial(kernel, y0)
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise InputError(f"t_span must be two numbers, got {t_span!r}") from None
    if not (np.isfinite(t0) and np.isfinite(t1)) or t1 <= t0:
        raise InputError(f"t_span must be finite with t_span[1] > t_span[0], got {t_span!r}")
    state = tuple(s.name for s in eqs.state)
    time = eqs.time.name if eqs.time is not None else None
    names = [n for n in kernel.arguments if n not in state and n != time]
    given = {str(k): v for k, v in dict(params or {}).items()}
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InputError(
            f"params: '{eqs.name}' has no parameter(s) {unknown}; its parameters are {names}"
        )
    bound = kernel.bind({**given, **dict(zip(state, y0)), **({time: t0} if time else {})})
    p = np.array([bound[kernel.arguments.index(n)] for n in names], dtype=float)
    rhs = kernel.module.rhs
    out = np.empty_like(y0)

    def fun(t, y):
        rhs(t, y, p, out)
        return out.copy()

    sol = solve_ivp(
        fun, (t0, t1), y0, method=method, t_eval=t_eval, rtol=rtol, atol=atol, max_step=max_step
    )
    y = sol.y.T
    finite = bool(np.all(np.isfinite(y)))
    converged = bool(sol.success) and finite
    message = sol.message if finite else "the solution is not finite"
    resolution = None
    if check_quadrature and finite and y.shape[0] and _uses_quadrature(eqs):
        finer = compile(eqs, kernel.quadrature, _finer(kernel))
        resolution = _resolution(rhs, finer.module.rhs, sol.t, y, p)
        message += f"; quadrature resolved to {resolution:.1g} (relative)"
        if not resolution <= QUADRATURE_RESOLUTION:
            converged = False
            message += (
                f", above {QUADRATURE_RESOLUTION:g}: the Gaussian averages need more nodes (order=)"
            )
    return ODEResult(
        t=sol.t,
        y=y,
        state=state,
        nfev=int(sol.nfev),
        quadrature_resolution=resolution,
        converged=converged,
        iterations=int(sol.t.size),
        message=message,
    ).finish(strict)


#: Largest relative change of the right-hand side on 1.5 times the quadrature nodes for which
#: an integration is reported converged.
QUADRATURE_RESOLUTION = 1e-4


def _uses_quadrature(eqs):
    return any(m == "gaussian quadrature" for m in eqs.methods.values())


def _finer(kernel):
    """Nodes per variable, by dimension, 1.5 times those of ``kernel`` (odd counts)."""
    dims = range(1, 9)
    given = kernel.order

    def base(d):
        if isinstance(given, int):
            return given
        return (given or {}).get(d) or default_order(kernel.quadrature, d)

    return {d: int(1.5 * base(d)) | 1 for d in dims}


def _resolution(rhs, finer, t, y, p):
    """max |F - F_finer| / max |F_finer| over the first, middle and last states."""
    change = scale = 0.0
    for k in sorted({0, len(t) // 2, len(t) - 1}):
        coarse, fine = np.empty(y.shape[1]), np.empty(y.shape[1])
        rhs(t[k], y[k], p, coarse)
        finer(t[k], y[k], p, fine)
        change = max(change, float(np.max(np.abs(coarse - fine))))
        scale = max(scale, float(np.max(np.abs(fine))))
    return change / scale if scale > 0 else change
