r"""Homogeneous (Weiss) mean-field: every site alike, with ``degree`` identical neighbours.

The equations are :func:`derive.meanfield` ``(model, degree=z)`` with the degree kept as a
symbol, so one compiled kernel serves every degree. For the Ising model
:math:`e = -J s_i s_j`, :math:`\phi = -h s_i` they read

.. math:: m = \tanh\beta(z J m + h)

(Weiss, J. Phys. Theor. Appl. 6, 661 (1907)). :func:`meanfield_homogeneous` solves them along
a sequence of inverse temperatures (or any parameter sweep), each point from the ordered start
or continued from the previous solution; :func:`meanfield_critical_temperature` finds where the
high-temperature solution loses stability.
"""

from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from scipy.optimize import brentq

import derive

from .compile import compile
from .errors import InputError
from .fixed_point import _kernel_map, fixed_point
from .results import Result

__all__ = [
    "meanfield_homogeneous",
    "meanfield_critical_temperature",
    "HomogeneousMeanField",
    "CriticalTemperature",
]


@derive.memoized
def _derived(model):
    """``derive.meanfield(model, degree=z)`` (``z`` symbolic), its kernel and the name of
    ``z``, derived once per model (keyed by content)."""
    taken = {p.name for p in getattr(model, "params", ())} | {derive.BETA.name}
    name = "z"
    while name in taken:
        name += "'"
    degree = sp.Symbol(name, positive=True)
    eqs = derive.meanfield(model, degree=degree)
    return eqs, compile(eqs), degree.name


@dataclass(kw_only=True, repr=False)
class HomogeneousMeanField(Result):
    """Solutions of the homogeneous mean-field equations along a sweep.

    Attributes
    ----------
    beta : ndarray, shape (n,)
    degree : float
    params : dict
        The parameter values (one number each, or an array of length ``n`` for a swept one).
    moments : tuple of str
        The names of the state (``("m",)`` for Ising spins).
    state : ndarray, shape (n, n_moments)
    point_converged : ndarray of bool, shape (n,)
    point_iterations : ndarray of int, shape (n,)
    branch : str
    """

    beta: np.ndarray = field(default_factory=lambda: np.zeros(0))
    degree: float = 0.0
    params: dict = field(default_factory=dict)
    moments: tuple = ()
    state: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    point_converged: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    point_iterations: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    branch: str = ""

    @property
    def m(self):
        """The first moment along the sweep (the magnetisation of Ising spins)."""
        return self.state[:, 0]


def _start(init, n_state):
    if isinstance(init, str):
        if init != "ordered":
            raise InputError(f"init must be 'ordered', a number or a sequence, got {init!r}")
        return np.ones(n_state)
    x0 = np.broadcast_to(np.asarray(init, dtype=float), (n_state,)).copy()
    if not np.all(np.isfinite(x0)):
        raise InputError("init contains NaN or inf")
    return x0


def _sweep(beta, params):
    """``beta`` and ``params`` broadcast to one length: ``(n, {name: array})``."""
    given = {str(k): v for k, v in dict(params or {}).items()}
    columns = {"__beta__": np.atleast_1d(np.asarray(beta, dtype=float))}
    for k, v in given.items():
        columns[k] = np.atleast_1d(np.asarray(v, dtype=float))
    try:
        arrays = np.broadcast_arrays(*columns.values())
    except ValueError:
        raise InputError(
            "beta and the params must be numbers or arrays of one common length, got "
            + ", ".join(f"{k.strip('_')}: {np.shape(v)}" for k, v in columns.items())
        ) from None
    out = dict(zip(columns, arrays))
    b = out.pop("__beta__")
    if b.ndim != 1:
        raise InputError(f"beta must be a number or a 1-d array, got shape {b.shape}")
    if not np.all(np.isfinite(b) & (b > 0)):
        raise InputError("beta must be finite and positive")
    return b, out


def meanfield_homogeneous(
    model,
    degree,
    beta,
    params=None,
    init="ordered",
    branch="ordered",
    tol=1e-12,
    max_iter=100_000,
    anderson=2,
    strict=False,
):
    r"""Solve the homogeneous mean-field equations of ``model`` with ``degree`` neighbours.

    .. math::
        q(s) \propto \exp\Big(-\beta\big[\phi(s) + z \sum_{s'} q(s')\, e(s, s')\big]\Big)

    reduced to the moments of :func:`derive.meanfield` (``degree=z``); for Ising spins
    :math:`m = \tanh\beta(zJm + h)` (Weiss 1907).

    Parameters
    ----------
    model : derive.PairwiseModel
    degree : float
        The number of neighbours ``z`` (any positive number: ``N - 1`` on the complete graph).
    beta : float or array
        Inverse temperature(s); an array makes a sweep, solved in the given order.
    params : dict
        The model's parameters by name; a value may be an array of the sweep's length (a
        sweep in ``h`` at fixed ``beta``).
    init : "ordered", number or sequence
        The start: every moment at 1 (``"ordered"``: the all-up state of ``+-1`` spins).
    branch : {"ordered", "follow"}
        ``"ordered"``: each point from ``init``, so the sweep is the branch that the ordered
        start selects at every point; ``"follow"``: the first point from ``init``, each next
        one from the previous solution (continuation along the sweep, which keeps a
        metastable branch up to its spinodal: hysteresis).
    tol, max_iter, anderson :
        Passed to :func:`numerics.fixed_point` at each point.
    strict : bool
        Raise :class:`numerics.ConvergenceError` if a point did not converge.

    Returns
    -------
    HomogeneousMeanField
        ``converged`` when every point converged; ``residual`` the largest last residual.

    Examples
    --------
    >>> import sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
    >>> ising = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
    >>> r = meanfield_homogeneous(ising, 4, beta=0.5, params={"J": 1.0, "h": 0.0})
    >>> r.converged, round(float(r.m[0]), 6)  # m = tanh(2 m)
    (True, 0.957504)
    """
    if branch not in ("ordered", "follow"):
        raise InputError(f"branch must be 'ordered' or 'follow', got {branch!r}")
    degree = float(degree)
    if not (np.isfinite(degree) and degree > 0):
        raise InputError(f"degree must be a finite positive number, got {degree}")
    eqs, kernel, z_name = _derived(model)
    if z_name in {str(k) for k in dict(params or {})}:
        raise InputError(f"params: {z_name!r} is the degree, an argument of its own")
    betas, columns = _sweep(beta, params)
    x0 = _start(init, len(kernel.outputs))
    n = betas.size
    state = np.empty((n, len(kernel.outputs)))
    ok = np.zeros(n, dtype=bool)
    its = np.zeros(n, dtype=int)
    last, messages = [], []
    x = x0
    for k in range(n):
        values = {name: col[k] for name, col in columns.items()}
        values.update({derive.BETA.name: betas[k], z_name: degree})
        start = x0 if branch == "ordered" or k == 0 else x
        fp = fixed_point(
            kernel, start, params=values, tol=tol, max_iter=max_iter, anderson=anderson
        )
        x = fp.x
        state[k], ok[k], its[k] = fp.x, fp.converged, fp.iterations
        last.append(fp.residual if fp.residual is not None else np.inf)
        if not fp.converged:
            messages.append(f"point {k} (beta = {betas[k]:.6g}): {fp.message}")
    result = HomogeneousMeanField(
        beta=betas,
        degree=degree,
        params={k: (v if np.ptp(v) else float(v[0])) for k, v in columns.items()},
        moments=kernel.outputs,
        state=state,
        point_converged=ok,
        point_iterations=its,
        branch=branch,
        converged=bool(ok.all()),
        iterations=int(its.sum()),
        residual=float(max(last)) if last else None,
        residuals=np.array(last),
        message="; ".join(messages) or f"{n} points converged",
    )
    return result.finish(strict)


@dataclass(kw_only=True, repr=False)
class CriticalTemperature(Result):
    """Where the high-temperature homogeneous mean-field solution loses stability.

    Attributes
    ----------
    T, beta : float
        ``nan`` if no instability was found (``converged=False``).
    degree : float
    eigenvalue : str
        How the instability was detected.
    """

    T: float = float("nan")
    beta: float = float("nan")
    degree: float = 0.0
    eigenvalue: str = "largest real part of the Jacobian of the map at its fixed point = 1"


def meanfield_critical_temperature(
    model, degree, params=None, beta_max=1e6, xtol=1e-12, strict=False
):
    r"""The temperature where the homogeneous mean-field high-temperature solution turns unstable.

    Following the fixed point :math:`x^*(\beta)` reached from ``x = 0`` (the paramagnet
    at ``h = 0``), the largest real part of the eigenvalues of the Jacobian
    :math:`\partial F / \partial x` at :math:`x^*` (by central differences of the compiled
    map) crosses 1 at :math:`\beta_c`; bracketed by doubling :math:`\beta` from
    :math:`2^{-20}`, then ``brentq``. For Ising spins at :math:`h = 0`,
    :math:`\partial_m \tanh(\beta z J m)|_0 = \beta z J`, so :math:`T_c = zJ` (Weiss 1907).

    Parameters
    ----------
    model : derive.PairwiseModel
    degree : float
    params : dict
        The model's parameters by name (numbers).
    beta_max : float
        Give up (``converged=False``) if the instability is not found below it.
    xtol : float
        Tolerance of ``brentq`` in ``beta``.
    strict : bool

    Returns
    -------
    CriticalTemperature

    Examples
    --------
    >>> import sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
    >>> ising = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
    >>> round(meanfield_critical_temperature(ising, 4, {"J": 1.0, "h": 0.0}).T, 9)
    4.0
    """
    degree = float(degree)
    if not (np.isfinite(degree) and degree > 0):
        raise InputError(f"degree must be a finite positive number, got {degree}")
    eqs, kernel, z_name = _derived(model)
    given = {str(k): v for k, v in dict(params or {}).items()}
    n_state = len(kernel.outputs)
    calls = [0]

    def growth(beta):
        calls[0] += 1
        values = {**given, derive.BETA.name: beta, z_name: degree}
        fp = fixed_point(kernel, np.zeros(n_state), params=values, tol=1e-14, max_iter=100_000)
        step = _kernel_map(kernel, values)
        eps = 1e-6
        jac = np.empty((n_state, n_state))
        for j in range(n_state):
            d = np.zeros(n_state)
            d[j] = eps
            jac[:, j] = (step(fp.x + d) - step(fp.x - d)) / (2 * eps)
        return float(np.max(np.linalg.eigvals(jac).real)) - 1.0

    lo, hi = None, 2.0**-20
    while hi <= beta_max and growth(hi) < 0:
        lo, hi = hi, 2 * hi
    if hi > beta_max or lo is None:
        why = (
            f"no instability of the high-temperature solution for beta <= {beta_max:g}"
            if lo is not None
            else f"already unstable at beta = {hi:g}"
        )
        result = CriticalTemperature(
            degree=degree, converged=False, iterations=calls[0], message=why
        )
        return result.finish(strict)
    beta_c, info = brentq(growth, lo, hi, xtol=xtol, rtol=1e-14, full_output=True, disp=False)
    result = CriticalTemperature(
        T=1.0 / beta_c,
        beta=float(beta_c),
        degree=degree,
        converged=bool(info.converged),
        iterations=calls[0],
        residual=abs(growth(beta_c)),
        message=f"brentq on beta in [{lo:g}, {hi:g}]: {info.flag}",
    )
    return result.finish(strict)
