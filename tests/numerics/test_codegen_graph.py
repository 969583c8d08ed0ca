"""The generated message sweeps of ``numerics.codegen`` against a plain Python oracle.

The parallel sweep stores the summands of the aggregates in ``out`` when there are no more
aggregates than outputs, in ``scratch`` otherwise; the ordered sweep updates in place. Each
is checked on a small loopy graph against the definition of a message update,

    m_{i->j} = F(sum_{k in di \\ j} a(m_{k->i}, J_ki), c_i),   new = (1 - d) m_new + d m_old,

computed edge by edge with Python loops (no cavity trick), for any messages and damping.
"""

import networkx as nx
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

import graphs
import numerics
from derive import Equations

m_in, A, B, c, J = sp.symbols("m_in A B c J", real=True)
m_out = sp.Symbol("m_out", real=True)

#: two aggregates, one output: the summands go to ``scratch``
TWO = Equations(
    "two sums",
    "message",
    (A, B),
    (c, J),
    {m_out: A / (1 + B) + c},
    aggregates={A: J * m_in, B: m_in**2},
    neighbor=(m_in,),
    edge_params=(J,),
)
#: one aggregate, one output: the summands go to ``out``
ONE = Equations(
    "one sum",
    "message",
    (A,),
    (c, J),
    {m_out: sp.tanh(A + c)},
    aggregates={A: sp.atanh(sp.tanh(J) * sp.tanh(m_in))},
    neighbor=(m_in,),
    edge_params=(J,),
)
CASES = {
    "two sums": (TWO, lambda a, b, ci: a / (1 + b) + ci, True),
    "one sum": (ONE, lambda a, b, ci: np.tanh(a + ci), False),
}

G = nx.random_regular_graph(3, 10, seed=2)
G.add_edge(0, 10)  # a leaf: an empty cavity sum
CSR = graphs.to_csr(G)
N_DIR = CSR.indices.size
J_DIRECTED = 0.3 + 0.05 * CSR.edge_id[:, None].astype(float)  # per directed edge
C_NODE = np.linspace(-0.5, 0.5, CSR.n_nodes)[:, None]


def oracle_update(i, messages, two):
    """The new messages out of node i, from the definition (Python loops)."""
    new = {}
    start, stop = CSR.indptr[i], CSR.indptr[i + 1]
    for e in range(start, stop):  # e = i -> j
        a = b = 0.0
        for f in range(start, stop):  # f = i -> k, k != j; the message k -> i is reverse[f]
            if f == e:
                continue
            m = messages[CSR.reverse[f], 0]
            if two:
                a += J_DIRECTED[f, 0] * m
                b += m * m
            else:
                a += np.arctanh(np.tanh(J_DIRECTED[f, 0]) * np.tanh(m))
        new[e] = (a, b)
    return new


messages_strategy = st.lists(
    st.floats(-2.0, 2.0, allow_nan=False), min_size=N_DIR, max_size=N_DIR
).map(lambda v: np.array(v)[:, None])


@pytest.mark.parametrize("case", CASES)
@given(messages=messages_strategy, damping=st.floats(0.0, 0.9))
def test_parallel_sweep_is_the_definition(case, messages, damping):
    eqs, F, two = CASES[case]
    mod = numerics.compile(eqs).module
    out, incoming = np.empty_like(messages), np.empty_like(messages)
    scratch = np.empty((4, len(eqs.aggregates)))
    change = mod.message_sweep(
        CSR.indptr, CSR.indices, CSR.reverse, messages, C_NODE, J_DIRECTED, scratch, incoming,
        out, damping,
    )  # fmt: skip
    expected = np.empty_like(messages)
    for i in range(CSR.n_nodes):
        for e, (a, b) in oracle_update(i, messages, two).items():
            expected[e, 0] = (1 - damping) * F(a, b, C_NODE[i, 0]) + damping * messages[e, 0]
    # sums of at most three terms of size <= 2: equal to a few ulp
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-13)
    assert change == pytest.approx(np.abs(expected - messages).max(), rel=1e-12, abs=1e-13)


@pytest.mark.parametrize("case", CASES)
@given(messages=messages_strategy, damping=st.floats(0.0, 0.9))
def test_ordered_sweep_is_gauss_seidel(case, messages, damping):
    eqs, F, two = CASES[case]
    mod = numerics.compile(eqs).module
    order = np.random.default_rng(0).permutation(CSR.n_nodes)
    expected = messages.copy()
    for i in order:  # in place: node i sees the messages already updated in this sweep
        for e, (a, b) in oracle_update(i, expected.copy(), two).items():
            expected[e, 0] = (1 - damping) * F(a, b, C_NODE[i, 0]) + damping * expected[e, 0]
    got = messages.copy()
    scratch = np.empty((4, len(eqs.aggregates)))
    mod.message_sweep_ordered(
        CSR.indptr, CSR.indices, CSR.reverse, got, C_NODE, J_DIRECTED, scratch, order, damping
    )
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-13)
