r"""Recipe ``epidemic-dmp``: SIR marginals from IBMF and DMP against Monte Carlo frequencies.

The SIR model is written in the DSL (``derive.Compartmental``: ``S -> I`` through a contact
with an ``I`` with probability :math:`\lambda`, ``I -> R`` with probability :math:`\mu` a
day); ``graphs.dmp`` and ``graphs.ibmf`` run the equations that ``derive.dmp`` and
``derive.ibmf`` derive from it, ``graphs.simulate`` the stochastic epidemic with the same
convention of a day. Two contact graphs, the same every day:

* a random tree, where dynamic message passing is exact (Lokhov, Mézard, Zdeborová,
  PRE 91, 012811 (2015)): its marginals agree with the frequencies within their binomial
  standard error, while individual-based mean-field overestimates the spread (it lets an
  infection come back along the edge it came from);
* a loopy 2D proximity graph (one day of the model of Baker et al., PNAS 118, e2106548118
  (2021), kept fixed), where DMP is an approximation too, still much closer than IBMF.
"""

import time
from pathlib import Path

import networkx as nx
import numpy as np
import sympy as sp

import derive
import graphs

from .report import figure, finish, format_table, progress

__all__ = ["NAME", "SUMMARY", "run", "table", "sir_model"]

NAME = "epidemic-dmp"
SUMMARY = (
    "SIR on contact graphs: DMP (exact on trees) and IBMF marginals against Monte Carlo "
    "frequencies, on a tree and on a loopy proximity graph"
)

SETTINGS = {
    False: dict(tree=100, proximity=1000, days=30, runs=20_000),
    True: dict(tree=30, proximity=150, days=15, runs=2_000),
}
LAM, MU = 0.4, 0.15
LAM_PROXIMITY = 0.15


def sir_model():
    """SIR in the DSL: ``Compartmental(("S", "I", "R"), {I -> R: mu}, {S -> I via I: lambda})``."""
    lam, mu = sp.symbols("lambda mu", positive=True)
    return derive.Compartmental(
        ("S", "I", "R"), spontaneous={("I", "R"): mu}, contact={("S", "I"): ("I", lam)}
    )


def _compare(model, label, G, lam, days, runs, seed):
    n = G.number_of_nodes()
    contacts = graphs.contacts.static(G, days=days, weight=lam)
    initial = np.zeros(n, dtype=int)
    initial[np.random.default_rng(seed).choice(n, max(1, n // 50), replace=False)] = 1
    params = {"mu": MU}
    t0 = time.perf_counter()
    sim = graphs.simulate(model, contacts, initial, params, runs=runs, seed=seed)
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    d = graphs.dmp(model, contacts, initial, params)
    t_dmp = time.perf_counter() - t0
    ib = graphs.ibmf(model, contacts, initial, params)
    se = sim.standard_error()
    f = sim.frequencies
    out = dict(
        label=label,
        n=n,
        edges=G.number_of_edges(),
        is_tree=bool(nx.is_tree(G)),
        lam=lam,
        mu=MU,
        days=days,
        runs=runs,
        seconds=dict(simulate=t_sim, dmp=t_dmp),
        max_standard_error=float(se.max()),
        mc_ever_infected=(1 - f[:, :, 0].mean(axis=1)).tolist(),
        mc_ever_infected_error=(np.sqrt((se[:, :, 0] ** 2).sum(axis=1)) / n).tolist(),
    )
    for key, r in (("dmp", d), ("ibmf", ib)):
        gap = np.abs(r.marginals - f)
        z = gap / np.sqrt(np.maximum(r.marginals * (1 - r.marginals), 1.0 / runs) / runs)
        out[key] = dict(
            ever_infected=(1 - r.marginals[:, :, 0].mean(axis=1)).tolist(),
            max_abs_gap=float(gap.max()),
            mean_abs_gap=float(gap.mean()),
            max_z=float(z.max()),
        )
    progress(
        f"[{NAME}] {label}: max |DMP - MC| = {out['dmp']['max_abs_gap']:.4f}, "
        f"max |IBMF - MC| = {out['ibmf']['max_abs_gap']:.4f} "
        f"(MC standard error <= {out['max_standard_error']:.4f})"
    )
    return out


def run(quick=False, out=None, seed=0):
    """Run the recipe; writes ``out/epidemic-dmp.json`` and ``.png``; returns the results."""
    start = time.perf_counter()
    cfg = SETTINGS[bool(quick)]
    out = Path(out) if out is not None else Path("results") / NAME
    model = sir_model()
    tree = nx.random_labeled_tree(cfg["tree"], seed=seed)
    prox = graphs.contacts.proximity(cfg["proximity"], 1, seed=seed)
    P = nx.Graph()
    P.add_nodes_from(range(prox.n))
    P.add_edges_from(zip(prox.sources().tolist(), prox.indices.tolist()))
    panels = [
        _compare(
            model, f"random tree, N = {cfg['tree']}", tree, LAM, cfg["days"], cfg["runs"], seed
        ),
        _compare(
            model,
            f"2D proximity graph, N = {cfg['proximity']}",
            P,
            LAM_PROXIMITY,
            cfg["days"],
            cfg["runs"],
            seed + 1,
        ),
    ]
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        model=repr(model),
        dmp_equations=str(derive.dmp(model)),
        ibmf_equations=str(derive.ibmf(model)),
        panels=panels,
    )
    return finish(NAME, results, out, plot, start)


def plot(results):
    """Fraction ever infected over time: Monte Carlo (band: 2 standard errors), DMP, IBMF."""
    fig, axes = figure(ncols=len(results["panels"]), width=5.4, height=4.4)
    for ax, p in zip(axes, results["panels"]):
        t = np.arange(p["days"] + 1)
        mc = np.array(p["mc_ever_infected"])
        err = np.array(p["mc_ever_infected_error"])
        ax.fill_between(t, mc - 2 * err, mc + 2 * err, color="0.8", label="Monte Carlo ± 2σ")
        ax.plot(t, mc, "k.", ms=5, label=f"Monte Carlo ({p['runs']} runs)")
        ax.plot(t, p["dmp"]["ever_infected"], color="tab:blue", lw=1.6, label="DMP")
        ax.plot(t, p["ibmf"]["ever_infected"], "--", color="tab:red", lw=1.6, label="IBMF")
        ax.set_title(f"{p['label']}, λ = {p['lam']}, μ = {p['mu']}")
        ax.set_xlabel("day")
        ax.set_ylabel("fraction ever infected, 1 - mean P_S")
        ax.legend(loc="lower right", fontsize=8)
    return fig


def table(results):
    """Per graph and method: the largest and mean gap to the Monte Carlo frequencies."""
    rows = []
    for p in results["panels"]:
        for key in ("dmp", "ibmf"):
            m = p[key]
            rows.append(
                [
                    p["label"],
                    key.upper(),
                    f"{m['max_abs_gap']:.4f}",
                    f"{m['mean_abs_gap']:.5f}",
                    f"{m['max_z']:.1f}",
                    f"{m['ever_infected'][-1]:.3f}",
                    f"{p['mc_ever_infected'][-1]:.3f}",
                ]
            )
    return format_table(
        ["graph", "method", "max |gap|", "mean |gap|", "max z", "ever inf.", "MC ever inf."],
        rows,
        title="SIR marginals against Monte Carlo (gap over every person, day and state)",
    )
