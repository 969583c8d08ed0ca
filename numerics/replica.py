"""Solve the replica-symmetric saddle point of :func:`derive.replica_symmetric`."""

from dataclasses import dataclass

import numpy as np

import derive

from .compile import compile
from .errors import InputError
from .fixed_point import fixed_point
from .results import Result

__all__ = ["replica_symmetric", "RSResult", "quadrature_order"]


@dataclass(kw_only=True, repr=False)
class RSResult(Result):
    """A replica-symmetric solution (and the common fields of :class:`numerics.Result`).

    Attributes
    ----------
    m, q, Q : float
        Magnetisation, Edwards--Anderson overlap and self-overlap (``Q`` is the
        constant ``sigma^2`` for Ising spins).
    free_energy, energy, entropy : float
        Per spin.
    at : float
        :math:`\\beta^2 J^2 \\mathbb{E}_z(\\langle\\sigma^2\\rangle - \\langle\\sigma\\rangle^2)^2`;
        the RS solution is stable (``at_stable``) while it is below 1.
    phase : str
        ``"paramagnetic"``, ``"ferromagnetic"``, ``"spin glass"`` or ``"mixed"``
        (ferromagnetic with broken replica symmetry); thresholds 1e-6 on m and q.
    residuals : ndarray
        ``max |F(x) - x|`` of the saddle-point iteration, per iteration.
    """

    m: float = float("nan")
    q: float = float("nan")
    Q: float = float("nan")
    free_energy: float = float("nan")
    energy: float = float("nan")
    entropy: float = float("nan")
    at: float = float("nan")
    phase: str = ""

    def __post_init__(self):
        if not self.phase:
            self.phase = _phase(self.m, self.q, self.at)

    @property
    def at_stable(self):
        """Replica symmetry is locally stable (de Almeida--Thouless)."""
        return self.at < 1.0


def _phase(m, q, at):
    if abs(m) > 1e-6:
        return "ferromagnetic" if at < 1.0 else "mixed"
    return "spin glass" if q > 1e-6 else "paramagnetic"


def quadrature_order(beta, J, spread=2.0):
    """Trapezoid nodes on [-12, 12] with spacing <= 1 / (beta J spread).

    ``spread`` is :func:`derive.replica.coupling_spread` (2 for Ising spins):
    the weights of the site law change on that scale in the Gaussian variable.
    """
    return int(max(241, 2 * int(12 * beta * J * spread) + 1))


@derive.memoized
def _derived(model):
    """``derive.replica_symmetric(model)``, its symbols by meaning and the quadrature scale
    :func:`derive.replica.coupling_spread`, derived once per model (keyed by content)."""
    eqs = derive.replica_symmetric(model)
    names = {k: s.name for k, s in derive.replica.rs_symbols(model).items()}
    return eqs, names, float(derive.replica.coupling_spread(model))


def spread(model):
    """:func:`derive.replica.coupling_spread` of ``model`` as a float (memoised)."""
    return _derived(model)[2]


def replica_symmetric(
    model,
    beta,
    J0=0.0,
    J=1.0,
    params=None,
    init="ordered",
    damping=0.0,
    tol=1e-12,
    max_iter=100_000,
    order=None,
    strict=False,
):
    r"""Solve the RS equations of ``model`` with couplings :math:`N(J_0/N, J^2/N)`.

    Parameters
    ----------
    model : derive.PairwiseModel
        With a bilinear pair energy (else :class:`derive.ModelError`).
    beta : float
    J0, J : float
        Mean and standard deviation (times ``sqrt(N)``) of the couplings.
    params : dict, optional
        Node parameters (e.g. ``{"h": 0.0, "D": 0.5}``), by name.
    init : {"ordered", "paramagnetic", "glassy"}, sequence or dict
        Starting point: ``m = q = Q = 1`` (ordered), ``m = q = 0`` (paramagnetic),
        ``m = 0, q = 1`` (glassy), explicit values in the state order, or a dict by
        state name (``{"m": 0.5, "q": 0.3}``; ``Q`` defaults to 1).
    damping, tol, max_iter :
        Passed to :func:`numerics.fixed_point`: 300 plain (damped) iterations, then
        Anderson acceleration from there.
    order : int, optional
        Trapezoid nodes for the Gaussian expectations; default from
        :func:`quadrature_order`, fine enough for ``tanh(beta J z)``.
    strict : bool
        Raise :class:`numerics.ConvergenceError` instead of returning ``converged=False``.

    Returns
    -------
    RSResult

    Raises
    ------
    derive.ModelError
        If the pair energy is not bilinear.
    numerics.InputError
        For a bad ``beta``, ``J``, ``init`` or a missing / unknown node parameter.

    Examples
    --------
    >>> import sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, K = sp.symbols("s_i s_j K", real=True)
    >>> sk = PairwiseModel((-1, 1), -K * si * sj, variables=(si, sj))
    >>> r = replica_symmetric(sk, beta=0.5)          # T = 2 J: paramagnet
    >>> r.phase, round(r.energy, 12)                 # u = -beta J^2 / 2
    ('paramagnetic', -0.25)
    """
    eqs, names, spread_ = _derived(model)
    beta, J = _positive(beta, "beta"), _positive(J, "J (the coupling spread)")
    kernel = compile(eqs, order=order or quadrature_order(beta, J, spread_))
    state = [names[k] for k in ("m", "q", "Q") if k in names]
    given = {str(k): v for k, v in dict(params or {}).items()}
    theory = {names["beta"]: beta, names["J0"]: _finite(J0, "J0"), names["J"]: J}
    node = set(kernel.names("node_param"))
    unknown = sorted(set(given) - node)
    if unknown:
        raise InputError(
            f"replica_symmetric: {unknown} are not node parameters of the model; "
            f"they are {sorted(node)} (beta, J0 and J are arguments of their own)"
        )
    values = list(kernel.bind({**given, **theory}, **{n: 0.0 for n in state}))
    slots = [kernel.arguments.index(n) for n in kernel.outputs]
    q_slot = kernel.arguments.index(names["q"])
    x0 = _start(init, state, names)

    def step(x):
        for slot, v in zip(slots, x):
            values[slot] = v
        values[q_slot] = max(values[q_slot], 0.0)  # q is a variance: keep sqrt(q) real
        return np.array(kernel.module.outputs(*values))

    # Plain iterations first, Anderson acceleration after: started from afar, Anderson steps
    # were seen to jump onto the m = 0 fixed point, unstable towards m, in the mixed phase
    # (J0 = 1.2, T = 0.4); near a fixed point it only speeds up the critical slowing down.
    warm = fixed_point(step, x0, damping=damping, tol=tol, max_iter=min(300, max_iter))
    fp = warm
    left = int(max_iter) - warm.iterations
    if not warm.converged and left > 0 and np.all(np.isfinite(warm.residuals)):
        fp = fixed_point(step, warm.x, damping=damping, tol=tol, max_iter=left, anderson=5)
        fp.iterations += warm.iterations
        fp.residuals = np.concatenate([warm.residuals, fp.residuals])
        if not fp.converged:
            fp.message = f"no convergence to tol={tol} in {fp.iterations} iterations"
    for slot, v in zip(slots, fp.x):
        values[slot] = v
    obs = dict(zip(kernel.observables, kernel.module.observables(*values)))
    x = dict(zip(kernel.outputs, fp.x))
    result = RSResult(
        m=float(x[names["m"]]),
        q=float(x[names["q"]]),
        Q=float(x[names["Q"]] if "Q" in names else obs["Q"]),
        free_energy=float(obs["f"]),
        energy=float(obs["u"]),
        entropy=float(obs["s"]),
        at=float(obs["AT"]),
        converged=fp.converged,
        iterations=fp.iterations,
        residual=fp.residual,
        residuals=fp.residuals,
        message=fp.message,
    )
    return result.finish(strict)


def _positive(value, what):
    value = _finite(value, what)
    if not value > 0:
        raise InputError(f"{what} must be a finite positive number, got {value}")
    return value


def _finite(value, what):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a finite number, got {value!r}") from None
    if not np.isfinite(value):
        raise InputError(f"{what} must be a finite positive number, got {value}")
    return value


def _start(init, state, names):
    """The starting state, in the order of the kernel's outputs ``state``."""
    starts = {
        "ordered": {"m": 1.0, "q": 1.0, "Q": 1.0},
        "paramagnetic": {"m": 0.0, "q": 0.0, "Q": 1.0},
        "glassy": {"m": 0.0, "q": 1.0, "Q": 1.0},
    }
    meaning = {names[k]: k for k in ("m", "q", "Q") if k in names}
    if isinstance(init, str):
        if init not in starts:
            raise InputError(f"init must be one of {sorted(starts)} or a sequence, got {init!r}")
        return np.array([starts[init][meaning[n]] for n in state])
    if isinstance(init, dict):
        unknown = sorted(set(map(str, init)) - set(state))
        if unknown:
            raise InputError(f"init: {unknown} are not states; the states are {state}")
        init = {str(k): v for k, v in init.items()}
        init = [init.get(n, 1.0 if meaning[n] == "Q" else 0.0) for n in state]
    x0 = np.array(init, dtype=float)
    if x0.shape != (len(state),):
        raise InputError(f"init must have {len(state)} values {state}")
    if not np.all(np.isfinite(x0)):
        raise InputError("init contains NaN or inf")
    return x0
