"""Generate the Python source of a kernel module from ``Equations``.

The module is standalone (``math``, ``numpy``, ``numba``; no sympy, no
cavitylab) and readable: its docstring holds the equations, and every function
is ``numba.njit(cache=True)``. It defines

``outputs(*arguments)``, ``observables(*arguments)``
    the equations at one point, as tuples;
``outputs_array(*arrays, out)``, ``observables_array(*arrays, out)``
    the same over 1-d arrays, written into ``out`` of shape ``(n_outputs, n)``;
``rhs(t, y, p, out)``
    for ``kind="ode"``: the derivatives of the state array ``y`` at time ``t``;

and, when the equations carry aggregates (graph models), over CSR arrays
``(indptr, indices, edge_id)``, a state array ``(n_nodes, n_neighbor)``, node
parameters ``(n_nodes, n_node_params)`` and edge parameters per *directed*
edge ``(2 n_edges, n_edge_params)`` (so that the inner loop reads them without
indirection; ``edge_id`` maps a directed edge to its undirected one):

``fields(i, ...)``, ``node_outputs(i, ...)``, ``node_observables(i, ...)``
    the aggregates and equations of node ``i``;
``graph_outputs(..., out)``, ``graph_observables(..., out)``
    the same for every node, into ``out`` of shape ``(n_nodes, n)``;
``sweep_sequential(..., order, damping)``
    the in-place (Gauss--Seidel) update of every node, for fixed points whose
    outputs are the neighbours' state (``graph_outputs`` is the parallel one).

For ``kind="message"`` (belief propagation) the outputs live on directed edges,
in an array ``messages`` of shape ``(2 n_edges, n_outputs)`` indexed like the
CSR, and the aggregates of the message ``i -> j`` run over ``k`` in ``di \\ j``
(``reverse[e]`` is the edge ``k -> i`` opposite to ``e = i -> k``):

``node_messages(i, ...)``, ``message_sweep(..., scratch, incoming, out, damping)``,
``message_sweep_ordered(..., order, damping)``
    the messages out of one node; a parallel sweep into ``out``; an in-place
    sweep in a given order. Each returns the largest change of a message.
``graph_beliefs(..., out)``
    the observables of every node, from the full sums.

For ``kind="map"`` graph equations with one neighbour symbol (local energies of a site,
:func:`derive.local_energy`): ``mc_seed(s)`` and ``mc_sweeps(...)``, Metropolis or heat-bath
sweeps in numba.

Drivers, plain Python functions around those kernels (what the graph solvers of
:mod:`graphs` run, and what :func:`numerics.export` writes): ``iterate`` and ``solve`` (belief
propagation; mean-field fixed points), ``mc_chain`` and ``mc_run`` (Monte Carlo); ``iterate``
and ``mc_chain`` take the kernels' layout, ``solve`` and ``mc_run`` the user's (node and
undirected-edge parameter arrays and ``beta``). :func:`solver_source` puts several sets of
equations into one module, each with a name prefix.

Every module ends by registering itself under a name fixed by its content (``_register``), so
that numba's on-disk cache works for a module imported by path under any name.
"""

import hashlib

import sympy as sp

from derive.spins import BETA

from . import special
from .errors import CompileError
from .printer import (
    RESERVED,
    RULES,
    NumbaPrinter,
    expectation_function,
    lift_expectations,
    print_block,
    safe_names,
)

__all__ = ["module_source", "solver_source", "DEFAULT_RULE"]

#: Default quadrature rule for ``GaussianExpectation`` (see ``printer.quadrature_rule``).
DEFAULT_RULE = "trapezoid"

#: IEEE semantics (error_model="numpy"): a division by zero gives inf or NaN, which the
#: solvers detect and report, instead of a ZeroDivisionError from deep inside a kernel.
NJIT = '@numba.njit(cache=True, error_model="numpy")'
#: Point functions are inlined into their callers at numba IR level: a call
#: across generated functions otherwise costs a factor ~2.5 in a Monte Carlo sweep.
NJIT_INLINE = '@numba.njit(cache=True, inline="always", error_model="numpy")'
GRAPH_ARGS = "indptr, indices, edge_id, state, node_values, edge_values"
MESSAGE_ARGS = "indptr, indices, reverse, messages, node_values, edge_values"


#: Python 3.11 compiles a call with more arguments than this into ``f(*tuple)``
#: (CALL_FUNCTION_EX), which numba's inliner refuses ("calling a closure with *args"):
#: point functions of more arguments are called, not inlined.
MAX_INLINE_ARGS = 30


def _function(name, args, exprs, printer, doc=""):
    lines, results = print_block(exprs, printer)
    decorator = NJIT_INLINE if len(args) <= MAX_INLINE_ARGS else NJIT
    body = [decorator, f"def {name}({', '.join(args)}):"]
    if doc:
        body.append(f'    """{doc}"""')
    body += lines
    body.append(f"    return ({', '.join(results)},)" if results else "    return ()")
    return "\n".join(body)


def _array_function(name, scalar, args, n_out):
    loop_args = ", ".join(f"{a}[i]" for a in args)
    body = [
        NJIT,
        f"def {name}({', '.join(args + ['out'])}):",
        f'    """``{scalar}`` over 1-d arrays of equal length, into out[k, i]."""',
        "    for i in range(out.shape[1]):",
        f"        r = {scalar}({loop_args})",
    ]
    body += [f"        out[{k}, i] = r[{k}]" for k in range(n_out)]
    return "\n".join(body)


def _ode_function(eqs, names):
    """``rhs(t, y, p, out)``: the derivatives of the state ``y`` (in ``STATE`` order) at time
    ``t``, with the other arguments ``p`` in ``RHS_PARAMS`` order, written into ``out``."""
    state = list(eqs.state)
    others = [s for s in eqs.arguments if s not in state and s != eqs.time]
    call = []
    for s in eqs.arguments:
        if s in state:
            call.append(f"y[{state.index(s)}]")
        elif s == eqs.time:
            call.append("t")
        else:
            call.append(f"p[{others.index(s)}]")
    order = list(eqs.outputs)
    body = [
        NJIT,
        "def rhs(t, y, p, out):",
        '    """dy/dt into out: y in STATE order, p in RHS_PARAMS order."""',
        f"    r = outputs({', '.join(call)})",
    ]
    body += [f"    out[{k}] = r[{order.index(s)}]" for k, s in enumerate(state)]
    return "\n".join(body), [names[s] for s in others]


def _neighbour_loop(eqs, names, printer, aggregates, source, indent="        "):
    """Lines of the loop body over directed edges ``e`` of node ``i``: the summands.

    ``source`` is the array row the neighbour symbols are read from
    (``state[j, k]`` for node states, ``messages[r, k]`` for BP messages).
    Returns ``(lines, summand strings)``.
    """
    lines = [f"{indent}{names[s]} = {source.format(k=k)}" for k, s in enumerate(eqs.neighbor)]
    lines += [f"{indent}{names[p]} = edge_values[e, {k}]" for k, p in enumerate(eqs.edge_params)]
    body, results = print_block([eqs.aggregates[s] for s in aggregates], printer, indent=indent)
    return lines + body, results


def _graph_functions(eqs, names, printer, p=""):
    """Node-state functions over CSR arrays; every function name starts with ``p``."""
    node_params = eqs.node_params
    unpack_node = [f"    {names[p]} = node_values[i, {k}]" for k, p in enumerate(node_params)]
    agg_syms = list(eqs.aggregates)
    lines, results = _neighbour_loop(eqs, names, printer, agg_syms, "state[j, {k}]")
    fields = [
        NJIT_INLINE,
        f"def {p}fields(i, {GRAPH_ARGS}):",
        '    """The aggregates of node i: sums over its neighbours j."""',
    ]
    fields += unpack_node
    fields += [f"    {names[s]} = 0.0" for s in agg_syms]
    fields += ["    for e in range(indptr[i], indptr[i + 1]):", "        j = indices[e]"]
    fields += lines
    fields += [f"        {names[s]} += {r}" for s, r in zip(agg_syms, results)]
    fields.append(f"    return ({', '.join(names[s] for s in agg_syms)},)")
    call_args = ", ".join(
        [f"a[{k}]" for k in range(len(agg_syms))]
        + [f"node_values[i, {k}]" for k in range(len(node_params))]
    )
    parts = ["\n".join(fields)]
    for what in ("outputs", "observables"):
        parts.append(
            "\n".join(
                [
                    NJIT_INLINE,
                    f"def {p}node_{what}(i, {GRAPH_ARGS}):",
                    f'    """``{what}`` of node i, with its aggregates computed from the state."""',
                    f"    a = {p}fields(i, {GRAPH_ARGS})",
                    f"    return {p}{what}({call_args})",
                ]
            )
        )
    for what, n in (("outputs", len(eqs.outputs)), ("observables", len(eqs.observables))):
        parts.append(
            "\n".join(
                [
                    NJIT,
                    f"def {p}graph_{what}({GRAPH_ARGS}, out):",
                    f'    """``{what}`` of every node, into out[i, k]."""',
                    "    for i in range(out.shape[0]):",
                    f"        r = {p}node_{what}(i, {GRAPH_ARGS})",
                ]
                + [f"        out[i, {k}] = r[{k}]" for k in range(n)]
            )
        )
    n_state = len(eqs.neighbor)
    if eqs.kind == "fixed_point" and len(eqs.outputs) == n_state:
        parts.append(
            "\n".join(
                [
                    NJIT,
                    f"def {p}sweep_sequential({GRAPH_ARGS}, order, damping):",
                    '    """In-place (Gauss--Seidel) update in the given order; returns the max change."""',
                    "    change = 0.0",
                    "    for i in order:",
                    f"        r = {p}node_outputs(i, {GRAPH_ARGS})",
                ]
                + [
                    f"        new = (1.0 - damping) * r[{k}] + damping * state[i, {k}]\n"
                    f"        change = max(change, abs(new - state[i, {k}]))\n"
                    f"        state[i, {k}] = new"
                    for k in range(n_state)
                ]
                + ["    return change"]
            )
        )
    return parts


def _monte_carlo_functions(eqs, p=""):
    r"""Single-site Monte Carlo for equations whose outputs are the local energies of a site.

    For ``kind="map"`` graph equations with one neighbour symbol (the neighbour's value,
    :func:`derive.local_energy`): output ``a`` is :math:`E_i(a)`, the energy of site ``i``
    in state ``a`` given its neighbours, and ``values[a]`` the value of state ``a``. The
    energies come from ``node_outputs`` (inlined); the chain around them is Metropolis
    (propose one of the other states uniformly, accept with
    :math:`\min(1, e^{-\beta \Delta E})`) or heat-bath (draw the new state from
    :math:`\propto e^{-\beta E_i(a)}`). Heat-bath sweeps the sites in order; Metropolis
    visits ``n`` sites drawn at random per sweep (random scan: with a fixed order and
    zero-energy flips always accepted, the chain is not ergodic; Newman & Barkema,
    *Monte Carlo Methods in Statistical Physics*, 1999, §3.1).
    """
    q = len(eqs.outputs)
    if q == 2:  # the move is forced; static tuple indices are cheaper than dynamic ones
        proposal = "b = 1 - a"
        delta = "(local[1] - local[0] if a == 0 else local[0] - local[1])"
    else:
        proposal = "b = (a + 1 + np.random.randint(q - 1)) % q"
        delta = "local[b] - local[a]"
    seed = "\n".join(
        [
            NJIT,
            f"def {p}mc_seed(s):",
            '    """Seed the generator of the Monte Carlo kernels (numba\'s own state)."""',
            "    np.random.seed(s)",
        ]
    )
    sweeps = f"""{NJIT}
def {p}mc_sweeps({GRAPH_ARGS}, values, spins, beta, sweeps, heat_bath, burn_in, counts, energy,
              energies, magnetizations):
    \"\"\"Run ``sweeps`` sweeps in place; returns the number of accepted moves.

    ``spins``: state index per site; ``state[:, 0]``: its value ``values[spins]``;
    ``heat_bath``: heat-bath moves, else Metropolis; ``counts[block, i, a]``: visits of
    state ``a`` at site ``i`` after ``burn_in`` sweeps, in equal blocks of sweeps;
    ``energy``: the energy of the initial configuration; ``energies`` and
    ``magnetizations``: the energy and the mean value after each sweep.\"\"\"
    n = spins.shape[0]
    q = values.shape[0]
    n_blocks = counts.shape[0]
    magnetization = 0.0
    for i in range(n):
        magnetization += state[i, 0]
    accepted = 0
    weights = np.empty(q)
    for t in range(sweeps):
        block = (t - burn_in) * n_blocks // (sweeps - burn_in) if t >= burn_in else -1
        for step in range(n):
            # heat-bath sweeps the sites in order; Metropolis picks them at random (an in-order
            # scan that always accepts zero-energy flips is not ergodic: on a ring it sampled
            # E = -3.47 at beta = 0.6 where the exact value is -4.37)
            i = step if heat_bath else np.random.randint(n)
            a = spins[i]
            local = {p}node_outputs(i, {GRAPH_ARGS})
            if heat_bath:
                low = local[0]
                for c in range(1, q):
                    low = min(low, local[c])
                total = 0.0
                for c in range(q):
                    weights[c] = math.exp(-beta * (local[c] - low))
                    total += weights[c]
                u = np.random.random() * total
                b = q - 1
                for c in range(q):
                    u -= weights[c]
                    if u < 0.0:
                        b = c
                        break
                accept = b != a
            else:
                {proposal}
                delta = {delta}
                accept = delta <= 0.0 or np.random.random() < math.exp(-beta * delta)
            if accept:
                accepted += 1
                energy += {delta}
                magnetization += values[b] - values[a]
                spins[i] = b
                state[i, 0] = values[b]
        if block >= 0:
            for i in range(n):
                counts[block, i, spins[i]] += 1.0
        energies[t] = energy
        magnetizations[t] = magnetization / n
    return accepted"""
    return [seed, sweeps]


def _message_functions(eqs, names, printer, p=""):
    """Message passing: outputs per directed edge from cavity sums over the other neighbours.

    Every aggregate is a sum over the neighbours, so the cavity sum over ``k in di \\ j`` is
    the full sum less the summand of ``j``: one pass over the edges of node ``i`` computes
    and stores the summands and adds them up, a second pass subtracts (the loop structure
    of the fastest hand-written kernel in ``benchmarks/belief_propagation.py``).
    """
    node_params = eqs.node_params
    agg_syms = list(eqs.aggregates)
    used = [s for s in agg_syms if any(s in e.free_symbols for e in eqs.output_exprs)]
    unpack_node = [f"    {names[p]} = node_values[i, {k}]" for k, p in enumerate(node_params)]
    node_args = [names[p] for p in node_params]
    n_out = len(eqs.outputs)
    n_in = len(eqs.neighbor)

    def node_block(source, store, indent):
        """Both passes over the edges of node i; ``store(c)`` is where summand c is kept."""
        lines, results = _neighbour_loop(eqs, names, printer, used, source, indent + "    ")
        pad = indent
        src = [pad + line[4:] for line in unpack_node]
        src += [f"{pad}{names[s]} = 0.0" for s in used]
        src += [f"{pad}_start = indptr[i]", f"{pad}_stop = indptr[i + 1]"]
        src += [f"{pad}for e in range(_start, _stop):"]
        src += lines
        for c, (s, res) in enumerate(zip(used, results)):
            src += [
                f"{pad}    _u{c} = {res}",
                f"{pad}    {store(c)} = _u{c}",
                f"{pad}    {names[s]} += _u{c}",
            ]
        cavity = [f"{names[s]} - {store(used.index(s))}" if s in used else "0.0" for s in agg_syms]
        src += [
            f"{pad}for e in range(_start, _stop):",
            f"{pad}    new = {p}outputs({', '.join(cavity + node_args)})",
        ]
        for k in range(n_out):
            src += [
                f"{pad}    value = (1.0 - damping) * new[{k}] + damping * messages[e, {k}]",
                f"{pad}    change = max(change, abs(value - messages[e, {k}]))",
                f"{pad}    out[e, {k}] = value",
            ]
        return src

    # in the parallel sweep, out[e] holds the summands of edge e until its messages replace them
    in_out = len(used) <= n_out
    parallel_store = (
        (lambda c: f"out[e, {c}]") if in_out else (lambda c: f"scratch[e - _start, {c}]")
    )
    parts = [
        "\n".join(
            [
                NJIT,
                f"def {p}message_sweep({MESSAGE_ARGS}, scratch, incoming, out, damping):",
                '    """Parallel update: every message from the old ones, into out; the max change.',
                "",
                "    The incoming messages k -> i are first gathered in CSR order into ``incoming``",
                "    (same shape as ``messages``): independent loads the CPU overlaps, where reading",
                "    messages[reverse[e]] amid the math stalls on each. Then, per node, one pass",
                "    stores the summands of the aggregates (in ``out``, or ``scratch`` when there",
                '    are more aggregates than outputs) and sums them, one pass subtracts."""',
                "    for e in range(indices.shape[0]):",
                "        r = reverse[e]",
            ]
            + [f"        incoming[e, {k}] = messages[r, {k}]" for k in range(n_in)]
            + ["    change = 0.0", "    for i in range(indptr.shape[0] - 1):"]
            + node_block("incoming[e, {k}]", parallel_store, "        ")
            + ["    return change"]
        )
    ]
    parts.append(
        "\n".join(
            [
                NJIT,
                f"def {p}message_sweep_ordered({MESSAGE_ARGS}, scratch, order, damping):",
                '    """In-place update, node by node in the given order; the max change.',
                "",
                '    ``scratch`` holds the summands of one node: shape (max degree, n_aggregates)."""',
                "    out = messages",
                "    change = 0.0",
                "    for i in order:",
            ]
            + node_block(
                "messages[reverse[e], {k}]", lambda c: f"scratch[e - _start, {c}]", "        "
            )
            + ["    return change"]
        )
    )
    lines, results = _neighbour_loop(eqs, names, printer, agg_syms, "messages[r, {k}]")
    n_obs = len(eqs.observables)
    parts.append(
        "\n".join(
            [
                NJIT,
                f"def {p}graph_beliefs({MESSAGE_ARGS}, out):",
                '    """Observables of every node from the full sums over its neighbours, into out[i]."""',
                "    for i in range(indptr.shape[0] - 1):",
            ]
            + ["    " + line for line in unpack_node]
            + [f"        {names[s]} = 0.0" for s in agg_syms]
            + ["        for e in range(indptr[i], indptr[i + 1]):", "            r = reverse[e]"]
            + ["    " + line for line in lines]
            + [f"            {names[s]} += {res}" for s, res in zip(agg_syms, results)]
            + [
                f"        res = {p}observables({', '.join([names[s] for s in agg_syms] + node_args)})"
            ]
            + [f"        out[i, {k}] = res[{k}]" for k in range(n_obs)]
        )
    )
    return parts


#: Plain-Python helper of the drivers, emitted once per module: the user's parameter arrays
#: in the kernels' layout, with the drivers' guards.
KERNEL_ARRAYS = '''def _kernel_arrays(indptr, edge_id, node_params, edge_params, beta, beta_column, widths):
    """Checked arguments of a driver in the kernels' layout: node values with ``beta`` in
    column ``beta_column`` (-1: none), edge values per directed edge, ``edge_params[edge_id]``.
    ``widths``: the number of node and of edge parameters."""
    n = indptr.shape[0] - 1
    beta = float(beta)
    if not (math.isfinite(beta) and beta > 0.0):
        raise ValueError(f"beta must be a finite positive number, got {beta!r}")
    node_params = np.asarray(node_params, dtype=np.float64)
    edge_params = np.asarray(edge_params, dtype=np.float64)
    if node_params.shape != (n, widths[0]):
        raise ValueError(f"node_params must have shape ({n}, {widths[0]}), got {node_params.shape}")
    if edge_params.ndim != 2 or edge_params.shape[1] != widths[1]:
        raise ValueError(
            f"edge_params must have shape (n_edges, {widths[1]}), got {edge_params.shape}"
        )
    if edge_id.size and edge_id.max() >= edge_params.shape[0]:
        raise ValueError(
            f"edge_id refers to edge {edge_id.max()}; edge_params has {edge_params.shape[0]} rows"
        )
    if not (np.all(np.isfinite(node_params)) and np.all(np.isfinite(edge_params))):
        raise ValueError("node_params and edge_params must be finite")
    if beta_column >= 0:
        node_params = np.insert(node_params, beta_column, beta, axis=1)
    return np.ascontiguousarray(node_params), np.ascontiguousarray(edge_params[edge_id])


def _check_stop(tol, max_iter):
    """The drivers' stopping rule, checked."""
    if not (tol > 0.0 and math.isfinite(tol)):
        raise ValueError(f"tol must be a finite positive number, got {tol!r}")
    if int(max_iter) < 1:
        raise ValueError(f"max_iter must be at least 1, got {max_iter!r}")
    return float(tol), int(max_iter)'''


#: The end of every generated module. numba's on-disk cache records the module of each
#: function by name and imports it when a later process loads the cache. A module imported
#: by path without an entry in ``sys.modules`` (``importlib.util.spec_from_file_location``,
#: ``exec_module``) would be recorded as "<dynamic>", and one imported under another name
#: next time would not be found: both fail with ``ModuleNotFoundError``. So every function
#: is recorded under one name fixed by the module's content, registered on import (numba
#: compiles at the first call, after this has run).
REGISTER = '''def _register():
    """Record this module's numba functions under ``_CACHE_NAME`` and register that name."""
    names = globals()
    names["__name__"] = _CACHE_NAME
    for value in list(names.values()):
        if isinstance(value, numba.core.dispatcher.Dispatcher):
            value.py_func.__module__ = _CACHE_NAME
    module = sys.modules.get(_CACHE_NAME)
    if module is None:
        module = sys.modules[_CACHE_NAME] = types.ModuleType(_CACHE_NAME, __doc__)
    module.__dict__.update(names)


_register()'''


def _driver_params(eqs, names):
    """``(beta column or -1, the node parameter names a driver takes, the edge ones)``."""
    node = [names[s] for s in eqs.node_params]
    column = node.index(names[BETA]) if BETA in eqs.node_params else -1
    return column, tuple(n for n in node if column < 0 or n != node[column])


def _message_drivers(eqs, names, p):
    """``{p}iterate`` (the parallel schedule on the kernels' layout: what
    ``graphs.belief_propagation`` runs) and ``{p}solve`` (the same on the user's arrays)."""
    column, node = _driver_params(eqs, names)
    n_out, n_agg, n_obs = len(eqs.outputs), len(eqs.aggregates), len(eqs.observables)
    widths = (len(node), len(eqs.edge_params))
    return [
        f'''def {p}iterate(indptr, indices, reverse, node_values, edge_values, tol=1e-10,
        max_iter=1000, seed=None, damping=0.0, init=None):
    """Belief propagation, parallel schedule, on the kernels' layout (node values with beta,
    edge values per directed edge): ``{p}message_sweep`` until no message changes by more
    than ``tol``. Initial messages: ``init``, else uniform in [-1, 1] from
    ``numpy.random.default_rng(seed)``. A non-finite sweep stops with the last finite
    messages. Returns a dict: messages, observables ({", ".join(names[s] for s in eqs.observables)}
    per node), converged, iterations, residuals (largest change per sweep), message."""
    tol, max_iter = _check_stop(tol, max_iter)
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {{damping!r}}")
    n_dir = indices.shape[0]
    if init is None:
        messages = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n_dir, {n_out}))
    else:
        messages = np.array(init, dtype=np.float64).reshape(n_dir, {n_out})
    out, incoming = np.empty_like(messages), np.empty_like(messages)
    scratch = np.empty((max(int(np.diff(indptr).max(initial=0)), 1), {n_agg}))
    residuals, converged, iterations = [], False, 0
    message = f"no convergence to tol={{tol}} in {{max_iter}} iterations"
    for iterations in range(1, max_iter + 1):
        previous = messages.copy()
        change = {p}message_sweep(
            indptr, indices, reverse, messages, node_values, edge_values, scratch, incoming, out,
            damping,
        )
        messages, out = out, messages
        residuals.append(change)
        if not (np.isfinite(change) and np.all(np.isfinite(messages))):
            messages = previous
            message = (
                f"messages became non-finite at iteration {{iterations}}; kept the last finite ones"
            )
            break
        if change < tol:
            converged, message = True, f"converged in {{iterations}} iterations"
            break
    observables = np.empty((indptr.shape[0] - 1, {n_obs}))
    {p}graph_beliefs(indptr, indices, reverse, messages, node_values, edge_values, observables)
    return {{
        "messages": messages,
        "observables": observables,
        "converged": converged,
        "iterations": iterations,
        "residuals": np.array(residuals),
        "message": message,
    }}''',
        f'''def {p}solve(indptr, indices, reverse, edge_id, node_params, edge_params, beta, tol=1e-10,
        max_iter=1000, seed=None, damping=0.0, init=None):
    """Belief propagation on CSR arrays: node_params (n_nodes, {widths[0]}) in the order
    {node}, edge_params (n_edges, {widths[1]}) per undirected edge in the order
    {tuple(names[s] for s in eqs.edge_params)}; see ``{p}iterate``."""
    node_values, edge_values = _kernel_arrays(
        indptr, edge_id, node_params, edge_params, beta, {column}, {widths}
    )
    return {p}iterate(
        indptr, indices, reverse, node_values, edge_values, tol, max_iter, seed, damping, init
    )''',
    ]


def _state_drivers(eqs, names, p):
    """``{p}iterate`` (the damped parallel fixed-point iteration on the kernels' layout: what
    ``graphs.meanfield`` runs) and ``{p}solve`` (the same on the user's arrays)."""
    column, node = _driver_params(eqs, names)
    n_out, n_agg, n_obs = len(eqs.outputs), len(eqs.aggregates), len(eqs.observables)
    widths = (len(node), len(eqs.edge_params))
    return [
        f'''def {p}iterate(indptr, indices, edge_id, node_values, edge_values, tol=1e-10,
        max_iter=10000, seed=None, damping=0.5, init=None):
    """The node equations iterated in parallel, on the kernels' layout:
    x <- (1 - damping) F(x) + damping x, until max |F(x) - x| < tol (then x = F(x)).
    Initial state: ``init`` (n_nodes, {n_out}), else the equations at Gaussian random
    aggregates from ``numpy.random.default_rng(seed)``. Returns a dict: state, observables
    ({", ".join(names[s] for s in eqs.observables)} per node), converged, iterations,
    residuals, message."""
    tol, max_iter = _check_stop(tol, max_iter)
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {{damping!r}}")
    n = indptr.shape[0] - 1
    if init is None:
        fields = np.random.default_rng(seed).normal(size=({n_agg}, n))
        start = np.empty(({n_out}, n))
        columns = [np.ascontiguousarray(c) for c in (*fields, *node_values.T)]
        {p}outputs_array(*columns, start)
        x = np.ascontiguousarray(start.T)
    else:
        x = np.array(init, dtype=np.float64).reshape(n, {n_out})
    residuals, converged, iterations = [], False, 0
    message = f"no convergence to tol={{tol}} in {{max_iter}} iterations"
    for iterations in range(1, max_iter + 1):
        fx = np.empty_like(x)
        {p}graph_outputs(indptr, indices, edge_id, x, node_values, edge_values, fx)
        if not np.all(np.isfinite(fx)):
            residuals.append(np.inf)
            message = f"F(x) is not finite at iteration {{iterations}}"
            break
        residual = float(np.max(np.abs(fx - x))) if x.size else 0.0
        residuals.append(residual)
        if residual < tol:
            x, converged, message = fx, True, f"converged in {{iterations}} iterations"
            break
        x = (1.0 - damping) * fx + damping * x
    observables = np.empty((n, {n_obs}))
    {p}graph_observables(indptr, indices, edge_id, x, node_values, edge_values, observables)
    return {{
        "state": x,
        "observables": observables,
        "converged": converged,
        "iterations": iterations,
        "residuals": np.array(residuals),
        "message": message,
    }}''',
        f'''def {p}solve(indptr, indices, edge_id, node_params, edge_params, beta, tol=1e-10,
        max_iter=10000, seed=None, damping=0.5, init=None):
    """The node equations on CSR arrays: node_params (n_nodes, {widths[0]}) in the order
    {node}, edge_params (n_edges, {widths[1]}) per undirected edge in the order
    {tuple(names[s] for s in eqs.edge_params)}; see ``{p}iterate``."""
    node_values, edge_values = _kernel_arrays(
        indptr, edge_id, node_params, edge_params, beta, {column}, {widths}
    )
    return {p}iterate(
        indptr, indices, edge_id, node_values, edge_values, tol, max_iter, seed, damping, init
    )''',
    ]


def _monte_carlo_drivers(eqs, names, p):
    """``{p}mc_chain`` (the chain on the kernels' layout: what ``graphs.monte_carlo`` runs)
    and ``{p}mc_run`` (the same on the user's arrays)."""
    column, node = _driver_params(eqs, names)
    widths = (len(node), len(eqs.edge_params))
    return [
        f'''def {p}mc_chain(indptr, indices, edge_id, node_values, edge_values, values, beta,
        sweeps=1000, seed=None, heat_bath=False, burn_in=None, n_blocks=20, init=None,
        energy0=0.0):
    """Single-site Monte Carlo (``{p}mc_sweeps``) on the kernels' layout.

    ``values``: the value of each state; ``seed``: an int, None or a numpy Generator,
    ``rng = numpy.random.default_rng(seed)``; the initial states are ``init`` (state
    indices), else ``rng.integers(q, size=n)``; the chain's generator is then seeded with
    ``rng.integers(2**31 - 1)``. ``energy0``: the energy of the initial configuration (the
    energy series adds the changes to it). Returns a dict: spins (state indices),
    configuration (values), counts (n_blocks, n, q) after ``burn_in`` (default
    sweeps // 5), marginals, energy and magnetization (per sweep), acceptance."""
    values = np.asarray(values, dtype=np.float64)
    n, q = indptr.shape[0] - 1, values.shape[0]
    sweeps = int(sweeps)
    burn_in = sweeps // 5 if burn_in is None else int(burn_in)
    if not 0 <= burn_in < sweeps or sweeps - burn_in < n_blocks or n_blocks < 2:
        raise ValueError(
            "need 0 <= burn_in < sweeps and at least n_blocks >= 2 sweeps after burn-in; "
            f"got sweeps={{sweeps}}, burn_in={{burn_in}}, n_blocks={{n_blocks}}"
        )
    rng = np.random.default_rng(seed)
    spins = rng.integers(q, size=n) if init is None else np.asarray(init)
    if spins.shape != (n,) or (n and (spins.min() < 0 or spins.max() >= q)):
        raise ValueError(f"init must hold one state index in [0, {{q}}) per node")
    spins = spins.astype(np.int64)
    state = values[spins][:, None].copy()
    counts = np.zeros((n_blocks, n, q))
    energies, magnetizations = np.empty(sweeps), np.empty(sweeps)
    {p}mc_seed(int(rng.integers(2**31 - 1)))
    accepted = {p}mc_sweeps(
        indptr, indices, edge_id, state, node_values, edge_values, values, spins, float(beta),
        sweeps, bool(heat_bath), burn_in, counts, float(energy0), energies, magnetizations,
    )
    return {{
        "spins": spins,
        "configuration": values[spins],
        "counts": counts,
        "marginals": counts.sum(axis=0) / counts.sum(axis=(0, 2))[:, None],
        "energy": energies,
        "magnetization": magnetizations,
        "acceptance": accepted / (sweeps * n),
    }}''',
        f'''def {p}mc_run(indptr, indices, edge_id, node_params, edge_params, beta, values,
        sweeps=1000, seed=None, method="metropolis", burn_in=None, n_blocks=20, init=None,
        energy0=0.0):
    """Monte Carlo on CSR arrays: node_params (n_nodes, {widths[0]}) in the order {node},
    edge_params (n_edges, {widths[1]}) per undirected edge in the order
    {tuple(names[s] for s in eqs.edge_params)}; ``method``: "metropolis" or "heat-bath";
    see ``{p}mc_chain``."""
    if method not in ("metropolis", "heat-bath"):
        raise ValueError(f"method must be 'metropolis' or 'heat-bath', got {{method!r}}")
    node_values, edge_values = _kernel_arrays(
        indptr, edge_id, node_params, edge_params, beta, {column}, {widths}
    )
    return {p}mc_chain(
        indptr, indices, edge_id, node_values, edge_values, values, beta, sweeps, seed,
        method == "heat-bath", burn_in, n_blocks, init, energy0,
    )''',
    ]


def _contact_functions(eqs, names, printer, p=""):
    r"""Epidemic kernels on daily contacts: equations whose inputs are more than aggregates.

    Aggregates are sums or products (``eqs.operations``) over the contacts of one day.

    ``kind="map"`` (individual-based mean-field): ``{p}contact_map(indptr, indices,
    edge_values, state, node_values, out)`` maps the state of every person (one row of
    ``state`` per person, the inputs of role ``"state"`` in order) to the next day's, into
    ``out``; the contacts of ``i`` are ``indptr[i]:indptr[i + 1]`` (absolute offsets into
    ``indices`` and the rows of ``edge_values``), the neighbour symbol ``k`` is ``state[j, k]``.

    ``kind="message"`` (dynamic message passing): messages on the directed edges ``e = k -> i``
    of a CSR structure (row ``k``), columns in the order of the inputs of role
    ``"message"``, which are also the outputs. ``{p}contact_messages(indptr, indices, reverse,
    messages, node_values, edge_values, new, scratch)`` writes the next messages into ``new``
    in two passes: first the outputs that the neighbour symbols read (neighbour symbol ``c``
    is column ``c`` of the *updated* message ``l -> k``; they may not depend on the
    aggregates), then, per node, the cavity aggregates over ``l in dk \ i`` by prefix and
    suffix products (or sums) and every output. ``{p}contact_beliefs(..., out)``: the
    observables of every node with the aggregates over all incoming messages.
    ``node_values[k]``: the inputs of role ``"data"``, then the node parameters.
    """
    roles = eqs.roles
    sym = lambda s: sp.Symbol(names[s])  # noqa: E731
    rename = {s: sym(s) for s in names}
    agg_syms = list(eqs.aggregates)
    ops = [eqs.operations[s] for s in agg_syms]
    ident = ["1.0" if op == "product" else "0.0" for op in ops]
    combine = ["*" if op == "product" else "+" for op in ops]
    terms = [eqs.aggregates[s].xreplace(rename) for s in agg_syms]
    edge_unpack = lambda row, ind: [  # noqa: E731
        f"{ind}{names[q]} = edge_values[{row}, {k}]" for k, q in enumerate(eqs.edge_params)
    ]
    if eqs.kind == "map":
        state = list(eqs.state)
        if len(eqs.neighbor) != len(state):
            raise CompileError(
                f"'{eqs.name}': a contact map needs one neighbour symbol per state symbol"
            )
        node_vals = [s for s in eqs.arguments if roles[s] in ("data", "node_param")]
        lines, results = print_block(terms, printer, indent="            ")
        call = []
        for s in eqs.arguments:
            if s in agg_syms:
                call.append(names[s])
            elif s in state:
                call.append(f"state[i, {state.index(s)}]")
            else:
                call.append(f"node_values[i, {node_vals.index(s)}]")
        body = [
            NJIT,
            f"def {p}contact_map(indptr, indices, edge_values, state, node_values, out):",
            '    """One day: every person\'s next state into out, from its contacts\' states."""',
            "    for i in range(state.shape[0]):",
        ]
        body += [f"        {names[s]} = {v}" for s, v in zip(agg_syms, ident)]
        body += ["        for e in range(indptr[i], indptr[i + 1]):", "            j = indices[e]"]
        body += [f"            {names[s]} = state[j, {k}]" for k, s in enumerate(eqs.neighbor)]
        body += edge_unpack("e", "            ") + lines
        body += [
            f"            {names[s]} = {names[s]} {c} ({r})"
            for s, c, r in zip(agg_syms, combine, results)
        ]
        body.append(f"        r = {p}outputs({', '.join(call)})")
        body += [f"        out[i, {k}] = r[{k}]" for k in range(len(eqs.outputs))]
        return ["\n".join(body)]
    if eqs.kind != "message":
        return []
    msgs = list(eqs.by_role("message"))
    if [s for s in eqs.outputs] != msgs:
        raise CompileError(f"'{eqs.name}': the outputs must be the messages, in their order")
    node_vals = [s for s in eqs.arguments if roles[s] in ("data", "node_param")]
    feeding = list(range(len(eqs.neighbor)))
    for c in feeding:
        if eqs.outputs[msgs[c]].free_symbols & set(agg_syms):
            raise CompileError(
                f"'{eqs.name}': message {msgs[c]} feeds the aggregates and may not depend on them"
            )
    unpack_node = [f"        {names[s]} = node_values[k, {n}]" for n, s in enumerate(node_vals)]

    def call(aggregate_values, message="messages[e, {}]", edge=None):
        out = []
        for s in eqs.arguments:
            if s in agg_syms:
                out.append(aggregate_values[agg_syms.index(s)])
            elif s in msgs:
                out.append(message.format(msgs.index(s)))
            elif edge is not None and s in eqs.edge_params:
                out.append(edge)
            else:
                out.append(names[s])
        return ", ".join(out)

    n_agg = len(agg_syms)
    lines, results = print_block(terms, printer, indent="            ")
    agg = [names[s] for s in agg_syms]
    body = [
        NJIT,
        f"def {p}contact_messages(indptr, indices, reverse, messages, node_values, edge_values,"
        " new, scratch):",
        '    """One day of messages into new; scratch: shape (max degree, 2 * n_aggregates)."""',
        "    n = indptr.shape[0] - 1",
        "    for k in range(n):",
    ]
    body += unpack_node
    body += ["        for e in range(indptr[k], indptr[k + 1]):"]
    body += edge_unpack("e", "            ")
    body += [f"            r = {p}outputs({call(ident)})"]
    body += [f"            new[e, {c}] = r[{c}]" for c in feeding]
    body += ["    for k in range(n):"] + unpack_node
    body += ["        _start = indptr[k]", "        _stop = indptr[k + 1]"]
    body += [f"        {a} = {v}" for a, v in zip(agg, ident)]
    body += ["        for e in range(_start, _stop):", "            l = reverse[e]"]
    body += [f"            {names[s]} = new[l, {c}]" for c, s in enumerate(eqs.neighbor)]
    body += edge_unpack("l", "            ") + lines
    for a_, (name, c, r) in enumerate(zip(agg, combine, results)):
        body += [
            f"            scratch[e - _start, {a_}] = {name}",
            f"            scratch[e - _start, {n_agg + a_}] = {r}",
            f"            {name} = {name} {c} scratch[e - _start, {n_agg + a_}]",
        ]
    body += [f"        {a} = {v}" for a, v in zip(agg, ident)]
    body += ["        for e in range(_stop - 1, _start - 1, -1):"]
    cav = []
    for a_, (name, c) in enumerate(zip(agg, combine)):
        body += [
            f"            _c{a_} = scratch[e - _start, {a_}] {c} {name}",
            f"            {name} = {name} {c} scratch[e - _start, {n_agg + a_}]",
        ]
        cav.append(f"_c{a_}")
    body += edge_unpack("e", "            ")
    body += [f"            r = {p}outputs({call(cav)})"]
    body += [f"            new[e, {c}] = r[{c}]" for c in range(len(msgs))]
    parts = ["\n".join(body)]
    obs_free = set().union(*(e.free_symbols for e in eqs.observables.values()))
    if obs_free & set(msgs):
        raise CompileError(f"'{eqs.name}': the observables may not depend on the messages")
    full = [f"_t{a_}" for a_ in range(n_agg)]
    beliefs = [
        NJIT,
        f"def {p}contact_beliefs(indptr, indices, reverse, messages, node_values, edge_values,"
        " out):",
        '    """The observables of every node, the aggregates over all its incoming messages."""',
        "    for k in range(indptr.shape[0] - 1):",
    ]
    beliefs += unpack_node
    beliefs += [f"        {t} = {v}" for t, v in zip(full, ident)]
    beliefs += ["        for e in range(indptr[k], indptr[k + 1]):", "            l = reverse[e]"]
    beliefs += [f"            {names[s]} = messages[l, {c}]" for c, s in enumerate(eqs.neighbor)]
    beliefs += edge_unpack("l", "            ") + lines
    beliefs += [f"            {t} = {t} {c} ({r})" for t, c, r in zip(full, combine, results)]
    beliefs += [f"        r = {p}observables({call(full, '0.0', '0.0')})"]
    beliefs += [f"        out[k, {c}] = r[{c}]" for c in range(len(eqs.observables))]
    parts.append("\n".join(beliefs))
    return parts


def module_source(eqs, quadrature=DEFAULT_RULE, order=None):
    """Python source of the kernel module of ``eqs``.

    Parameters
    ----------
    eqs : derive.Equations
    quadrature : {"trapezoid", "hermite"}
        Rule that lowers each ``GaussianExpectation``.
    order : int, optional
        Nodes per Gaussian variable; default by rule and dimension.

    Raises
    ------
    CompileError
        If an expression uses a function that cannot be printed for numba.
    """
    section = _section(eqs, quadrature, order)
    header = _header(eqs, section["names"], section["graph"])
    return _assemble(header, [section])


def solver_source(sections, header, preamble=(), aliases=(), quadrature=DEFAULT_RULE, order=None):
    """Python source of one standalone module holding several sets of equations.

    Each ``(prefix, eqs)`` of ``sections`` contributes exactly the functions, drivers and
    metadata that :func:`module_source` generates for ``eqs`` alone, every name starting
    with ``prefix`` (metadata: ``PREFIX_KEY``, ...); helpers and quadrature constants are
    shared. ``header`` is the module docstring's text, ``preamble`` lines of Python after
    the imports (module constants), ``aliases`` pairs ``(name, generated function)`` that
    end the module.
    """
    built = [_section(eqs, quadrature, order, prefix) for prefix, eqs in sections]
    doc = '"""' + header.replace('"""', "'''").replace("\\", "\\\\") + '\n"""'
    return _assemble(doc, built, preamble, aliases)


def _assemble(header, sections, preamble=(), aliases=()):
    helpers = sorted(set().union(*(sec["helpers"] for sec in sections)))
    helpers = special.helper_source(helpers) if helpers else ""
    constants = "\n".join(dict.fromkeys(c for sec in sections for c in sec["constants"]))
    meta = "\n".join(list(preamble) + [line for sec in sections for line in sec["meta"]])
    drivers = [KERNEL_ARRAYS] if any(sec["drivers"] for sec in sections) else []
    parts = [p for sec in sections for p in sec["parts"]]
    parts += drivers + [d for sec in sections for d in sec["drivers"]]
    if aliases:
        parts.append("\n".join(f"{name} = {target}" for name, target in aliases))
    body = "\n\n\n".join(p for p in [helpers.strip(), constants.strip()] + parts if p)
    name = "cavitylab_m" + hashlib.sha256(body.encode()).hexdigest()[:24]
    body += f"\n\n\n_CACHE_NAME = {name!r}\n\n\n{REGISTER}"
    imports = "import math\nimport sys\nimport types\n\nimport numba\nimport numpy as np"
    return f"{header}\n{imports}\n\n{meta}\n\n\n{body}\n"


def _section(eqs, quadrature, order, prefix=""):
    """The generated functions of ``eqs``, their names starting with ``prefix``."""
    p = prefix
    symbols = list(
        dict.fromkeys(
            eqs.inputs + eqs.params + eqs.neighbor + tuple(eqs.outputs) + tuple(eqs.observables)
        )
    )
    names = safe_names(symbols)
    rename = {s: sp.Symbol(n) for s, n in names.items()}
    outs = [e.xreplace(rename) for e in eqs.outputs.values()]
    obs = [e.xreplace(rename) for e in eqs.observables.values()]
    aggs = {rename[s]: e.xreplace(rename) for s, e in eqs.aggregates.items()}
    defined = _definitions(eqs, names)
    bodies = [body for _, _, body in defined]
    (lowered, lifted) = lift_expectations(outs + obs + bodies)
    outs, obs = lowered[: len(outs)], lowered[len(outs) : len(outs) + len(obs)]
    bodies = lowered[len(outs) + len(obs) :]
    printer = NumbaPrinter()
    args = [names[s] for s in eqs.arguments]

    if quadrature not in RULES:
        raise CompileError(f"unknown quadrature rule {quadrature!r}; use one of {RULES}")
    if p and (lifted or eqs.kind == "ode"):
        raise CompileError(
            f"'{eqs.name}': a module of several sections takes graph, message and map "
            "equations without Gaussian expectations only"
        )
    parts, constants, drivers = [], {}, []
    for name, fargs, node in lifted:
        fn, const = expectation_function(name, fargs, node, quadrature, order, printer)
        parts.append(NJIT + "\n" + fn)
        constants[const] = None
    for (name, params, _), body in zip(defined, bodies):
        parts.append(_defined_function(name, params, body, printer))
    parts.append(_function(f"{p}outputs", args, outs, printer, "The equations at one point."))
    parts.append(_function(f"{p}observables", args, obs, printer, "The observables at one point."))
    parts.append(_array_function(f"{p}outputs_array", f"{p}outputs", args, len(outs)))
    parts.append(_array_function(f"{p}observables_array", f"{p}observables", args, len(obs)))
    rhs_params = []
    if eqs.kind == "ode":
        fn, rhs_params = _ode_function(eqs, names)
        parts.append(fn)
    graph = bool(eqs.aggregates) and set(eqs.aggregates) == set(eqs.inputs)
    if graph:
        renamed = _Renamed(eqs, rename, aggs, outs)
        short = {v: v.name for v in rename.values()}
        if eqs.kind == "message":
            parts += _message_functions(renamed, short, printer, p)
            drivers += _message_drivers(eqs, names, p)
        else:
            parts += _graph_functions(renamed, short, printer, p)
            if eqs.kind == "fixed_point" and len(eqs.outputs) == len(eqs.neighbor):
                drivers += _state_drivers(eqs, names, p)
        if eqs.kind == "map" and len(eqs.neighbor) == 1:
            parts += _monte_carlo_functions(eqs, p)
            drivers += _monte_carlo_drivers(eqs, names, p)
    if eqs.aggregates and not graph:
        parts += _contact_functions(eqs, names, printer, p)
    if printer.unsupported:
        raise CompileError(
            "cannot compile " + ", ".join(sorted(printer.unsupported)) + f" in '{eqs.name}': "
            "numba's math has no such function and cavitylab carries no implementation of it"
        )
    P = p.upper()
    meta = [
        f"{P}KEY = {eqs.key!r}",
        f"{P}ARGUMENTS = {tuple(args)!r}",
        f"{P}OUTPUTS = {tuple(names[s] for s in eqs.outputs)!r}",
        f"{P}OBSERVABLES = {tuple(names[s] for s in eqs.observables)!r}",
        f"{P}NEIGHBOR = {tuple(names[s] for s in eqs.neighbor)!r}",
        f"{P}NODE_PARAMS = {tuple(names[s] for s in eqs.node_params)!r}",
        f"{P}EDGE_PARAMS = {tuple(names[s] for s in eqs.edge_params)!r}",
        f"{P}GRAPH = {graph!r}",
        f"{P}STATE = {tuple(names[s] for s in eqs.state)!r}",
        f"{P}TIME = {names[eqs.time] if eqs.time is not None else None!r}",
        f"{P}RHS_PARAMS = {tuple(rhs_params)!r}",
    ]
    return {
        "names": names,
        "graph": graph,
        "parts": parts,
        "drivers": drivers,
        "helpers": set(printer.helpers),
        "constants": list(constants),
        "meta": meta,
    }


def _definitions(eqs, names):
    """``(name, parameter names, body)`` of each definition of ``eqs`` (``derive.define``),
    its parameters renamed to valid local names."""
    taken = set(names.values()) | RESERVED | {"rhs", "t", "y", "p", "out", "total", "math", "np"}
    out = []
    for d in eqs.definitions:
        if d.__name__ in taken or d.__name__.startswith("_"):
            raise CompileError(
                f"'{eqs.name}': the definition {d.__name__} has the name of a symbol or of a "
                "generated function; rename it"
            )
        local = safe_names(d.params)
        body = d.body.xreplace({p: sp.Symbol(n) for p, n in local.items()})
        out.append((d.__name__, [local[p] for p in d.params], body))
    return out


def _defined_function(name, params, body, printer):
    """A definition as a compiled function of its own, called at each application."""
    lines, (result,) = print_block([body], printer)
    doc = f"{name}({', '.join(params)}) = {str(body)[:300]}".replace('"', "'").replace("\\", "/")
    return "\n".join(
        [NJIT, f"def {name}({', '.join(params)}):", f'    """{doc}"""']
        + lines
        + [f"    return {result}"]
    )


class _Renamed:
    """The parts of Equations that the graph printer needs, with safe symbol names."""

    def __init__(self, eqs, rename, aggs, output_exprs):
        self.kind = eqs.kind
        self.output_exprs = output_exprs
        self.outputs = [rename[s] for s in eqs.outputs]
        self.observables = [rename[s] for s in eqs.observables]
        self.aggregates = aggs
        self.neighbor = tuple(rename[s] for s in eqs.neighbor)
        self.node_params = tuple(rename[s] for s in eqs.node_params)
        self.edge_params = tuple(rename[s] for s in eqs.edge_params)


def _header(eqs, names, graph):
    text = str(eqs).replace('"""', "'''").replace("\\", "\\\\")
    lines = [f'"""{eqs.name}: a solver generated by cavitylab.', "", text, ""]
    if eqs.description:
        lines += [eqs.description.replace('"""', "'''").replace("\\", "\\\\"), ""]
    lines += [
        f"Arguments of outputs(): {', '.join(names[s] for s in eqs.arguments)}.",
        "How each output was obtained: "
        + "; ".join(f"{names[s]}: {m}" for s, m in eqs.methods.items())
        + ".",
    ]
    if graph and eqs.kind != "message":
        lines.append(
            "Graph functions take CSR arrays (indptr, indices, edge_id), the state "
            f"({', '.join(names[s] for s in eqs.neighbor)} per node), node parameters "
            f"({', '.join(names[s] for s in eqs.node_params)}) and edge parameters "
            f"({', '.join(names[s] for s in eqs.edge_params)})."
        )
    if graph and eqs.kind == "message":
        lines.append(
            "Message functions take CSR arrays (indptr, indices, reverse), the messages "
            f"({', '.join(names[s] for s in eqs.outputs)} per directed edge), node "
            "parameters and edge parameters per directed edge."
        )
    lines += ["", f"Equations key: {eqs.key}", "Standalone: needs numpy and numba only.", '"""']
    return "\n".join(lines)


#: The GAMP driver of a GLM's denoiser module (scalar or entry-wise variances), the one
#: the library's ``numerics.amp`` runs and ``numerics.export_amp`` writes.
GAMP_DRIVER = '''def gamp_run(X, y, params, rho, max_iter=200, tol=1e-8, damping=0.0, truth=None,
             variances="scalar", floor=1e-13, explode=1e6):
    """GAMP (Rangan, ISIT 2011) with the denoisers of this module.

    X has entries of variance 1/N; ``params`` are the model's parameters in ``PARAMS``
    order; ``rho = E w^2`` starts the variances. With ``variances="scalar"`` the products
    with X*X are replaced by their averages. The variances V are floored at
    ``floor * rho``. GAMP stops (converged) at a point-mass posterior: when every posterior
    variance, or the variance V they feed to the channel, is below the floor, or when the
    channel carries no information at double precision (g = dg = 0 everywhere). A
    non-finite or exploding estimate stops it (not converged). Returns a dict: estimate,
    variance, converged, iterations, message, and the per-iteration histories change,
    mse, overlap (the last two against ``truth`` when given).
    """
    params = tuple(float(p) for p in params)
    if len(params) != len(PARAMS):
        raise ValueError(
            f"params: {len(params)} value(s) given, the model takes {len(PARAMS)}: {PARAMS}"
        )
    if not all(math.isfinite(p) for p in params):
        raise ValueError(f"params must be finite, got {params}")
    rho = float(rho)
    if not (math.isfinite(rho) and rho > 0.0):
        raise ValueError(f"rho must be a finite positive number, got {rho!r}")
    tol, max_iter = _check_stop(tol, max_iter)
    damping = float(damping)
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {damping!r}")
    if variances not in ("scalar", "full"):
        raise ValueError(f"variances must be 'scalar' or 'full', got {variances!r}")
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be a nonempty matrix and y one value per row: {X.shape}, {y.shape}")
    M, N = X.shape
    X2 = X * X if variances == "full" else None
    scale = float(np.sum(X * X)) / (M * N)
    ones_m, zeros_m, ones_n, zeros_n = np.ones(M), np.zeros(M), np.ones(N), np.zeros(N)
    params_m = [np.full(M, p) for p in params]
    params_n = [np.full(N, p) for p in params]
    out_m, out_n = np.empty((len(OUTPUTS), M)), np.empty((len(OUTPUTS), N))
    i_fa, i_fv = OUTPUTS.index("f_a"), OUTPUTS.index("f_v")
    i_g, i_dg = OUTPUTS.index("g_out"), OUTPUTS.index("dg_out")
    what, v, g = np.zeros(N), np.full(N, rho), np.zeros(M)
    history = {"change": [], "mse": [], "overlap": []}
    converged, message, it = False, f"no convergence to tol={tol} in {max_iter} iterations", 0
    floor = floor * rho  # a posterior variance that rounds to 0 would make V = 0
    for it in range(1, max_iter + 1):
        V = X2 @ v if X2 is not None else np.full(M, scale * v.sum())
        if it > 1 and np.all(V <= floor):
            # the variances feeding the channel vanished: the posterior is a point mass at
            # the last estimate. Going on with V floored would give g = A = 0 and reset the
            # estimate to the prior mean.
            converged, message = True, f"posterior variances vanished at iteration {it - 1}"
            it -= 1
            break
        V = np.maximum(V, floor)
        omega = X @ what - V * g
        outputs_array(ones_m, zeros_m, y, omega, V, *params_m, out_m)
        g, dg = out_m[i_g].copy(), out_m[i_dg].copy()
        if it > 1 and not np.any(dg) and not np.any(g):
            # every label is explained with a margin far beyond sqrt(V): the channel carries
            # no more information at double precision (g = dg = 0, so A = 0 and f_a would
            # reset the estimate to the prior mean); the posterior is a point mass at the
            # last estimate (seen on the binary perceptron at mse 7e-22)
            converged, message = True, f"posterior variances vanished at iteration {it - 1}"
            it -= 1
            break
        A = -(X2.T @ dg) if X2 is not None else np.full(N, -scale * dg.sum())
        B = X.T @ g + A * what
        outputs_array(A, B, zeros_n, zeros_n, ones_n, *params_n, out_n)
        new_w, new_v = out_n[i_fa].copy(), out_n[i_fv].copy()
        if not (np.all(np.isfinite(new_w)) and np.all(np.isfinite(new_v))):
            message = f"GAMP diverged at iteration {it}: non-finite estimates"
            break
        new_w = (1 - damping) * new_w + damping * what
        new_v = (1 - damping) * new_v + damping * v
        change = float(np.max(np.abs(new_w - what)))
        what, v = new_w, new_v
        history["change"].append(change)
        if truth is not None:
            history["mse"].append(float(np.sum((what - truth) ** 2) / N))
            history["overlap"].append(float(what @ truth / N))
        if np.all(v <= floor):
            # the posterior is a point mass: the next step would be 0/0 (V = 0, g = 0, A = 0)
            converged, message = True, f"posterior variances vanished at iteration {it}"
            break
        if change > explode * max(1.0, math.sqrt(rho)):
            message = f"GAMP diverged at iteration {it}: the estimate exploded"
            break
        if change < tol:
            converged, message = True, f"converged in {it} iterations"
            break
    return {"estimate": what, "variance": v, "converged": converged, "iterations": it,
            "message": message, **history}


def gamp(X, y, params=(), rho=1.0, max_iter=200, tol=1e-8, damping=0.0):
    """``gamp_run`` reduced to ``(estimate, variance, iterations, converged)``."""
    r = gamp_run(X, y, params, rho, max_iter=max_iter, tol=tol, damping=damping)
    return r["estimate"], r["variance"], r["iterations"], r["converged"]'''


def gamp_source(eqs, quadrature=DEFAULT_RULE, order=None):
    """Python source of the standalone GAMP solver of a GLM: the module of its denoiser
    equations (``derive.denoisers``: inputs ``A, B, y, omega, V``, outputs ``f_a, f_v,
    g_out, dg_out``) with the driver ``gamp_run`` (and ``gamp``) appended.

    ``numerics.amp`` runs this very module and ``numerics.export_amp`` writes it, so the
    two give the same numbers by construction.
    """
    inputs = tuple(s.name for s in eqs.inputs)
    outputs = {s.name for s in eqs.outputs}
    if inputs != ("A", "B", "y", "omega", "V") or not {"f_a", "f_v", "g_out", "dg_out"} <= outputs:
        raise CompileError(
            f"'{eqs.name}' is not a GLM's denoisers (inputs A, B, y, omega, V; outputs f_a, "
            f"f_v, g_out, dg_out): inputs {inputs}, outputs {sorted(outputs)}"
        )
    section = _section(eqs, quadrature, order)
    section["drivers"].append(GAMP_DRIVER)
    params = tuple(section["names"][s] for s in eqs.params)
    header = _header(eqs, section["names"], False)[:-3] + (
        "\nGAMP: gamp_run(X, y, params, rho, ...) -> dict; gamp(X, y, params, rho) -> "
        "(estimate, variance, iterations, converged); params in PARAMS order.\n" + '"""'
    )
    return _assemble(header, [section], preamble=[f"PARAMS = {params!r}"])
