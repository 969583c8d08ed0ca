"""Roles of the symbols of ``Equations``: solvers bind by role and name, never by position."""

import pytest
import sympy as sp

import numerics
from derive import Equations, InputError, ModelError

m, H, h, J, beta, t, x, y, k = sp.symbols("m H h J beta t x y k", real=True)


def test_default_roles_of_a_graph_fixed_point():
    eqs = Equations(
        "mf",
        "fixed_point",
        [H],
        [beta, h, J],
        {m: sp.tanh(beta * (H + h))},
        aggregates={H: J * sp.Symbol("m_j")},
        neighbor=[sp.Symbol("m_j")],
        edge_params=[J],
    )
    assert eqs.roles[H] == "aggregate"
    assert eqs.by_role("node_param") == (beta, h)
    assert eqs.by_role("edge_param") == (J,)


def test_default_roles_of_a_plain_fixed_point_and_a_map():
    fp = Equations("Weiss", "fixed_point", [m], [beta], {m: sp.tanh(beta * m)})
    assert fp.state == (m,)
    assert fp.by_role("param") == (beta,)
    mp = Equations("denoiser", "map", [x], [k], {y: k * x})
    assert mp.by_role("data") == (x,)


def test_explicit_roles_and_time():
    eqs = Equations("decay", "ode", [t, x], [k], {x: -k * x}, time=t, roles={k: "param"})
    assert eqs.roles == {t: "time", x: "state", k: "param"}


def test_roles_are_part_of_the_content():
    a = Equations("f", "map", [x], [k], {y: k * x})
    b = Equations("f", "map", [x], [k], {y: k * x}, roles={x: "state"})
    assert a != b


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"roles": {y: "data"}}, "neither an input nor a parameter"),
        ({"roles": {x: "weird"}}, "unknown role"),
        ({"time": t}, "only for kind='ode'"),
    ],
)
def test_bad_roles_are_model_errors(kwargs, match):
    with pytest.raises(ModelError, match=match):
        Equations("f", "map", [x], [k], {y: k * x}, **kwargs)


def test_an_ode_output_must_be_a_state():
    with pytest.raises(ModelError, match="must be inputs of role 'state'"):
        Equations("bad", "ode", [t], [k], {x: -k}, time=t)


def test_select_and_subs_keep_the_roles():
    eqs = Equations("two", "ode", [t, x, y], [k], {x: -k * x, y: x}, time=t)
    assert eqs.select("x").roles == {t: "time", x: "state", k: "param"}
    assert eqs.subs({"k": 2}).roles == {t: "time", x: "state", y: "state"}


def test_kernel_binds_by_name_and_refuses_unknown_names():
    kernel = numerics.compile(Equations("scale", "map", [x], [k], {y: k * x}))
    assert kernel.bind({"k": 2.0}, x=3.0) == (3.0, 2.0)
    with pytest.raises(InputError, match=r"it takes \['x', 'k'\]"):
        kernel.bind({"k": 2.0, "kk": 1.0}, x=3.0)
    with pytest.raises(InputError, match="no value"):
        kernel.bind(x=3.0)
    with pytest.raises(InputError, match="nan"):
        kernel.bind(x=float("nan"), k=1.0)
