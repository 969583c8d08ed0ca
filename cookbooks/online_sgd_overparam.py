r"""Recipe ``online-sgd-overparam``: an over-parametrised student (K > M) after specialisation.

A soft committee machine with K student units learns a teacher with M = 2 units,
:math:`g(x) = \mathrm{erf}(x/\sqrt 2)` for both, by online SGD (``numerics.online_sgd``), next
to the Saad--Solla ODEs that ``derive.saad_solla`` derives for the same K and M, integrated
from the simulation's own start (``numerics.saad_solla``). After the plateau the student
specialises: each teacher unit is taken up by a student unit (or shared by several), a
spare unit's overlaps and norm decay, and the generalisation error keeps decaying without
label noise (Goldt, Advani, Saxe, Krzakala & Zdeborová, NeurIPS 2019, arXiv:1906.08632,
who also train the second layer; here v = A = 1).

The runs are the named sweep ``online-sgd-overparam-runs`` over K.
"""

import functools
import time
from pathlib import Path

import numpy as np

from .online_sgd import escape_time, iid_run
from .report import figure, finish, format_table, progress, run_sweep

__all__ = ["NAME", "SUMMARY", "run", "table"]

NAME = "online-sgd-overparam"
SUMMARY = (
    "Online SGD with K > M student units (erf, M = 2): ODE against simulation, "
    "specialisation and the overlaps after it"
)

SETTINGS = {
    False: dict(Ks=[2, 3, 4], N=2000, eta=1.0, t_max=500.0, record=4.0),
    True: dict(Ks=[3], N=500, eta=1.0, t_max=300.0, record=4.0),
}
M = 2


def _task(K, seed, N, eta, t_max, record):
    return iid_run(0, seed, N, eta, t_max, record, K=K, M=M)


def run(quick=False, out=None, seed=0):
    """Run the recipe; writes ``out/online-sgd-overparam.json`` and ``.png``."""
    start = time.perf_counter()
    cfg = SETTINGS[bool(quick)]
    out = Path(out) if out is not None else Path("results") / NAME
    counts = {}
    progress(f"[{NAME}] K = {cfg['Ks']}, M = {M}, N = {cfg['N']}, eta = {cfg['eta']}")
    task = functools.partial(
        _task, N=cfg["N"], eta=cfg["eta"], t_max=cfg["t_max"], record=cfg["record"]
    )
    runs = run_sweep(task, {"K": cfg["Ks"]}, "runs", counts, NAME, seed=seed)
    for r in runs:
        R = np.array(r["sim_R"])[-1]
        r["final_R_sim"] = R.tolist()
        r["final_R_ode"] = np.array(r["ode_R"])[-1].tolist()
        r["final_norms_ode"] = np.diag(np.array(r["ode_Q"])[-1]).tolist()
        r["sim_escape"] = escape_time(r["t"], r["sim_eps"])
        r["ode_escape"] = escape_time(r["t"], r["ode_eps"])
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        M=M,
        N=cfg["N"],
        eta=cfg["eta"],
        t_max=cfg["t_max"],
        activation="erf(u/sqrt(2))",
        runs=runs,
        sweeps=counts,
    )
    return finish(NAME, results, out, plot, start)


def plot(results):
    """(a) eps_g vs t for each K, SGD and ODE; (b) the final R of the largest K."""
    fig, axes = figure(ncols=2, width=5.4, height=4.2)
    ax = axes[0]
    for k, r in enumerate(results["runs"]):
        t = np.array(r["t"])
        ax.plot(t, r["sim_eps"], ".", ms=3, color=f"C{k}")
        ax.plot(t, np.maximum(r["ode_eps"], 1e-16), "-", color=f"C{k}", label=f"K = {r['K']}")
    ax.set_yscale("log")
    ax.set_xlabel("t = steps / N")
    ax.set_ylabel("ε_g (dots: SGD, lines: ODE)")
    ax.set_title(f"M = {results['M']}, N = {results['N']}, η = {results['eta']}")
    ax.legend(fontsize=8)
    ax = axes[1]
    r = results["runs"][-1]
    R = np.array(r["final_R_sim"])
    im = ax.imshow(R, cmap="RdBu_r", vmin=-1, vmax=1)
    for (i, n), value in np.ndenumerate(R):
        ax.text(n, i, f"{value:.2f}\n({r['final_R_ode'][i][n]:.2f})", ha="center", va="center")
    ax.set_xticks(range(R.shape[1]))
    ax.set_yticks(range(R.shape[0]))
    ax.set_xlabel("teacher unit n")
    ax.set_ylabel("student unit i")
    ax.set_title(f"R_in at t = {results['t_max']:g}, K = {r['K']}: SGD (ODE)")
    fig.colorbar(im, ax=ax)
    return fig


def table(results):
    """eps_g at t_max and the final overlaps, per K."""
    rows = []
    for r in results["runs"]:
        rows.append(
            [
                r["K"],
                f"{r['sim_eps'][-1]:.3g} ± {r['sim_eps_error'][-1]:.1g}",
                f"{r['ode_eps'][-1]:.3g}",
                r["sim_escape"],
                r["ode_escape"],
                np.round(np.array(r["final_R_ode"]), 2).tolist(),
                np.round(r["final_norms_ode"], 2).tolist(),
            ]
        )
    return format_table(
        [
            "K",
            "eps_g SGD",
            "eps_g ODE",
            "escape SGD",
            "escape ODE",
            "R (ODE) at t_max",
            "Q_kk (ODE)",
        ],
        rows,
        title=f"{NAME}: M = {results['M']}, N = {results['N']}, eta = {results['eta']}",
    )
