"""Epidemics: the simulator against EoN, and IBMF / DMP on a large temporal contact network.

1. Person-days per second of ``graphs.simulate`` against ``EoN.basic_discrete_SIR``
   (Miller & Ting, 'EoN (Epidemics on Networks)', JOSS 4, 1731 (2019)) on the same static
   Erdős–Rényi graph. EoN's discrete SIR keeps a node infectious for exactly one step, so
   both run with ``mu = 1``; a run of EoN lasts until no one is infectious, and its
   person-days are ``n`` times its number of steps; ours runs the same number of days.
   EoN is installed for this benchmark only (``pip install EoN``), not a dependency.
2. ``graphs.ibmf`` and ``graphs.dmp`` over an OpenABM-like contact network (households,
   workplaces, random contacts; about 12 contacts a person a day): seconds per run (wall and
   CPU) and DMP's message memory; with ``--union`` also DMP's sweep over every edge of the
   union of the contacts every day (the previous algorithm) and the largest difference.

    python benchmarks/epidemics.py [--n 10000] [--degree 12] [--p 0.2] [--runs 20]
                                   [--abm-n 50000] [--abm-days 100] [--union]
"""

import argparse
import time

import networkx as nx
import numpy as np
import sympy as sp
from timing import best_of

import derive
import graphs


def sir():
    lam, mu = sp.symbols("lambda mu", positive=True)
    return derive.Compartmental(
        ("S", "I", "R"), spontaneous={("I", "R"): mu}, contact={("S", "I"): ("I", lam)}
    )


def simulator_vs_eon(n, degree, p, runs, repeat):
    import EoN

    model = sir()
    G = nx.fast_gnp_random_graph(n, degree / n, seed=1)
    rng = np.random.default_rng(2)
    seeds = rng.choice(n, 10, replace=False).tolist()
    steps = []

    def eon():
        for _ in range(runs):
            t, S, I, R = EoN.basic_discrete_SIR(G, p, initial_infecteds=seeds)
            steps.append(len(t))

    t_eon = best_of(eon, repeat)
    days = int(np.ceil(np.mean(steps)))
    contacts = graphs.contacts.static(G, days=days, weight=p)
    initial = np.zeros(n, dtype=int)
    initial[seeds] = 1
    graphs.simulate(model, contacts, initial, {"mu": 1.0}, runs=1, seed=0)  # compile

    def ours():
        graphs.simulate(model, contacts, initial, {"mu": 1.0}, runs=runs, seed=0)

    t_ours = best_of(ours, repeat)
    eon_rate = n * float(np.mean(steps)) * runs / t_eon
    ours_rate = n * days * runs / t_ours
    print(f"simulator, ER graph n = {n}, mean degree {degree}, p = {p}, mu = 1, {runs} runs")
    print(f"  EoN.basic_discrete_SIR: {eon_rate:.3g} person-days/s ({np.mean(steps):.1f} steps)")
    print(f"  graphs.simulate:        {ours_rate:.3g} person-days/s ({days} days)")
    print(f"  ratio: {ours_rate / eon_rate:.1f}x")


def inference(n, days, repeat, union):
    model = sir()
    t0 = time.perf_counter()
    contacts = graphs.contacts.openabm_like(n, days, lam=0.01, seed=0)
    t_gen = time.perf_counter() - t0
    print(
        f"OpenABM-like contacts: n = {n}, {days} days, {contacts.mean_degree():.1f} contacts a "
        f"person a day, {contacts.n_contacts} entries, generated in {t_gen:.1f} s"
    )
    prior = np.tile([0.999, 0.001, 0.0], (n, 1))
    runs = [("ibmf", graphs.ibmf, {}), ("dmp", graphs.dmp, {})]
    if union:  # the sweep over every edge of the union of the contacts, every day
        runs.append(("dmp, sweep='union'", graphs.dmp, {"sweep": "union"}))
    marginals = {}
    for name, fn, kw in runs:
        fn(model, contacts.window(0, 2), prior, {"mu": 0.033}, **kw)  # compile
        result = []

        def once(fn=fn, result=result, kw=kw):
            result.append(fn(model, contacts, prior, {"mu": 0.033}, **kw))

        wall = best_of(once, repeat)
        cpu = best_of(once, repeat, clock=time.process_time)
        marginals[name] = result[-1].marginals
        print(
            f"  graphs.{name}: {wall:.2f} s wall, {cpu:.2f} s CPU for {n * days:.3g} "
            f"person-days; memory {result[-1].memory / 2**20:.1f} MiB"
        )
    if union:
        gap = np.abs(marginals["dmp"] - marginals["dmp, sweep='union'"]).max()
        print(f"  max |active - union| over all marginals: {gap:.1e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--degree", type=float, default=12.0)
    ap.add_argument("--p", type=float, default=0.2)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--abm-n", type=int, default=50_000)
    ap.add_argument("--abm-days", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--union", action="store_true", help="also time DMP's union sweep (slow)")
    args = ap.parse_args()
    simulator_vs_eon(args.n, args.degree, args.p, args.runs, args.repeat)
    inference(args.abm_n, args.abm_days, args.repeat, args.union)


if __name__ == "__main__":
    main()
