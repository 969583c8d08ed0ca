"""Tests of derive.spins (PairwiseModel, meanfield, local_energy) and derive.Equations.

Oracles: sympy expressions written here by hand (simplify(a - b) == 0), exact
rational arithmetic on the model's own energies, and Boltzmann averages
computed here with numpy from the model's energies.
"""

import itertools

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import derive
from derive import BETA, Equations, ModelError, PairwiseModel

si, sj = sp.symbols("s_i s_j", real=True)
J, K, L, h, D = sp.symbols("J K L h D", real=True)
R = sp.Rational


def by_name(eqs):
    """Every symbol of ``eqs`` (inputs, params, neighbours, outputs...) by name."""
    syms = eqs.inputs + eqs.params + eqs.neighbor + tuple(eqs.outputs) + tuple(eqs.observables)
    return {s.name: s for s in syms}


def ising():
    return PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))


# --- closed forms --------------------------------------------------------------------------


def test_ising_meanfield_is_tanh():
    eqs = derive.meanfield(ising())
    s = by_name(eqs)
    H, m, m_j = s["H"], s["m"], s["m_j"]
    assert eqs.kind == "fixed_point"
    assert eqs.inputs == (H,) and eqs.neighbor == (m_j,)
    assert list(eqs.outputs) == [m]
    assert sp.simplify(eqs.outputs[m] - sp.tanh(BETA * (H + h))) == 0
    assert sp.simplify(eqs.aggregates[H] - J * m_j) == 0
    assert eqs.edge_params == (J,)
    assert eqs.methods[m] == "closed form"


def test_weiss_degree_4_is_tanh():
    eqs = derive.meanfield(ising(), degree=4)
    m = by_name(eqs)["m"]
    assert eqs.inputs == (m,) and not eqs.aggregates
    assert sp.simplify(eqs.outputs[m] - sp.tanh(BETA * (4 * J * m + h))) == 0


def test_weiss_symbolic_degree():
    z = sp.Symbol("z", positive=True, integer=True)
    eqs = derive.meanfield(ising(), degree=z)
    m = by_name(eqs)["m"]
    assert z in eqs.params
    assert sp.simplify(eqs.outputs[m] - sp.tanh(BETA * (z * J * m + h))) == 0


# --- local energies of drawn models, in exact arithmetic -------------------------------------

halves = st.integers(-4, 4).map(lambda k: R(k, 2))  # small integers and halves
rationals = st.fractions(min_value=-3, max_value=3, max_denominator=7).map(
    lambda f: R(f.numerator, f.denominator)
)


@st.composite
def polynomial_models(draw):
    """Alphabets of 2-4 values and a pair energy symmetric in (s_i, s_j)."""
    alphabet = sorted(draw(st.sets(halves, min_size=2, max_size=4)))
    c1, c2, c3 = (draw(st.integers(-3, 3)) for _ in range(3))
    kind = draw(st.sampled_from(["polynomial", "polynomial", "potts", "exponential"]))
    if kind == "polynomial":
        pair = c1 * J * si * sj + c2 * K * (si**2 * sj + si * sj**2) + c3 * L * si**2 * sj**2
    elif kind == "potts":
        pair = -J * sp.KroneckerDelta(si, sj) + c1 * K * si * sj
    else:  # a factor that mixes s_i and s_j non-polynomially, expanded over the alphabet
        pair = J * sp.exp(K * si * sj)
    field = -h * si + D * si**2
    return PairwiseModel(alphabet, pair, field, variables=(si, sj))


def direct_energies(model, edge_values, node_values):
    """``energy(a, neighbours) = phi(a) + sum_j e(a, s_j; theta_ij)``, straight from the
    model's expressions. Each term is substituted once per (a, s_j) and edge and summed per
    configuration (the same sympy values as substituting per configuration, which was 70%
    of this test's time: the exponential kind's pair energy is a long expression)."""
    x, y = model.variables
    field = {a: model.field_energy.subs(node_values).subs(x, a) for a in model.alphabet}
    pairs = [
        {
            (a, t): model.pair_energy.subs(theta).subs({x: a, y: t}, simultaneous=True)
            for a in model.alphabet
            for t in model.alphabet
        }
        for theta in edge_values
    ]

    def energy(a, neighbours):
        total = field[a]
        for t, pair in zip(neighbours, pairs):
            total += pair[a, t]
        return total

    return energy


def derived_energies(eqs, neighbours, edge_values, node_values):
    """E_loc(a) for every a, from the derived aggregates and outputs."""
    (s_val,) = eqs.neighbor
    fields = {
        H: sum(summand.subs(theta).subs(s_val, t) for t, theta in zip(neighbours, edge_values))
        for H, summand in eqs.aggregates.items()
    }
    return [e.subs(fields).subs(node_values) for e in eqs.outputs.values()]


def exactly_zero(expr):
    expr = sp.expand(expr)
    if expr == 0:
        return True
    # exp(rational) terms: exact zero up to sympy's canonical form; 60 digits leave no doubt
    return abs(sp.N(expr, 60)) < sp.Float("1e-50")


@given(model=polynomial_models(), data=st.data())
def test_local_energy_differences_match_the_model(model, data):
    eqs = derive.local_energy(model)
    assert eqs.kind == "map"
    assert len(eqs.outputs) == len(model.alphabet)
    edge_values = [{p: data.draw(rationals) for p in model.edge_params} for _ in range(2)]
    node_values = {p: data.draw(rationals) for p in model.node_params}
    direct_energy = direct_energies(model, edge_values, node_values)
    for neighbours in itertools.product(model.alphabet, repeat=2):
        derived = derived_energies(eqs, neighbours, edge_values, node_values)
        direct = [direct_energy(a, neighbours) for a in model.alphabet]
        for k in range(1, len(model.alphabet)):
            diff = (derived[k] - derived[0]) - (direct[k] - direct[0])
            assert exactly_zero(diff), (model, neighbours, k, diff)


# --- mean-field outputs against a brute-force Boltzmann average ------------------------------

NAMED = {
    "ising": (
        lambda: PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj)),
        {"m": lambda s: s},
    ),
    "spin-1": (
        lambda: PairwiseModel((-1, 0, 1), -J * si * sj, -h * si + D * si**2, variables=(si, sj)),
        {"m": lambda s: s},
    ),
    "potts": (
        lambda: PairwiseModel(
            range(3),
            -J * sp.KroneckerDelta(si, sj),
            -h * sp.KroneckerDelta(si, 0),
            variables=(si, sj),
        ),
        {f"p{k}": (lambda s, k=k: float(s == k)) for k in range(3)},
    ),
    "lattice gas": (
        lambda: PairwiseModel((0, 1), -J * si * sj, -h * si, variables=(si, sj)),
        {"m": lambda s: s},
    ),
}
_DERIVED = {}


def named(name):
    """(model, moment functions, meanfield equations, Weiss degree-3 equations), derived once."""
    if name not in _DERIVED:
        make, moments = NAMED[name]
        model = make()
        _DERIVED[name] = (
            model,
            moments,
            derive.meanfield(model),
            derive.meanfield(model, degree=3),
        )
    return _DERIVED[name]


def numeric_energy(model, params):
    """Vectorised e(a, b) and phi(a) from the model's sympy expressions."""
    x, y = model.variables
    pair = sp.lambdify((x, y), model.pair_energy.subs(params), "math")
    field = sp.lambdify((x,), model.field_energy.subs(params), "math")
    return pair, field


def boltzmann(model, beta, node_params, neighbours):
    """q_i(a) ∝ exp(-beta [phi(a) + sum_j sum_b q_j(b) e(a, b; theta_j)])."""
    alphabet = [float(a) for a in model.alphabet]
    _, field = numeric_energy(model, node_params)
    energy = np.array([field(a) for a in alphabet], dtype=float)
    for q_j, theta in neighbours:
        pair, _ = numeric_energy(model, theta)
        energy += np.array([sum(qb * pair(a, b) for qb, b in zip(q_j, alphabet)) for a in alphabet])
    w = -beta * energy
    p = np.exp(w - w.max())
    return p / p.sum()


unit = st.floats(-2, 2, allow_nan=False)
weights = st.floats(0.01, 1.0)


@pytest.mark.parametrize("name", list(NAMED))
@given(data=st.data(), beta=st.floats(0.05, 3.0))
def test_meanfield_is_a_boltzmann_average(name, data, beta):
    model, moments, eqs, _ = named(name)
    q = len(model.alphabet)
    alphabet = [float(a) for a in model.alphabet]
    node_params = {p: data.draw(unit) for p in model.node_params}
    neighbours = []
    for _ in range(2):  # a site with two neighbours, each with its own edge parameters
        w = np.array(data.draw(st.lists(weights, min_size=q, max_size=q)))
        neighbours.append((w / w.sum(), {p: data.draw(unit) for p in model.edge_params}))
    p = boltzmann(model, beta, node_params, neighbours)

    sym = by_name(eqs)
    assert {s.name for s in eqs.neighbor} == {f"{k}_j" for k in moments}
    fields = {}
    for H, summand in eqs.aggregates.items():
        total = 0
        for q_j, theta in neighbours:
            m_j = {
                sym[f"{k}_j"]: sum(qb * g(b) for qb, b in zip(q_j, alphabet))
                for k, g in moments.items()
            }
            total += summand.subs(theta).subs(m_j)
        fields[H] = total
    point = {**fields, **node_params, BETA: beta}
    # Both sides are O(1) sums of q <= 3 float64 Boltzmann weights shifted by their
    # maximum; the derived side is evaluated with 30 digits: 1e-12 absolute is ~1e4 ulps.
    for out, expr in eqs.outputs.items():
        expected = sum(pa * moments[out.name](a) for pa, a in zip(p, alphabet))
        assert float(expr.evalf(30, subs=point)) == pytest.approx(expected, abs=1e-12)
    derived_p = [float(e.evalf(30, subs=point)) for e in eqs.observables.values()]
    np.testing.assert_allclose(derived_p, p, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(NAMED))
@given(data=st.data(), beta=st.floats(0.05, 3.0))
def test_weiss_is_a_boltzmann_average(name, data, beta):
    """Degree 3: every neighbour has the site's own law (same moments, same parameters)."""
    model, moments, _, eqs = named(name)
    q = len(model.alphabet)
    alphabet = [float(a) for a in model.alphabet]
    node_params = {p: data.draw(unit) for p in model.node_params}
    theta = {p: data.draw(unit) for p in model.edge_params}
    w = np.array(data.draw(st.lists(weights, min_size=q, max_size=q)))
    q_own = w / w.sum()
    p = boltzmann(model, beta, node_params, [(q_own, theta)] * 3)
    sym = by_name(eqs)
    point = {sym[k]: sum(qb * g(b) for qb, b in zip(q_own, alphabet)) for k, g in moments.items()}
    point.update(node_params)
    point.update(theta)
    point[BETA] = beta
    for out, expr in eqs.outputs.items():  # same tolerance as above
        expected = sum(pa * moments[out.name](a) for pa, a in zip(p, alphabet))
        assert float(expr.evalf(30, subs=point)) == pytest.approx(expected, abs=1e-12)


# --- bad input --------------------------------------------------------------------------------


def test_empty_alphabet():
    with pytest.raises(ModelError, match="alphabet is empty"):
        PairwiseModel((), -J * si * sj, variables=(si, sj))


def test_non_numeric_alphabet():
    with pytest.raises(ModelError, match="alphabet value 'a' is not a number"):
        PairwiseModel((-1, "a"), -J * si * sj, variables=(si, sj))


def test_repeated_alphabet():
    with pytest.raises(ModelError, match=r"alphabet \(1, 0, 1\) has repeated values"):
        PairwiseModel((1, 0, 1), -J * si * sj, variables=(si, sj))


def test_asymmetric_pair_energy():
    with pytest.raises(ModelError, match="not symmetric"):
        PairwiseModel((-1, 0, 1), -J * si * sj**2, variables=(si, sj))


def test_field_energy_with_s_j():
    with pytest.raises(ModelError, match=r"field_energy = .* uses s_j"):
        PairwiseModel((-1, 1), -J * si * sj, -h * sj, variables=(si, sj))


def test_beta_is_reserved():
    with pytest.raises(ModelError, match="'beta' is reserved"):
        PairwiseModel((-1, 1), -sp.Symbol("beta") * si * sj, variables=(si, sj))


def test_variables_with_other_assumptions():
    plain = sp.symbols("s_i s_j")  # no real=True: not the symbols of the energy
    with pytest.raises(ModelError, match=r"symbol 's_[ij]'.*different assumptions"):
        PairwiseModel((-1, 1), -J * si * sj, variables=plain)


def test_undeclared_parameter():
    with pytest.raises(ModelError, match=r"undeclared symbol\(s\) h"):
        PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj), params=[J])


def test_declared_parameters_are_accepted():
    model = PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj), params=[J, h])
    assert model.params == (J, h)


def test_infinite_pair_energy():
    with pytest.raises(
        ModelError,
        match=r"pair_energy is not finite at \(s_i, s_j\) = "
        r"\((-1, 1|1, -1)\)",
    ):
        PairwiseModel((-1, 1), 1 / (si + sj), variables=(si, sj))


def test_parameter_in_both_energies():
    with pytest.raises(ModelError, match="J appear in both"):
        PairwiseModel((-1, 1), -J * si * sj, -J * si, variables=(si, sj))


def test_parameter_named_like_a_derived_symbol():
    """A parameter named like the derived local field keeps its name; the field is renamed
    (H'), and the equation is still Weiss's m = tanh(beta (H' + H)) (Weiss 1907)."""
    H_ext = sp.Symbol("H")  # the usual name of an external field
    model = PairwiseModel((-1, 1), -J * si * sj, -H_ext * si, variables=(si, sj))
    eqs = derive.meanfield(model)
    assert H_ext in eqs.params
    (field,) = eqs.inputs
    assert field.name == "H'"
    (m,) = eqs.outputs
    assert sp.simplify(eqs.outputs[m] - sp.tanh(BETA * (field + H_ext))) == 0


def test_bad_degree():
    with pytest.raises(ModelError, match="degree"):
        derive.meanfield(ising(), degree=-2)


# --- Equations ------------------------------------------------------------------------------


def test_equations_are_immutable():
    eqs = derive.meanfield(ising())
    with pytest.raises(AttributeError):
        eqs.name = "other"
    with pytest.raises(TypeError):
        eqs.outputs[sp.Symbol("m")] = 0


def test_equations_equal_by_content():
    a = derive.meanfield(ising())
    s2 = sp.symbols("s_i s_j", real=True)  # fresh symbols, equal to the module's ones
    b = derive.meanfield(PairwiseModel((-1, 1), -J * s2[0] * s2[1], -h * s2[0], variables=s2))
    assert a is not b and a == b and hash(a) == hash(b) and a.key == b.key
    assert len({a, b}) == 1
    c = derive.meanfield(PairwiseModel((-1, 1), -K * si * sj, -h * si, variables=(si, sj)))
    assert c != a and c.key != a.key
    assert derive.meanfield(ising(), degree=4) != derive.meanfield(ising(), degree=3)


def test_subs_removes_parameters():
    eqs = derive.meanfield(ising())
    fixed = eqs.subs({J: 2, h: R(1, 2)})
    assert fixed.params == (BETA,)
    s = by_name(fixed)
    for expr in list(fixed.outputs.values()) + list(fixed.aggregates.values()):
        assert not expr.free_symbols & {J, h}
    assert sp.simplify(fixed.outputs[s["m"]] - sp.tanh(BETA * (s["H"] + R(1, 2)))) == 0
    assert sp.simplify(fixed.aggregates[s["H"]] - 2 * s["m_j"]) == 0
    assert fixed != eqs


def test_subs_by_name():
    eqs = derive.meanfield(ising())
    fixed = eqs.subs({"J": 1, "beta": 2})
    assert fixed.params == (h,)


def test_latex_and_str():
    eqs = derive.meanfield(ising())
    assert r"\tanh" in eqs.latex()
    assert eqs._repr_latex_().startswith("$$")
    assert "m = tanh(beta*(H + h))" in str(eqs)


def test_stray_symbol():
    x, y, a = sp.symbols("x y a")
    with pytest.raises(ModelError, match=r"output y = a \+ x uses undeclared symbol\(s\) a"):
        Equations("stray", "map", [x], [], {y: x + a})


def test_unknown_kind():
    x = sp.Symbol("x")
    with pytest.raises(ModelError, match="kind must be one of"):
        Equations("bad", "flow", [x], [], {x: x})


# --- models are values ------------------------------------------------------------------------


def test_equal_models_built_separately_are_one_value():
    s2 = sp.symbols("s_i s_j", real=True)  # fresh symbols, equal to the module's ones
    a = ising()
    b = PairwiseModel((-1, 1), -J * s2[0] * s2[1], -h * s2[0], variables=s2)
    assert a is not b
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1


def test_models_differing_in_content_differ():
    assert ising() != PairwiseModel((-1, 1), -K * si * sj, -h * si, variables=(si, sj))
    assert ising() != PairwiseModel((0, 1), -J * si * sj, -h * si, variables=(si, sj))


def test_model_is_immutable():
    model = ising()
    with pytest.raises(AttributeError, match="immutable"):
        model.pair_energy = -K * si * sj
    with pytest.raises(AttributeError, match="immutable"):
        model.alphabet = (0, 1)
    assert model == ising()
