r"""Recipe ``ising-meanfield``: the ferromagnetic Ising model, Weiss mean-field against Monte Carlo.

The model is written in the DSL, :math:`e(s_i, s_j) = -J s_i s_j`, :math:`\phi(s_i) = -h s_i`
on the alphabet :math:`\{-1, 1\}`, with :math:`J = 1`, :math:`h = 0`. Everything below
comes from it through the library:

* **Weiss mean-field** is ``derive.meanfield(model, degree=z)`` with the degree ``z`` kept as a
  *symbol*, so one compiled kernel serves every graph; ``numerics.meanfield_homogeneous``
  solves it from :math:`m = 1` at each temperature (the ordered branch).
  Its critical temperature is where :math:`m = 0` loses stability
  (``numerics.meanfield_critical_temperature``: the Jacobian of the derived map at its
  high-temperature fixed point reaches 1), found from the equations, not from a formula.
  On the complete graph of :math:`N` nodes the couplings are :math:`J = 1/N` and the degree
  :math:`z = N - 1`, so the Weiss :math:`T_c = (N - 1)/N \to 1` (Curie--Weiss), and
  mean-field becomes exact as :math:`N` grows.
* **graphs.meanfield** solves the same equations node by node on the actual graph (from
  :math:`m_i = 1`) at a few temperatures: on a regular graph it must coincide with Weiss,
  a consistency check of the aggregation over CSR neighbours.
* **Monte Carlo** is ``graphs.monte_carlo(..., method="metropolis")``. A finite system flips
  its sign now and then, so the order parameter is :math:`\langle |M| \rangle / N` from the
  per-sweep ``magnetization_series`` after burn-in, with a batch-means error bar. The chain
  starts all up at the lowest temperature and is heated, each temperature starting from
  the previous one's last configuration (a random start would leave the 2D lattice in
  long-lived stripe states below :math:`T_c`).

Each graph is one task of ``numerics.sweep`` (its Monte Carlo seeds, and the random
3-regular graph, drawn from the sweep's child seed of ``--seed``): ``cavitylab run
ising-meanfield --workers N`` runs the graphs in parallel with the same numbers, and
``--checkpoint DIR`` makes the run resumable (``DIR/ising-meanfield-graphs.jsonl``; the
JSON's ``sweeps`` says how many graphs this run computed). The temperatures of one graph stay
one task: each Monte Carlo temperature starts from the previous one's configuration.

Reference lines that mean-field misses: Onsager's exact :math:`T_c = 2/\ln(1+\sqrt 2)
\approx 2.269` for the square lattice and the Bethe-lattice :math:`T_c = 2/\ln 3 \approx 1.820`
for the random 3-regular graph (exact there as :math:`N \to \infty`).
"""

import functools
import math
import time
from pathlib import Path

import networkx as nx
import numpy as np
import sympy as sp

import derive
import graphs
import numerics

from .errors import CookbookError
from .report import figure, finish, format_table, pm, progress, run_sweep

__all__ = [
    "NAME",
    "SUMMARY",
    "run",
    "table",
    "ising_model",
    "weiss_curve",
    "weiss_tc",
    "abs_magnetization",
]

NAME = "ising-meanfield"
SUMMARY = (
    "Ising |m| vs T: Weiss mean-field against Metropolis Monte Carlo on the complete "
    "graph, the 2D lattice and a random 3-regular graph"
)

#: Onsager (1944): exact critical temperature of the square-lattice Ising model, J = 1.
ONSAGER_TC = 2.0 / math.log(1.0 + math.sqrt(2.0))
#: Bethe lattice of degree 3 (exact on random 3-regular graphs as N -> infinity), J = 1.
BETHE_TC_3 = 2.0 / math.log(3.0)

#: The degree of Weiss mean-field, kept symbolic: one kernel for every graph.
DEGREE = sp.Symbol("z", positive=True)

#: Sizes, temperatures and Monte Carlo lengths, full run and ``--quick``.
SETTINGS = {
    False: dict(
        complete=(50, 200),
        L=32,
        rrg=2000,
        n_T=21,
        sweeps=20_000,
        burn_in=4_000,
        blocks=20,
        n_graph_mf=4,
        n_weiss=301,
    ),
    True: dict(
        complete=(20, 80),
        L=12,
        rrg=200,
        n_T=11,
        sweeps=2_000,
        burn_in=400,
        blocks=20,
        n_graph_mf=3,
        n_weiss=121,
    ),
}


def ising_model():
    """The ferromagnetic Ising model in the DSL: ``PairwiseModel((-1, 1), -J si sj, -h si)``."""
    si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
    return derive.PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))


def weiss_curve(model, temperatures, z, J):
    """Weiss mean-field ``|m|(T)`` on the ordered branch: ``numerics.meanfield_homogeneous``
    (the equations of ``derive.meanfield(model, degree=z)``) from ``m = 1`` at each ``T``."""
    r = numerics.meanfield_homogeneous(model, z, 1.0 / np.asarray(temperatures), {"J": J, "h": 0.0})
    return r.m, r.point_converged


def weiss_tc(model, z, J):
    """Weiss ``T_c``: where ``m = 0`` loses stability (``numerics.meanfield_critical_temperature``)."""
    return numerics.meanfield_critical_temperature(model, z, {"J": J, "h": 0.0}).T


def abs_magnetization(result, n_blocks=20):
    """``<|M|>/N`` after burn-in from a Monte Carlo result, and its batch-means standard error."""
    series = np.abs(result.magnetization_series[result.burn_in :])
    means = np.array([b.mean() for b in np.array_split(series, n_blocks)])
    return float(series.mean()), float(means.std(ddof=1) / math.sqrt(n_blocks))


#: Temperature range of each panel.
PANEL_T = {"complete": (0.3, 1.5), "lattice": (1.0, 5.0), "rrg": (0.5, 3.75)}


def _panels(cfg):
    """The three panels: their graphs as (kind, size), temperature range, reference lines."""
    L, n = cfg["L"], cfg["rrg"]
    return [
        dict(
            key="complete",
            title="(i) complete graph, J = 1/N (Curie–Weiss)",
            graphs=[("complete", N) for N in cfg["complete"]],
            references={},
        ),
        dict(
            key="lattice",
            title=f"(ii) 2D square lattice {L}×{L}, periodic, J = 1",
            graphs=[("lattice", L)],
            references={"Onsager 2/ln(1+√2)": ONSAGER_TC},
        ),
        dict(
            key="rrg",
            title=f"(iii) random 3-regular graph, N = {n}, J = 1",
            graphs=[("rrg", n)],
            references={"Bethe 2/ln 3": BETHE_TC_3},
        ),
    ]


def _graph(kind, size, rng):
    """(label, G, degree z, coupling J) of a graph of the recipe."""
    if kind == "complete":
        return f"complete N={size}", nx.complete_graph(size), size - 1, 1.0 / size
    if kind == "lattice":
        return f"square {size}x{size}", nx.grid_2d_graph(size, size, periodic=True), 4, 1.0
    if kind == "rrg":
        G = nx.random_regular_graph(3, size, seed=int(rng.integers(2**31 - 1)))
        return f"3-regular N={size}", G, 3, 1.0
    raise CookbookError(f"unknown graph kind {kind!r}; the kinds are complete, lattice, rrg")


def _graph_task(model, cfg, kind, size, seed):
    """One graph of the recipe, a ``numerics.sweep`` task: Weiss curve and T_c, the Monte
    Carlo temperature scan and ``graphs.meanfield`` on the graph ``kind`` (``"complete"``,
    ``"lattice"`` or ``"rrg"``) of ``size``; the random graph and the Monte Carlo seeds are
    drawn from ``seed``. ``cfg`` is the recipe's settings (a dict, bound with
    ``functools.partial``)."""
    rng = np.random.default_rng(seed)
    label, G, z, J = _graph(kind, size, rng)
    seeds = rng.integers(2**31 - 1, size=cfg["n_T"])
    return _graph_run(model, label, G, z, J, PANEL_T[kind], cfg, seeds)


def _graph_run(model, label, G, z, J, T_range, cfg, seeds):
    n = G.number_of_nodes()
    params = {"J": J, "h": 0.0}
    fine = np.linspace(*T_range, cfg["n_weiss"])
    m_curve, ok_curve = weiss_curve(model, fine, z, J)
    temperatures = np.linspace(*T_range, cfg["n_T"])
    m_weiss_mc = weiss_curve(model, temperatures, z, J)[0]

    mc = dict(T=temperatures, m_abs=[], err=[], acceptance=[], m_weiss=m_weiss_mc)
    config = np.ones(n)  # cold start, then heat: see the module docstring
    for k, T in enumerate(temperatures):
        r = graphs.monte_carlo(
            model,
            G,
            1.0 / T,
            params=params,
            sweeps=cfg["sweeps"],
            burn_in=cfg["burn_in"],
            method="metropolis",
            init=config,
            seed=int(seeds[k]),
        )
        config = r.configuration
        m, err = abs_magnetization(r, cfg["blocks"])
        mc["m_abs"].append(m)
        mc["err"].append(err)
        mc["acceptance"].append(r.acceptance)
        progress(
            f"[{NAME}] {label}: T = {T:.3f}  |m| MC = {pm(m, err)}  Weiss = "
            f"{m_weiss_mc[k]:.4f}  ({k + 1}/{len(temperatures)})"
        )

    # graphs.meanfield on the graph itself, from m_i = 1, at a few temperatures
    picks = np.unique(np.linspace(0, len(temperatures) - 1, cfg["n_graph_mf"]).round().astype(int))
    gmf = dict(
        T=temperatures[picks], m_mean=[], m_spread=[], converged=[], m_weiss=m_weiss_mc[picks]
    )
    for T in gmf["T"]:
        r = graphs.meanfield(model, G, 1.0 / T, params=params, init=np.ones(n), max_iter=20_000)
        m = r.magnetization
        gmf["m_mean"].append(float(np.abs(m.mean())))
        gmf["m_spread"].append(float(m.max() - m.min()))
        gmf["converged"].append(bool(r.converged))
    gmf["max_abs_diff_weiss"] = float(np.max(np.abs(np.array(gmf["m_mean"]) - gmf["m_weiss"])))
    progress(
        f"[{NAME}] {label}: graphs.meanfield vs Weiss at T = "
        f"{', '.join(f'{T:.2f}' for T in gmf['T'])}: max |diff| = "
        f"{gmf['max_abs_diff_weiss']:.2e}"
    )
    return dict(
        label=label,
        n_nodes=n,
        n_edges=G.number_of_edges(),
        degree=z,
        J=J,
        weiss_Tc=weiss_tc(model, z, J),
        weiss_curve=dict(T=fine, m=m_curve, converged=bool(ok_curve.all())),
        monte_carlo=mc,
        graph_meanfield=gmf,
    )


def _result(row):
    """A graph's results from its row of the sweep table (without the grid's keys)."""
    return {k: v for k, v in row.items() if k not in ("kind", "size")}


def run(quick=False, out=None, seed=0):
    """Run the recipe; writes ``out/ising-meanfield.json`` and ``.png``; returns the results."""
    start = time.perf_counter()
    cfg = SETTINGS[bool(quick)]
    out = Path(out) if out is not None else Path("results") / NAME
    model = ising_model()
    layout = _panels(cfg)
    kinds, sizes = zip(*[g for panel in layout for g in panel["graphs"]])
    counts = {}
    table = run_sweep(
        functools.partial(_graph_task, model, cfg),
        {"kind": kinds, "size": sizes},
        "graphs",
        counts,
        recipe=NAME,
        mode="zip",
        seed=int(seed),
    )
    rows = iter(table)
    panels = []
    for panel in layout:
        runs = [_result(next(rows)) for _ in panel["graphs"]]
        panels.append(
            dict(
                key=panel["key"], title=panel["title"], references=panel["references"], graphs=runs
            )
        )
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        model=dict(
            alphabet=[int(a) for a in model.alphabet],
            pair_energy=str(model.pair_energy),
            field_energy=str(model.field_energy),
            J=1.0,
            h=0.0,
        ),
        weiss=dict(
            equations=str(derive.meanfield(model, degree=DEGREE)),
            note="derive.meanfield(model, degree=z) with z symbolic; complete graph: "
            "z = N - 1 and J = 1/N; solved by numerics.meanfield_homogeneous from m = 1 at "
            "each T; T_c by numerics.meanfield_critical_temperature",
        ),
        monte_carlo=dict(
            method="metropolis",
            sweeps=cfg["sweeps"],
            burn_in=cfg["burn_in"],
            blocks=cfg["blocks"],
            observable="<|M|>/N after burn-in",
            start="all +1 at the lowest T, then each T from the previous configuration",
        ),
        panels=panels,
        sweeps=dict(
            graphs=counts["graphs"],
            note="numerics.sweep, one task per graph: points, and those computed by this "
            "run (the others came from --checkpoint)",
        ),
    )
    return finish(NAME, results, out, plot, start)


def plot(results):
    """The three-panel figure of ``results``."""
    fig, axes = figure(ncols=3, width=5.2, height=5.2)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:purple"]
    for ax, panel in zip(axes, results["panels"]):
        for color, g in zip(colors, panel["graphs"]):
            wc, mc, gmf = g["weiss_curve"], g["monte_carlo"], g["graph_meanfield"]
            which = f", {g['label'].split()[-1]}" if len(panel["graphs"]) > 1 else ""
            ax.plot(
                wc["T"],
                np.abs(wc["m"]),
                color=color,
                lw=1.6,
                label=f"Weiss, z = {g['degree']}{which}",
            )
            ax.errorbar(
                mc["T"],
                mc["m_abs"],
                yerr=mc["err"],
                fmt="o",
                ms=4,
                capsize=2,
                color=color,
                label=f"Monte Carlo{which}",
            )
            ax.plot(
                gmf["T"],
                gmf["m_mean"],
                "s",
                ms=9,
                mfc="none",
                mew=1.2,
                color=color,
                label=f"graphs.meanfield{which}",
            )
            ax.axvline(
                g["weiss_Tc"],
                color=color,
                ls="--",
                lw=1,
                label=f"Weiss $T_c$ = {g['weiss_Tc']:.3g}{which}",
            )
        for (name, value), ls in zip(panel["references"].items(), [":", "-."]):
            ax.axvline(value, color="tab:red", ls=ls, lw=1.3, label=f"{name} = {value:.3f}")
        ax.set_title(panel["title"], fontsize=10)
        ax.set_xlabel("temperature T")
        ax.set_ylabel("|m|")
        ax.set_ylim(-0.03, 1.05)
        ax.grid(alpha=0.3)
        ax.legend(
            fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False
        )
    mode = "quick" if results["quick"] else "full"
    fig.suptitle(
        f"Ising ferromagnet, h = 0: Weiss mean-field vs Metropolis Monte Carlo "
        f"({mode} run, {results['monte_carlo']['sweeps']} sweeps)",
        fontsize=11,
    )
    return fig


def table(results):
    """The numbers of ``results`` as text: per panel, T, Weiss m and Monte Carlo <|m|>."""
    blocks = []
    for panel in results["panels"]:
        headers, columns = ["T"], []
        for g in panel["graphs"]:
            mc = g["monte_carlo"]
            headers += [f"m_MF {g['label']}", f"m_MC {g['label']}"]
            columns.append([f"{m:.4f}" for m in mc["m_weiss"]])
            columns.append([pm(m, e) for m, e in zip(mc["m_abs"], mc["err"])])
        temperatures = panel["graphs"][0]["monte_carlo"]["T"]
        rows = [[f"{T:.3f}"] + [c[k] for c in columns] for k, T in enumerate(temperatures)]
        notes = [
            f"  Weiss T_c ({g['label']}) = {g['weiss_Tc']:.4f}; graphs.meanfield vs Weiss: "
            f"max |diff| = {g['graph_meanfield']['max_abs_diff_weiss']:.1e}"
            for g in panel["graphs"]
        ]
        notes += [f"  {name} = {value:.4f}" for name, value in panel["references"].items()]
        blocks.append(format_table(headers, rows, title=panel["title"]) + "\n" + "\n".join(notes))
    return "\n\n".join(blocks)
