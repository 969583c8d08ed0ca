"""Property-based checks of derived equations against independent numerics, one function per family.

``cavitylab verify MODEL.py`` runs the checks of the model's family (see
:mod:`cookbooks.families`). Each check is a hypothesis property, built on an
inner function with ``hypothesis.given`` and called directly, so that the same
checks run from the command line and from pytest. A check function yields
:class:`Check` results as it goes.

hypothesis is a test extra (``pip install 'cavitylab[test]'``); it is imported
only when a check runs.
"""

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

import derive
import graphs
import numerics

from .errors import CookbookError

__all__ = [
    "Check",
    "verify_pairwise",
    "kernel_matches_sympy",
    "exact_matches_monte_carlo",
    "bp_matches_exact_on_trees",
]

#: Tolerance of compiled kernel against sympy evalf: ``|a - b| <= TOL * (1 + |b|)``.
TOL = 1e-9
#: Monte Carlo against exact enumeration: agreement within this many standard errors.
N_SIGMA = 5.0
#: Sweeps, burn-in and batch-means blocks of the Monte Carlo check.
MC_SWEEPS, MC_BURN_IN, MC_BLOCKS = 4000, 800, 40
#: Belief propagation against exact enumeration on trees: ``|a - b| <= BP_TOL`` for the
#: marginals, ``BP_TOL * (1 + |log Z|)`` for the free entropy.
BP_TOL = 1e-9
#: The Monte Carlo check caps beta so that beta * (local energy range) <= this: see
#: :func:`_mixing_beta`.
MIXING_SCALE = 2.0


@dataclass
class Check:
    """The outcome of one property check.

    ``passed`` is True, False, or None for a check that does not apply to the model.
    """

    name: str
    passed: bool | None
    detail: str = ""

    @property
    def status(self):
        return {True: "PASS", False: "FAIL", None: "SKIP"}[self.passed]

    def __str__(self):
        return f"{self.status}  {self.name}" + (f": {self.detail}" if self.detail else "")


def _hypothesis():
    try:
        import hypothesis
        from hypothesis import strategies
    except ImportError:  # pragma: no cover - hypothesis is installed with the test extra
        raise CookbookError(
            "cavitylab verify needs hypothesis: pip install 'cavitylab[test]'"
        ) from None
    return hypothesis, strategies


def _settings(hypothesis, examples, shrink=True):
    phases = [p for p in hypothesis.Phase if shrink or p is not hypothesis.Phase.shrink]
    return hypothesis.settings(
        deadline=None,
        max_examples=int(examples),
        database=None,
        phases=phases,
        verbosity=hypothesis.Verbosity.quiet,
        suppress_health_check=[
            hypothesis.HealthCheck.too_slow,
            hypothesis.HealthCheck.data_too_large,
            hypothesis.HealthCheck.filter_too_much,
        ],
    )


def _run(name, detail, test, seed, hypothesis):
    """Call the hypothesis property ``test``; a failure becomes ``Check(passed=False)``."""
    if seed is not None:
        test = hypothesis.seed(int(seed))(test)
    try:
        test()
    except Exception as err:  # noqa: BLE001 - any failure of the property is reported
        message = " ".join(str(err).split()) or type(err).__name__
        if not isinstance(err, AssertionError):
            message = f"{type(err).__name__}: {message}"
        return Check(name, False, message)
    return Check(name, True, detail)


def _close(a, b, tol=TOL):
    return math.isfinite(a) and abs(a - b) <= tol * (1.0 + abs(b))


def kernel_matches_sympy(
    equations, examples=20, seed=None, field_range=3.0, beta_range=(0.05, 3.0), param_range=2.0
):
    """The compiled kernel of ``equations`` equals sympy ``evalf`` of its expressions.

    Drawn points: inputs (fields) in ``[-field_range, field_range]``, ``beta`` in
    ``beta_range``, other parameters in ``[-param_range, param_range]``. Outputs and
    observables must agree to :data:`TOL`, relative plus absolute.
    """
    hypothesis, st = _hypothesis()
    kernel = numerics.compile(equations)
    args = equations.arguments

    def strategy(sym):
        if sym in equations.inputs:
            return st.floats(-field_range, field_range)
        if sym == derive.BETA:
            return st.floats(*beta_range)
        return st.floats(-param_range, param_range)

    exprs = list(equations.outputs.items()) + list(equations.observables.items())

    @_settings(hypothesis, examples)
    @hypothesis.given(st.tuples(*[strategy(a) for a in args]))
    def test(point):
        out = kernel(*point)  # arguments in kernel.arguments order
        values = list(out if isinstance(out, tuple) else (out,)) + list(
            kernel.evaluate_observables(*point)
        )
        subs = {a: sp.Float(v, 30) for a, v in zip(args, point)}
        for (sym, expr), got in zip(exprs, values):
            want = float(sp.N(expr.xreplace(subs), 25))
            assert _close(got, want), (
                f"{sym} at {dict(zip(map(str, args), point))}: kernel {got!r}, sympy {want!r}"
            )

    name = f"compiled '{equations.name}' = sympy evalf"
    detail = f"{len(exprs)} expressions at {examples} drawn points, rel+abs tolerance {TOL:g}"
    return _run(name, detail, test, seed, hypothesis)


def _energy_tables(model):
    """Callables: pair energy table ``(q, q)`` from edge parameter values, field table ``(q,)``."""
    si, sj = model.variables
    pair = sp.Matrix(
        [
            [model.pair_energy.subs({si: a, sj: b}, simultaneous=True) for b in model.alphabet]
            for a in model.alphabet
        ]
    )
    field = sp.Matrix([[model.field_energy.subs(si, a) for a in model.alphabet]])
    pair_fn = sp.lambdify(model.edge_params, pair, modules=["numpy", "mpmath"])
    field_fn = sp.lambdify(model.node_params, field, modules=["numpy", "mpmath"])
    return (
        lambda *v: np.asarray(pair_fn(*v), dtype=float),
        lambda *v: np.asarray(field_fn(*v), dtype=float),
    )


def _mixing_beta(G, model, tables, beta):
    """``beta`` capped so that single-site Monte Carlo mixes within the check's sweeps.

    With ``S_i`` the range of the field energy of node ``i`` plus the ranges of its pair
    energies, ``beta max_i S_i <= MIXING_SCALE`` keeps the free-energy barrier between
    ordered states of a 6-node graph at a few units: the chain crosses it many times in
    4000 sweeps, so batch means see the true fluctuations. At lower temperatures a
    single-site chain can stay in one ordered state for the whole run and its batch-means
    error would be far too small; that regime is exact enumeration's, not Monte Carlo's.
    """
    pair_fn, field_fn = tables
    spread = np.zeros(G.number_of_nodes())
    index = {v: i for i, v in enumerate(G)}
    for v, data in G.nodes(data=True):
        f = field_fn(*[data[p.name] for p in model.node_params])
        spread[index[v]] += np.ptp(f)
    for u, v, data in G.edges(data=True):
        r = np.ptp(pair_fn(*[data[p.name] for p in model.edge_params]))
        spread[index[u]] += r
        spread[index[v]] += r
    top = spread.max(initial=0.0)
    return beta if top * beta <= MIXING_SCALE else MIXING_SCALE / top


def _rounded(items):
    """``G.edges(data=True)`` or ``G.nodes(data=True)`` with rounded values, for a message."""
    return [(*item[:-1], {k: round(v, 4) for k, v in item[-1].items()}) for item in items]


def exact_matches_monte_carlo(
    model, examples=20, seed=None, max_nodes=6, beta_range=(0.05, 3.0), param_range=2.0
):
    """``graphs.exact`` and Metropolis ``graphs.monte_carlo`` agree on small random graphs.

    Draws a G(n, p) graph with 2..``max_nodes`` nodes, one value of every edge
    parameter per edge and of every node parameter per node (in
    ``[-param_range, param_range]``) and ``beta`` in ``beta_range`` (capped by
    :func:`_mixing_beta`). Each node's mean ``E[s_i]`` from Monte Carlo must lie within
    :data:`N_SIGMA` standard errors of the exact one.
    """
    import networkx as nx

    hypothesis, st = _hypothesis()
    tables = _energy_tables(model)
    param = st.floats(-param_range, param_range)

    # No shrinking: each example is a Monte Carlo run, and shrinking a failure would
    # rerun hundreds of them; the report names the failing graph and values as drawn.
    @_settings(hypothesis, examples, shrink=False)
    @hypothesis.given(st.data())
    def test(data):
        n = data.draw(st.integers(2, max_nodes), label="n")
        p = data.draw(st.floats(0.2, 1.0), label="p")
        G = nx.gnp_random_graph(n, p, seed=data.draw(st.integers(0, 2**16), label="graph seed"))
        for v in G:
            for s in model.node_params:
                G.nodes[v][s.name] = data.draw(param, label=f"{s} at node {v}")
        for u, v in G.edges():
            for s in model.edge_params:
                G.edges[u, v][s.name] = data.draw(param, label=f"{s} on edge {u}-{v}")
        beta = _mixing_beta(G, model, tables, data.draw(st.floats(*beta_range), label="beta"))
        mc_seed = data.draw(st.integers(0, 2**31 - 2), label="Monte Carlo seed")
        exact = graphs.exact(model, G, beta)
        mc = graphs.monte_carlo(
            model,
            G,
            beta,
            sweeps=MC_SWEEPS,
            burn_in=MC_BURN_IN,
            method="metropolis",
            seed=mc_seed,
            n_blocks=MC_BLOCKS,
        )
        # Tolerance: magnetization_error is the batch-means standard error over
        # MC_BLOCKS = 40 blocks of 80 sweeps, longer than the autocorrelation time once
        # beta is capped by _mixing_beta. The standardised deviation is then Student t
        # with 39 degrees of freedom: P(|t| > 5) = 1.3e-5, so over at most 6 nodes and a
        # few dozen graphs a false alarm has probability of order 1e-3, while a wrong
        # energy, sign or parameter shifts E[s_i] by many standard errors (about 0.01).
        # Floor: a near-periodic chain (an isolated two-state spin at zero field flips at
        # every sweep) has equal batch means and a standard error of ~0, below the
        # resolution 1/(sweeps after burn-in) of its visit frequencies; that is the floor.
        want, got = exact.magnetization, mc.magnetization
        spread = float(np.ptp(exact.alphabet))
        err = np.maximum(mc.magnetization_error, spread / (MC_SWEEPS - MC_BURN_IN))
        for i, node in enumerate(exact.nodes):
            assert abs(got[i] - want[i]) <= N_SIGMA * err[i], (
                f"node {node} of a {n}-node graph at beta={beta:.4g}: Monte Carlo E[s] = "
                f"{got[i]:.5f} +- {err[i]:.5f}, exact {want[i]:.5f} "
                f"({abs(got[i] - want[i]) / err[i]:.1f} s.e.); "
                f"edges {_rounded(G.edges(data=True))}, nodes {_rounded(G.nodes(data=True))}"
            )

    name = "exact enumeration = Monte Carlo (Metropolis)"
    detail = (
        f"E[s_i] on {examples} random graphs with 2-{max_nodes} nodes, {MC_SWEEPS} "
        f"sweeps, within {N_SIGMA:g} standard errors"
    )
    if len(model.alphabet) < 2:
        return Check(name, None, "a one-state alphabet has nothing to sample")
    return _run(name, detail, test, seed, hypothesis)


def bp_matches_exact_on_trees(
    model, examples=20, seed=None, max_nodes=8, beta_range=(0.05, 3.0), param_range=1.0
):
    """``graphs.belief_propagation`` is exact on trees: marginals and ``log_z`` = ``graphs.exact``.

    Draws a random tree with 2..``max_nodes`` nodes (from a Prüfer sequence), one value
    of every edge parameter per edge and of every node parameter per node, all in
    ``[-param_range, param_range]``, and ``beta`` in ``beta_range``; BP (parallel
    schedule, from random messages) must converge, and its marginals and Bethe free
    entropy must equal exact enumeration to :data:`BP_TOL`.
    """
    import networkx as nx

    hypothesis, st = _hypothesis()
    param = st.floats(-param_range, param_range)

    # No shrinking: each example costs a BP solve, and shrinking a failure would rerun
    # hundreds of them; the report names the failing tree and values as drawn.
    @_settings(hypothesis, examples, shrink=False)
    @hypothesis.given(st.data())
    def test(data):
        n = data.draw(st.integers(2, max_nodes), label="n")
        if n == 2:
            G = nx.path_graph(2)
        else:
            prufer = data.draw(
                st.lists(st.integers(0, n - 1), min_size=n - 2, max_size=n - 2),
                label="Prüfer sequence",
            )
            G = nx.from_prufer_sequence(prufer)
        for v in G:
            for s in model.node_params:
                G.nodes[v][s.name] = data.draw(param, label=f"{s} at node {v}")
        for u, v in G.edges():
            for s in model.edge_params:
                G.edges[u, v][s.name] = data.draw(param, label=f"{s} on edge {u}-{v}")
        beta = data.draw(st.floats(*beta_range), label="beta")
        bp_seed = data.draw(st.integers(0, 2**31 - 2), label="BP seed")
        exact = graphs.exact(model, G, beta)
        bp = graphs.belief_propagation(
            model, G, beta, tol=1e-13, max_iter=10 * n, init="random", seed=bp_seed
        )
        where = (
            f"{n}-node tree at beta={beta:.4g}; edges {_rounded(G.edges(data=True))}, "
            f"nodes {_rounded(G.nodes(data=True))}"
        )
        assert bp.converged, f"BP did not converge on a {where}: {bp.message}"
        diff = np.abs(bp.marginals - exact.marginals)
        i, a = np.unravel_index(int(np.argmax(diff)), diff.shape)
        assert diff[i, a] <= BP_TOL, (
            f"node {exact.nodes[i]}, state {exact.alphabet[a]:g} of a {where}: BP marginal "
            f"{bp.marginals[i, a]!r}, exact {exact.marginals[i, a]!r}"
        )
        assert _close(bp.log_z, exact.log_z, BP_TOL), (
            f"log Z of a {where}: Bethe {bp.log_z!r}, exact {exact.log_z!r}"
        )

    name = "belief propagation = exact enumeration on trees"
    detail = (
        f"marginals and log Z on {examples} random trees with 2-{max_nodes} nodes, "
        f"parameters in [-{param_range:g}, {param_range:g}], tolerance {BP_TOL:g}"
    )
    if len(model.alphabet) < 2:
        return Check(name, None, "a one-state alphabet has no messages")
    return _run(name, detail, test, seed, hypothesis)


def verify_pairwise(model, examples=20, seed=None):
    """The checks of a :class:`derive.PairwiseModel`, yielded one by one.

    (a) the compiled naive mean-field kernel against sympy evalf;
    (b) exact enumeration against Monte Carlo on small random graphs;
    (c) belief propagation against exact enumeration on random trees.
    """
    yield kernel_matches_sympy(derive.meanfield(model), examples, seed)
    yield exact_matches_monte_carlo(model, examples, seed)
    yield bp_matches_exact_on_trees(model, examples, seed)
