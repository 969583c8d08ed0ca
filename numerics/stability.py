r"""Instability of the paramagnetic BP fixed point on random regular graphs.

On a random regular graph of degree ``c`` (locally tree-like) with i.i.d.
edge parameters :math:`\theta`, the homogeneous paramagnetic solution
:math:`h^*` of the cavity recursion

.. math:: h^* = -\Delta\phi + (c - 1)\, \mathbb{E}_\theta U(h^*; \theta)

loses stability when a perturbation grows along the ``c - 1`` branches of the
tree: uniformly (ferromagnetic instability) when
:math:`(c-1)\,\rho(\mathbb{E}_\theta M) = 1`, or in its second moment (spin-glass
instability) when :math:`(c-1)\,\rho(\mathbb{E}_\theta M \otimes M) = 1`, with
:math:`M = \partial U / \partial h` at :math:`h^*` from :func:`derive.bp_stability`.
For the Ising model these give :math:`(c-1)\tanh\beta_c J = 1` and
:math:`(c-1)\tanh^2\beta_c J = 1` (±J couplings).

The homogeneous assumption (every cavity field equal to :math:`h^*`) holds when the bias
:math:`U(h^*;\theta)` does not depend on the disorder and the node parameters are fixed: a
ferromagnet, or ±J couplings at zero field. Otherwise (random couplings with a field, random
fields) the cavity fields have a distribution and the spin-glass instability is the
replica-symmetric (de Almeida--Thouless-like) instability of that distribution, computed by
population dynamics (:func:`numerics.population.spin_glass_instability`). The result says
which method it used.

References
----------
Mézard & Parisi, Eur. Phys. J. B 20, 217 (2001); Mézard & Montanari,
*Information, Physics, and Computation*, OUP (2009), §14.2 and ch. 17.
"""

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq

from .errors import InputError
from .fixed_point import fixed_point
from .population import Disorder, InstabilityResult, _kernels, spin_glass_instability
from .results import Result

__all__ = ["bp_stability", "StabilityResult", "METHODS"]

#: The ways :func:`bp_stability` can compute the instabilities.
METHODS = ("auto", "homogeneous", "population")

#: Relative spread of the bias U(h*; theta) over the disorder above which the cavity fields
#: are not all equal (the homogeneous assumption fails).
HOMOGENEOUS_TOL = 1e-10


@dataclass(kw_only=True, repr=False)
class StabilityResult(Result):
    """Instability temperatures of the BP (replica-symmetric) solution on a random regular graph.

    Attributes
    ----------
    degree : int
    method : {"homogeneous", "population"}
        How the instabilities were computed.
    beta_ferromagnetic, beta_spin_glass : float or None
        ``None`` where the corresponding growth rate never reaches 1 in the scanned range of
        ``beta`` -- or, for ``beta_ferromagnetic`` with ``method="population"``, where it is
        not computed (the message says so).
    spin_glass_error : float
        Standard error of the spin-glass temperature (0 for the homogeneous method, whose
        crossing is refined to 1e-13 on a closed-form map).
    size, seed : int or None
        Population size and seed (``method="population"``).
    population : InstabilityResult or None
        The population-dynamics estimate in full.
    """

    degree: int = 0
    method: str = "homogeneous"
    beta_ferromagnetic: float = None
    beta_spin_glass: float = None
    spin_glass_error: float = 0.0
    size: int = None
    seed: object = None
    population: InstabilityResult = field(default=None, repr=False)

    @property
    def temperature_ferromagnetic(self):
        return None if self.beta_ferromagnetic is None else 1.0 / self.beta_ferromagnetic

    @property
    def temperature_spin_glass(self):
        return None if self.beta_spin_glass is None else 1.0 / self.beta_spin_glass


class _FixedPointFailed(Exception):
    pass


class _Recursion:
    """The homogeneous cavity recursion and its linearisation at one temperature."""

    def __init__(self, model, degree, disorder):
        self.c = int(degree)
        self.kernels = _kernels(model)
        self.n = self.kernels.n
        support = disorder.support("edge")
        self.p = np.array([p for p, _ in support])
        self.edge = {
            name: np.array([theta[name] for _, theta in support]) for name in disorder.edge
        }
        self.node = {name: float(law[0][0]) for name, law in disorder.node.items()}

    def biases(self, beta, h):
        """``U`` (n, m) and ``M`` (n, n, m) at the fields ``h`` for the m disorder values."""
        fields = np.repeat(np.asarray(h, dtype=float).reshape(self.n, 1), self.p.size, axis=1)
        U, M = self.kernels.biases(fields, beta, self.edge)
        return U, M.reshape(self.n, self.n, self.p.size)

    def step(self, beta, h):
        U, _ = self.biases(beta, h)
        return self.kernels.update((self.c - 1) * (U @ self.p)[:, None], beta, self.node)[:, 0]

    def fixed_point(self, beta, h0):
        return fixed_point(
            lambda h: self.step(beta, h), h0, damping=0.3, tol=1e-12, max_iter=20_000, anderson=3
        )

    def spread(self, beta, h):
        """Largest relative spread of ``U(h*; theta)`` over the disorder."""
        U, _ = self.biases(beta, h)
        return float(np.max(np.ptp(U, axis=1) / (1.0 + np.abs(U).max(axis=1))))

    def eigenvalues(self, beta, h):
        _, M = self.biases(beta, h)
        first = np.einsum("abm,m->ab", M, self.p)
        second = np.einsum("abm,cdm,m->acbd", M, M, self.p).reshape(self.n**2, self.n**2)
        rho = lambda A: float(np.max(np.abs(np.linalg.eigvals(A))))  # noqa: E731
        return (self.c - 1) * rho(first), (self.c - 1) * rho(second)


def bp_stability(
    model,
    degree,
    couplings,
    params=None,
    betas=None,
    *,
    method="auto",
    size=10_000,
    equilibration=200,
    generations=200,
    runs=4,
    seed=0,
    error_tol=0.02,
    strict=False,
):
    r"""Ferromagnetic and spin-glass instability temperatures of the BP solution.

    Parameters
    ----------
    model : derive.PairwiseModel
    degree : int
        Degree ``c`` of the random regular graph, >= 2.
    couplings : dict
        Law of each edge parameter: a number (fixed), ``{value: probability}``, or a callable
        ``law(rng, size)`` (population dynamics only); different parameters are independent.
        E.g. ``{"J": {1: 0.5, -1: 0.5}}``.
    params : dict, optional
        Values, or laws as for ``couplings``, of the node parameters (e.g. ``{"h": 0.0}``).
    betas : array, optional
        Grid scanned for the first crossing of each growth rate through 1, then refined by
        Brent's method; default 400 points geometric in [1e-3, 50] (homogeneous) or 24 in
        [0.05, 5] (population).
    method : {"auto", "homogeneous", "population"}
        ``"auto"`` uses the homogeneous recursion where its assumption holds (every bias
        :math:`U(h^*;\theta)` equal and the node parameters fixed) and population dynamics
        otherwise. ``"homogeneous"`` raises :class:`~numerics.InputError` where the assumption
        fails.
    size, equilibration, generations, runs, seed, error_tol
        Population dynamics (see :func:`numerics.population.spin_glass_instability`).
    strict : bool
        Raise :class:`~numerics.ConvergenceError` instead of returning ``converged=False``.

    Returns
    -------
    StabilityResult

    Examples
    --------
    >>> import sympy as sp
    >>> from derive import PairwiseModel
    >>> si, sj, J = sp.symbols("s_i s_j J", real=True)
    >>> ising = PairwiseModel((-1, 1), -J * si * sj, variables=(si, sj))
    >>> r = bp_stability(ising, 3, {"J": 1.0})
    >>> round(r.temperature_ferromagnetic, 4), r.method  # 2 / ln(c / (c - 2))
    (1.8205, 'homogeneous')
    """
    if not isinstance(degree, (int, np.integer)) or int(degree) < 2:
        raise InputError(f"degree must be at least 2, got {degree}")
    if method not in METHODS:
        raise InputError(f"method must be one of {list(METHODS)}, got {method!r}")
    disorder = Disorder(model, couplings, params)
    population = dict(
        size=size,
        equilibration=equilibration,
        generations=generations,
        runs=runs,
        seed=seed,
        error_tol=error_tol,
    )
    if method == "population":
        return _population(model, degree, disorder, couplings, params, betas, population, strict)
    why = None
    if not disorder.discrete:
        why = "a parameter has a continuous law"
    elif not disorder.degenerate("node"):
        why = "the node parameters are random"
    if why is None:
        result = _homogeneous(model, degree, disorder, betas)
        if isinstance(result, StabilityResult):
            return result.finish(strict)
        why = result
    if method == "homogeneous":
        raise InputError(f"the homogeneous assumption does not hold: {why}; use method='auto'")
    return _population(
        model, degree, disorder, couplings, params, betas, population, strict, why=why
    )


def _population(model, degree, disorder, couplings, params, betas, options, strict, why=""):
    inst = spin_glass_instability(model, degree, couplings, params, betas=betas, **options)
    found = math.isfinite(inst.beta)
    result = StabilityResult(
        converged=inst.converged,
        iterations=inst.iterations,
        message=(f"population dynamics ({why}): " if why else "population dynamics: ")
        + inst.message
        + "; only the spin-glass instability is computed (beta_ferromagnetic is None)",
        degree=int(degree),
        method="population",
        beta_spin_glass=inst.beta if found else None,
        spin_glass_error=inst.temperature_error,
        size=inst.size,
        seed=inst.seed,
        population=inst,
    )
    return result.finish(strict)


def _homogeneous(model, degree, disorder, betas):
    """The homogeneous scan: a StabilityResult, or the reason the assumption fails (a str)."""
    rec = _Recursion(model, degree, disorder)
    betas = np.geomspace(1e-3, 50.0, 400) if betas is None else np.asarray(betas, dtype=float)
    if betas.ndim != 1 or betas.size < 2 or np.any(np.diff(betas) <= 0) or betas[0] <= 0:
        raise InputError("betas must be an increasing 1-d grid of at least 2 values > 0")
    h = np.zeros(rec.n)
    values, branch, failed = [], [], []
    for beta in betas:  # follow the homogeneous branch from high temperature
        fp = rec.fixed_point(beta, h)
        if not fp.converged:
            failed.append(float(beta))
            values.append((math.nan, math.nan))
            branch.append(h)  # the next temperature starts from the last converged point
            continue
        h = fp.x
        spread = rec.spread(beta, h)
        if spread > HOMOGENEOUS_TOL:
            return (
                f"at beta = {beta:.4g} the cavity bias U(h*) varies by {spread:.2g} "
                "over the disorder, so the cavity fields are not all equal"
            )
        branch.append(h)
        values.append(rec.eigenvalues(beta, h))
    values = np.array(values)
    result = StabilityResult(degree=int(degree), method="homogeneous", iterations=len(betas))
    problems = []
    for col, attr in ((0, "beta_ferromagnetic"), (1, "beta_spin_glass")):
        finite = np.isfinite(values[:, col])
        above = np.nonzero(finite & (values[:, col] >= 1.0))[0]
        if above.size == 0 or above[0] == 0:
            if not finite.all():
                problems.append(f"{attr}: undetermined where the fixed point failed")
            continue
        k = above[0]
        if not finite[: k + 1].all() or not np.isfinite(values[k - 1, col]):
            problems.append(f"{attr}: the fixed point failed before the crossing")
            continue
        lo, hi, start = betas[k - 1], betas[k], branch[k - 1]

        def excess(beta, col=col, start=start):
            fp = rec.fixed_point(beta, start)
            if not fp.converged:
                raise _FixedPointFailed(beta)
            return rec.eigenvalues(beta, fp.x)[col] - 1.0

        try:
            setattr(result, attr, brentq(excess, lo, hi, xtol=1e-13, rtol=1e-13))
        except _FixedPointFailed as err:
            problems.append(f"{attr}: the fixed point failed at beta = {err.args[0]:.6g}")
    if failed:
        problems.insert(
            0, f"the homogeneous fixed point did not converge at {len(failed)} beta(s) {failed[:5]}"
        )
    result.converged = not problems
    result.message = "; ".join(problems) or "homogeneous cavity fields (every h equal to h*)"
    return result
