"""``Equations``: the one type that crosses from ``derive`` to ``numerics``.

Every derivation returns an :class:`Equations`. It holds ordered sympy
expressions and the symbols they depend on, nothing numeric. It is immutable
and hashable by its content; :attr:`Equations.key` (a SHA-256 of the canonical
``srepr`` of the content) names every cache entry and every generated module.

Graph structure is expressed without any graph: an *aggregate* is an input of a
node that equals a sum (or, with ``operations``, a product) over the node's
neighbours ``j`` of an expression in the neighbour's symbols
(:attr:`Equations.neighbor`) and the edge parameters
(:attr:`Equations.edge_params`). A solver on a graph evaluates the aggregates
over CSR arrays, then the outputs.
"""

import hashlib
from types import MappingProxyType

import sympy as sp

from .definitions import definitions
from .errors import ModelError
from .functions import GaussianExpectation

__all__ = ["Equations"]

KINDS = ("fixed_point", "ode", "message", "map")

#: How an aggregate combines the terms of the neighbours.
OPERATIONS = ("sum", "product")

#: What a symbol is to a solver. Solvers bind arguments by role and name, never by position.
ROLES = {
    "state": "a variable the solver iterates or integrates (a fixed point's x, an ODE's y)",
    "message": "an incoming message on a directed edge",
    "data": "a per-call input that the solver does not update (observations, fields)",
    "aggregate": "a sum or a product over the neighbours of a node, computed by the graph solver",
    "time": "the time of an ODE",
    "node_param": "a parameter with one value per node",
    "edge_param": "a parameter with one value per edge",
    "param": "a global parameter",
}


def _pairs(mapping, what):
    """Normalise a mapping or sequence of pairs into a tuple of (Symbol, Expr)."""
    items = mapping.items() if hasattr(mapping, "items") else mapping
    out = []
    for symbol, expr in items:
        if not isinstance(symbol, sp.Symbol):
            raise ModelError(f"{what}: key {symbol!r} is not a sympy Symbol")
        out.append((symbol, sp.sympify(expr)))
    return tuple(out)


def _symbols(seq, what):
    seq = tuple(seq)
    for s in seq:
        if not isinstance(s, sp.Symbol):
            raise ModelError(f"{what}: {s!r} is not a sympy Symbol")
    if len(set(seq)) != len(seq):
        raise ModelError(f"{what}: repeated symbol in {seq}")
    return seq


def _uses_quadrature(expr):
    """Whether ``expr``, or the body of a definition it applies, holds an expectation left open."""
    return expr.has(GaussianExpectation) or any(
        d.body.has(GaussianExpectation) for d in definitions(expr)
    )


def _free(expr):
    """Free symbols of ``expr``; the dummies of GaussianExpectation are bound."""
    return expr.free_symbols


class Equations:
    """A named, ordered set of derived equations.

    Parameters
    ----------
    name : str
        Human-readable name, e.g. ``"naive mean-field"``.
    kind : {"fixed_point", "ode", "message", "map"}
        How the outputs are meant to be used: a fixed point ``x = F(x)``, a
        right-hand side ``dx/dt = F(x)``, a message update, or a plain map.
    inputs : sequence of Symbol
        Ordered arguments that vary per call (state, incoming messages, data,
        aggregate symbols).
    params : sequence of Symbol
        Ordered parameters (``beta``, ``J``, ``h``, ...).
    outputs : mapping Symbol -> Expr
        The equations, in order.
    observables : mapping Symbol -> Expr, optional
        Further quantities computed from the same arguments but not iterated
        (for instance the marginal probabilities of a site).
    aggregates : mapping Symbol -> Expr, optional
        For graph models: ``inputs`` symbol ``H`` equals ``sum_j expr`` over the
        neighbours ``j`` of a node, with ``expr`` depending on :attr:`neighbor`
        symbols, edge parameters and parameters.
    operations : mapping Symbol -> {"sum", "product"}, optional
        How each aggregate combines the terms of the neighbours (default ``"sum"``):
        ``"product"`` makes ``H = prod_j expr`` (individual-based mean-field and dynamic
        message passing for epidemics). Part of the content key when not all sums.
    neighbor : sequence of Symbol, optional
        The state of a neighbour as it enters the aggregates. For a
        ``fixed_point`` on a graph, ``neighbor[k]`` is output ``k`` of the
        neighbour.
    edge_params : sequence of Symbol, optional
        The parameters (a subset of ``params``) that live on edges.
    model : object, optional
        The model the equations were derived from (not part of the key).
    methods : mapping Symbol -> str, optional
        How each output was obtained (``"closed form"``, ``"log-sum-exp"``,
        ``"gaussian quadrature"``...). Filled in automatically where missing.
    description : str, optional
        The equations in words, with their source; copied into exported solvers.
    roles : mapping Symbol -> str, optional
        The role of each input and parameter (see :data:`ROLES`). Missing ones are
        filled in: aggregates are ``"aggregate"``; the other inputs are ``"state"``
        when they are also outputs of a ``fixed_point`` or ``ode``, ``"message"`` for
        ``kind="message"``, else ``"data"``; edge parameters are ``"edge_param"``,
        other parameters ``"node_param"`` on a graph (when there are aggregates) and
        ``"param"`` otherwise.
    time : Symbol, optional
        For ``kind="ode"``: the time symbol, one of the inputs (role ``"time"``). The
        state is the outputs' symbols: output ``y`` is ``dy/dt``.

    Raises
    ------
    ModelError
        If an expression uses a symbol that is neither an input nor a parameter.

    Examples
    --------
    >>> import sympy as sp
    >>> m, beta, J = sp.symbols("m beta J")
    >>> eqs = Equations("Weiss", "fixed_point", [m], [beta, J], {m: sp.tanh(beta * J * m)})
    >>> eqs.arguments
    (m, beta, J)
    >>> print(eqs)
    Weiss (fixed_point)
      m = tanh(J*beta*m)
    """

    __slots__ = (
        "name",
        "kind",
        "inputs",
        "params",
        "_outputs",
        "_observables",
        "_aggregates",
        "neighbor",
        "edge_params",
        "model",
        "_methods",
        "description",
        "_key",
        "_roles",
        "time",
        "_operations",
    )

    def __init__(
        self,
        name,
        kind,
        inputs,
        params,
        outputs,
        *,
        observables=(),
        aggregates=(),
        neighbor=(),
        edge_params=(),
        model=None,
        methods=None,
        description="",
        roles=None,
        time=None,
        operations=None,
    ):
        if kind not in KINDS:
            raise ModelError(f"kind must be one of {KINDS}, got {kind!r}")
        set_ = object.__setattr__
        set_(self, "name", str(name))
        set_(self, "kind", kind)
        set_(self, "inputs", _symbols(inputs, "inputs"))
        set_(self, "params", _symbols(params, "params"))
        set_(self, "_outputs", _pairs(outputs, "outputs"))
        set_(self, "_observables", _pairs(observables, "observables"))
        set_(self, "_aggregates", _pairs(aggregates, "aggregates"))
        set_(self, "neighbor", _symbols(neighbor, "neighbor"))
        set_(self, "edge_params", _symbols(edge_params, "edge_params"))
        set_(self, "model", model)
        set_(self, "description", str(description))
        methods = dict(methods or {})
        for sym, expr in self._outputs + self._observables:
            methods.setdefault(
                sym, "gaussian quadrature" if _uses_quadrature(expr) else "closed form"
            )
        set_(self, "_methods", tuple((s, methods[s]) for s, _ in self._outputs + self._observables))
        set_(self, "time", time)
        set_(self, "_roles", self._fill_roles(dict(roles or {})))
        set_(self, "_operations", self._fill_operations(dict(operations or {})))
        self._check()
        # products and definitions enter the key; equations without them keep the key they
        # had before products and definitions existed
        products = tuple((s, op) for s, op in self._operations if op != "sum")
        defined = tuple((d.__name__, d.params, d.body) for d in self.definitions)
        content = sp.srepr(
            (
                self.name,
                self.kind,
                self.inputs,
                self.params,
                self._outputs,
                self._observables,
                self._aggregates,
                self.neighbor,
                self.edge_params,
                self._roles,
                self.time,
            )
            + ((products,) if products else ())
            + ((defined,) if defined else ())
        )
        set_(self, "_key", hashlib.sha256(content.encode()).hexdigest())

    def _fill_operations(self, given):
        aggregates = [s for s, _ in self._aggregates]
        for sym, op in given.items():
            if sym not in aggregates:
                raise ModelError(f"operations: {sym} is not an aggregate of '{self.name}'")
            if op not in OPERATIONS:
                raise ModelError(
                    f"operations: unknown operation {op!r} for {sym}; use one of {OPERATIONS}"
                )
        return tuple((s, given.get(s, "sum")) for s in aggregates)

    def _fill_roles(self, given):
        known = self.inputs + self.params
        for sym, role in given.items():
            if sym not in known:
                raise ModelError(
                    f"roles: {sym} is neither an input nor a parameter of '{self.name}'"
                )
            if role not in ROLES:
                raise ModelError(
                    f"roles: unknown role {role!r} for {sym}; the roles are {list(ROLES)}"
                )
        if self.time is not None:
            if self.kind != "ode":
                raise ModelError("time= is only for kind='ode'")
            if self.time not in self.inputs:
                raise ModelError(f"the time symbol {self.time} must be one of the inputs")
            given[self.time] = "time"
        outputs = {s for s, _ in self._outputs}
        aggregates = {s for s, _ in self._aggregates}
        graph = bool(aggregates)
        out = []
        for sym in self.inputs:
            if sym in given:
                role = given[sym]
            elif sym in aggregates:
                role = "aggregate"
            elif self.kind == "message":
                role = "message"
            elif self.kind in ("fixed_point", "ode") and sym in outputs:
                role = "state"
            else:
                role = "data"
            out.append((sym, role))
        for sym in self.params:
            if sym in given:
                role = given[sym]
            elif sym in self.edge_params:
                role = "edge_param"
            else:
                role = "node_param" if graph else "param"
            out.append((sym, role))
        if self.kind == "ode":
            missing = outputs - {s for s, r in out if r == "state"}
            if missing:
                raise ModelError(
                    f"an ODE's outputs are the derivatives of its state: "
                    f"{sorted(map(str, missing))} must be inputs of role 'state'"
                )
        return tuple(out)

    def _check(self):
        if not set(self.edge_params) <= set(self.params):
            raise ModelError("edge_params must be a subset of params")
        names = [s.name for s in self.inputs + self.params + self.neighbor]
        clash = sorted({n for n in names if names.count(n) > 1})
        if clash:
            raise ModelError(
                f"symbol name(s) {', '.join(map(repr, clash))} used for more than one "
                "of the inputs, params and neighbour symbols"
            )
        for sym, _ in self._aggregates:
            if sym not in self.inputs:
                raise ModelError(f"aggregate {sym} is not one of the inputs {self.inputs}")
        node_level = set(self.inputs) | set(self.params) - set(self.edge_params)
        # a message lives on a directed edge: its update may read that edge's parameters
        edge_level = node_level | set(self.edge_params) if self.kind == "message" else node_level
        for what, pairs, allowed in (
            ("output", self._outputs, edge_level),
            ("observable", self._observables, node_level),
            (
                "aggregate",
                self._aggregates,
                set(self.neighbor)
                | set(self.params)
                | (set(self.inputs) - {s for s, _ in self._aggregates}),
            ),
        ):
            for sym, expr in pairs:
                stray = _free(expr) - allowed
                if stray:
                    names = ", ".join(sorted(map(str, stray)))
                    raise ModelError(f"{what} {sym} = {expr} uses undeclared symbol(s) {names}")

    def __setattr__(self, name, value):
        raise AttributeError("Equations are immutable")

    # --- mappings -------------------------------------------------------------------
    @property
    def outputs(self):
        """Ordered, read-only mapping output symbol -> expression."""
        return MappingProxyType(dict(self._outputs))

    @property
    def observables(self):
        """Ordered, read-only mapping observable symbol -> expression."""
        return MappingProxyType(dict(self._observables))

    @property
    def aggregates(self):
        """Ordered, read-only mapping input symbol -> summand over neighbours."""
        return MappingProxyType(dict(self._aggregates))

    @property
    def operations(self):
        """Ordered, read-only mapping aggregate symbol -> ``"sum"`` or ``"product"``."""
        return MappingProxyType(dict(self._operations))

    @property
    def methods(self):
        """Ordered, read-only mapping output symbol -> how it was obtained."""
        return MappingProxyType(dict(self._methods))

    @property
    def definitions(self):
        """The functions defined once and applied in the expressions (see
        :func:`derive.definitions.define`), each after the definitions its body applies."""
        exprs = [e for _, e in self._outputs + self._observables + self._aggregates]
        return tuple(definitions(*exprs))

    def __getitem__(self, name):
        """An output, observable or aggregate by symbol or by name."""
        for sym, expr in self._outputs + self._observables + self._aggregates:
            if sym == name or sym.name == name:
                return expr
        raise KeyError(f"{name!r} is not an output, observable or aggregate of '{self.name}'")

    def select(self, *names, name=None):
        """Equations with only the named outputs, and only the inputs and params they use."""
        keep = [(s, e) for s, e in self._outputs if s.name in names or s in names]
        if len(keep) != len(names):
            missing = set(map(str, names)) - {s.name for s, _ in keep}
            raise KeyError(f"no output(s) {sorted(missing)} in '{self.name}'")
        used = set().union(*(e.free_symbols for _, e in keep))
        if self.kind == "ode":  # an ODE keeps the state of the derivatives it keeps, and time
            used |= {s for s, _ in keep} | ({self.time} if self.time is not None else set())
        inputs = [s for s in self.inputs if s in used]
        params = [p for p in self.params if p in used]
        return Equations(
            name or f"{self.name} ({', '.join(s.name for s, _ in keep)})",
            self.kind,
            inputs,
            params,
            keep,
            model=self.model,
            methods={s: m for s, m in self._methods if s in dict(keep)},
            description=self.description,
            roles={s: r for s, r in self._roles if s in used},
            time=self.time if self.time in inputs else None,
        )

    @property
    def roles(self):
        """Ordered, read-only mapping input or parameter symbol -> role (see :data:`ROLES`)."""
        return MappingProxyType(dict(self._roles))

    def by_role(self, *roles):
        """The inputs and parameters of the given role(s), in argument order.

        Examples
        --------
        >>> import sympy as sp
        >>> x, t, k = sp.symbols("x t k")
        >>> eqs = Equations("decay", "ode", [t, x], [k], {x: -k * x}, time=t)
        >>> eqs.by_role("state"), eqs.by_role("time"), eqs.by_role("param")
        ((x,), (t,), (k,))
        """
        for role in roles:
            if role not in ROLES:
                raise KeyError(f"unknown role {role!r}; the roles are {list(ROLES)}")
        return tuple(s for s, r in self._roles if r in roles)

    @property
    def state(self):
        """The state symbols (role ``"state"``), in argument order."""
        return self.by_role("state")

    def symbol(self, name):
        """The symbol of that name among inputs, params, neighbor and outputs."""
        for sym in (
            self.inputs
            + self.params
            + self.neighbor
            + tuple(s for s, _ in self._outputs + self._observables)
        ):
            if sym.name == name:
                return sym
        raise KeyError(f"no symbol named {name!r} in '{self.name}'")

    @property
    def node_params(self):
        """Parameters that are not edge parameters, in order."""
        return tuple(p for p in self.params if p not in self.edge_params)

    @property
    def arguments(self):
        """Argument order of the compiled node kernel: inputs, then node parameters.

        A message update that reads the parameters of its own edge (dynamic message
        passing) takes them last.
        """
        if self.kind == "message":
            used = set().union(*(e.free_symbols for _, e in self._outputs))
            own_edge = tuple(p for p in self.edge_params if p in used)
            return self.inputs + self.node_params + own_edge
        return self.inputs + self.node_params

    @property
    def aggregate_arguments(self):
        """Argument order of the compiled aggregate summand."""
        own = tuple(s for s in self.inputs if s not in self.aggregates)
        return self.neighbor + own + self.params

    @property
    def key(self):
        """SHA-256 hex digest of the content: the cache key."""
        return self._key

    # --- value semantics ----------------------------------------------------------------
    def __hash__(self):
        return hash(self._key)

    def __eq__(self, other):
        return isinstance(other, Equations) and other._key == self._key

    def subs(self, values, name=None):
        """Substitute parameters by numbers or expressions; returns new Equations.

        Substituted parameters disappear from :attr:`params`.
        """
        by_name = {p.name: p for p in self.params}
        resolved = {}
        for k, v in dict(values).items():
            if isinstance(k, str):
                if k not in by_name:
                    raise ModelError(
                        f"'{self.name}' has no parameter named {k!r}; "
                        f"its parameters are {[p.name for p in self.params]}"
                    )
                k = by_name[k]
            resolved[k] = sp.sympify(v)
        values = resolved
        sub = lambda pairs: [(s, e.subs(values)) for s, e in pairs]  # noqa: E731
        keep = lambda seq: [p for p in seq if p not in values]  # noqa: E731
        return Equations(
            name or self.name,
            self.kind,
            self.inputs,
            keep(self.params),
            sub(self._outputs),
            observables=sub(self._observables),
            aggregates=sub(self._aggregates),
            neighbor=self.neighbor,
            edge_params=keep(self.edge_params),
            model=self.model,
            methods=dict(self._methods),
            description=self.description,
            roles={s: r for s, r in self._roles if s not in values},
            time=self.time,
            operations=dict(self._operations),
        )

    # --- display ------------------------------------------------------------------------
    def __repr__(self):
        return (
            f"Equations({self.name!r}, kind={self.kind!r}, inputs={self.inputs}, "
            f"params={self.params}, outputs={tuple(s for s, _ in self._outputs)})"
        )

    def __str__(self):
        lines = [f"{self.name} ({self.kind})"]
        over = "{}_{{k in di minus j}}" if self.kind == "message" else "{}_j"
        ops = dict(self._operations)
        for sym, expr in self._aggregates:
            op = "prod" if ops[sym] == "product" else "sum"
            lines.append(f"  {sym} = {over.format(op)} [{expr}]")
        arrow = {"ode": "d{}/dt = ", "message": "{}_new = "}.get(self.kind, "{} = ")
        for sym, expr in self._outputs:
            lines.append("  " + arrow.format(sym) + str(expr))
        for sym, expr in self._observables:
            lines.append(f"  {sym} = {expr}")
        defined = self.definitions
        if defined:
            lines.append("where")
        for d in defined:
            lines.append(f"  {d.__name__}({', '.join(map(str, d.params))}) = {d.body}")
        return "\n".join(lines)

    def latex(self):
        """The equations as a LaTeX ``aligned`` block."""
        lhs = {"ode": r"\frac{{d {}}}{{dt}}", "message": r"{}^{{\mathrm{{new}}}}"}.get(
            self.kind, "{}"
        )
        over = r"k \in \partial i \setminus j" if self.kind == "message" else r"j \in \partial i"
        ops = dict(self._operations)
        big = {"sum": r"\sum", "product": r"\prod"}
        rows = [
            rf"{sp.latex(s)} &= {big[ops[s]]}_{{{over}}} \left[{sp.latex(e)}\right]"
            for s, e in self._aggregates
        ]
        rows += [f"{lhs.format(sp.latex(s))} &= {sp.latex(e)}" for s, e in self._outputs]
        rows += [f"{sp.latex(s)} &= {sp.latex(e)}" for s, e in self._observables]
        rows += [rf"{sp.latex(d(*d.params))} &= {sp.latex(d.body)}" for d in self.definitions]
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"

    def _repr_latex_(self):
        return "$$" + self.latex() + "$$"
