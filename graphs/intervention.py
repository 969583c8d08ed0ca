r"""Epidemic mitigation by testing and quarantine: the daily loop of Baker et al. (2021).

Baker, Biazzo, Braunstein, Catania, Dall'Asta, Ingrosso, Krzakala, Mazza, Mézard, Muntoni,
Refinetti, Sarao Mannelli, Zdeborová, 'Epidemic mitigation by statistical inference from
contact tracing data', PNAS 118, e2106548118 (2021), arXiv:2009.09422.

Each day ``t -> t + 1``: one day of the stochastic epidemic (:func:`graphs.simulate`'s
convention), with :math:`\lambda = 0` on every contact of a quarantined person; then, on the
states of day ``t + 1``, from day ``free_days`` on: symptomatic detection (a fraction
``detect`` of the people infected exactly ``tau`` days ago and still infectious test positive),
the day's tests -- random ones, optional "oracle" ones among the truly infected, and the top of
a ranking of the people not yet found positive; every positive is quarantined (its contacts get
:math:`\lambda = 0`) for ``quarantine_days``, by default until the end. Rankers see the observed
contacts of the last ``delta`` days and every test result:

* ``"random"``: a random order;
* ``"tracing"``: the number of contacts in :math:`[t - \tau, t)` with people who tested
  positive in that window;
* ``"meanfield"``: :math:`P^I_i(t)` from :func:`graphs.ibmf` over the window (product form;
  ``"meanfield-linear"`` the linearised one), everyone susceptible with probability
  ``1 - prior`` at its start, observations clamped;
* ``"dmp"``: the same with :func:`graphs.dmp`;
* any callable ``ranker(context) -> scores`` (one score per person, higher is tested first)
  taking a :class:`RankContext`.
"""

import numbers
from dataclasses import dataclass

import numpy as np

import numerics
from derive.errors import InputError

from .contacts import Contacts
from .epidemics import _check, _day, _initial, _params, _probabilities, _seed, dmp, ibmf

__all__ = ["intervention", "InterventionResult", "RankContext", "RANKERS"]


@dataclass(frozen=True)
class RankContext:
    """What a ranker knows on day ``t``.

    Attributes
    ----------
    t : int
        Today; the scores rank the people for today's tests.
    start : int
        The first day of ``contacts`` (``max(0, t - delta)``).
    contacts : Contacts
        The contacts of days ``start .. t - 1`` (day ``start`` is its day 0), with the
        transmission probability of each (0 for a quarantined person's).
    observations : tuple of (person, state, day)
        Every test result so far, days absolute.
    model, params, tau, prior, rng
        The model and its per-person parameters, the assumed delay from infection to a
        positive test, the prior probability of being infected at ``start``, a generator.
    """

    t: int
    start: int
    contacts: Contacts
    observations: tuple
    model: object
    params: dict
    tau: int
    prior: float
    rng: np.random.Generator


def rank_random(ctx):
    """A random order."""
    return ctx.rng.random(ctx.contacts.n)


def _positive_states(model):
    S = model.contact[0][0]
    leaving = {a for a, *_ in model.spontaneous} | {a for a, *_ in model.contact}
    return {s for s in model.states if s != S and s in leaving}


def rank_tracing(ctx):
    r"""Contact tracing: the number of contacts in :math:`[t - \tau, t)` with people who
    tested positive in that window."""
    n = ctx.contacts.n
    positive = np.zeros(n, dtype=bool)
    states = _positive_states(ctx.model)
    for i, s, day in ctx.observations:
        if s in states and ctx.t - ctx.tau <= day < ctx.t:
            positive[i] = True
    lo = max(ctx.start, ctx.t - ctx.tau) - ctx.start
    c = ctx.contacts
    if lo >= c.days:
        return np.zeros(n)
    a, b = c.indptr[lo, 0], c.indptr[-1, -1]
    recv = c.sources()[a:b]
    hit = positive[c.indices[a:b]]
    return np.bincount(recv[hit], minlength=n).astype(float)


def _inference(ctx, solver, **kw):
    model = ctx.model
    S = model.contact[0][0]
    C = model.contact[0][2]
    q = len(model.states)
    prior = np.zeros((ctx.contacts.n, q))
    prior[:, model.index(S)] = 1 - ctx.prior
    prior[:, model.index(C)] += ctx.prior
    days = ctx.contacts.days
    obs = [(i, s, d - ctx.start) for i, s, d in ctx.observations if 0 <= d - ctx.start <= days]
    r = solver(model, ctx.contacts, prior, ctx.params, observations=obs, tau=ctx.tau, **kw)
    return r.marginals[-1, :, model.index(C)]


def rank_meanfield(ctx):
    """:math:`P^I_i(t)` from individual-based mean-field (product form) over the window."""
    return _inference(ctx, ibmf)


def rank_meanfield_linear(ctx):
    """:math:`P^I_i(t)` from the linearised individual-based mean-field over the window."""
    return _inference(ctx, ibmf, form="linear")


def rank_dmp(ctx):
    """:math:`P^I_i(t)` from dynamic message passing over the window."""
    return _inference(ctx, dmp)


RANKERS = {
    "random": rank_random,
    "tracing": rank_tracing,
    "meanfield": rank_meanfield,
    "meanfield-linear": rank_meanfield_linear,
    "dmp": rank_dmp,
}


@dataclass(kw_only=True, repr=False)
class InterventionResult(numerics.SimulationResult):
    """One run of the mitigation loop.

    Attributes
    ----------
    ranker : str
    states : tuple of str
    counts : ndarray, shape (days + 1, n_states)
        People in each state, per day.
    ever_infected : ndarray, shape (days + 1,)
        People who have left the susceptible state by that day.
    tests, positives : ndarray, shape (days + 1,)
        Tests done and positives found by them (symptomatic detections not included).
    detected : ndarray, shape (days + 1,)
        Symptomatic detections.
    precision : ndarray, shape (days + 1,)
        Fraction of positives among the ranked tests (NaN on days without ranked tests).
    quarantined : ndarray, shape (days + 1,)
        People in quarantine.
    """

    ranker: str = ""
    states: tuple = ()
    counts: np.ndarray = None
    ever_infected: np.ndarray = None
    tests: np.ndarray = None
    positives: np.ndarray = None
    detected: np.ndarray = None
    precision: np.ndarray = None
    quarantined: np.ndarray = None


def _count(name, value, low=0):
    if not isinstance(value, numbers.Integral) or value < low:
        raise InputError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def intervention(
    model,
    contacts,
    initial,
    params=None,
    ranker="meanfield",
    *,
    tests_random=1,
    tests_oracle=0,
    tests_ranked=21,
    free_days=10,
    tau=5,
    delta=15,
    detect=0.5,
    quarantine_days=None,
    prior=None,
    seed=None,
):
    """Run the mitigation loop over every day of ``contacts``.

    Parameters
    ----------
    model : derive.Compartmental
        Its first contact transition ``S -> X`` through ``C`` defines who is susceptible
        (``S``) and who is infectious (``C``); a positive test is any state other than ``S``
        that can still be left.
    contacts : Contacts
    initial : array of int, shape (n,)
        The state index of each person on day 0.
    params : mapping
        The model's per-person parameters (the contacts give :math:`\\lambda`).
    ranker : str or callable
        One of :data:`RANKERS` or ``ranker(context: RankContext) -> scores``; the highest
        scores are tested, ties broken at random.
    tests_random, tests_oracle, tests_ranked : int
        Daily tests: random, among the truly infected (0 in the authors' runs), and from the
        top of the ranking.
    free_days : int
        Days without any intervention (no detection, tests or quarantine) at the start.
    tau : int
        Symptomatic detection delay; the rankers' assumed delay from infection to a positive.
    delta : int
        The rankers' window, in days.
    detect : float
        Fraction of the people infected exactly ``tau`` days ago, and still infectious, who
        are detected that day: ``floor(detect * count)`` of them, drawn at random (the
        authors' rule).
    quarantine_days : int, optional
        How long a positive stays in quarantine; default: until the end of the run (the
        authors' runs quarantine for the rest of the simulation).
    prior : float, optional
        The rankers' prior probability of being infected at the start of their window
        (default: the fraction infected on day 0).
    seed : int, optional

    Returns
    -------
    InterventionResult
    """
    _check(model, contacts)
    n = contacts.n
    for name, v in (
        ("tests_random", tests_random),
        ("tests_oracle", tests_oracle),
        ("tests_ranked", tests_ranked),
        ("free_days", free_days),
        ("tau", tau),
    ):
        _count(name, v)
    _count("delta", delta, 1)
    if quarantine_days is None:
        quarantine_days = contacts.days + 1
    _count("quarantine_days", quarantine_days)
    budget = tests_random + tests_oracle + tests_ranked
    if budget > n:
        raise InputError(f"a daily test budget of {budget} is larger than the population ({n})")
    if not 0 <= detect <= 1:
        raise InputError(f"detect must be a fraction in [0, 1], got {detect!r}")
    if isinstance(ranker, str):
        if ranker not in RANKERS:
            raise InputError(f"unknown ranker {ranker!r}; the rankers are {sorted(RANKERS)}")
        name, rank = ranker, RANKERS[ranker]
    elif callable(ranker):
        name, rank = getattr(ranker, "__name__", "custom"), ranker
    else:
        raise InputError(f"ranker must be a name in {sorted(RANKERS)} or a callable")
    _, state = _initial(model, contacts, initial)
    if state is None:
        raise InputError("the intervention needs one initial state per person")
    edge, node = _params(model, contacts, params)
    pc, T = _probabilities(model, contacts, edge, node)
    pc = pc.copy()
    idx = model.index
    t_from = np.array([idx(a) for a, *_ in model.contact], dtype=np.int64)
    t_to = np.array([idx(b) for _, b, *_ in model.contact], dtype=np.int64)
    t_via = np.array([idx(c) for _, _, c, _ in model.contact], dtype=np.int64)
    S = model.contact[0][0]
    iS = idx(S)
    positive_states = np.array([s in _positive_states(model) for s in model.states])
    ranker_params = {p.name: node[p.name] for p in model.node_params}
    if prior is None:
        prior = max(float(np.mean(state != iS)), 1e-6)

    ss = np.random.SeedSequence(seed)
    rng = np.random.default_rng(ss.spawn(1)[0])
    _seed(int(ss.generate_state(1)[0]))

    days, q = contacts.days, len(model.states)
    counts = np.zeros((days + 1, q), dtype=np.int64)
    ever = np.zeros(days + 1, dtype=np.int64)
    tests = np.zeros(days + 1, dtype=np.int64)
    positives = np.zeros(days + 1, dtype=np.int64)
    detected_n = np.zeros(days + 1, dtype=np.int64)
    precision = np.full(days + 1, np.nan)
    quarantined = np.zeros(days + 1, dtype=np.int64)
    infected_day = np.where(state != iS, 0, -1)
    found = np.zeros(n, dtype=bool)
    until = np.zeros(n, dtype=np.int64)
    observations = []
    counts[0] = np.bincount(state, minlength=q)
    ever[0] = int(np.sum(infected_day >= 0))
    new = np.empty_like(state)
    recv_all = contacts.sources()

    def test(people, day):
        hits = 0
        for i in people:
            s = int(state[i])
            observations.append((int(i), model.states[s], day))
            if positive_states[s]:
                hits += 1
                found[i] = True
                until[i] = day + quarantine_days
        return hits

    for t in range(days):
        a, b = contacts.indptr[t, 0], contacts.indptr[t, -1]
        away = until > t
        cut = away[recv_all[a:b]] | away[contacts.indices[a:b]]
        pc[a:b][cut] = 0.0
        _day(contacts.indptr[t], contacts.indices, pc, t_from, t_to, t_via, T, state, new)
        left = (state == iS) & (new != iS)
        infected_day[left] = t + 1
        state, new = new, state
        day = t + 1
        # symptomatic detection: floor(detect * count) of those infected tau days ago
        due = np.nonzero((infected_day == day - tau) & positive_states[state])[0]
        if day < free_days:
            due = due[:0]
        sick = rng.choice(due, size=int(detect * due.size), replace=False)
        sick = sick[~found[sick]]
        for i in sick:
            observations.append((int(i), model.states[int(state[i])], day))
            found[i] = True
            until[i] = day + quarantine_days
        detected_n[day] = sick.size
        if day >= free_days and budget:
            tested = np.zeros(n, dtype=bool)
            pool = np.nonzero(~found)[0]
            chosen = rng.choice(pool, size=min(tests_random, pool.size), replace=False)
            tested[chosen] = True
            hits = test(chosen, day)
            truly = np.nonzero(~found & ~tested & positive_states[state])[0]
            oracle = rng.choice(truly, size=min(tests_oracle, truly.size), replace=False)
            tested[oracle] = True
            hits += test(oracle, day)
            ranked = np.zeros(0, dtype=np.int64)
            if tests_ranked:
                start = max(0, day - delta)
                ctx = RankContext(
                    t=day,
                    start=start,
                    contacts=contacts.window(start, day).with_lam(
                        pc[contacts.indptr[start, 0] : contacts.indptr[day - 1, -1], 0]
                    ),
                    observations=tuple(observations),
                    model=model,
                    params=ranker_params,
                    tau=tau,
                    prior=prior,
                    rng=rng,
                )
                scores = np.asarray(rank(ctx), dtype=float)
                if scores.shape != (n,):
                    raise InputError(f"ranker {name!r} returned shape {scores.shape}, not ({n},)")
                free = ~(found | tested)
                scores = np.where(free, scores, -np.inf)
                if np.unique(scores[free]).size < int(free.sum()):
                    # ties (tracing: most people have no contact with a positive) are broken
                    # at random, as the authors' rankers do; by index, the leftover tests
                    # went to the same low-numbered people every day
                    order = np.lexsort((rng.random(n), -scores))
                else:
                    order = np.argsort(-scores, kind="stable")
                ranked = order[: min(tests_ranked, int(free.sum()))]
                r_hits = test(ranked, day)
                precision[day] = r_hits / ranked.size if ranked.size else np.nan
                hits += r_hits
            tests[day] = chosen.size + oracle.size + ranked.size
            positives[day] = hits
        counts[day] = np.bincount(state, minlength=q)
        ever[day] = int(np.sum(infected_day >= 0))
        quarantined[day] = int(np.sum(until > day))
    result = InterventionResult(
        ranker=name,
        states=model.states,
        counts=counts,
        ever_infected=ever,
        tests=tests,
        positives=positives,
        detected=detected_n,
        precision=precision,
        quarantined=quarantined,
        seed=ss.entropy if seed is None else seed,
        iterations=days,
        message=f"{days} days, ranker {name}",
    )
    return result
