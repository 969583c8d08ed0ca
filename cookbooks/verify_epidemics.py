"""Property checks of a compartmental epidemic model (``cavitylab verify`` for Compartmental).

* the compiled IBMF and DMP kernels equal sympy at drawn points;
* IBMF keeps the marginals of every person normalised on a drawn random graph;
* DMP (where the model allows it: unidirectional dynamics) equals the frequencies of the
  stochastic simulator on drawn small trees, within 5 binomial standard errors plus 5 / R
  (Lokhov, Mézard, Zdeborová, PRE 91, 012811 (2015): DMP is exact on trees).
"""

import networkx as nx
import numpy as np

import derive
import graphs

from .verify import _hypothesis, _run, _settings, kernel_matches_sympy

__all__ = ["verify_compartmental"]

#: Runs of the simulator in the DMP check.
RUNS = 3000


def _dmp_supported(model):
    try:
        derive.dmp(model)
    except derive.ModelError as err:
        return str(err)
    return None


def verify_compartmental(model, examples=10, seed=None):
    """Yield the checks of a :class:`derive.Compartmental` model (see the module docstring)."""
    from .verify import Check

    hypothesis, st = _hypothesis()
    refused = _dmp_supported(model)
    yield kernel_matches_sympy(derive.ibmf(model), examples=examples, seed=seed)
    if refused is None:
        yield kernel_matches_sympy(derive.dmp(model), examples=examples, seed=seed)
    via = sorted({model.index(c) for *_, c, _ in model.contact})
    extra = [p.name for p in model.contact_params[1:]]

    @st.composite
    def cases(draw, tree):
        n = draw(st.integers(6, 10))
        s = draw(st.integers(0, 2**31 - 1))
        G = nx.random_labeled_tree(n, seed=s) if tree else nx.gnp_random_graph(n, 0.4, seed=s)
        for u, v in G.edges():
            G.edges[u, v]["lambda"] = draw(st.floats(0.05, 0.9))
        days = draw(st.integers(2, 4))
        states = draw(st.lists(st.integers(0, len(model.states) - 1), min_size=n, max_size=n))
        initial = np.array(states)
        if via:
            initial[draw(st.integers(0, n - 1))] = via[0]
        params = {p.name: draw(st.floats(0.05, 0.9)) for p in model.node_params}
        params.update({name: draw(st.floats(0.05, 0.9)) for name in extra})
        return G, days, initial, params, draw(st.integers(0, 2**31 - 1))

    @_settings(hypothesis, examples)
    @hypothesis.given(cases(False))
    def normalised(case):
        G, days, initial, params, _ = case
        c = graphs.contacts.static(G, days)
        r = graphs.ibmf(model, c, initial, params)
        assert np.allclose(r.marginals.sum(axis=2), 1, atol=1e-9), "IBMF marginals do not sum to 1"
        assert r.converged, r.message

    yield _run(
        "IBMF marginals stay normalised probabilities",
        f"{examples} drawn graphs",
        normalised,
        seed,
        hypothesis,
    )
    if refused is not None:
        yield Check("DMP equals the simulator on trees", None, refused)
        return

    @_settings(hypothesis, max(2, examples // 2))
    @hypothesis.given(cases(True))
    def exact_on_trees(case):
        G, days, initial, params, s = case
        c = graphs.contacts.static(G, days)
        sim = graphs.simulate(model, c, initial, params, runs=RUNS, seed=s)
        d = graphs.dmp(model, c, initial, params)
        p = d.marginals
        tol = 5 * np.sqrt(p * (1 - p) / RUNS) + 5 / RUNS
        gap = np.abs(p - sim.frequencies)
        assert np.all(gap <= tol), (
            f"largest gap {gap.max():.4f} (tolerance there {tol.flat[gap.argmax()]:.4f})"
        )

    yield _run(
        "DMP equals the simulator on trees",
        f"{max(2, examples // 2)} drawn trees, {RUNS} runs each, 5 binomial standard errors",
        exact_on_trees,
        seed,
        hypothesis,
    )
