r"""Recipe ``online-sgd``: the Saad--Solla ODEs against online SGD of a soft committee machine.

Student and teacher are soft committee machines with :math:`g(x) = \mathrm{erf}(x/\sqrt 2)`,
K = M = 2 (``derive.CommitteeMachine``). ``numerics.online_sgd`` trains the student by online
SGD, one fresh sample per step, from first-layer weights with i.i.d. N(0, 1) entries;
``numerics.saad_solla`` integrates the ODEs that ``derive.saad_solla`` derives from the same
model, started from the order parameters of the simulation's own start. The figure shows the
fast drop, the unspecialised plateau (all :math:`R_{in}` equal) and the specialisation, for
i.i.d. Gaussian inputs (Saad & Solla, Phys. Rev. E 52, 4225 (1995)); and online SGD
on hidden-manifold inputs (Goldt, Mézard, Krzakala & Zdeborová, Phys. Rev. X 10, 041044
(2020), the seed's figure: :math:`f = \mathrm{sign}`, N = 10000, D = 100, :math:`\eta = 0.2` in the full
run), whose order parameters come from the Gaussian equivalence theorem, against the
hidden-manifold ODEs (``numerics.saad_solla_manifold``) from the same features and weights.

The runs go through named sweeps (``online-sgd-iid``, ``online-sgd-hidden-manifold``), one
seed each from ``--seed``.
"""

import functools
import time
from pathlib import Path

import numpy as np
import sympy as sp

import derive
import numerics

from .report import figure, finish, format_table, progress, run_sweep

__all__ = ["NAME", "SUMMARY", "run", "table", "committee", "iid_run", "hidden_manifold_run"]

NAME = "online-sgd"
SUMMARY = (
    "Online SGD of a soft committee machine (erf, K = M = 2): Saad-Solla ODE against "
    "simulation, plateau and specialisation; the same on hidden-manifold inputs"
)

SETTINGS = {
    False: dict(N=2000, eta=0.5, t_max=300.0, record=2.0, runs=3, hm=(10000, 100, 0.2, 60.0)),
    True: dict(N=500, eta=0.5, t_max=150.0, record=2.0, runs=1, hm=(1000, 50, 0.2, 40.0)),
}

U = sp.Symbol("u", real=True)
ERF = sp.erf(U / sp.sqrt(2))


def committee(K=2, M=2, g=ERF):
    """``CommitteeMachine(student=g, teacher=g, variable=u, K=K, M=M)``."""
    return derive.CommitteeMachine(student=g, teacher=g, variable=U, K=K, M=M)


def iid_run(run, seed, N, eta, t_max, record, K=2, M=2):
    """One simulation on i.i.d. inputs and the ODE from its own start (a sweep task)."""
    model = committee(K, M)
    sim = numerics.online_sgd(model, N=N, eta=eta, t_max=t_max, seed=seed, record_every=record)
    ode = numerics.saad_solla(model, eta=eta, t_max=t_max, init=sim.initial, t_eval=sim.t)
    return dict(
        t=sim.t,
        sim_eps=sim.eps_g,
        sim_eps_error=sim.eps_g_error,
        sim_R=sim.R,
        sim_Q=sim.Q,
        ode_eps=ode.eps_g,
        ode_R=ode.R,
        ode_Q=ode.Q,
        ode_converged=ode.converged,
        test_size=sim.settings["test_size"],
    )


def hidden_manifold_run(run, seed, N, D, eta, t_max, record):
    """Online SGD on hidden-manifold inputs, ``f = sign``, and the hidden-manifold ODE from
    the same features and weights (a sweep task)."""
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((N, D))
    init = {"W": rng.standard_normal((2, N)), "B": rng.standard_normal((2, D))}
    f = sp.sign(U)
    sim = numerics.online_sgd(
        committee(),
        N=N,
        eta=eta,
        t_max=t_max,
        seed=seed,
        init=init,
        inputs=numerics.HiddenManifold(D=D, f=f, F=F),
        record_every=record,
    )
    ode = numerics.saad_solla_manifold(
        committee(), f, U, F, eta=eta, t_max=t_max, init=init, t_eval=sim.t
    )
    return dict(
        t=sim.t,
        sim_eps=sim.eps_g,
        sim_eps_error=sim.eps_g_error,
        sim_R=sim.R,
        ode_eps=ode.eps_g,
        ode_R=ode.R,
        ode_converged=ode.converged,
        test_size=sim.settings["test_size"],
        get_moments=sim.settings["get_moments"],
    )


def escape_time(t, eps, t_plateau=20.0):
    """The first time after ``t_plateau`` at which ``eps`` falls below half its value there."""
    t, eps = np.asarray(t), np.asarray(eps, dtype=float)
    plateau = eps[np.searchsorted(t, t_plateau)]
    below = (t > t_plateau) & (eps < plateau / 2)
    return float(t[np.argmax(below)]) if below.any() else None


def run(quick=False, out=None, seed=0):
    """Run the recipe; writes ``out/online-sgd.json`` and ``.png``; returns the results."""
    start = time.perf_counter()
    cfg = SETTINGS[bool(quick)]
    out = Path(out) if out is not None else Path("results") / NAME
    counts = {}
    progress(f"[{NAME}] iid inputs: N = {cfg['N']}, eta = {cfg['eta']}, {cfg['runs']} run(s)")
    task = functools.partial(
        iid_run, N=cfg["N"], eta=cfg["eta"], t_max=cfg["t_max"], record=cfg["record"]
    )
    iid = run_sweep(task, {"run": list(range(cfg["runs"]))}, "iid", counts, NAME, seed=seed)
    N, D, eta_hm, t_hm = cfg["hm"]
    progress(f"[{NAME}] hidden-manifold inputs: N = {N}, D = {D}, eta = {eta_hm}")
    task = functools.partial(hidden_manifold_run, N=N, D=D, eta=eta_hm, t_max=t_hm, record=1.0)
    hm = run_sweep(task, {"run": [0]}, "hidden-manifold", counts, NAME, seed=seed + 1)
    for r in iid:
        r["sim_escape"] = escape_time(r["t"], r["sim_eps"])
        r["ode_escape"] = escape_time(r["t"], r["ode_eps"])
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        model=repr(committee()),
        activation="erf(u/sqrt(2)) (student and teacher)",
        iid=dict(N=cfg["N"], eta=cfg["eta"], t_max=cfg["t_max"], runs=iid),
        hidden_manifold=dict(
            N=N,
            D=D,
            eta=eta_hm,
            t_max=t_hm,
            f="sign",
            runs=hm,
        ),
        sweeps=counts,
    )
    return finish(NAME, results, out, plot, start)


def plot(results):
    """(a) eps_g vs t, simulation and ODE; (b) R_in vs t; (c) hidden-manifold simulation."""
    fig, axes = figure(ncols=3, width=5.0, height=4.2)
    iid = results["iid"]
    ax = axes[0]
    for k, r in enumerate(iid["runs"]):
        t = np.array(r["t"])
        ax.plot(t, r["sim_eps"], ".", ms=3, color=f"C{k}", label=f"SGD, seed {k}")
        ax.plot(t, r["ode_eps"], "-", lw=1.2, color=f"C{k}", label="ODE, same start")
    ax.set_yscale("log")
    ax.set_xlabel("t = steps / N")
    ax.set_ylabel("generalisation error ε_g")
    ax.set_title(f"iid inputs, N = {iid['N']}, η = {iid['eta']}, K = M = 2")
    ax.legend(fontsize=7)
    ax = axes[1]
    r = iid["runs"][0]
    t = np.array(r["t"])
    sim_R, ode_R = np.array(r["sim_R"]), np.array(r["ode_R"])
    for i in range(sim_R.shape[1]):
        for n in range(sim_R.shape[2]):
            c = f"C{2 * i + n}"
            ax.plot(t, sim_R[:, i, n], ".", ms=3, color=c)
            ax.plot(t, ode_R[:, i, n], "-", lw=1.2, color=c, label=f"R_{i}{n}")
    ax.set_xlabel("t = steps / N")
    ax.set_ylabel("overlap R_in (dots: SGD, lines: ODE)")
    ax.set_title("plateau (R_in equal), then specialisation")
    ax.legend(fontsize=7)
    ax = axes[2]
    hm = results["hidden_manifold"]
    r = hm["runs"][0]
    t = np.array(r["t"])
    ax.plot(t, r["sim_eps"], "k.", ms=3, label="SGD ε_g")
    ax.plot(t, r["ode_eps"], "k-", lw=1.2, label="ODE ε_g")
    ax.set_yscale("log")
    ax.set_xlabel("t = steps / N")
    ax.set_ylabel("generalisation error ε_g")
    twin = ax.twinx()
    R = np.array(r["sim_R"])
    for i in range(R.shape[1]):
        for n in range(R.shape[2]):
            c = f"C{2 * i + n}"
            twin.plot(t, R[:, i, n], ".", ms=2, color=c)
            twin.plot(t, np.array(r["ode_R"])[:, i, n], "-", lw=1, color=c, label=f"R_{i}{n}")
    twin.set_ylabel("R_in (dots: SGD via the GET, lines: ODE)")
    twin.legend(fontsize=7, loc="center right")
    ax.set_title(
        f"hidden manifold, sign, N = {hm['N']}, D = {hm['D']}, η = {hm['eta']}",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="upper right")
    return fig


def table(results):
    """eps_g of simulation and ODE at a few times, and the escape times from the plateau."""
    rows = []
    for k, r in enumerate(results["iid"]["runs"]):
        t = np.array(r["t"])
        for when in (0.0, 10.0, 50.0, 100.0, t[-1]):
            j = int(np.argmin(np.abs(t - when)))
            rows.append(
                [
                    k,
                    f"{t[j]:g}",
                    f"{r['sim_eps'][j]:.4f} ± {r['sim_eps_error'][j]:.4f}",
                    f"{r['ode_eps'][j]:.4f}",
                ]
            )
        rows.append([k, "escape", f"{r['sim_escape']}", f"{r['ode_escape']}"])
    out = format_table(
        ["seed", "t", "eps_g SGD (test set)", "eps_g ODE"],
        rows,
        title=f"{NAME}: iid inputs, N = {results['iid']['N']}, eta = {results['iid']['eta']}",
    )
    hm = results["hidden_manifold"]["runs"][0]
    out += (
        f"\nhidden manifold (N = {results['hidden_manifold']['N']}, "
        f"D = {results['hidden_manifold']['D']}): eps_g SGD {hm['sim_eps'][0]:.4f} -> "
        f"{hm['sim_eps'][-1]:.4f}, ODE {hm['ode_eps'][0]:.4f} -> {hm['ode_eps'][-1]:.4f} "
        f"at t = {hm['t'][-1]:g}"
    )
    return out
