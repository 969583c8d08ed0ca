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
"""

import sympy as sp

from . import special
from .errors import CompileError
from .printer import (
    RULES,
    NumbaPrinter,
    expectation_function,
    lift_expectations,
    print_block,
    safe_names,
)

__all__ = ["module_source", "DEFAULT_RULE"]

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


def _function(name, args, exprs, printer, doc=""):
    lines, results = print_block(exprs, printer)
    body = [NJIT_INLINE, f"def {name}({', '.join(args)}):"]
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


def _graph_functions(eqs, names, printer):
    node_params = eqs.node_params
    unpack_node = [f"    {names[p]} = node_values[i, {k}]" for k, p in enumerate(node_params)]
    agg_syms = list(eqs.aggregates)
    lines, results = _neighbour_loop(eqs, names, printer, agg_syms, "state[j, {k}]")
    fields = [
        NJIT_INLINE,
        f"def fields(i, {GRAPH_ARGS}):",
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
                    f"def node_{what}(i, {GRAPH_ARGS}):",
                    f'    """``{what}`` of node i, with its aggregates computed from the state."""',
                    f"    a = fields(i, {GRAPH_ARGS})",
                    f"    return {what}({call_args})",
                ]
            )
        )
    for what, n in (("outputs", len(eqs.outputs)), ("observables", len(eqs.observables))):
        parts.append(
            "\n".join(
                [
                    NJIT,
                    f"def graph_{what}({GRAPH_ARGS}, out):",
                    f'    """``{what}`` of every node, into out[i, k]."""',
                    "    for i in range(out.shape[0]):",
                    f"        r = node_{what}(i, {GRAPH_ARGS})",
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
                    f"def sweep_sequential({GRAPH_ARGS}, order, damping):",
                    '    """In-place (Gauss--Seidel) update in the given order; returns the max change."""',
                    "    change = 0.0",
                    "    for i in order:",
                    f"        r = node_outputs(i, {GRAPH_ARGS})",
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


def _monte_carlo_functions(eqs):
    r"""Single-site Monte Carlo for equations whose outputs are the local energies of a site.

    For ``kind="map"`` graph equations with one neighbour symbol (the neighbour's value,
    :func:`derive.local_energy`): output ``a`` is :math:`E_i(a)`, the energy of site ``i``
    in state ``a`` given its neighbours, and ``values[a]`` the value of state ``a``. The
    energies come from ``node_outputs`` (inlined); the chain around them is Metropolis
    (propose one of the other states uniformly, accept with
    :math:`\min(1, e^{-\beta \Delta E})`) or heat-bath (draw the new state from
    :math:`\propto e^{-\beta E_i(a)}`), sweeping the sites in order.
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
            "def mc_seed(s):",
            '    """Seed the generator of the Monte Carlo kernels (numba\'s own state)."""',
            "    np.random.seed(s)",
        ]
    )
    sweeps = f"""{NJIT}
def mc_sweeps({GRAPH_ARGS}, values, spins, beta, sweeps, heat_bath, burn_in, counts, energy,
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
        for i in range(n):
            a = spins[i]
            local = node_outputs(i, {GRAPH_ARGS})
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
                counts[block, i, spins[i]] += 1.0
        energies[t] = energy
        magnetizations[t] = magnetization / n
    return accepted"""
    return [seed, sweeps]


def _message_functions(eqs, names, printer):
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
            f"{pad}    new = outputs({', '.join(cavity + node_args)})",
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
                f"def message_sweep({MESSAGE_ARGS}, scratch, incoming, out, damping):",
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
                f"def message_sweep_ordered({MESSAGE_ARGS}, scratch, order, damping):",
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
                f"def graph_beliefs({MESSAGE_ARGS}, out):",
                '    """Observables of every node from the full sums over its neighbours, into out[i]."""',
                "    for i in range(indptr.shape[0] - 1):",
            ]
            + ["    " + line for line in unpack_node]
            + [f"        {names[s]} = 0.0" for s in agg_syms]
            + ["        for e in range(indptr[i], indptr[i + 1]):", "            r = reverse[e]"]
            + ["    " + line for line in lines]
            + [f"            {names[s]} += {res}" for s, res in zip(agg_syms, results)]
            + [f"        res = observables({', '.join([names[s] for s in agg_syms] + node_args)})"]
            + [f"        out[i, {k}] = res[{k}]" for k in range(n_obs)]
        )
    )
    return parts


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
    (outs_obs, lifted) = lift_expectations(outs + obs)
    outs, obs = outs_obs[: len(outs)], outs_obs[len(outs) :]
    printer = NumbaPrinter()
    args = [names[s] for s in eqs.arguments]

    if quadrature not in RULES:
        raise CompileError(f"unknown quadrature rule {quadrature!r}; use one of {RULES}")
    parts, constants = [], {}
    for name, fargs, node in lifted:
        fn, const = expectation_function(name, fargs, node, quadrature, order, printer)
        parts.append(NJIT + "\n" + fn)
        constants[const] = None
    parts.append(_function("outputs", args, outs, printer, "The equations at one point."))
    parts.append(_function("observables", args, obs, printer, "The observables at one point."))
    parts.append(_array_function("outputs_array", "outputs", args, len(outs)))
    parts.append(_array_function("observables_array", "observables", args, len(obs)))
    rhs_params = []
    if eqs.kind == "ode":
        fn, rhs_params = _ode_function(eqs, names)
        parts.append(fn)
    graph = bool(eqs.aggregates) and set(eqs.aggregates) == set(eqs.inputs)
    if graph:
        renamed = _Renamed(eqs, rename, aggs, outs)
        builder = _message_functions if eqs.kind == "message" else _graph_functions
        parts += builder(renamed, {v: v.name for v in rename.values()}, printer)
        if eqs.kind == "map" and len(eqs.neighbor) == 1:
            parts += _monte_carlo_functions(eqs)
    if eqs.aggregates and not graph:
        parts += _contact_functions(eqs, names, printer)
    if printer.unsupported:
        raise CompileError(
            "cannot compile " + ", ".join(sorted(printer.unsupported)) + f" in '{eqs.name}': "
            "numba's math has no such function and cavitylab carries no implementation of it"
        )

    header = _header(eqs, names, graph)
    helpers = special.helper_source(sorted(printer.helpers)) if printer.helpers else ""
    constants = "\n".join(constants)
    meta = "\n".join(
        [
            f"KEY = {eqs.key!r}",
            f"ARGUMENTS = {tuple(args)!r}",
            f"OUTPUTS = {tuple(names[s] for s in eqs.outputs)!r}",
            f"OBSERVABLES = {tuple(names[s] for s in eqs.observables)!r}",
            f"NEIGHBOR = {tuple(names[s] for s in eqs.neighbor)!r}",
            f"NODE_PARAMS = {tuple(names[s] for s in eqs.node_params)!r}",
            f"EDGE_PARAMS = {tuple(names[s] for s in eqs.edge_params)!r}",
            f"GRAPH = {graph!r}",
            f"STATE = {tuple(names[s] for s in eqs.state)!r}",
            f"TIME = {names[eqs.time] if eqs.time is not None else None!r}",
            f"RHS_PARAMS = {tuple(rhs_params)!r}",
        ]
    )
    body = "\n\n\n".join(p for p in [helpers.strip(), constants.strip()] + parts if p)
    return f"{header}\nimport math\n\nimport numba\nimport numpy as np\n\n{meta}\n\n\n{body}\n"


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
