"""``export``: write the standalone solver of a set of equations."""

import os
from pathlib import Path

from derive.spins import BETA

from .codegen import DEFAULT_RULE, solver_source
from .compile import compile
from .errors import InputError

__all__ = ["export"]

#: Section of a multi-equation solver, by the kind of its equations: name prefix, the
#: driver a user calls, its public name, and how it is called (for the docstring).
_SECTIONS = {
    "fixed_point": (
        "mf_",
        "solve",
        "meanfield",
        "meanfield(indptr, indices, edge_id, node_params, edge_params, beta, tol=1e-10, "
        "max_iter=10000, seed=None, damping=0.5, init=None)",
    ),
    "message": (
        "bp_",
        "solve",
        "belief_propagation",
        "belief_propagation(indptr, indices, reverse, edge_id, node_params, edge_params, "
        "beta, tol=1e-10, max_iter=1000, seed=None, damping=0.0, init=None)",
    ),
    "map": (
        "energy_",
        "mc_run",
        "monte_carlo",
        "monte_carlo(indptr, indices, edge_id, node_params, edge_params, beta, values, "
        'sweeps=1000, seed=None, method="metropolis", burn_in=None, n_blocks=20, init=None, '
        "energy0=0.0)",
    ),
}

_EXAMPLE = {
    "meanfield": "mf = meanfield(indptr, indices, edge_id, node_params, edge_params, "
    "beta=0.5, seed=0)\n    mf['converged'], mf['observables']",
    "belief_propagation": "bp = belief_propagation(indptr, indices, reverse, edge_id, "
    "node_params, edge_params, beta=0.5, seed=0)\n    bp['converged'], bp['observables']",
    "monte_carlo": "mc = monte_carlo(indptr, indices, edge_id, node_params, edge_params, "
    "beta=0.5, values=ALPHABET, sweeps=2000, seed=0)\n    mc['marginals'], mc['acceptance']",
}


def export(equations, path, quadrature=DEFAULT_RULE, order=None):
    """Write the standalone, readable solver module of ``equations`` to ``path``.

    The file needs numpy and numba only (no sympy, no cavitylab); its docstring holds the
    equations and how to call the solver.

    One ``Equations``: the very module that :func:`numerics.compile` generates and caches,
    so importing it in a fresh interpreter gives the numbers of the compiled kernel.

    A list of graph equations (a pairwise model's :func:`derive.meanfield`,
    :func:`derive.belief_propagation` and :func:`derive.local_energy`): one module with
    the kernels and drivers that the library's graph solvers run, each section's names
    prefixed (``mf_``, ``bp_``, ``energy_``), and the drivers under their public names,
    ``meanfield``, ``belief_propagation`` and ``monte_carlo``: plain functions over CSR
    arrays (indptr, indices, reverse, edge_id), node and edge parameter arrays, ``beta``,
    ``tol``, ``max_iter`` and ``seed``. The generator is the one the library compiles
    with, so the exported drivers give the library's numbers.

    Parameters
    ----------
    equations : derive.Equations or list of derive.Equations
    path : str or path-like
        Ends in ``.py``.
    quadrature, order : see :func:`numerics.compile`

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        For a path that does not end in ``.py``, or equations that cannot share one module
        (not graph equations, two of one kind, different parameters).
    """
    path = Path(path)
    if path.suffix != ".py":
        raise InputError(f"export path must end in .py, got {str(path)!r}")
    if isinstance(equations, (list, tuple)):
        source = _solver_module(list(equations), quadrature, order)
    else:
        source = compile(equations, quadrature=quadrature, order=order).source
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text() == source:
        return path  # unchanged: numba's cache beside the file stays valid
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(source)
    os.replace(tmp, path)
    return path


def _solver_module(equations, quadrature, order):
    sections, aliases, calls, seen = [], [], [], {}
    for eqs in equations:
        graph = bool(eqs.aggregates) and set(eqs.aggregates) == set(eqs.inputs)
        entry = _SECTIONS.get(eqs.kind)
        if not graph or entry is None or (eqs.kind == "map" and len(eqs.neighbor) != 1):
            raise InputError(
                f"'{eqs.name}' ({eqs.kind}) is not graph equations with a driver; a solver "
                "module takes mean-field, belief-propagation and local-energy equations"
            )
        if eqs.kind in seen:
            raise InputError(
                f"two equations of kind {eqs.kind!r}: {seen[eqs.kind]!r}, {eqs.name!r}"
            )
        seen[eqs.kind] = eqs.name
        prefix, driver, public, call = entry
        sections.append((prefix, eqs))
        aliases.append((public, prefix + driver))
        calls.append((public, call, eqs))
    params = {
        (tuple(p.name for p in eqs.node_params if p != BETA), eqs.edge_params) for eqs in equations
    }
    if len(params) != 1:
        raise InputError(
            "the equations of one solver module must share their node and edge parameters"
        )
    node, edge = params.pop()
    alphabets = {
        tuple(float(a) for a in eqs.model.alphabet)
        for eqs in equations
        if getattr(eqs.model, "alphabet", None) is not None
    }
    alphabet = alphabets.pop() if len(alphabets) == 1 else None
    preamble = [f"ALPHABET = {alphabet!r}"] if alphabet else []
    preamble += [
        f"NODE_PARAMETERS = {node!r}",
        f"EDGE_PARAMETERS = {tuple(p.name for p in edge)!r}",
    ]
    header = _header(equations, calls, node, edge, alphabet)
    return solver_source(sections, header, preamble, aliases, quadrature, order)


def _header(equations, calls, node, edge, alphabet):
    model = equations[0].model
    lines = ["A standalone solver generated by cavitylab.", ""]
    if model is not None:
        lines += [f"Model: {model!r}", ""]
    for public, _, eqs in calls:
        lines += [f"{public}: {eqs.name}", "", str(eqs), ""]
    lines += [
        "Drivers (plain Python functions; the loops run in numba; numpy and numba only):",
        "",
    ]
    lines += [f"    {call}" for _, call, _ in calls]
    lines += [
        "",
        "Graph: n nodes, m undirected edges, as CSR arrays of int64: indptr (n + 1,), the",
        "directed edges i -> j leaving node i are indptr[i]:indptr[i + 1]; indices (2m,), j of",
        "each directed edge (sorted by i, then j); reverse (2m,), the position of j -> i;",
        "edge_id (2m,), the undirected edge behind each directed edge. node_params (n, "
        f"{len(node)}) in NODE_PARAMETERS order {node}; edge_params (m, {len(edge)}) in "
        f"EDGE_PARAMETERS order {tuple(p.name for p in edge)}; beta > 0.",
        "seed: an int, None or a numpy Generator (numpy.random.default_rng(seed)).",
        "Each returns a dict (see its docstring): observables per node are named in",
        "MF_OBSERVABLES / BP_OBSERVABLES; Monte Carlo gives marginals, configuration,",
        "energy and magnetization series, acceptance.",
        "",
        "Example: a path 0 - 1 - 2, every parameter 1.0::",
        "",
        "    import numpy as np",
        "    indptr = np.array([0, 1, 3, 4]); indices = np.array([1, 0, 2, 1])",
        "    reverse = np.array([1, 0, 3, 2]); edge_id = np.array([0, 0, 1, 1])",
        "    node_params = np.ones((3, len(NODE_PARAMETERS)))",
        "    edge_params = np.ones((2, len(EDGE_PARAMETERS)))",
    ]
    lines += [f"    {_EXAMPLE[public]}" for public, _, _ in calls]
    if alphabet:
        lines += ["", f"ALPHABET: the value of each state, {alphabet}."]
    lines += ["", "Equations keys: " + ", ".join(eqs.key for eqs in equations)]
    return "\n".join(lines)
