"""Compartmental models and their IBMF / DMP derivations, checked against the published forms.

Individual-based mean-field: Baker et al., PNAS 118, e2106548118 (2021) (SIPAR form);
dynamic message passing: Lokhov, Mézard, Zdeborová, PRE 91, 012811 (2015), eqs. (3)-(6), in
the discrete-time convention of a day of derive.epidemics.
"""

import math

import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import derive
from derive import Compartmental, Equations, ModelError

lam, mu, eps = sp.symbols("lambda mu epsilon", positive=True)
SIR = Compartmental(("S", "I", "R"), spontaneous={("I", "R"): mu}, contact={("S", "I"): ("I", lam)})
prob = st.floats(0, 1)


def _at(expr, values):
    return float(
        expr.subs({sp.Symbol(k) if isinstance(k, str) else k: v for k, v in values.items()})
    )


@given(ps=prob, pi=prob, m=prob, nb=st.lists(st.tuples(prob, prob), max_size=5))
def test_ibmf_product_form(ps, pi, m, nb):
    pi = pi * (1 - ps)
    pr = 1 - ps - pi
    eqs = derive.ibmf(SIR)
    prod = math.prod(1 - l_ * p for l_, p in nb)
    # the aggregate over the contacts is the product of the published form
    terms = [_at(eqs.aggregates[sp.Symbol("Q_S_I")], {lam: l_, "P_I_j": p}) for l_, p in nb]
    assert math.prod(terms) == pytest.approx(prod, abs=1e-12)
    at = {"P_S": ps, "P_I": pi, "P_R": pr, "Q_S_I": prod, mu: m}
    assert _at(eqs["P_S"], at) == pytest.approx(ps * prod, abs=1e-12)
    assert _at(eqs["P_R"], at) == pytest.approx(pr + m * pi, abs=1e-12)
    assert _at(eqs["P_I"], at) == pytest.approx(1 - ps * prod - pr - m * pi, abs=1e-12)


@given(ps=prob, pi=prob, total=st.floats(0, 3))
def test_ibmf_linear_form(ps, pi, total):
    pi = pi * (1 - ps)
    eqs = derive.ibmf(SIR, form="linear")
    at = {"P_S": ps, "P_I": pi, "P_R": 1 - ps - pi, "L_S_I": total, mu: 0.1}
    assert _at(eqs["P_S"], at) == pytest.approx(ps * max(0.0, 1 - total), abs=1e-12)


@given(th=prob, phi=prob, psc=prob, ps0=prob, big=prob, l_=prob, m=prob)
def test_dmp_updates_are_lokhov_et_al(th, phi, psc, ps0, big, l_, m):
    eqs = derive.dmp(SIR)
    at = {"theta": th, "phi_I": phi, "P_S_cav": psc, "P_S0": ps0, "Theta": big, lam: l_, mu: m}
    assert _at(eqs["theta"], at) == pytest.approx(th - l_ * phi, abs=1e-12)
    assert _at(eqs["P_S_cav"], at) == pytest.approx(ps0 * big, abs=1e-12)
    expected_phi = (1 - l_) * (1 - m) * phi - (ps0 * big - psc)
    assert _at(eqs["phi_I"], at) == pytest.approx(expected_phi, abs=1e-12)
    assert eqs.operations[sp.Symbol("Theta")] == "product"


@st.composite
def models(draw):
    """Random unidirectional models S -> X -> ... with random spontaneous chains."""
    k = draw(st.integers(3, 5))
    states = ("S",) + tuple(f"A{i}" for i in range(1, k))
    spont = {}
    for i in range(1, k - 1):
        spont[(states[i], states[i + 1])] = sp.Rational(draw(st.integers(0, 10)), 10)
    via = states[draw(st.integers(1, k - 1))]
    return Compartmental(states, spontaneous=spont, contact={("S", states[1]): (via, lam)})


@given(model=models(), ps=st.lists(prob, min_size=5, max_size=5), q=prob)
def test_ibmf_conserves_probability(model, ps, q):
    eqs = derive.ibmf(model)
    total = sum(ps[: len(model.states)])
    at = {f"P_{s}": p for s, p in zip(model.states, ps)}
    at.update({str(a): q for a in eqs.aggregates})
    out = sum(_at(e, at) for e in eqs.outputs.values())
    assert out == pytest.approx(total, abs=1e-12)


def test_seir_dmp_has_a_phi_for_exposed_and_infectious():
    seir = Compartmental(
        ("S", "E", "I", "R"),
        spontaneous={("E", "I"): eps, ("I", "R"): mu},
        contact={("S", "E"): ("I", lam)},
    )
    eqs = derive.dmp(seir)
    assert [s.name for s in eqs.by_role("message")] == ["theta", "P_S_cav", "phi_E", "phi_I"]


def test_dmp_refuses_return_to_s():
    sis = Compartmental(("S", "I"), spontaneous={("I", "S"): mu}, contact={("S", "I"): ("I", lam)})
    with pytest.raises(ModelError, match="unidirectional"):
        derive.dmp(sis)
    derive.ibmf(sis)  # IBMF takes it


def test_dmp_refuses_two_contact_transitions():
    m = Compartmental(("S", "I", "J"), contact={("S", "I"): ("I", lam), ("S", "J"): ("J", lam)})
    with pytest.raises(ModelError, match="exactly one contact transition"):
        derive.dmp(m)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"spontaneous": {("I", "X"): mu}}, "undeclared state 'X'"),
        ({"spontaneous": {("I", "I"): mu}}, "to itself"),
        ({"spontaneous": {("I", "R"): 1.5}}, "outside"),
        ({"spontaneous": {("I", "R"): 0.6, ("I", "S"): 0.6}}, "add up"),
        ({"contact": {("S", "I"): ("Q", lam)}}, "undeclared state 'Q'"),
        ({"contact": {("S", "I"): ("I", mu)}, "spontaneous": {("I", "R"): mu}}, "both"),
    ],
)
def test_bad_models(kwargs, match):
    with pytest.raises(ModelError, match=match):
        Compartmental(("S", "I", "R"), **kwargs)


def test_models_are_values():
    again = Compartmental(("S", "I", "R"), {("I", "R"): mu}, {("S", "I"): ("I", lam)})
    assert again == SIR and hash(again) == hash(SIR)
    assert derive.ibmf(again) is derive.ibmf(SIR)


def test_product_is_part_of_the_key_and_the_display():
    H, x, J, xj = sp.symbols("H x J x_j")
    kw = dict(aggregates={H: J * xj}, neighbor=[xj])
    plain = Equations("e", "map", [x, H], [J], {x: H}, **kw)
    summed = Equations("e", "map", [x, H], [J], {x: H}, operations={H: "sum"}, **kw)
    product = Equations("e", "map", [x, H], [J], {x: H}, operations={H: "product"}, **kw)
    assert plain.key == summed.key
    assert product.key != plain.key
    assert "prod_j" in str(product) and r"\prod" in product.latex()
    with pytest.raises(ModelError, match="unknown operation"):
        Equations("e", "map", [x, H], [J], {x: H}, operations={H: "max"}, **kw)
