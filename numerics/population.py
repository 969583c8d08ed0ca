r"""Population dynamics on a disordered Bethe lattice, and the growth of perturbations over it.

On a random regular graph of degree ``c`` with i.i.d. edge parameters :math:`\theta` (couplings)
and node parameters (fields), the replica-symmetric cavity fields are not all equal: they have a
distribution :math:`\mathcal P(h)`, the fixed point of the distributional recursion

.. math::
    h \overset{d}{=} -\Delta\phi + \sum_{k=1}^{c-1} U(h_k; \theta_k),
    \qquad h_k \sim \mathcal P \text{ i.i.d.},

with :math:`U` the cavity bias of :func:`derive.belief_propagation` (for Ising spins
:math:`U = \mathrm{atanh}(\tanh\beta J\tanh\beta h)/\beta`). Population dynamics represents
:math:`\mathcal P` by ``size`` samples and replaces the whole population, generation by
generation, by new fields built from ``c - 1`` members drawn at random (Mézard & Parisi,
Eur. Phys. J. B 20, 217 (2001), §4; Mézard & Montanari, *Information, Physics, and
Computation* (2009), §14.6).

The spin-glass (replica-symmetry-breaking) instability is the divergence of
:math:`\chi_\mathrm{SG} = \frac1N\sum_{ij}\langle s_i s_j\rangle_c^2`: along a path of length
``r`` on the tree the correlation is a product of derivatives
:math:`M_k = \partial U(h_k;\theta_k)/\partial h_k` (:func:`derive.bp_stability`), taken at
the fields *of that path*, which are correlated (each is built from the next). The squared
perturbation summed over the :math:`(c-1)^t` paths below a field obeys

.. math::
    V \leftarrow \sum_{k=1}^{c-1} M_k V_k M_k^\top,
    \qquad \Lambda = \lim_{t\to\infty} \frac{\mathbb E\,\mathrm{tr}\,V^{(t+1)}}
    {\mathbb E\,\mathrm{tr}\,V^{(t)}} = (c-1)\,\lambda ,

with :math:`\lambda` the growth of :math:`\mathbb E\prod_k M_k^2` per step of a path
(Mézard & Montanari (2009), §17.3 [the stability of the RS solution through the
spin-glass susceptibility]; a matrix :math:`V` for more than two states). Carried as numbers
attached to the members, :math:`V` becomes heavy-tailed near the instability and a finite
population underestimates its mean. So the perturbation lives on a second population, the
fields at the top of a path *tilted* by the weight of the path: each new member takes its
path child from that population, chosen with probability proportional to the child's weight
(population control, as in Feynman--Kac / cloning estimators of a top eigenvalue), its
``c - 2`` other children from the replica-symmetric population, and gets the weight
:math:`w = (c-1)\,\mathrm{tr}(M V M^\top)` with :math:`V` of unit trace; :math:`\Lambda` is the
mean weight per generation. The RS solution is unstable when :math:`\log\Lambda > 0`. At a
homogeneous zero-field point, :math:`M = \tanh\beta J` and the criterion is
:math:`(c-1)\,\mathbb E\tanh^2\beta J = 1`; with a field it is not a one-step average.

The population starts from uniform messages (all fields zero): where that is a fixed point
(symmetric couplings at zero field) it stays there, and the growth rate is that of the
paramagnetic solution, the replica-symmetric solution above the spin-glass transition.
Randomness comes from one :class:`numpy.random.SeedSequence` per run; the draws do not depend
on ``beta`` (common random numbers), so one run's estimate is a continuous function of the
temperature up to the small jumps of the path selection, and its zero is found by Brent's
method. The error bar is the spread over
independent runs.
"""

import math
from dataclasses import dataclass, field

import numba
import numpy as np
from scipy.optimize import brentq

import derive

from .compile import compile
from .errors import InputError
from .results import SimulationResult

__all__ = [
    "PopulationResult",
    "InstabilityResult",
    "population_dynamics",
    "spin_glass_instability",
    "Disorder",
]


class Disorder:
    """The laws of a model's edge and node parameters on the Bethe lattice.

    Each parameter's law is a number (fixed), a ``{value: probability}`` mapping, or a
    callable ``law(rng, size) -> array`` (a continuous law, e.g.
    ``lambda rng, n: rng.normal(0, 1, n)``). Parameters are independent.

    Parameters
    ----------
    model : derive.PairwiseModel
    couplings : dict
        Law of each edge parameter, by name.
    params : dict, optional
        Law of each node parameter, by name.
    """

    def __init__(self, model, couplings, params=None):
        self.edge = self._laws("couplings", model.edge_params, couplings, "edge")
        self.node = self._laws("params", model.node_params, params, "model")

    @staticmethod
    def _laws(what, symbols, given, kind):
        names = [s.name for s in symbols]
        given = {str(k): v for k, v in dict(given or {}).items()}
        missing = [n for n in names if n not in given]
        if missing:
            if what == "couplings":
                raise InputError(f"couplings: no distribution for edge parameter(s) {missing}")
            raise InputError(f"params: no value for model parameter(s) {missing}")
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise InputError(f"{what}: {unknown} are not {kind} parameters of the model {names}")
        laws = {}
        for n in names:
            law = given[n]
            if callable(law):
                laws[n] = law
                continue
            if isinstance(law, dict):
                values = np.array([float(v) for v in law], dtype=float)
                probs = np.array([float(p) for p in law.values()], dtype=float)
                if np.any(probs < 0) or not np.isclose(probs.sum(), 1.0):
                    raise InputError(
                        f"{what}[{n!r}]: probabilities must be >= 0 and sum to 1, got {list(probs)}"
                    )
            else:
                try:
                    values, probs = np.array([float(law)]), np.array([1.0])
                except (TypeError, ValueError):
                    raise InputError(f"{what}[{n!r}] = {law!r} is not a number") from None
            if not np.all(np.isfinite(values)):
                raise InputError(f"{what}[{n!r}]: values must be finite, got {list(values)}")
            keep = probs > 0
            laws[n] = (values[keep], probs[keep] / probs[keep].sum())
        return laws

    @property
    def discrete(self):
        """Whether every law is a finite list of values (no callable)."""
        return not any(callable(law) for law in {**self.edge, **self.node}.values())

    def degenerate(self, which):
        """Whether every law of ``which`` ("edge" or "node") is a single value."""
        laws = getattr(self, which)
        return all(not callable(law) and law[0].size == 1 for law in laws.values())

    def support(self, which):
        """Joint law of ``which`` as ``[(probability, {name: value})]`` (discrete laws only)."""
        out = [(1.0, {})]
        for name, (values, probs) in getattr(self, which).items():
            out = [(p * q, {**d, name: float(v)}) for p, d in out for v, q in zip(values, probs)]
        return out

    def sample(self, which, rng, size):
        """``{name: array of size}`` drawn from the laws of ``which``."""
        out = {}
        for name, law in getattr(self, which).items():
            if callable(law):
                x = np.asarray(law(rng, size), dtype=float)
                if x.shape != (size,) or not np.all(np.isfinite(x)):
                    raise InputError(
                        f"the law of {name!r} must return {size} finite numbers, got an array "
                        f"of shape {x.shape}"
                    )
            else:
                values, probs = law
                if values.size == 1:
                    x = np.full(size, values[0])
                else:
                    cdf = np.cumsum(probs)
                    pick = np.searchsorted(cdf[:-1], rng.random(size), side="right")
                    x = values[pick]
            out[name] = x
        return out


class _Kernels:
    """The cavity bias ``U``, its derivative ``M`` and the node update, bound by name."""

    def __init__(self, model):
        self.bias = compile(derive.bp_stability(model))
        self.node = compile(derive.belief_propagation(model))
        eqs = self.bias.equations
        self.fields = tuple(s.name for s in eqs.inputs)
        self.n = len(self.fields)
        self.shifts = self.bias.observables  # U or U_1..U_{q-1}: aggregates of the node update
        missing = [a for a in self.node.names("aggregate") if a not in self.shifts + ("B",)]
        if missing:  # pragma: no cover - guards the contract between the two derivations
            raise InputError(f"the BP update takes aggregates {missing} the bias does not give")

    @staticmethod
    def _call(kernel, values, observables=False):
        names = kernel.observables if observables else kernel.outputs
        args = []
        size = None
        for name in kernel.arguments:
            if name not in values:
                raise InputError(f"'{kernel.equations.name}': no value for {name!r}")
            args.append(values[name])
            size = np.size(values[name]) if np.ndim(values[name]) else size
        arrays = [np.ascontiguousarray(np.broadcast_to(a, (size,)), dtype=float) for a in args]
        out = np.empty((len(names), size))
        fn = kernel.module.observables_array if observables else kernel.module.outputs_array
        fn(*arrays, out)
        return out

    def biases(self, fields, beta, edge):
        """``(U, M)`` of incoming ``fields`` (n, m): shapes (n, m) and (n * n, m)."""
        values = {name: fields[r] for r, name in enumerate(self.fields)}
        values.update(edge, beta=beta)
        return self._call(self.bias, values, True), self._call(self.bias, values)

    def update(self, aggregates, beta, node):
        """New cavity fields (n, P) from the summed biases (n, P) and the node parameters."""
        values = {name: aggregates[r] for r, name in enumerate(self.shifts)}
        values.update(node, beta=beta, B=0.0)
        return self._call(self.node, values)


@derive.memoized
def _kernels(model):
    """The compiled kernels of ``model``, derived once per model content."""
    return _Kernels(model)


@numba.njit(cache=True)
def _tilted_step(M, V, parents, branches, out, w):  # pragma: no cover - numba
    """``w[p] = (c - 1) tr(M_p V_parent M_p^T)`` and ``out[p]``, that matrix of trace 1."""
    P, n = out.shape[0], out.shape[1]
    for p in range(P):
        k = parents[p]
        trace = 0.0
        for a in range(n):
            for b in range(n):
                s = 0.0
                for x in range(n):
                    for y in range(n):
                        s += M[a * n + x, p] * V[k, x, y] * M[b * n + y, p]
                out[p, a, b] = s
            trace += out[p, a, a]
        w[p] = branches * trace
        for a in range(n):
            for b in range(n):
                if trace > 0.0:
                    out[p, a, b] /= trace
                else:
                    out[p, a, b] = 1.0 / n if a == b else 0.0


def _run(kernels, disorder, c, beta, size, equilibration, generations, seq):
    """One run: (log growth per generation over the measurement window, fields, failure).

    Two populations: the cavity fields ``A`` (the replica-symmetric distribution) and the
    fields ``B`` at the top of a path, tilted by the squared perturbation carried along it.
    A new member of ``B`` takes its path child from ``B`` (chosen with probability
    proportional to its weight: population control, so weights never accumulate heavy tails)
    and its ``c - 2`` other children from ``A``; its weight is ``(c - 1) tr(M V M^T)``, and
    the growth per generation is the mean weight.
    """
    rng = np.random.default_rng(seq)
    n, branches = kernels.n, c - 1
    fields = np.zeros((n, size))  # uniform messages
    tilted, V, weights = None, None, None
    V_new, w_new = np.empty((size, n, n)), np.empty(size)
    start_v = equilibration // 2
    logs = []
    for t in range(equilibration + generations):
        idx = rng.integers(size, size=size * branches)
        edge = disorder.sample("edge", rng, size * branches)
        node = disorder.sample("node", rng, size)
        U, _ = kernels.biases(fields[:, idx], beta, edge)
        U = U.reshape(n, size, branches)
        total = U.sum(axis=2)
        new = kernels.update(total, beta, node)
        if t == start_v:
            tilted, weights = fields.copy(), np.ones(size)
            V = np.repeat(np.eye(n)[None] / n, size, axis=0)
        if t >= start_v:
            cdf = np.cumsum(weights)
            parents = np.minimum(
                np.searchsorted(cdf, rng.random(size) * cdf[-1], side="right"), size - 1
            )
            path_edge = {name: x[::branches] for name, x in edge.items()}
            U_path, M_path = kernels.biases(tilted[:, parents], beta, path_edge)
            tilted = kernels.update(total - U[:, :, 0] + U_path, beta, node)
            _tilted_step(M_path, V, parents, branches, V_new, w_new)
            mean = float(w_new.mean())
            if not math.isfinite(mean):
                return None, new, f"the perturbation weights became {mean} at generation {t}"
            V, V_new = V_new, V
            weights, w_new = w_new, weights
            if mean == 0.0:  # every path lost its perturbation: keep them, growth ~ 0
                weights[:] = 1.0
            if t >= equilibration:
                logs.append(math.log(max(mean, 1e-300)))
        fields = new
        if not (np.all(np.isfinite(fields)) and (tilted is None or np.all(np.isfinite(tilted)))):
            return None, fields, f"non-finite cavity fields at generation {t} (beta = {beta})"
    return float(np.mean(logs)), fields, ""


def _check_sizes(degree, size, equilibration, generations, runs):
    for name, value, low in (
        ("degree", degree, 2),
        ("size", size, 2),
        ("equilibration", equilibration, 0),
        ("generations", generations, 1),
        ("runs", runs, 2),
    ):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise InputError(f"{name} must be an integer >= {low}, got {value!r}")


@dataclass(kw_only=True, repr=False)
class PopulationResult(SimulationResult):
    r"""Population dynamics at one temperature.

    Attributes
    ----------
    beta : float
    degree : int
    size, equilibration, generations, runs : int
        Population size, generations before measuring, generations measured, independent runs.
    log_growth : float
        :math:`\log\Lambda`, :math:`\Lambda = (c-1)\lambda` the growth per generation of the
        summed squared perturbations, averaged over the runs.
    log_growth_error : float
        Standard error of ``log_growth`` from the spread of the runs.
    log_growths : ndarray
        One estimate per run.
    fields : ndarray, shape (size, n_fields)
        The cavity fields of the first run at the end.
    """

    beta: float = 0.0
    degree: int = 0
    size: int = 0
    equilibration: int = 0
    generations: int = 0
    runs: int = 0
    log_growth: float = math.nan
    log_growth_error: float = math.nan
    log_growths: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fields: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)), repr=False)

    @property
    def growth(self):
        r""":math:`\Lambda = (c - 1)\lambda`; the replica-symmetric solution is unstable above 1."""
        return math.exp(self.log_growth)


def _seeds(seed, runs):
    return np.random.SeedSequence(seed).spawn(runs)


def population_dynamics(
    model,
    degree,
    couplings,
    beta,
    params=None,
    *,
    size=10_000,
    equilibration=200,
    generations=200,
    runs=4,
    seed=0,
    strict=False,
):
    r"""Replica-symmetric cavity-field distribution and the spin-glass growth rate at one beta.

    Parameters
    ----------
    model : derive.PairwiseModel
    degree : int
        ``c``, the degree of the random regular graph.
    couplings : dict
        Law of each edge parameter (see :class:`Disorder`), e.g. ``{"J": {1: 0.5, -1: 0.5}}``.
    beta : float
        Inverse temperature, > 0.
    params : dict, optional
        Law (or value) of each node parameter, e.g. ``{"h": 0.3}``.
    size : int
        Population size ``P``.
    equilibration, generations : int
        Generations (of ``P`` updates each) before measuring and measured; the perturbation
        weights start halfway through the equilibration.
    runs : int
        Independent runs (>= 2), for the error bar.
    seed : int or numpy.random.SeedSequence
        Run ``r`` uses the ``r``-th child of ``SeedSequence(seed)``.
    strict : bool
        Raise :class:`~numerics.ConvergenceError` if a run fails (non-finite fields).

    Returns
    -------
    PopulationResult

    Examples
    --------
    >>> import sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, J = sp.symbols("s_i s_j J", real=True)
    >>> ising = PairwiseModel((-1, 1), -J * si * sj, variables=(si, sj))
    >>> r = population_dynamics(ising, 3, {"J": {1: 0.5, -1: 0.5}}, 0.5, size=500,
    ...                         equilibration=60, generations=20, runs=2)
    >>> round(r.growth, 6) == round(2 * math.tanh(0.5) ** 2, 6)  # zero fields: (c-1) tanh^2
    True
    """
    _check_sizes(degree, size, equilibration, generations, runs)
    beta = _check_beta(beta)
    disorder = Disorder(model, couplings, params)
    kernels = _kernels(model)
    estimates, fields, messages = [], None, []
    for r, seq in enumerate(_seeds(seed, runs)):
        g, f, why = _run(
            kernels, disorder, int(degree), beta, size, equilibration, generations, seq
        )
        estimates.append(math.nan if g is None else g)
        fields = f if fields is None else fields
        if why:
            messages.append(f"run {r}: {why}")
    estimates = np.array(estimates)
    ok = not messages
    result = PopulationResult(
        converged=ok,
        iterations=equilibration + generations,
        message="; ".join(messages)
        or f"{runs} runs of {equilibration} + {generations} generations",
        seed=seed if isinstance(seed, (int, np.integer)) else str(seed),
        beta=beta,
        degree=int(degree),
        size=int(size),
        equilibration=int(equilibration),
        generations=int(generations),
        runs=int(runs),
        log_growth=float(np.mean(estimates)) if ok else math.nan,
        log_growth_error=float(np.std(estimates, ddof=1) / math.sqrt(runs)) if ok else math.nan,
        log_growths=estimates,
        fields=fields.T.copy(),
    )
    return result.finish(strict)


def _check_beta(beta):
    try:
        beta = float(beta)
    except (TypeError, ValueError):
        raise InputError(f"beta = {beta!r} is not a number") from None
    if not (math.isfinite(beta) and beta > 0):
        raise InputError(f"beta must be a finite number > 0, got {beta}")
    return beta


@dataclass(kw_only=True, repr=False)
class InstabilityResult(SimulationResult):
    r"""The temperature where the replica-symmetric solution becomes unstable (``log Λ = 0``).

    Attributes
    ----------
    temperature : float
        Mean over the runs of each run's crossing; ``nan`` if not located.
    temperature_error : float
        Standard error of ``temperature`` from the spread of the runs.
    temperatures : ndarray
        One crossing per run (``nan`` where a run's bracket has no sign change).
    beta : float
        ``1 / temperature``.
    scan_betas, scan_log_growth : ndarray
        The grid scanned with the first run to bracket the crossing, and ``log Λ`` on it.
    degree, size, equilibration, generations, runs : int
    """

    temperature: float = math.nan
    temperature_error: float = math.nan
    temperatures: np.ndarray = field(default_factory=lambda: np.zeros(0))
    beta: float = math.nan
    scan_betas: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scan_log_growth: np.ndarray = field(default_factory=lambda: np.zeros(0))
    degree: int = 0
    size: int = 0
    equilibration: int = 0
    generations: int = 0
    runs: int = 0


def spin_glass_instability(
    model,
    degree,
    couplings,
    params=None,
    *,
    betas=None,
    size=10_000,
    equilibration=200,
    generations=200,
    runs=4,
    seed=0,
    xtol=1e-4,
    error_tol=0.02,
    strict=False,
):
    r"""Temperature of the spin-glass (RS) instability :math:`(c-1)\lambda = 1` on a Bethe lattice.

    The first run scans ``betas`` (increasing) for the first grid point where
    :math:`\log\Lambda \ge 0`; every run then finds its own zero of :math:`\log\Lambda(\beta)`
    in that bracket by Brent's method (its draws are the same at every ``beta``, so its
    estimate is continuous in ``beta``), widening the bracket by a grid point on each side when
    its signs agree there. The estimate is the mean of the runs' temperatures and the error
    bar their standard error.

    Parameters
    ----------
    model, degree, couplings, params, size, equilibration, generations, runs, seed
        As in :func:`population_dynamics`.
    betas : array, optional
        Increasing grid to bracket the crossing; default 24 points geometric in [0.05, 5].
    xtol : float
        Brent's tolerance on ``beta`` per run (keep it well below the statistical error).
    error_tol : float
        ``converged=False`` when the error bar of the temperature exceeds it, or when a run
        cannot be bracketed.
    strict : bool
        Raise :class:`~numerics.ConvergenceError` instead of returning ``converged=False``.

    Returns
    -------
    InstabilityResult
    """
    _check_sizes(degree, size, equilibration, generations, runs)
    betas = np.geomspace(0.05, 5.0, 24) if betas is None else np.asarray(betas, dtype=float)
    if betas.ndim != 1 or betas.size < 2 or np.any(np.diff(betas) <= 0) or betas[0] <= 0:
        raise InputError("betas must be an increasing 1-d grid of at least 2 values > 0")
    disorder = Disorder(model, couplings, params)
    kernels = _kernels(model)
    seqs = _seeds(seed, runs)
    c = int(degree)
    failures = []

    def log_growth(beta, r):
        g, _, why = _run(kernels, disorder, c, beta, size, equilibration, generations, seqs[r])
        if g is None:
            failures.append(f"run {r}: {why}")
            raise _RunFailed
        return g

    common = dict(
        seed=seed if isinstance(seed, (int, np.integer)) else str(seed),
        degree=c,
        size=int(size),
        equilibration=int(equilibration),
        generations=int(generations),
        runs=int(runs),
    )
    scan = []
    try:
        for b in betas:
            scan.append(log_growth(b, 0))
            if scan[-1] >= 0:
                break
    except _RunFailed:
        pass
    scan = np.array(scan)
    k = int(np.argmax(scan >= 0)) if scan.size and scan[-1] >= 0 else -1
    if failures or k <= 0:
        why = (
            "; ".join(failures)
            if failures
            else (
                f"log growth >= 0 already at the first beta {betas[0]}"
                if k == 0
                else f"no instability up to beta = {betas[-1]} (log growth {scan[-1]:.3g})"
            )
        )
        result = InstabilityResult(
            converged=False,
            message=why,
            scan_betas=betas[: scan.size],
            scan_log_growth=scan,
            **common,
        )
        return result.finish(strict)
    temperatures, evaluations = [], scan.size
    for r in range(runs):
        lo, hi = k - 1, k
        found = math.nan
        try:
            f_lo = scan[lo] if r == 0 else log_growth(betas[lo], r)
            f_hi = scan[hi] if r == 0 else log_growth(betas[hi], r)
            evaluations += 0 if r == 0 else 2
            while f_lo * f_hi > 0 and (lo > 0 or hi < betas.size - 1):
                if f_lo > 0 and lo > 0:
                    lo -= 1
                    f_lo = log_growth(betas[lo], r)
                elif f_hi < 0 and hi < betas.size - 1:
                    hi += 1
                    f_hi = log_growth(betas[hi], r)
                else:
                    break
                evaluations += 1
            if f_lo * f_hi <= 0:
                b, info = brentq(
                    log_growth, betas[lo], betas[hi], args=(r,), xtol=xtol, full_output=True
                )
                evaluations += info.function_calls
                found = 1.0 / b
            else:
                failures.append(f"run {r}: no sign change of log growth on the grid")
        except _RunFailed:
            pass
        temperatures.append(found)
    temperatures = np.array(temperatures)
    T = float(np.mean(temperatures))
    err = float(np.std(temperatures, ddof=1) / math.sqrt(runs))
    if failures:
        message = "; ".join(failures)
    elif not err <= error_tol:
        message = (
            f"the error bar {err:.3g} of the temperature exceeds error_tol = {error_tol}: "
            f"increase size or generations"
        )
    else:
        message = f"T = {T:.5g} +- {err:.2g} from {runs} runs of population size {size}"
    result = InstabilityResult(
        converged=not failures and err <= error_tol,
        iterations=evaluations,
        message=message,
        temperature=T,
        temperature_error=err,
        temperatures=temperatures,
        beta=1.0 / T if math.isfinite(T) else math.nan,
        scan_betas=betas[: scan.size],
        scan_log_growth=scan,
        **common,
    )
    return result.finish(strict)


class _RunFailed(Exception):
    """A run produced non-finite numbers (recorded in the failures list)."""
