r"""Pairwise models on a finite alphabet, and their naive mean-field equations.

A :class:`PairwiseModel` has the energy

.. math:: E(s) = \sum_{(ij)} e(s_i, s_j; \theta_{ij}) + \sum_i \phi(s_i; \eta_i),

with :math:`s_i` in a finite alphabet, edge parameters :math:`\theta` (the free
symbols of ``pair_energy``) and node parameters :math:`\eta` (those of
``field_energy``), and Gibbs measure :math:`P(s) \propto e^{-\beta E(s)}`.

The central step of every derivation is the *separable form* of the pair
energy on the alphabet,

.. math:: e(s, s'; \theta) = \sum_{l,k} f_l(s)\, B_{lk}(\theta)\, g_k(s') + \dots,

found by expanding ``pair_energy`` into products, expanding any factor that
mixes variables (``KroneckerDelta(s, s')``, ``exp(J s s')``) over the alphabet,
and keeping a linearly independent set of functions ``f_l``, ``g_k`` (compared
by their values on the alphabet, in exact arithmetic). Terms that do not depend
on ``s`` are dropped: they do not change the conditional law of a site. The
site then sees the local fields :math:`H_l = \sum_j \sum_k C_{lk}(\theta_{ij})\,
g_k(s_j)` (with :math:`C = -B`) and has local energy :math:`\phi(s) - \sum_l f_l(s) H_l`. Mean-field
replaces :math:`g_k(s_j)` by its mean :math:`m_{j,k}`; Monte Carlo uses it as it is.
For the Ising model this is one field and one moment, ``m``.
"""

import sympy as sp

from .equations import Equations
from .errors import ModelError
from .model import Model
from .simplify import boltzmann_average

__all__ = ["PairwiseModel", "meanfield", "local_energy", "pair_energy", "field_energy", "BETA"]

#: The inverse temperature, shared by every derivation of this module.
BETA = sp.Symbol("beta", positive=True)


def _alphabet(values):
    try:
        values = list(values)
    except TypeError:
        raise ModelError(f"alphabet must be a finite sequence of numbers, got {values!r}") from None
    if not values:
        raise ModelError("alphabet is empty: a pairwise model needs at least one state")
    out = []
    for v in values:
        try:
            s = (
                sp.nsimplify(sp.sympify(v, strict=True), rational=True)
                if isinstance(v, float)
                else sp.sympify(v, strict=True)
            )
        except (sp.SympifyError, TypeError):
            raise ModelError(f"alphabet value {v!r} is not a number") from None
        if not (s.is_number and s.is_real):
            raise ModelError(f"alphabet value {v!r} is not a real number")
        out.append(s)
    if len(set(out)) != len(out):
        raise ModelError(f"alphabet {tuple(values)} has repeated values")
    return tuple(out)


class PairwiseModel(Model):
    """A model with pair and single-site energies on a finite alphabet.

    A model is a value (:class:`derive.Model`): immutable, equal and hashed by its
    content (alphabet, energies, variables), so two models built separately from the
    same expressions share one derivation and one compiled kernel.

    Parameters
    ----------
    alphabet : sequence of numbers
        The states of one variable, e.g. ``(-1, 1)`` (Ising), ``(-1, 0, 1)``
        (spin-1), ``range(q)`` (Potts), ``(0, 1)`` (lattice gas).
    pair_energy : sympy expression
        ``e(s_i, s_j; theta)``; must be symmetric under ``s_i <-> s_j``. Its
        other free symbols are edge parameters (read from edge attributes).
    field_energy : sympy expression, optional
        ``phi(s_i; eta)``; its other free symbols are node parameters (read
        from node attributes). Default 0.
    variables : pair of Symbol, optional
        ``(s_i, s_j)``; default ``sympy.symbols("s_i s_j", real=True)``.
    params : sequence of Symbol, optional
        If given, the only symbols the energies may use besides the variables.

    Raises
    ------
    ModelError
        Empty or non-numeric alphabet, undeclared symbol, asymmetric or
        non-finite pair energy, a parameter shared by both energies.
    AttributeError
        On any assignment after construction (a model is a value).

    Examples
    --------
    >>> import sympy as sp
    >>> si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
    >>> ising = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
    >>> ising.edge_params, ising.node_params
    ((J,), (h,))
    """

    def __init__(self, alphabet, pair_energy, field_energy=0, variables=None, params=None):
        self.alphabet = _alphabet(alphabet)
        if variables is None:
            variables = sp.symbols("s_i s_j", real=True)
        si, sj = variables
        if not (isinstance(si, sp.Symbol) and isinstance(sj, sp.Symbol)) or si == sj:
            raise ModelError("variables must be two distinct sympy Symbols (s_i, s_j)")
        self.variables = (si, sj)
        try:
            self.pair_energy = sp.sympify(pair_energy, strict=True)
            self.field_energy = sp.sympify(field_energy, strict=True)
        except (sp.SympifyError, TypeError) as err:
            raise ModelError(f"energy is not a sympy expression: {err}") from None
        self._check_symbols(params)
        self.edge_params = tuple(sorted(self.pair_energy.free_symbols - {si, sj}, key=str))
        self.node_params = tuple(sorted(self.field_energy.free_symbols - {si}, key=str))
        self._check_values()
        self._freeze()

    def _content(self):
        return (self.alphabet, self.pair_energy, self.field_energy, self.variables)

    def _check_symbols(self, params):
        si, sj = self.variables
        used = self.pair_energy.free_symbols | self.field_energy.free_symbols
        for s in used - {si, sj}:
            for v in (si, sj):
                if s.name == v.name:
                    raise ModelError(
                        f"the energy uses a symbol {s.name!r} that is not the declared variable "
                        f"{v.name!r}: same name, different assumptions ({s.assumptions0} vs "
                        f"{v.assumptions0}); create both with the same sympy.symbols call"
                    )
            if s.name == BETA.name:
                raise ModelError(
                    "'beta' is reserved for the inverse temperature; do not use it in the energy"
                )
        if sj in self.field_energy.free_symbols:
            raise ModelError(
                f"field_energy = {self.field_energy} uses {sj}: "
                "the single-site energy may depend on s_i only"
            )
        if params is not None:
            declared = set(params)
            stray = used - {si, sj} - declared
            if stray:
                raise ModelError(
                    "the energy uses undeclared symbol(s) " + ", ".join(sorted(map(str, stray)))
                )
        shared = (self.pair_energy.free_symbols & self.field_energy.free_symbols) - {si, sj}
        if shared:
            raise ModelError(
                f"symbol(s) {', '.join(sorted(map(str, shared)))} appear in both pair_energy "
                "and field_energy: edge and node parameters need different names"
            )

    def _check_values(self):
        si, sj = self.variables
        for a in self.alphabet:
            phi = self.field_energy.subs(si, a)
            if phi.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                raise ModelError(f"field_energy is not finite at s_i = {a}: {phi}")
            for b in self.alphabet:
                e_ab = self.pair_energy.subs({si: a, sj: b}, simultaneous=True)
                if e_ab.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
                    raise ModelError(
                        f"pair_energy is not finite at (s_i, s_j) = ({a}, {b}): {e_ab}"
                    )
                e_ba = self.pair_energy.subs({si: b, sj: a}, simultaneous=True)
                if sp.simplify(e_ab - e_ba) != 0:
                    raise ModelError(
                        f"pair_energy is not symmetric under s_i <-> s_j: e({a}, {b}) = {e_ab} "
                        f"but e({b}, {a}) = {e_ba}; an undirected edge needs e(s, s') = e(s', s)"
                    )

    @property
    def params(self):
        """Edge parameters, then node parameters."""
        return self.edge_params + self.node_params

    def __repr__(self):
        return (
            f"PairwiseModel(alphabet={self.alphabet}, pair_energy={self.pair_energy}, "
            f"field_energy={self.field_energy})"
        )


# --- separable form of the pair energy ------------------------------------------------------


def _values(expr, var, alphabet):
    return tuple(sp.nsimplify(expr.subs(var, a)) for a in alphabet)


def _split_term(term, x, y, alphabet):
    """Write one product ``term`` as a list of ``(f(x), c(theta), g(y))`` triples."""
    f, c, g, mixed = sp.S.One, sp.S.One, sp.S.One, sp.S.One
    for factor in sp.Mul.make_args(term):
        free = factor.free_symbols
        has_x, has_y = x in free, y in free
        rest = free - {x, y}
        if has_x and not has_y and not rest:
            f *= factor
        elif has_y and not has_x and not rest:
            g *= factor
        elif not has_x and not has_y:
            c *= factor
        else:
            mixed *= factor
    if mixed == 1:
        return [(f, c, g)]
    out = []
    if y in mixed.free_symbols:  # expand over the alphabet of y
        for b in alphabet:
            for f2, c2, g2 in _split_term(sp.expand(mixed.subs(y, b)), x, y, alphabet):
                out.append((f * f2, c * c2, g * g2 * sp.KroneckerDelta(y, b)))
        return out
    for a in alphabet:  # mixes x with parameters only
        out.append((f * sp.KroneckerDelta(x, a), c * mixed.subs(x, a), g))
    return out


def _basis(functions, var, alphabet):
    """Greedy linearly independent subset of the non-constant functions, by their values.

    Returns ``(basis, coords)``: ``coords[i]`` is ``("const", value)`` when
    ``functions[i]`` is constant on the alphabet, else ``("basis", vector)`` with
    ``functions[i] = sum_k vector[k] * basis[k]`` on the alphabet (exact arithmetic).
    """
    basis, columns, coords = [], [], []
    for fn in functions:
        vals = sp.Matrix(_values(fn, var, alphabet))
        if all(v == vals[0] for v in vals):
            coords.append(("const", vals[0]))
            continue
        try:
            solution, _ = sp.Matrix.hstack(*columns).gauss_jordan_solve(vals)
            coords.append(("basis", list(solution)))
        except (ValueError, IndexError):  # not in the span (or no basis yet)
            basis.append(fn)
            columns.append(vals)
            coords.append(("basis", [0] * (len(basis) - 1) + [1]))
    n = len(basis)
    return basis, [(kind, v if kind == "const" else v + [0] * (n - len(v))) for kind, v in coords]


def separable_form(model):
    r"""The pair energy as :math:`\sum_{lk} f_l(s) B_{lk}(\theta) g_k(s') + \sum_l f_l(s) B_{l0}(\theta)`.

    Returns
    -------
    f_basis : list of expressions in ``s_i``
    g_basis : list of expressions in ``s_j``
    B : dict mapping ``(l, k)`` to a sympy expression in the edge parameters,
        where ``k = None`` marks the constant function ``g = 1``.
    """
    x, y = model.variables
    triples = []
    for term in sp.Add.make_args(sp.expand(model.pair_energy)):
        triples.extend(_split_term(term, x, y, model.alphabet))
    f_basis, f_coords = _basis([t[0] for t in triples], x, model.alphabet)
    g_basis, g_coords = _basis([t[2] for t in triples], y, model.alphabet)
    B = {}
    for (_f, c, _g), (fk, fv), (gk, gv) in zip(triples, f_coords, g_coords):
        if fk == "const":
            continue  # does not depend on s_i: no effect on the site's law
        for l, fl in enumerate(fv):
            if fl == 0:
                continue
            if gk == "const":
                B[(l, None)] = B.get((l, None), 0) + fl * c * gv
            else:
                for k, gl in enumerate(gv):
                    if gl != 0:
                        B[(l, k)] = B.get((l, k), 0) + fl * c * gl
    B = {lk: sp.factor(v) for lk, v in B.items() if sp.simplify(v) != 0}
    return f_basis, g_basis, B


def _fresh(name, taken):
    """``name``, or ``name`` with a prime appended until it is not in ``taken``."""
    while name in taken:
        name += "'"
    taken.add(name)
    return name


def _moment_name(g, y, k):
    if g == y:
        return "m"
    if isinstance(g, sp.Pow) and g.base == y and g.exp.is_Integer:
        return f"m{g.exp}"
    if isinstance(g, sp.KroneckerDelta):
        b = g.args[1] if g.args[0] == y else g.args[0]
        return f"p{b}".replace("-", "m")
    return f"m_{k + 1}"


def _fields(model):
    """Field symbols ``H_l``, moment names and the pieces of the local energy.

    Fields are oriented the physicist's way, local energy ``phi(s) - sum_l f_l(s) H_l``
    with ``H_l = sum_j sum_k C_lk g_k(s_j)``; a row of ``C`` whose every entry
    carries a minus sign is flipped together with its ``f_l``.
    """
    f_basis, g_basis, B = separable_form(model)
    _, y = model.variables
    C = {lk: -v for lk, v in B.items()}
    for l in range(len(f_basis)):
        row = [lk for lk in C if lk[0] == l]
        if row and all(C[lk].could_extract_minus_sign() for lk in row):
            f_basis[l] = -f_basis[l]
            for lk in row:
                C[lk] = -C[lk]
    taken = {p.name for p in model.params} | {BETA.name}
    labels = ["H"] if len(f_basis) == 1 else [f"H_{l + 1}" for l in range(len(f_basis))]
    H = tuple(sp.Symbol(_fresh(name, taken), real=True) for name in labels)
    names = [_fresh(_moment_name(g, y, k), taken) for k, g in enumerate(g_basis)]
    for name in names:  # the neighbour's copies must be free too
        _fresh(name + "_j", taken)
    return f_basis, g_basis, C, H, names


def _local_energies(model, f_basis, H):
    x, _ = model.variables
    return [
        model.field_energy.subs(x, a) - sp.Add(*[fl.subs(x, a) * Hl for fl, Hl in zip(f_basis, H)])
        for a in model.alphabet
    ]


def _field_sums(C, H, neighbour_g):
    """``H_l = sum_k C_lk g_k + C_l0`` as expressions in the neighbour's ``g``."""
    return [
        (
            Hl,
            sp.Add(
                *[
                    coef * (1 if k is None else neighbour_g[k])
                    for (l2, k), coef in C.items()
                    if l2 == l
                ]
            ),
        )
        for l, Hl in enumerate(H)
    ]


def meanfield(model, degree=None):
    r"""Naive mean-field equations of a pairwise model.

    .. math::
        q_i(s) \propto \exp\Big(-\beta\big[\phi(s) + \sum_{j \in \partial i}
        \sum_{s'} q_j(s')\, e(s, s')\big]\Big)

    reduced, through the separable form of the pair energy, to the moments
    :math:`m_{i,k} = \sum_s q_i(s) g_k(s)` that enter the neighbours' fields.
    For the Ising model this is :math:`m_i = \tanh\beta(h_i + \sum_j J_{ij} m_j)`,
    reached by simplification of the Boltzmann average.

    Parameters
    ----------
    model : PairwiseModel
    degree : int or Symbol, optional
        If given, the homogeneous (Weiss) single-site equations of a site with
        ``degree`` identical neighbours, ``kind="fixed_point"`` in the moments
        themselves. Otherwise the site-dependent equations, whose fields are
        aggregates over neighbours.

    Returns
    -------
    Equations
        Outputs: the moments; observables: the marginal probabilities ``P_a``.

    References
    ----------
    Weiss (1907); Opper & Saad (eds.), *Advanced Mean Field Methods*, MIT Press (2001), ch. 1.

    Examples
    --------
    >>> import sympy as sp
    >>> si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
    >>> ising = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
    >>> print(meanfield(ising))
    naive mean-field (fixed_point)
      H = sum_j [J*m_j]
      m = tanh(beta*(H + h))
      P_-1 = exp(-beta*(H + h) - LogSumExp(-beta*(H + h), beta*(H + h)))
      P_1 = exp(beta*(H + h) - LogSumExp(-beta*(H + h), beta*(H + h)))
    >>> meanfield(ising, degree=4)["m"]
    tanh(beta*(4*J*m + h))
    """
    if not isinstance(model, PairwiseModel):
        raise ModelError(f"meanfield needs a PairwiseModel, got {type(model).__name__}")
    f_basis, g_basis, B, H, names = _fields(model)
    _, y = model.variables
    m = [sp.Symbol(n, real=True) for n in names]
    m_j = [sp.Symbol(n + "_j", real=True) for n in names]
    energies = _local_energies(model, f_basis, H)
    outputs, methods = {}, {}
    for mk, g in zip(m, g_basis):
        outputs[mk], methods[mk] = boltzmann_average(
            [g.subs(y, a) for a in model.alphabet], energies, BETA
        )
    observables = {}
    for i, a in enumerate(model.alphabet):
        onehot = [int(i == k) for k in range(len(model.alphabet))]
        observables[sp.Symbol(f"P_{a}", real=True)] = boltzmann_average(
            onehot, energies, BETA, simplify_up_to=0
        )[0]
    sums = _field_sums(B, H, m_j)
    description = (
        "Naive mean-field: q_i(s) ∝ exp(-beta [phi(s) + sum_j sum_s' q_j(s') e(s, s')]), "
        f"for pair energy e = {model.pair_energy} and field energy phi = "
        f"{model.field_energy} on the alphabet {model.alphabet}."
    )
    if degree is None:
        return Equations(
            "naive mean-field",
            "fixed_point",
            H,
            (BETA,) + model.params,
            outputs,
            observables=observables,
            aggregates=sums,
            neighbor=m_j,
            edge_params=model.edge_params,
            model=model,
            methods=methods,
            description=description,
        )
    z = sp.sympify(degree)
    own = {mj: mk for mj, mk in zip(m_j, m)}
    fields = {Hl: z * expr.subs(own) for Hl, expr in sums}
    extra = (z,) if isinstance(z, sp.Symbol) else ()
    if not (isinstance(z, sp.Symbol) or (z.is_integer and z >= 0)):
        raise ModelError(f"degree must be a non-negative integer or a Symbol, got {degree!r}")
    sub = lambda d: {s: e.subs(fields) for s, e in d.items()}  # noqa: E731
    return Equations(
        f"Weiss mean-field, degree {z}",
        "fixed_point",
        m,
        (BETA,) + extra + model.params,
        sub(outputs),
        observables=sub(observables),
        model=model,
        methods=methods,
        description=description + f" Homogeneous: every site has {z} neighbours.",
    )


def local_energy(model):
    r"""Local energies of a site, for each state of the alphabet, given its neighbours.

    .. math:: E_i(a) = \phi(a; \eta_i) - \sum_l f_l(a) H_l, \qquad
              H_l = \sum_{j \in \partial i} \sum_k C_{lk}(\theta_{ij}) g_k(s_j)

    This is what Metropolis and heat-bath Monte Carlo need: the energy change
    of a single-site move is ``E_i(b) - E_i(a)``.

    Returns
    -------
    Equations
        ``kind="map"``; outputs ``E_0, E_1, ...`` in alphabet order; the
        aggregates read the neighbour's value ``s_j``.
    """
    f_basis, g_basis, B, H, _ = _fields(model)
    _, y = model.variables
    s_j = sp.Symbol(_fresh("s_j_value", {p.name for p in model.params}), real=True)
    g_j = [g.subs(y, s_j) for g in g_basis]
    energies = _local_energies(model, f_basis, H)
    outputs = {sp.Symbol(f"E_{k}", real=True): e for k, e in enumerate(energies)}
    return Equations(
        "local energy",
        "map",
        H,
        model.params,
        outputs,
        aggregates=_field_sums(B, H, g_j),
        neighbor=(s_j,),
        edge_params=model.edge_params,
        model=model,
        description="Local energy of each state of a site given its neighbours' "
        f"values, for pair energy {model.pair_energy} and field energy "
        f"{model.field_energy}.",
    )


def pair_energy(model):
    """``e(s_i, s_j; theta)`` as Equations (inputs ``s_i, s_j``; params: edge parameters)."""
    si, sj = model.variables
    return Equations(
        "pair energy",
        "map",
        (si, sj),
        model.edge_params,
        {sp.Symbol("e", real=True): model.pair_energy},
        model=model,
    )


def field_energy(model):
    """``phi(s_i; eta)`` as Equations (input ``s_i``; params: node parameters)."""
    si, _ = model.variables
    return Equations(
        "field energy",
        "map",
        (si,),
        model.node_params,
        {sp.Symbol("phi", real=True): model.field_energy},
        model=model,
    )
