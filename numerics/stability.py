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

References
----------
Mézard & Parisi, Eur. Phys. J. B 20, 217 (2001); Mézard & Montanari,
*Information, Physics, and Computation*, OUP (2009), §14.2 and ch. 17.
"""

from dataclasses import dataclass
from itertools import product

import numpy as np
from scipy.optimize import brentq

import derive

from .compile import compile
from .fixed_point import fixed_point
from .params import parameter_values

__all__ = ["bp_stability", "StabilityResult"]


@dataclass
class StabilityResult:
    """Instability temperatures of the paramagnetic BP fixed point.

    ``None`` where the corresponding eigenvalue never reaches 1 in the scanned
    range of ``beta``.
    """

    degree: int
    beta_ferromagnetic: float = None
    beta_spin_glass: float = None

    @property
    def temperature_ferromagnetic(self):
        return None if self.beta_ferromagnetic is None else 1.0 / self.beta_ferromagnetic

    @property
    def temperature_spin_glass(self):
        return None if self.beta_spin_glass is None else 1.0 / self.beta_spin_glass


def _distribution(model, couplings):
    """Joint law of the edge parameters: list of (probability, values in edge_params order)."""
    names = [p.name for p in model.edge_params]
    couplings = {str(k): v for k, v in dict(couplings).items()}
    missing = [n for n in names if n not in couplings]
    if missing:
        raise ValueError(f"couplings: no distribution for edge parameter(s) {missing}")
    unknown = sorted(set(couplings) - set(names))
    if unknown:
        raise ValueError(f"couplings: {unknown} are not edge parameters of the model {names}")
    marginals = []
    for n in names:
        law = couplings[n]
        law = dict(law) if isinstance(law, dict) else {float(law): 1.0}
        probs = np.array(list(law.values()), dtype=float)
        if np.any(probs < 0) or not np.isclose(probs.sum(), 1.0):
            raise ValueError(
                f"couplings[{n!r}]: probabilities must be >= 0 and sum to 1, got {list(probs)}"
            )
        marginals.append([(p, float(v)) for v, p in law.items()])
    return [
        (np.prod([p for p, _ in combo]), [v for _, v in combo]) for combo in product(*marginals)
    ]


class _Recursion:
    """The homogeneous cavity recursion and its linearisation at one temperature."""

    def __init__(self, model, degree, couplings, params):
        self.model = model
        self.c = int(degree)
        self.law = _distribution(model, couplings)
        self.bp = compile(derive.belief_propagation(model))
        self.jac = compile(derive.bp_stability(model))
        self.node = list(parameter_values(model.node_params, params).values())
        self.n = len(self.bp.outputs)

    def fixed_point(self, beta, h0):
        def step(h):
            mean_u = np.zeros(self.n)
            for p, theta in self.law:
                mean_u += p * np.array(self.jac.evaluate_observables(*h, beta, *theta))
            return np.array(self.bp.module.outputs(*((self.c - 1) * mean_u), 0.0, beta, *self.node))

        return fixed_point(step, h0, damping=0.3, tol=1e-12, max_iter=20_000, anderson=3)

    def eigenvalues(self, beta, h):
        first = np.zeros((self.n, self.n))
        second = np.zeros((self.n**2, self.n**2))
        for p, theta in self.law:
            M = np.array(self.jac(*h, beta, *theta), ndmin=1).reshape(self.n, self.n)
            first += p * M
            second += p * np.kron(M, M)
        rho = lambda A: float(np.max(np.abs(np.linalg.eigvals(A))))  # noqa: E731
        return (self.c - 1) * rho(first), (self.c - 1) * rho(second)


def bp_stability(model, degree, couplings, params=None, betas=None):
    r"""Ferromagnetic and spin-glass instability temperatures of the paramagnetic BP solution.

    Parameters
    ----------
    model : derive.PairwiseModel
    degree : int
        Degree ``c`` of the random regular graph, >= 2.
    couplings : dict
        Law of each edge parameter: a number (fixed) or ``{value: probability}``;
        different parameters are independent. E.g. ``{"J": {1: 0.5, -1: 0.5}}``.
    params : dict, optional
        Values of the node parameters (e.g. ``{"h": 0.0}``).
    betas : array, optional
        Grid scanned for the first crossing of each eigenvalue through 1, then
        refined by Brent's method; default 400 points geometric in [1e-3, 50].

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
    >>> round(r.temperature_ferromagnetic, 4)  # 2 / ln(c / (c - 2))
    1.8205
    """
    if int(degree) < 2:
        raise ValueError(f"degree must be at least 2, got {degree}")
    rec = _Recursion(model, degree, couplings, params)
    betas = np.geomspace(1e-3, 50.0, 400) if betas is None else np.asarray(betas, dtype=float)
    h = np.zeros(rec.n)
    values, branch = [], []
    for beta in betas:  # follow the paramagnetic branch from high temperature
        fp = rec.fixed_point(beta, h)
        h = fp.x if fp.converged else h
        branch.append(h)
        values.append(rec.eigenvalues(beta, h))
    values = np.array(values)
    result = StabilityResult(int(degree))
    for col, attr in ((0, "beta_ferromagnetic"), (1, "beta_spin_glass")):
        above = np.nonzero(values[:, col] >= 1.0)[0]
        if above.size == 0 or above[0] == 0:
            continue
        lo, hi = betas[above[0] - 1], betas[above[0]]

        start = branch[above[0] - 1]

        def excess(beta, col=col, start=start):
            fp = rec.fixed_point(beta, start)
            return rec.eigenvalues(beta, fp.x)[col] - 1.0

        setattr(result, attr, brentq(excess, lo, hi, xtol=1e-13, rtol=1e-13))
    return result
