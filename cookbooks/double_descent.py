r"""Recipe ``double-descent``: learning curves of ERM on random features, theory and simulation.

The features are :math:`x = \mathrm{erf}(F^Tc/\sqrt d)` of a latent :math:`c \in
\mathbb{R}^d` (``d/p = 1/2``, Gaussian ``F``: the hidden-manifold / random-features model of
Gerace, Loureiro, Krzakala, Mézard & Zdeborová, ICML 2020, arXiv:2002.09339), the labels
``sign`` of a teacher on the latent. The curves come from the replica saddle point
(``numerics.erm``: the proximal operators and the teacher's partition function derived by
``derive.erm``, the spectrum of :math:`F^TF` by Marchenko–Pastur), the points from fitting the
same estimator on sampled data (``numerics.erm_simulation``, error bars: the standard error
of the mean over seeds).

(a) Ridge regression on the labels, test classification error against ``n/p``: at
    :math:`\lambda = 10^{-4}` the error peaks at the interpolation threshold ``n = p``
    (Mei & Montanari, arXiv:1908.05335), :math:`\lambda = 10^{-2}` smooths the peak away, and
    the optimal :math:`\lambda` (``numerics.erm_optimal_lam``) gives a monotone curve.
(b) Logistic regression on labels flipped with probability 0.1: the test error peaks where
    the training data stop being linearly separable (where the training error leaves 0).
(c) The i.i.d. limit: ``f(u) = u`` with orthogonal ``F`` and ``d = p`` are isotropic Gaussian
    inputs; ridge at :math:`\lambda = 10^{-4}` on ``y = nu + noise`` against the ridgeless
    closed form of Hastie, Montanari, Rosset & Tibshirani (arXiv:1903.08560, thm 1), drawn as
    a labelled reference.
"""

import functools
import math
import time
from pathlib import Path

import numpy as np
import sympy as sp

import derive
import numerics

from .report import figure, finish, format_table, pm, progress, run_sweep

__all__ = ["NAME", "SUMMARY", "run", "table", "plot"]

NAME = "double-descent"
SUMMARY = (
    "ERM on random features: ridge double descent at n = p (lam 1e-4, 1e-2, optimal), the "
    "logistic peak at separability, the iid limit against Hastie et al.; theory vs simulation"
)

GAMMA = 0.5
FLIP = sp.Rational(1, 10)
NOISE = sp.Rational(1, 4)
U = sp.Symbol("u", real=True)

SETTINGS = {
    False: dict(
        theory=np.geomspace(0.2, 5.0, 50),
        optimal=np.geomspace(0.2, 5.0, 16),
        logistic=np.geomspace(0.5, 5.0, 30),
        sim=[0.3, 0.5, 0.75, 0.9, 1.0, 1.1, 1.3, 1.6, 2.0, 3.0, 4.5],
        logistic_sim=[0.75, 1.5, 2.0, 2.5, 3.0, 4.0],
        features=400,
        seeds=10,
    ),
    True: dict(
        theory=np.geomspace(0.25, 4.0, 13),
        optimal=np.geomspace(0.5, 2.0, 3),
        logistic=np.geomspace(1.0, 4.0, 7),
        sim=[0.5, 2.0],
        logistic_sim=[1.5, 3.0],
        features=100,
        seeds=3,
    ),
}
RIDGES = (1e-4, 1e-2)
LOGISTIC_LAM = 1e-4


def _problem(kind):
    """``(loss, teacher, f, options)`` of a panel: ``ridge``, ``logistic`` or ``iid``."""
    if kind == "ridge":
        return derive.Loss.square(), derive.Channel.sign(), sp.erf(U), dict(gamma=GAMMA)
    if kind == "logistic":
        return derive.Loss.logistic(), derive.Channel.sign(FLIP), sp.erf(U), dict(gamma=GAMMA)
    return (
        derive.Loss.square(),
        derive.Channel.gaussian(NOISE),
        U,
        dict(gamma=1.0, spectrum="orthogonal"),
    )


def theory_point(kind, lam, alpha):
    """The saddle point at one ``alpha`` (``lam = None``: at the optimal ridge)."""
    loss, teacher, f, options = _problem(kind)
    if lam is None:
        r = numerics.erm_optimal_lam(loss, teacher, f, U, alpha=alpha, **options)
    else:
        r = numerics.erm(loss, teacher, f, U, alpha=alpha, lam=lam, max_iter=20000, **options)
    error = r.excess_risk if kind == "iid" else r.test_error
    return dict(
        value=error,
        train_error=r.train_error,
        lam=r.lam,
        converged=r.converged,
        message=r.message,
    )


def simulation_point(kind, lam, features, seeds, alpha, seed):
    """``numerics.erm_simulation`` at one ``alpha``: mean, standard error over seeds."""
    loss, teacher, f, options = _problem(kind)
    s = numerics.erm_simulation(
        loss,
        teacher,
        f,
        U,
        alpha=alpha,
        lam=lam,
        features=features,
        seeds=seeds,
        seed=seed,
        **options,
    )
    error = s.test_error - float(NOISE) if kind == "iid" else s.test_error
    return dict(
        value=error,
        value_se=s.test_error_std / math.sqrt(seeds),
        train_error=s.train_error,
        converged=s.converged,
        message=s.message,
    )


def _curve(kind, lam, alphas, counts, name):
    rows = run_sweep(
        functools.partial(theory_point, kind, lam), {"alpha": list(alphas)}, name, counts, NAME
    )
    bad = [r["alpha"] for r in rows if not r["converged"]]
    progress(f"[{NAME}] {name}: {len(rows)} points" + (f", not converged at {bad}" if bad else ""))
    keys = ("alpha", "value", "train_error", "lam", "converged", "message")
    return {k: [r[k] for r in rows] for k in keys}


def _points(kind, lam, alphas, cfg, counts, name, seed):
    task = functools.partial(simulation_point, kind, lam, cfg["features"], cfg["seeds"])
    rows = run_sweep(task, {"alpha": list(alphas)}, name, counts, NAME, seed=seed)
    for r in rows:
        progress(f"[{NAME}] {name} alpha = {r['alpha']:g}: {pm(r['value'], r['value_se'])}")
    keys = ("alpha", "value", "value_se", "train_error", "converged", "message")
    return {k: [r[k] for r in rows] for k in keys}


def _local_peak(curve):
    """The ``alpha`` of the highest interior local maximum of a theory curve (converged
    points only), or None."""
    pts = [(a, v) for a, v, ok in zip(curve["alpha"], curve["value"], curve["converged"]) if ok]
    peaks = [pts[k] for k in range(1, len(pts) - 1) if pts[k - 1][1] < pts[k][1] > pts[k + 1][1]]
    return max(peaks, key=lambda p: p[1])[0] if peaks else None


def _hastie(alphas, noise):
    """Ridgeless excess risk of Hastie et al. (thm 1), g = p/n: a labelled reference line."""
    g = 1 / np.asarray(alphas)
    with np.errstate(divide="ignore"):
        return np.where(g < 1, noise * g / (1 - g), (1 - 1 / g) + noise / (g - 1)).tolist()


def run(quick=False, out=None, seed=0):
    """Run the recipe; writes ``out/double-descent.json`` and ``.png``; returns the results."""
    start = time.perf_counter()
    cfg = SETTINGS[bool(quick)]
    out = Path(out) if out is not None else Path("results") / NAME
    counts = {}
    ridge = {
        f"{lam:g}": _curve("ridge", lam, cfg["theory"], counts, f"ridge-{lam:g}") for lam in RIDGES
    }
    ridge["optimal"] = _curve("ridge", None, cfg["optimal"], counts, "ridge-optimal")
    ridge_sim = {
        f"{lam:g}": _points("ridge", lam, cfg["sim"], cfg, counts, f"ridge-sim-{lam:g}", seed)
        for lam in RIDGES
    }
    logistic = _curve("logistic", LOGISTIC_LAM, cfg["logistic"], counts, "logistic")
    logistic_sim = _points(
        "logistic", LOGISTIC_LAM, cfg["logistic_sim"], cfg, counts, "logistic-sim", seed + 1
    )
    separable = [a for a, t in zip(logistic["alpha"], logistic["train_error"]) if t < 1e-3]
    threshold = max(separable) if separable else None
    peak = _local_peak(logistic)
    iid = _curve("iid", 1e-4, cfg["theory"], counts, "iid")
    iid_sim = _points("iid", 1e-4, cfg["sim"], cfg, counts, "iid-sim", seed + 2)
    ridge_peak = _local_peak(ridge["0.0001"])
    progress(
        f"[{NAME}] ridge peak at n/p = {ridge_peak}; logistic peak at {peak}, "
        f"training error leaves 0 after n/p = {threshold}"
    )
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        setting=dict(
            features="erf(F^T c / sqrt d), Gaussian F",
            gamma=GAMMA,
            teacher="sign(theta . c / sqrt d)",
            logistic_teacher=f"sign, flipped with probability {FLIP}",
            iid="f(u) = u, orthogonal F, d = p, y = nu + N(0, 1/4)",
            simulation=dict(features=cfg["features"], seeds=cfg["seeds"]),
        ),
        error_plotted="ridge, logistic: test classification error P(y != sign(yhat)); "
        "iid: excess risk E (nu - yhat)^2",
        ridge=dict(theory=ridge, simulation=ridge_sim, peak_alpha=ridge_peak),
        logistic=dict(
            lam=LOGISTIC_LAM,
            theory=logistic,
            simulation=logistic_sim,
            peak_alpha=peak,
            last_separable_alpha=threshold,
        ),
        iid=dict(
            theory=iid,
            simulation=iid_sim,
            reference=dict(
                source="Hastie et al. 2019, thm 1 (ridgeless, isotropic)",
                alpha=list(cfg["theory"]),
                excess_risk=_hastie(cfg["theory"], float(NOISE)),
            ),
        ),
        sweeps=dict(counts=counts),
    )
    return finish(NAME, results, out, plot, start)


def _log_axis(ax, ticks=(0.25, 0.5, 1, 2, 4)):
    from matplotlib.ticker import FixedLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_formatter(NullFormatter())


def plot(results):
    """Three panels: ridge (three lambdas), logistic at separability, the iid limit."""
    fig, axes = figure(ncols=3, width=5.2, height=4.3)
    ax = axes[0]
    colours = {"0.0001": "tab:red", "0.01": "tab:blue", "optimal": "tab:green"}
    for key, c in colours.items():
        th = results["ridge"]["theory"][key]
        label = "optimal λ" if key == "optimal" else f"λ = {float(key):g}"
        ax.plot(th["alpha"], th["value"], color=c, lw=1.6, label=f"theory, {label}")
        sim = results["ridge"]["simulation"].get(key)
        if sim:
            ax.errorbar(sim["alpha"], sim["value"], yerr=sim["value_se"], fmt="o", color=c, ms=4)
    ax.axvline(1.0, color="0.6", ls=":", label="n = p")
    _log_axis(ax)
    ax.set_xlabel("n / p")
    ax.set_ylabel("test classification error")
    ax.set_title("(a) ridge on random features (erf, d/p = 1/2)")
    ax.legend(fontsize=7)
    ax = axes[1]
    lg = results["logistic"]
    ax.plot(
        lg["theory"]["alpha"],
        lg["theory"]["value"],
        color="tab:purple",
        lw=1.6,
        label=f"theory test, λ = {lg['lam']:g}",
    )
    ax.plot(
        lg["theory"]["alpha"],
        lg["theory"]["train_error"],
        color="tab:purple",
        ls="--",
        lw=1.2,
        label="theory train",
    )
    ax.errorbar(
        lg["simulation"]["alpha"],
        lg["simulation"]["value"],
        yerr=lg["simulation"]["value_se"],
        fmt="o",
        color="tab:purple",
        ms=4,
        label="simulation",
    )
    if lg["last_separable_alpha"] is not None:
        ax.axvline(
            lg["last_separable_alpha"], color="0.6", ls=":", label="last separable n/p (theory)"
        )
    _log_axis(ax)
    ax.set_xlabel("n / p")
    ax.set_ylabel("classification error")
    ax.set_title("(b) logistic, labels flipped w.p. 0.1")
    ax.legend(fontsize=7)
    ax = axes[2]
    iid = results["iid"]
    ax.plot(
        iid["theory"]["alpha"],
        iid["theory"]["value"],
        color="tab:orange",
        lw=1.6,
        label="theory, λ = 1e-4",
    )
    ref = iid["reference"]
    ax.plot(ref["alpha"], ref["excess_risk"], "k:", lw=1.2, label="Hastie et al. (ridgeless)")
    ax.errorbar(
        iid["simulation"]["alpha"],
        iid["simulation"]["value"],
        yerr=iid["simulation"]["value_se"],
        fmt="o",
        color="tab:orange",
        ms=4,
        label="simulation",
    )
    _log_axis(ax)
    ax.set_yscale("log")
    ax.set_xlabel("n / p")
    ax.set_ylabel("excess risk")
    ax.set_title("(c) iid limit: f(u) = u, orthogonal F, d = p")
    ax.legend(fontsize=7)
    return fig


def table(results):
    """Theory and simulation at the simulated ``n/p`` (ridge at lam 1e-4 and 1e-2)."""
    rows = []
    for key in ("0.0001", "0.01"):
        th = results["ridge"]["theory"][key]
        sim = results["ridge"]["simulation"][key]
        for a, e, se in zip(sim["alpha"], sim["value"], sim["value_se"]):
            t = float(np.interp(math.log(a), np.log(th["alpha"]), th["value"]))
            rows.append([f"ridge λ={float(key):g}", f"{a:g}", f"{t:.4f}", pm(e, se)])
    lg = results["logistic"]
    th = lg["theory"]
    for a, e, se in zip(
        lg["simulation"]["alpha"], lg["simulation"]["value"], lg["simulation"]["value_se"]
    ):
        t = float(np.interp(math.log(a), np.log(th["alpha"]), th["value"]))
        rows.append([f"logistic λ={lg['lam']:g}", f"{a:g}", f"{t:.4f}", pm(e, se)])
    return format_table(
        ["estimator", "n/p", "theory", "simulation"],
        rows,
        title=f"test classification error; ridge peak at n/p = {results['ridge']['peak_alpha']}"
        f", logistic peak at {lg['peak_alpha']} (last separable {lg['last_separable_alpha']})",
    )
