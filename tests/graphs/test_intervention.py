"""The mitigation loop of Baker et al., PNAS 118, e2106548118 (2021): rankers and bookkeeping."""

import networkx as nx
import numpy as np
import pytest
import sympy as sp

from derive import Compartmental, InputError
from graphs import contacts as C
from graphs.intervention import RankContext, intervention, rank_tracing

lam, mu = sp.symbols("lambda mu", positive=True)
SIR = Compartmental(("S", "I", "R"), spontaneous={("I", "R"): mu}, contact={("S", "I"): ("I", lam)})


def test_tracing_counts_contacts_with_recent_positives():
    # days 0..3; person 0 tested positive on day 2, person 5 on day 0 (outside the window
    # [t - tau, t) = [1, 4)); person 1 met 0 twice in the window, person 2 once before it
    t = [0, 0, 1, 2, 2, 3]
    i = [2, 0, 1, 1, 4, 3]
    j = [0, 5, 0, 0, 5, 4]
    contacts = C.from_arrays(t, i, j, 0.5, n=6, days=4)
    ctx = RankContext(
        t=4,
        start=0,
        contacts=contacts,
        observations=((0, "I", 2), (5, "I", 0), (3, "S", 3)),
        model=SIR,
        params={"mu": np.full(6, 0.1)},
        tau=3,
        prior=0.01,
        rng=np.random.default_rng(0),
    )
    assert rank_tracing(ctx).tolist() == [0, 2, 0, 0, 0, 0]


def _setting(seed=0, n=200, days=30):
    contacts = C.proximity(n, days, lam=0.05, seed=seed)
    initial = np.zeros(n, int)
    initial[:4] = 1
    return contacts, initial


def test_bookkeeping_and_a_user_ranker():
    contacts, initial = _setting()
    calls = []

    def by_index(ctx):
        calls.append(ctx.t)
        return -np.arange(ctx.contacts.n, dtype=float)

    r = intervention(SIR, contacts, initial, {"mu": 0.05}, ranker=by_index, free_days=5, seed=1)
    assert calls == list(range(5, 31))
    assert np.all(r.counts.sum(axis=1) == 200)
    assert np.all(np.diff(r.ever_infected) >= 0)
    assert np.all(r.tests[5:] <= 29) and np.all(r.tests[:5] == 0)
    assert np.all(r.positives <= r.tests)
    again = intervention(SIR, contacts, initial, {"mu": 0.05}, ranker=by_index, free_days=5, seed=1)
    assert np.array_equal(r.ever_infected, again.ever_infected)


def test_no_tests_no_detection_is_the_plain_epidemic():
    contacts, initial = _setting()
    free = dict(tests_random=0, tests_oracle=0, tests_ranked=0, detect=0.0)
    r = intervention(SIR, contacts, initial, {"mu": 0.05}, ranker="random", seed=3, **free)
    assert r.quarantined.max() == 0 and r.tests.sum() == 0
    assert r.ever_infected[-1] > 4


@pytest.mark.parametrize("ranker", ["tracing", "meanfield", "dmp"])
def test_every_ranker_runs(ranker):
    contacts, initial = _setting(n=120, days=16)
    r = intervention(SIR, contacts, initial, {"mu": 0.05}, ranker=ranker, free_days=3, seed=2)
    ranked_days = ~np.isnan(r.precision)
    assert ranked_days.sum() == 14
    assert np.all((r.precision[ranked_days] >= 0) & (r.precision[ranked_days] <= 1))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"tests_ranked": 500}, "larger than the population"),
        ({"ranker": "oracle"}, "unknown ranker"),
        ({"delta": 0}, "delta"),
        ({"detect": 2.0}, "detect"),
    ],
)
def test_bad_intervention_input(kwargs, match):
    contacts = C.static(nx.path_graph(40), days=3, weight=0.1)
    initial = np.zeros(40, int)
    with pytest.raises(InputError, match=match):
        intervention(SIR, contacts, initial, {"mu": 0.1}, **kwargs)


def test_inference_beats_tracing_and_random_tests():
    # Baker et al., PNAS 118, e2106548118 (2021), Fig. 2: on proximity contacts, ranking the
    # tests by mean-field risk ends with fewer ever infected than contact tracing and than
    # random tests. A reduced setting: 200 people, lambda = 0.05, mu = 0.03, 4 infected,
    # 5 free days, 1 random + 7 ranked tests a day, 40 days; 6 seeds, every strategy on the
    # same contacts and initial infected. Measured ever infected (mean, standard error):
    # random 149 (5), tracing 133 (20), mean-field 84 (14), DMP 86 (18). Mean-field is below
    # tracing and below random on each of the 6 seeds (by 8 to 86 and 35 to 112), DMP below
    # random on each (by 16 to 110); tracing against random is not resolved at this size
    # (better on 4 seeds of 6; in the recipe's 10,000-person setting it is). The runs are
    # seeded: the test is deterministic.
    ever = {k: [] for k in ("random", "tracing", "meanfield", "dmp")}
    for seed in range(6):
        contacts = C.proximity(200, 40, lam=0.05, seed=seed)
        initial = np.zeros(200, int)
        initial[np.random.default_rng(seed).choice(200, 4, replace=False)] = 1
        for ranker, runs in ever.items():
            r = intervention(
                SIR, contacts, initial, {"mu": 0.03}, ranker, free_days=5, tests_ranked=7, seed=seed
            )
            runs.append(r.ever_infected[-1])
    mean = {k: np.mean(v) for k, v in ever.items()}
    assert mean["meanfield"] < mean["tracing"]
    assert mean["meanfield"] < mean["random"]
    assert mean["dmp"] < mean["random"]
