r"""Phase diagrams of the replica-symmetric theory: the ordered branch, phases, transition lines.

:func:`numerics.replica_symmetric` solves the RS saddle point at one point from one start.
A phase diagram needs a policy on top of it, which lives here:

* :class:`OrderedRS` returns, at each ``(T, J0)``, the *most ordered* RS solution: the fixed
  point reached from the ordered start ``m = q = Q = 1``, and, where that one has ``m = 0``,
  once more with damping, keeping the more ordered of the two (the undamped
  Anderson-accelerated iteration now and then lands on the ``m = 0`` fixed point, unstable
  towards ``m``, although a ferromagnetic one exists: seen at about 4% of the temperatures
  within 0.2 of the para--ferro line at :math:`J_0 = 1.5`, and at :math:`J_0 = 1.2, T = 0.4`
  in the mixed phase, for the SK model). One quadrature order serves every
  temperature down to ``T_min``; solutions are remembered per point, because brackets and
  curves revisit them.
* :func:`rs_phase_diagram` classifies a ``(J0, T)`` grid (``RSResult.phase``).
* :func:`rs_crossing` finds, by ``scipy.optimize.brentq`` in ``T`` at fixed ``J0``, where a
  quantity of the ordered solution crosses a value; :func:`rs_transition_lines` uses it for
  the para--spin-glass line (``q`` becomes positive), the para--ferro line (``m`` does) and
  the de Almeida--Thouless line (``AT = 1``), bracketed from the phase diagram itself.

The diagram (one task per temperature) and the lines (one task per crossing) run through
:func:`numerics.sweep`: inside ``numerics.sweep_defaults(executor=..., checkpoint_dir=...)``
they run in parallel and, given a ``name``, resumably. An :class:`OrderedRS` is a valid sweep
task itself (``sweep(solver, {"T": Ts})``): it prints by content and travels to worker
processes without its memo of solutions, and its results do not depend on that memo.

For the Sherrington--Kirkpatrick model (:math:`K_{ij} \sim N(J_0/N, J^2/N)`, :math:`h = 0`)
the lines are :math:`T = J` for :math:`J_0 < J` and :math:`T = J_0` for :math:`J_0 > J`
(Sherrington & Kirkpatrick, PRL 35, 1792 (1975)); the AT line leaves :math:`(J, J)` and
falls with :math:`J_0` (de Almeida & Thouless, J. Phys. A 11, 983 (1978)).
"""

import functools
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from .errors import InputError
from .replica import quadrature_order, replica_symmetric, spread
from .results import Result
from .sweep import sweep

__all__ = [
    "OrderedRS",
    "RSPhaseDiagram",
    "RSCrossing",
    "RSLine",
    "rs_phase_diagram",
    "rs_phase_row",
    "rs_crossing",
    "rs_transition_lines",
    "PHASES",
    "LINES",
]

#: The phases of ``RSResult.phase``.
PHASES = ("paramagnetic", "ferromagnetic", "spin glass", "mixed")

#: The transition lines: (quantity of the ordered solution, default threshold, the ordered
#: phases on the low-temperature side, which J0 side of J the line lives on).
LINES = {
    "para_sg": ("q", 1e-6, ("spin glass",), "below"),
    "para_ferro": ("m", 1e-3, ("ferromagnetic", "mixed"), "above"),
    "at": ("at", 1.0, None, "above"),
}

_QUANTITIES = {"m", "q", "Q", "at", "free_energy", "energy", "entropy"}


class OrderedRS:
    """The most ordered replica-symmetric solution of ``model``, point by point.

    Parameters
    ----------
    model : derive.PairwiseModel
        Bilinear pair energy (see :func:`derive.replica_symmetric`).
    J : float
        Coupling spread (times ``sqrt(N)``).
    params : dict, optional
        Node parameters, by name (``{"h": 0.0}``).
    T_min : float
        The lowest temperature asked for: it sets one quadrature order
        (:func:`numerics.replica.quadrature_order`) for all temperatures.
    retry_damping : float
        Damping of the second solve where the first one gives ``m = 0``.
    **options
        Further arguments of :func:`numerics.replica_symmetric` (``tol``, ``max_iter``).

    Attributes
    ----------
    order : int
        The quadrature order.
    retries : int
        Points where the damped retry found a more ordered phase than the first solve.

    Examples
    --------
    >>> import sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, K, h = sp.symbols("s_i s_j K h", real=True)
    >>> sk = PairwiseModel((-1, 1), -K * si * sj, -h * si, variables=(si, sj))
    >>> rs = OrderedRS(sk, params={"h": 0.0}, T_min=0.2)
    >>> rs(0.5, J0=1.5).phase, rs(1.2, J0=0.5).phase, rs(0.5, J0=0.5).phase
    ('ferromagnetic', 'paramagnetic', 'spin glass')
    """

    def __init__(self, model, J=1.0, params=None, T_min=0.02, retry_damping=0.3, **options):
        T_min = float(T_min)
        if not (np.isfinite(T_min) and T_min > 0):
            raise InputError(f"T_min must be a finite positive temperature, got {T_min}")
        if not 0.0 <= retry_damping < 1.0:
            raise InputError(f"retry_damping must be in [0, 1), got {retry_damping}")
        unknown = sorted(set(options) - {"tol", "max_iter"})
        if unknown:
            raise InputError(f"OrderedRS: unknown option(s) {unknown}; it takes tol, max_iter")
        self.model = model
        self.J = float(J)
        self.params = dict(params or {})
        self.T_min = T_min
        self.retry_damping = float(retry_damping)
        self.options = options
        self.order = quadrature_order(1.0 / T_min, self.J, spread(model))
        self.retries = 0
        self._solutions = {}
        self._retried = {}

    def __repr__(self):
        """By content: the name of a sweep task, equal in every process."""
        options = "".join(f", {k}={v!r}" for k, v in sorted(self.options.items()))
        return (
            f"OrderedRS({self.model!r}, J={self.J!r}, params={self.params!r}, "
            f"T_min={self.T_min!r}, retry_damping={self.retry_damping!r}{options})"
        )

    def __getstate__(self):
        """Pickled without the memo of solutions: a worker process starts afresh."""
        state = dict(self.__dict__)
        state.update(retries=0, _solutions={}, _retried={})
        return state

    def retried(self, T, J0=0.0):
        """Whether the damped retry found a more ordered phase at ``(T, J0)`` (solving there
        if needed)."""
        self(T, J0)
        return self._retried[(float(T), float(J0))]

    def solve(self, T, J0=0.0, damping=0.0):
        """One :func:`numerics.replica_symmetric` solve from the ordered start."""
        T = float(T)
        if not (np.isfinite(T) and T > 0):
            raise InputError(f"T must be a finite positive temperature, got {T}")
        return replica_symmetric(
            self.model,
            1.0 / T,
            J0=J0,
            J=self.J,
            params=self.params,
            init="ordered",
            damping=damping,
            order=self.order,
            **self.options,
        )

    def __call__(self, T, J0=0.0):
        """The most ordered RS solution at ``(T, J0)`` (an :class:`~numerics.RSResult`)."""
        key = (float(T), float(J0))
        if key not in self._solutions:
            first = self.solve(*key)
            best, retried = first, False
            if first.phase in ("paramagnetic", "spin glass"):
                again = self.solve(*key, damping=self.retry_damping)
                if again.converged and (abs(again.m), again.q) > (abs(first.m), first.q):
                    retried = again.phase != first.phase
                    self.retries += retried
                    best = again
            self._solutions[key] = best
            self._retried[key] = retried
        return self._solutions[key]


@dataclass(kw_only=True, repr=False)
class RSPhaseDiagram(Result):
    """The RS phases on a grid (rows: ``T`` ascending, columns: ``J0`` ascending).

    Attributes
    ----------
    J0, T : ndarray
    phase : list of list of str
    m, q, at : ndarray, shape (len(T), len(J0))
    point_converged : ndarray of bool, same shape
    counts : dict
        Grid points per phase.
    retries : int
        Grid points where the damped retry of :class:`OrderedRS` found a more ordered phase.
    computed : int
        Temperatures (rows) computed by this call; the others came from a checkpoint.
    """

    J0: np.ndarray = field(default_factory=lambda: np.zeros(0))
    T: np.ndarray = field(default_factory=lambda: np.zeros(0))
    phase: list = field(default_factory=list)
    m: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    q: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    at: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    point_converged: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))
    counts: dict = field(default_factory=dict)
    retries: int = 0
    computed: int = 0


def rs_phase_row(solver, J0s, T):
    """One row of the phase diagram: the most ordered solutions at ``T`` for every ``J0``.

    The sweep task of :func:`rs_phase_diagram` (a module-level function: bind ``solver`` and
    ``J0s`` with ``functools.partial``).

    Returns
    -------
    dict
        ``phase, m, q, at, converged`` (lists over ``J0s``) and ``retries`` (points of the
        row where the damped retry found a more ordered phase).
    """
    sols = [solver(T, J0) for J0 in J0s]
    return dict(
        phase=[r.phase for r in sols],
        m=[float(r.m) for r in sols],
        q=[float(r.q) for r in sols],
        at=[float(r.at) for r in sols],
        converged=[bool(r.converged) for r in sols],
        retries=sum(solver.retried(T, J0) for J0 in J0s),
    )


def _check_failed(res, what):
    """A sweep point raised: the input was checked before, so this is a bug; say which."""
    if res.failed:
        row = res.failed[0]
        raise RuntimeError(f"{what}: {len(res.failed)} point(s) raised, first {row['error']}")


def rs_phase_diagram(solver, J0s, Ts, progress=None, strict=False, name=None):
    """Classify the grid ``J0s x Ts`` with the most ordered solutions of ``solver``.

    One :func:`numerics.sweep` task per temperature (:func:`rs_phase_row`): parallel and
    resumable inside ``numerics.sweep_defaults``.

    Parameters
    ----------
    solver : OrderedRS
    J0s, Ts : sequence of float
    progress : callable, optional
        Called as ``progress(k, T, phases_of_row)`` for each temperature, in order, once
        the rows are in.
    strict : bool
        Raise :class:`numerics.ConvergenceError` if a grid point did not converge.
    name : str, optional
        The sweep's name (its checkpoint ``<checkpoint_dir>/<name>.jsonl``).

    Returns
    -------
    RSPhaseDiagram
        ``converged`` when every grid point converged; ``iterations`` the grid points.
    """
    J0s = np.asarray(J0s, dtype=float)
    Ts = np.asarray(Ts, dtype=float)
    if J0s.ndim != 1 or Ts.ndim != 1 or not J0s.size or not Ts.size:
        raise InputError("rs_phase_diagram: J0s and Ts must be non-empty 1-d sequences")
    if not (np.all(np.isfinite(Ts)) and np.all(Ts > 0) and np.all(np.isfinite(J0s))):
        raise InputError("rs_phase_diagram: Ts must be finite and positive, J0s finite")
    task = functools.partial(rs_phase_row, solver, tuple(J0s.tolist()))
    res = sweep(task, {"T": Ts.tolist()}, name=name)
    _check_failed(res, "rs_phase_diagram")
    rows = res.table
    if progress is not None:
        for k, row in enumerate(rows):
            progress(k, row["T"], row["phase"])
    grid = lambda key: np.array([row[key] for row in rows])  # noqa: E731
    phase = [list(row["phase"]) for row in rows]
    ok = grid("converged").astype(bool)
    bad = int((~ok).sum())
    result = RSPhaseDiagram(
        J0=J0s,
        T=Ts,
        phase=phase,
        m=grid("m"),
        q=grid("q"),
        at=grid("at"),
        point_converged=ok,
        counts={p: int(sum(row.count(p) for row in phase)) for p in PHASES},
        retries=int(sum(row["retries"] for row in rows)),
        computed=res.computed,
        converged=bad == 0,
        iterations=int(ok.size),
        message=f"{ok.size} points, {bad} not converged",
    )
    return result.finish(strict)


@dataclass(kw_only=True, repr=False)
class RSCrossing(Result):
    """Where a quantity of the ordered RS solution crosses a value, in ``T`` at fixed ``J0``.

    Attributes
    ----------
    T : float or None
        The crossing (``None`` if the bracket holds none).
    J0 : float
    quantity : str
    value : float
    bracket : tuple of float
    xtol : float
    """

    T: float = None
    J0: float = 0.0
    quantity: str = ""
    value: float = 0.0
    bracket: tuple = ()
    xtol: float = 0.0


def rs_crossing(solver, quantity, value, bracket, J0=0.0, xtol=1e-5, strict=False):
    r"""The temperature in ``bracket`` where ``quantity`` of ``solver(T, J0)`` equals ``value``.

    ``brentq`` on :math:`g(T) = x(T) - x^*` with ``xtol`` (and ``rtol = 1e-12``).

    Parameters
    ----------
    solver : OrderedRS
    quantity : {"m", "q", "Q", "at", "free_energy", "energy", "entropy"}
    value : float
    bracket : (float, float)
        Temperatures ``T_lo < T_hi``.
    J0 : float
    xtol : float
    strict : bool
        Raise :class:`numerics.ConvergenceError` when ``g`` does not change sign on the
        bracket (otherwise ``converged=False``, ``T=None`` and the reason in ``message``).

    Returns
    -------
    RSCrossing
    """
    if quantity not in _QUANTITIES:
        raise InputError(f"quantity must be one of {sorted(_QUANTITIES)}, got {quantity!r}")
    lo, hi = map(float, bracket)
    if not (0 < lo < hi and np.isfinite(hi)):
        raise InputError(f"bracket must be 0 < T_lo < T_hi, got {bracket}")
    calls = [0]

    def g(T):
        calls[0] += 1
        return getattr(solver(T, J0), quantity) - value

    common = dict(J0=float(J0), quantity=quantity, value=float(value), bracket=(lo, hi), xtol=xtol)
    g_lo, g_hi = g(lo), g(hi)
    if not np.isfinite(g_lo * g_hi) or g_lo * g_hi > 0:
        result = RSCrossing(
            converged=False,
            iterations=calls[0],
            message=f"{quantity} - {value:g} does not change sign on [{lo:.4g}, {hi:.4g}] "
            f"at J0 = {J0:g} ({g_lo:.3g}, {g_hi:.3g})",
            **common,
        )
        return result.finish(strict)
    T, info = brentq(g, lo, hi, xtol=xtol, rtol=1e-12, full_output=True, disp=False)
    result = RSCrossing(
        T=float(T),
        converged=bool(info.converged),
        iterations=calls[0],
        residual=abs(hi - lo) if not info.converged else xtol,
        message=f"brentq: {info.flag}",
        **common,
    )
    return result.finish(strict)


@dataclass(kw_only=True, repr=False)
class RSLine(Result):
    """A transition line ``T(J0)``, one :func:`rs_crossing` per column of ``J0``.

    Attributes
    ----------
    name : str
        ``"para_sg"``, ``"para_ferro"`` or ``"at"``.
    J0 : list of float
    T : list of float or None
    criterion : str
    crossings : list of RSCrossing
    computed : int
        Crossings computed by this call; the others came from a checkpoint.
    """

    name: str = ""
    J0: list = field(default_factory=list)
    T: list = field(default_factory=list)
    criterion: str = ""
    crossings: list = field(default_factory=list)
    computed: int = 0


def _crossing_task(solver, quantity, value, xtol, J0, lo, hi):
    """One crossing of a transition line (the sweep task of :func:`rs_transition_lines`)."""
    return rs_crossing(solver, quantity, value, (lo, hi), J0=J0, xtol=xtol)


def _crossing_from_row(row):
    """An :class:`RSCrossing` from its row of a sweep table (its ``to_dict()``)."""
    names = [f.name for f in RSCrossing.__dataclass_fields__.values()]
    values = {k: row[k] for k in names if k in row}
    values["bracket"] = tuple(values.get("bracket", ()))
    values["residuals"] = np.asarray(values.get("residuals", []), dtype=float)
    return RSCrossing(**values)


def _onset_bracket(Ts, phases, ordered):
    """``(T_lo, T_hi)`` around the grid cell where, going down in ``T``, the paramagnet first
    gives way to one of the ``ordered`` phases, widened by one cell downwards (a grid point
    on the line itself is classified with the threshold 1e-6 of ``RSResult.phase``, finer
    than the line's); ``None`` if the column has no such cell."""
    for k in range(len(Ts) - 1, 0, -1):
        if phases[k] == "paramagnetic" and phases[k - 1] in ordered:
            return Ts[max(k - 2, 0)], Ts[k]
    return None


def rs_transition_lines(
    solver, diagram, stride=1, xtol=1e-5, thresholds=None, strict=False, name=None
):
    r"""The para--SG, para--ferro and de Almeida--Thouless lines of ``diagram``.

    Each line is :math:`T(J_0)` at every ``stride``-th column of the grid, by
    :func:`rs_crossing`:

    * ``para_sg`` (:math:`J_0 < J`): :math:`q = 10^{-6}`, bracketed by the grid cell where
      the paramagnet gives way to the spin glass (widened by one cell);
    * ``para_ferro`` (:math:`J_0 > J`): :math:`m = 10^{-3}`, likewise (ferro or mixed);
    * ``at`` (:math:`J_0 > J`): ``AT = 1`` on :math:`[2 T_\mathrm{min}, J_0 + J/2]`.

    The thresholds bias the onset lines by about the threshold (``q`` is linear in
    :math:`T_c - T`) or its square (:math:`m \sim \sqrt{T_c - T}`).

    Parameters
    ----------
    solver : OrderedRS
    diagram : RSPhaseDiagram
        From :func:`rs_phase_diagram` with the same solver.
    stride : int
    xtol : float
    thresholds : dict, optional
        Other thresholds by line name (``{"para_sg": 1e-8}``).
    strict : bool
        Raise :class:`numerics.ConvergenceError` if a crossing is not found.
    name : str, optional
        Each line is one :func:`numerics.sweep` (a task per crossing) named
        ``<name>-<line>``: its checkpoint ``<checkpoint_dir>/<name>-<line>.jsonl``.

    Returns
    -------
    dict
        ``{"para_sg": RSLine, "para_ferro": RSLine, "at": RSLine}``; a line is
        ``converged`` when every one of its crossings is.
    """
    thresholds = {**{k: v[1] for k, v in LINES.items()}, **dict(thresholds or {})}
    unknown = sorted(set(thresholds) - set(LINES))
    if unknown:
        raise InputError(f"thresholds: unknown line(s) {unknown}; the lines are {list(LINES)}")
    J0s, Ts = np.asarray(diagram.J0), np.asarray(diagram.T)
    columns = range(0, len(J0s), max(1, int(stride)))
    J = solver.J
    lines = {}
    for line_name, (quantity, _, ordered, side) in LINES.items():
        jobs = {"J0": [], "lo": [], "hi": []}
        for c in columns:
            J0 = float(J0s[c])
            if (side == "below") != (J0 < J) or J0 == J:
                continue
            if ordered is None:
                bracket = (2 * solver.T_min, J0 + 0.5 * J)
            else:
                bracket = _onset_bracket(Ts, [row[c] for row in diagram.phase], ordered)
                if bracket is None:
                    continue
            for key, v in zip(jobs, (J0, *map(float, bracket))):
                jobs[key].append(v)
        crossings, computed = [], 0
        if jobs["J0"]:
            task = functools.partial(
                _crossing_task, solver, quantity, float(thresholds[line_name]), float(xtol)
            )
            res = sweep(task, jobs, mode="zip", name=f"{name}-{line_name}" if name else None)
            _check_failed(res, f"rs_transition_lines ({line_name})")
            crossings, computed = [_crossing_from_row(row) for row in res.table], res.computed
        bad = [c for c in crossings if not c.converged]
        line = RSLine(
            name=line_name,
            J0=[c.J0 for c in crossings],
            T=[c.T for c in crossings],
            criterion=f"{quantity} = {thresholds[line_name]:g} on the most ordered RS solution, "
            f"J0 {'<' if side == 'below' else '>'} J",
            crossings=crossings,
            computed=computed,
            converged=not bad,
            iterations=sum(c.iterations for c in crossings),
            message="; ".join(c.message for c in bad) or f"{len(crossings)} crossings found",
        )
        lines[line_name] = line.finish(strict)
    return lines
