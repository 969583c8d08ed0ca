"""Temporal contact data: constructors, generators and the errors of bad input."""

import networkx as nx
import numpy as np
import pytest

from derive import InputError
from graphs import contacts as C


def test_static_graph_gives_both_directions_every_day():
    G = nx.path_graph(4)
    nx.set_edge_attributes(G, {(0, 1): 0.1, (1, 2): 0.2, (2, 3): 0.3}, "lambda")
    c = C.static(G, days=3)
    assert (c.n, c.days, c.n_contacts) == (4, 3, 18)
    ptr, idx, lam = c.day(2)
    assert idx[ptr[1] : ptr[2]].tolist() == [0, 2]
    assert lam[ptr[1] : ptr[2]].tolist() == [0.1, 0.2]


def test_static_with_a_number():
    c = C.static(nx.star_graph(3), days=1, weight=0.25)
    assert np.all(c.lam == 0.25)


def test_csv_round_trip(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("t,i,j,lambda\n0,0,1,0.5\n0,1,2,0.25\n2,2,0,1.0\n")
    c = C.from_csv(path)
    assert (c.n, c.days, c.n_contacts) == (3, 3, 6)
    ptr, idx, lam = c.day(2)
    assert idx.tolist() == [2, 0] and lam.tolist() == [1.0, 1.0]
    assert c.day(1)[1].size == 0


def test_csv_without_lambda_column_takes_lam(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("0,0,1\n1,0,1\n")
    assert np.all(C.from_csv(path, lam=0.3).lam == 0.3)
    with pytest.raises(InputError, match="no lambda column"):
        C.from_csv(path)


@pytest.mark.parametrize(
    "rows, kwargs, match",
    [
        ("0,0,5,0.1\n", {"n": 3}, "unknown individual"),
        ("0,0,1,1.5\n", {}, r"outside|\[0, 1\]"),
        ("-1,0,1,0.1\n", {}, "negative day"),
        ("1,0,1,0.1\n0,1,2,0.1\n", {}, "not sorted"),
        ("0,2,2,0.1\n", {}, "themself"),
    ],
)
def test_bad_contacts_are_named(tmp_path, rows, kwargs, match):
    path = tmp_path / "bad.csv"
    path.write_text(rows)
    with pytest.raises(InputError, match=match):
        C.from_csv(path, **kwargs)


def test_unknown_node_in_a_day_graph():
    with pytest.raises(InputError, match="unknown individual"):
        C.from_graphs([nx.path_graph(3), nx.path_graph(4)], weight=0.1, nodes=[0, 1, 2])


def test_proximity_is_seeded_and_has_about_seven_contacts_a_day():
    a = C.proximity(2000, 3, seed=5)
    b = C.proximity(2000, 3, seed=5)
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.indptr, b.indptr)
    # Baker et al. (PNAS 2021): 2 pi 1.1^2 = 7.6 contacts a day in the bulk, fewer near the
    # border of the square (side 45 here, so a few per cent fewer); 12,000 person-days give
    # a standard error of the mean ~0.03
    assert 6.8 < a.mean_degree() < 7.7
    assert np.all(a.indices != a.sources())


def test_openabm_like_households_meet_every_day():
    c = C.openabm_like(300, 4, seed=2)
    days = [
        set(
            zip(
                c.sources()[c.indptr[t, 0] : c.indptr[t, -1]].tolist(),
                c.indices[c.indptr[t, 0] : c.indptr[t, -1]].tolist(),
            )
        )
        for t in range(4)
    ]
    common = set.intersection(*days)
    assert len(common) > 0  # the household contacts
    assert 8 < c.mean_degree() < 16
