r"""Recipe ``online-sgd-learning-rate``: where online learning of a committee machine fails.

Soft committee machines with :math:`g(x) = \mathrm{erf}(x/\sqrt 2)`, K = M = 2. For each
learning rate :math:`\eta` of a scan, ``numerics.saad_solla`` integrates the ODEs that
``derive.saad_solla`` derives, from one fixed start (Q = T = I and a small asymmetric R), and
reports the generalisation error reached at ``t_max``; online SGD (``numerics.online_sgd``) at
a few learning rates checks the ODE. Learning succeeds (:math:`\epsilon_g \to 0` after the
plateau) below a critical learning rate and fails above it: the student's norms grow without
bound and :math:`\epsilon_g` stays finite (Saad & Solla, Phys. Rev. E 52,
4225 (1995)). The critical value is located from the scan, not typed in.

The scan is the named sweep ``online-sgd-learning-rate-ode`` over ``eta``; the simulations
``online-sgd-learning-rate-sgd``.
"""

import functools
import time
from pathlib import Path

import numpy as np

import numerics

from .online_sgd import committee
from .report import figure, finish, format_table, progress, run_sweep

__all__ = ["NAME", "SUMMARY", "run", "table", "ode_point", "sgd_point"]

NAME = "online-sgd-learning-rate"
SUMMARY = (
    "Online SGD (erf, K = M = 2): final generalisation error vs learning rate from the "
    "Saad-Solla ODE, with SGD points; learning fails above a critical rate"
)

SETTINGS = {
    False: dict(etas=np.geomspace(0.05, 6.0, 36), t_max=400.0, sgd=[0.5, 2.0, 4.0], N=1000),
    True: dict(etas=np.geomspace(0.1, 6.0, 12), t_max=200.0, sgd=[0.5, 4.0], N=500),
}
#: A small asymmetric start of R (the ODE's plateau is left through it).
R0 = np.array([[1.0, -1.0], [-0.5, 0.7]]) * 1e-2
#: Learning "fails" when eps_g at t_max is above this (the plateau is ~0.02).
FAILED = 1e-3


def ode_point(eta, t_max):
    """eps_g and the student's norms at ``t_max`` from the fixed start (a sweep task)."""
    init = {"Q": np.eye(2), "R": R0, "T": np.eye(2)}
    ode = numerics.saad_solla(
        committee(), eta=eta, t_max=t_max, init=init, n_points=201, method="LSODA"
    )
    return dict(
        t=ode.t,
        eps=ode.eps_g,
        final_eps=float(ode.eps_g[-1]),
        final_Q_diag=np.diag(ode.Q[-1]).tolist(),
        converged=ode.converged,
    )


def sgd_point(eta, seed, N, t_max):
    """One online SGD run and the ODE from its start (a sweep task)."""
    model = committee()
    sim = numerics.online_sgd(model, N=N, eta=eta, t_max=t_max, seed=seed, record_every=2.0)
    ode = numerics.saad_solla(model, eta=eta, t_max=t_max, init=sim.initial, t_eval=sim.t)
    return dict(
        t=sim.t,
        sim_eps=sim.eps_g,
        sim_eps_error=sim.eps_g_error,
        ode_eps=ode.eps_g,
        sim_converged=sim.converged,
    )


def run(quick=False, out=None, seed=0):
    """Run the recipe; writes ``out/online-sgd-learning-rate.json`` and ``.png``."""
    start = time.perf_counter()
    cfg = SETTINGS[bool(quick)]
    out = Path(out) if out is not None else Path("results") / NAME
    counts = {}
    progress(f"[{NAME}] ODE scan over {len(cfg['etas'])} learning rates to t = {cfg['t_max']}")
    task = functools.partial(ode_point, t_max=cfg["t_max"])
    scan = run_sweep(task, {"eta": [float(e) for e in cfg["etas"]]}, "ode", counts, NAME)
    progress(f"[{NAME}] online SGD at eta = {cfg['sgd']}, N = {cfg['N']}")
    task = functools.partial(sgd_point, N=cfg["N"], t_max=cfg["t_max"])
    sims = run_sweep(task, {"eta": cfg["sgd"]}, "sgd", counts, NAME, seed=seed)
    ok = [r["eta"] for r in scan if r["final_eps"] is not None and r["final_eps"] < FAILED]
    bad = [r["eta"] for r in scan if r["eta"] > max(ok, default=0)]
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        model=repr(committee()),
        t_max=cfg["t_max"],
        failed_threshold=FAILED,
        largest_learning_eta=max(ok, default=None),
        smallest_failing_eta=min(bad, default=None),
        scan=scan,
        sgd=sims,
        N=cfg["N"],
        sweeps=counts,
    )
    return finish(NAME, results, out, plot, start)


def plot(results):
    """(a) eps_g(t_max) vs eta from the ODE; (b) eps_g vs t, ODE and SGD, at a few eta."""
    fig, axes = figure(ncols=2, width=5.4, height=4.2)
    ax = axes[0]
    eta = np.array([r["eta"] for r in results["scan"]])
    eps = np.array([np.nan if r["final_eps"] is None else r["final_eps"] for r in results["scan"]])
    ax.plot(eta, np.maximum(eps, 1e-14), "o-", ms=4, label=f"ODE, ε_g at t = {results['t_max']:g}")
    for r in results["sgd"]:
        ax.errorbar(r["eta"], r["sim_eps"][-1], r["sim_eps_error"][-1], fmt="s", color="k", ms=5)
    ax.plot([], [], "ks", label=f"SGD, N = {results['N']}")
    if results["smallest_failing_eta"] is not None:
        ax.axvspan(results["smallest_failing_eta"], eta.max(), color="0.9", label="learning fails")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate η")
    ax.set_ylabel("generalisation error ε_g at t_max")
    ax.set_title("erf, K = M = 2")
    ax.legend(fontsize=8)
    ax = axes[1]
    for k, r in enumerate(results["sgd"]):
        t = np.array(r["t"])
        ax.plot(t, np.maximum(r["sim_eps"], 1e-14), ".", ms=3, color=f"C{k}")
        ax.plot(t, np.maximum(r["ode_eps"], 1e-14), "-", color=f"C{k}", label=f"η = {r['eta']:g}")
    ax.set_yscale("log")
    ax.set_xlabel("t = steps / N")
    ax.set_ylabel("ε_g (dots: SGD, lines: ODE from the same start)")
    ax.legend(fontsize=8)
    return fig


def table(results):
    """Final eps_g for each eta of the scan, and the located failure."""
    rows = [
        [f"{r['eta']:.3g}", f"{r['final_eps']:.3g}", f"{max(r['final_Q_diag']):.3g}"]
        for r in results["scan"]
    ]
    out = format_table(
        ["eta", f"eps_g(t = {results['t_max']:g})", "max Q_kk"],
        rows,
        title=f"{NAME}: ODE from Q = T = I, R = R0 (small asymmetry)",
    )
    return out + (
        f"\nlearning succeeds (eps_g < {results['failed_threshold']:g}) up to eta = "
        f"{results['largest_learning_eta']}, fails from eta = {results['smallest_failing_eta']}"
    )
