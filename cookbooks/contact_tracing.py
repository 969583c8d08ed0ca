r"""Recipe ``contact-tracing``: epidemic mitigation by testing, tracing and risk inference.

The daily loop of Baker, Biazzo, Braunstein, Catania, Dall'Asta, Ingrosso, Krzakala, Mazza,
Mézard, Muntoni, Refinetti, Sarao Mannelli, Zdeborová, 'Epidemic mitigation by statistical
inference from contact tracing data', PNAS 118, e2106548118 (2021), arXiv:2009.09422
(``graphs.intervention``): an SIR epidemic (``derive.Compartmental``) on daily contacts;
after the free days, half of the people infected exactly ``tau`` days earlier are detected
as symptomatic, and each day's tests go to one random person and to the top of a ranking;
every positive is quarantined (its contacts carry no infection) until the end. Strategies:

* no intervention;
* random: the ranked tests go to random people;
* tracing: most contacts with recent positives first;
* mean-field: :math:`P^I_i(t)` of individual-based mean-field over the last ``delta`` days,
  observations clamped (``graphs.ibmf``);
* DMP: the same with dynamic message passing (``graphs.dmp``).

Settings: the 2D proximity model of the paper's first figure (``N = 10,000``,
:math:`\lambda = 0.02`, :math:`\mu = 0.03`, 20 initially infected, 10 free days,
``tau = 5``, ``delta = 15``, 1 random + 21 ranked tests a day), several seeds; in the full run
also an OpenABM-like population of 50,000 (households, workplaces, random contacts;
:math:`\lambda = 0.01`, :math:`\mu = 0.033`, 50 initially infected, 20 free days, 100 ranked
tests a day). ``--quick`` runs a population of 1,000 for 80 days.

Every strategy of a seed sees the same contacts, the same initially infected people and the
same seed of the loop. The published curves (one seed, read off the authors' figure) appear
in the JSON as ``reference`` next to the computed numbers.
"""

import functools
import time
from pathlib import Path

import numpy as np
import sympy as sp

import derive
import graphs
from graphs.intervention import intervention

from .report import figure, finish, format_table, progress, run_sweep

__all__ = ["NAME", "SUMMARY", "SETTINGS", "STRATEGIES", "run", "table", "sir_model"]

NAME = "contact-tracing"
SUMMARY = (
    "epidemic mitigation (Baker et al. 2021): ever infected under random tests, contact "
    "tracing, mean-field and DMP risk ranking on proximity and OpenABM-like contacts"
)

STRATEGIES = ("none", "random", "tracing", "meanfield", "dmp")

#: Ever infected by day ~375 in the authors' figure (one seed, read off approximately), for the
#: 10,000-person proximity setting.
PUBLISHED = {"none": 9800, "random": 7350, "tracing": 5100, "meanfield": 2550}

_PROXIMITY = dict(
    contacts="proximity", lam=0.02, mu=0.03, initial=20, free_days=10, tau=5, delta=15,
    tests_random=1, tests_ranked=21, detect=0.5,
)  # fmt: skip
_ABM = dict(
    contacts="openabm", lam=0.01, mu=0.033, initial=50, free_days=20, tau=5, delta=15,
    tests_random=0, tests_ranked=100, detect=0.5,
)  # fmt: skip

#: The settings of a run: label -> (parameters, replicas, strategies), for --quick (True) and
#: the full run (False). DMP ranking is left out of the 50,000-person setting for run time
#: (a DMP over the 15-day window of 50,000 people every day).
SETTINGS = {
    True: {
        "proximity": (dict(_PROXIMITY, n=1000, days=80, initial=5, tests_ranked=4), 3, STRATEGIES),
    },
    False: {
        "proximity": (dict(_PROXIMITY, n=10_000, days=375), 2, STRATEGIES),
        "openabm": (dict(_ABM, n=50_000, days=100), 1, STRATEGIES[:-1]),
    },
}


def sir_model():
    """SIR in the DSL: ``S -> I`` through a contact with an ``I`` (``lambda``), ``I -> R``
    (``mu``)."""
    lam, mu = sp.symbols("lambda mu", positive=True)
    return derive.Compartmental(
        ("S", "I", "R"), spontaneous={("I", "R"): mu}, contact={("S", "I"): ("I", lam)}
    )


def _contacts(p, rng):
    if p["contacts"] == "proximity":
        return graphs.contacts.proximity(p["n"], p["days"], lam=p["lam"], seed=rng)
    return graphs.contacts.openabm_like(p["n"], p["days"], lam=p["lam"], seed=rng)


@functools.lru_cache(maxsize=1)
def _replica_contacts(setting, root, replica):
    """The contacts of a replica (plain-value key; ``Contacts`` is read-only): the strategies
    of a replica run one after the other in a process and draw them once."""
    p = dict(setting)
    graph_ss = np.random.SeedSequence([root, replica]).spawn(3)[0]
    return _contacts(p, np.random.default_rng(graph_ss))


def epidemic_run(setting, root, strategy, replica, seed=None):
    """One strategy on one replica: contacts, initially infected and the loop's seed come
    from ``SeedSequence([root, replica])``, shared by every strategy of the replica."""
    p = dict(setting)
    t0 = time.perf_counter()
    _, initial_ss, loop_ss = np.random.SeedSequence([root, replica]).spawn(3)
    contacts = _replica_contacts(setting, root, replica)
    t_contacts = time.perf_counter() - t0
    initial = np.zeros(p["n"], dtype=np.int64)
    chosen = np.random.default_rng(initial_ss).choice(p["n"], p["initial"], replace=False)
    initial[chosen] = 1
    tests = dict(tests_random=p["tests_random"], tests_ranked=p["tests_ranked"], detect=p["detect"])
    if strategy == "none":
        tests = dict(tests_random=0, tests_ranked=0, detect=0.0)
    r = intervention(
        sir_model(),
        contacts,
        initial,
        {"mu": p["mu"]},
        ranker="random" if strategy == "none" else strategy,
        free_days=p["free_days"],
        tau=p["tau"],
        delta=p["delta"],
        seed=int(loop_ss.generate_state(1)[0]),
        **tests,
    )
    ranked = ~np.isnan(r.precision)
    return dict(
        ever_infected=r.ever_infected.tolist(),
        infected=r.counts[:, 1].tolist(),
        quarantined=r.quarantined.tolist(),
        detected=int(r.detected.sum()),
        tests=int(r.tests.sum()),
        positives=int(r.positives.sum()),
        precision=float(np.mean(r.precision[ranked])) if ranked.any() else None,
        contacts_per_day=contacts.mean_degree(),
        seconds_contacts=round(t_contacts, 2),
        seconds=round(time.perf_counter() - t0, 2),
    )


def _summary(rows, strategies):
    out = {}
    for s in strategies:
        final = np.array([r["ever_infected"][-1] for r in rows if r["strategy"] == s])
        out[s] = dict(
            mean=float(final.mean()),
            std=float(final.std(ddof=1)) if final.size > 1 else None,
            min=int(final.min()),
            max=int(final.max()),
            replicas=int(final.size),
        )
    return out


def run(quick=False, out=None, seed=0):
    """Run the recipe; writes ``out/contact-tracing.json`` and ``.png``; returns the results."""
    start = time.perf_counter()
    out = Path(out) if out is not None else Path("results") / NAME
    sweeps = {}
    settings = {}
    for label, (p, replicas, strategies) in SETTINGS[bool(quick)].items():
        progress(
            f"[{NAME}] {label}: N = {p['n']}, {p['days']} days, {replicas} replica(s), "
            f"strategies {', '.join(strategies)}"
        )
        task = functools.partial(epidemic_run, tuple(sorted(p.items())), int(seed))
        rows = run_sweep(
            task,
            {"replica": list(range(replicas)), "strategy": list(strategies)},
            label,
            sweeps,
            recipe=NAME,
            seed=seed,
        )
        summary = _summary(rows, strategies)
        for s in strategies:
            m = summary[s]
            progress(
                f"[{NAME}] {label} {s}: ever infected {m['mean']:.0f} "
                f"(min {m['min']}, max {m['max']}, {m['replicas']} replica(s))"
            )
        settings[label] = dict(
            parameters=p,
            replicas=replicas,
            strategies=list(strategies),
            runs=rows,
            summary=summary,
            reference=(
                dict(ever_infected=PUBLISHED, day=375, source="Baker et al. 2021, read off")
                if label == "proximity" and p["n"] == 10_000
                else None
            ),
        )
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        model=repr(sir_model()),
        strategies=list(STRATEGIES),
        settings=settings,
        sweeps=sweeps,
    )
    return finish(NAME, results, out, plot, start)


COLORS = {
    "none": "0.35",
    "random": "tab:orange",
    "tracing": "tab:green",
    "meanfield": "tab:blue",
    "dmp": "tab:purple",
}


def plot(results):
    """Per setting: infected over time and ever infected, mean over replicas with min-max
    bands; the published values as markers."""
    settings = results["settings"]
    fig, axes = figure(ncols=2, nrows=len(settings), width=5.4, height=4.0)
    for k, (label, st) in enumerate(settings.items()):
        p = st["parameters"]
        ax_i, ax_e = axes[2 * k], axes[2 * k + 1]
        for s in st["strategies"]:
            rows = [r for r in st["runs"] if r["strategy"] == s]
            for ax, key in ((ax_i, "infected"), (ax_e, "ever_infected")):
                y = np.array([r[key] for r in rows], dtype=float)
                t = np.arange(y.shape[1])
                ax.plot(t, y.mean(axis=0), color=COLORS[s], lw=1.5, label=s)
                if y.shape[0] > 1:
                    ax.fill_between(t, y.min(axis=0), y.max(axis=0), color=COLORS[s], alpha=0.2)
        ref = st.get("reference")
        if ref:
            for s, v in ref["ever_infected"].items():
                ax_e.plot([ref["day"]], [v], "D", color=COLORS[s], mec="k", ms=6)
            ax_e.plot([], [], "D", color="w", mec="k", label="published (one seed)")
        title = f"{label}: N = {p['n']}, λ = {p['lam']}, μ = {p['mu']}, {st['replicas']} replica(s)"
        ax_i.set_title(title, fontsize=9)
        ax_e.set_title(title, fontsize=9)
        ax_i.set_ylabel("infected")
        ax_e.set_ylabel("ever infected")
        for ax in (ax_i, ax_e):
            ax.set_xlabel("day")
            ax.axvline(p["free_days"], color="0.7", ls=":", lw=1)
        ax_e.legend(fontsize=8, loc="upper left")
    return fig


def table(results):
    """Ever infected at the last day per setting and strategy (mean, min, max over the
    replicas), with the published value where there is one."""
    rows = []
    for label, st in results["settings"].items():
        ref = (st.get("reference") or {}).get("ever_infected", {})
        for s in st["strategies"]:
            m = st["summary"][s]
            runs = [r for r in st["runs"] if r["strategy"] == s]
            prec = [r["precision"] for r in runs if r["precision"] is not None]
            rows.append(
                [
                    label,
                    s,
                    f"{m['mean']:.0f}",
                    f"{m['min']} .. {m['max']}",
                    f"{np.mean(prec):.3f}" if prec else "-",
                    str(ref.get(s, "-")),
                    f"{np.mean([r['seconds'] for r in runs]):.1f}",
                ]
            )
    return format_table(
        ["setting", "strategy", "ever inf.", "range", "precision", "published", "s/run"],
        rows,
        title="Ever infected at the last day (mean and range over replicas)",
    )
