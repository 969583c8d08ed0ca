r"""Recipe ``compressed-sensing``: Gauss--Bernoulli signal, Gaussian channel; AMP and VAMP.

``Prior.gauss_bernoulli(rho)`` and ``Channel.gaussian(Delta)`` with a tiny noise
(``Delta = 1e-8``, the noiseless limit). Three panels:

* MSE vs ``alpha`` at ``rho = 0.2``: state evolution (uninformed branch) against GAMP and
  VAMP on sampled i.i.d. instances;
* the algorithmic line in the ``(rho, alpha)`` plane: where the uninformed branch of state
  evolution jumps (:func:`numerics.thresholds`), cross-checked against
  :math:`\alpha_{BP} = \max_r r\,\mathrm{mmse}(r)` with ``mmse`` computed from the derived
  input denoiser (noiseless SE is :math:`E_{t+1} = \mathrm{mmse}(\alpha / E_t)`, Krzakala et
  al., PRX 2012); the information-theoretic line ``alpha = rho`` is drawn as a reference;
* GAMP vs VAMP on matrices of growing condition number (Haar singular vectors,
  geometrically spaced singular values): GAMP diverges or stalls, VAMP converges.

Every loop runs through :func:`numerics.sweep`: the state-evolution curve over ``alpha``, the
algorithmic line over ``rho``, the sampled instances over ``alpha`` and over the condition
number (one instance per point, GAMP and VAMP on the same one, drawn from the sweep's child
seed of ``--seed``). ``--workers N`` runs them in parallel with the same numbers and
``--checkpoint DIR`` resumes (``DIR/compressed-sensing-se.jsonl``, ``-amp-vamp``, ``-line``,
``-conditioning``).
"""

import functools
import time
from pathlib import Path

import numpy as np
import sympy as sp
from scipy.optimize import minimize_scalar

import derive
import numerics

from .glm_common import amp_points, run_sweep, se_curve
from .report import figure, finish, format_table, progress

__all__ = ["NAME", "SUMMARY", "run", "table", "model"]

NAME = "compressed-sensing"
SUMMARY = (
    "compressed sensing: MSE vs alpha (SE, GAMP, VAMP), the algorithmic line in the "
    "(rho, alpha) plane, GAMP vs VAMP on ill-conditioned matrices"
)

RHO, DELTA = sp.symbols("rho Delta", positive=True)
NOISE = 1e-8

SETTINGS = {
    False: dict(
        alphas=np.linspace(0.22, 0.7, 25),
        amp_alphas=[0.3, 0.4, 0.5, 0.6],
        n=2000,
        rhos=np.linspace(0.05, 0.6, 12),
        conditions=[1, 10, 100, 1000],
        xtol=1e-4,
    ),
    True: dict(
        alphas=np.linspace(0.25, 0.7, 8),
        amp_alphas=[0.3, 0.6],
        n=500,
        rhos=np.array([0.1, 0.2, 0.4]),
        conditions=[1, 1000],
        xtol=2e-3,
    ),
}


def model():
    """``GLM(Prior.gauss_bernoulli(rho), Channel.gaussian(Delta))`` with symbolic rho, Delta."""
    return derive.GLM(derive.Prior.gauss_bernoulli(RHO), derive.Channel.gaussian(DELTA))


def alpha_bp(glm, rho):
    r""":math:`\max_r r\,\mathrm{mmse}(r)`, mmse from the derived input side of state evolution."""
    params = {"rho": rho, "Delta": NOISE}

    def minus(log_r):
        r = np.exp(log_r)
        return -r * numerics.input_mmse(glm, r, params=params)

    best = minimize_scalar(
        minus, bounds=(np.log(1e-2), np.log(1e6)), method="bounded", options=dict(xatol=1e-10)
    )
    return float(-best.fun)


def line_point(glm, xtol, rho):
    """One point of the algorithmic line, a :func:`numerics.sweep` task: ``alpha_alg`` where
    the uninformed branch of state evolution jumps, and :func:`alpha_bp`, at sparsity ``rho``."""
    th = numerics.thresholds(
        glm,
        (rho + 1e-3, 0.99),
        params={"rho": rho, "Delta": NOISE},
        xtol=xtol,
        information=False,
        strict=True,
    )
    return dict(rho=float(rho), alpha_alg=th.alpha_alg, alpha_bp=alpha_bp(glm, rho))


def _number(value):
    """A result read back from a sweep: JSON has no NaN, a non-finite value comes as None."""
    return float("nan") if value is None else float(value)


def run(quick=False, out=None, seed=0):
    start = time.perf_counter()
    cfg = SETTINGS[bool(quick)]
    out = Path(out) if out is not None else Path("results") / NAME
    glm = model()
    params = {"rho": 0.2, "Delta": NOISE}
    sweeps = {}
    curve = se_curve(
        glm, cfg["alphas"], "uninformed", name=f"{NAME}-se", sweeps=sweeps, params=params
    )
    points = amp_points(
        glm,
        cfg["n"],
        {"alpha": cfg["amp_alphas"]},
        name=f"{NAME}-amp-vamp",
        sweeps=sweeps,
        seed=seed,
        params=params,
        algorithms=("amp", "vamp"),
        max_iter=500,
    )
    for p in points:
        a, v = p["amp"], p["vamp"]
        progress(
            f"[{NAME}] alpha = {p['alpha']}: MSE GAMP {_number(a['mse']):.3g} ({a['message']}), "
            f"VAMP {_number(v['mse']):.3g} ({v['message']})"
        )
    task = functools.partial(line_point, glm, cfg["xtol"])
    line = run_sweep(task, {"rho": list(cfg["rhos"])}, f"{NAME}-line", sweeps)
    for p in line:
        progress(
            f"[{NAME}] rho = {p['rho']:.3f}: alpha_alg = {p['alpha_alg']:.4f}, "
            f"max_r r mmse(r) = {p['alpha_bp']:.4f}"
        )
    conditioning = amp_points(
        glm,
        cfg["n"],
        {"condition_number": cfg["conditions"]},
        name=f"{NAME}-conditioning",
        sweeps=sweeps,
        seed=seed,
        alpha=0.6,
        params=params,
        algorithms=("amp", "vamp"),
        max_iter=300,
    )
    for row in conditioning:
        progress(
            f"[{NAME}] condition number {row['condition_number']}: GAMP {row['amp']['message']}; "
            f"VAMP {row['vamp']['message']}, MSE {_number(row['vamp']['mse']):.3g}"
        )
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        model=dict(
            prior="Gauss-Bernoulli(rho), N(0, 1) nonzeros", channel=f"Gaussian, Delta = {NOISE:g}"
        ),
        mse_vs_alpha=dict(rho=0.2, state_evolution=curve, points=points),
        algorithmic_line=line,
        information_line="alpha = rho (noiseless limit; reference)",
        conditioning=dict(alpha=0.6, rho=0.2, runs=conditioning),
        sweeps=dict(
            counts=sweeps,
            note="numerics.sweep per curve, per set of instances and for the algorithmic "
            "line: points, and those computed by this run (the others came from --checkpoint)",
        ),
    )
    return finish(NAME, results, out, plot, start)


def plot(results):
    fig, (ax1, ax2, ax3) = figure(ncols=3, width=4.8, height=4.4)
    m = results["mse_vs_alpha"]
    ax1.semilogy(
        m["state_evolution"]["alpha"],
        np.maximum(m["state_evolution"]["mse"], 1e-12),
        color="tab:blue",
        label="state evolution",
    )
    for key, marker, color in (("amp", "o", "tab:orange"), ("vamp", "s", "tab:green")):
        ax1.semilogy(
            [p["alpha"] for p in m["points"]],
            [max(_number(p[key]["mse"]), 1e-12) for p in m["points"]],
            marker,
            color=color,
            mfc="none" if key == "vamp" else color,
            label=key.upper(),
        )
    ax1.set_xlabel(r"$\alpha$")
    ax1.set_ylabel("MSE")
    ax1.set_title(rf"$\rho$ = {m['rho']}, i.i.d. Gaussian X", fontsize=10)
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3, which="both")
    line = results["algorithmic_line"]
    rhos = [p["rho"] for p in line]
    ax2.plot(
        rhos,
        [p["alpha_alg"] for p in line],
        "o-",
        color="tab:red",
        label=r"$\alpha_{alg}$: uninformed SE branch jumps",
    )
    ax2.plot(
        rhos,
        [p["alpha_bp"] for p in line],
        "x",
        color="k",
        ms=8,
        label=r"$\max_r\, r\,\mathrm{mmse}(r)$",
    )
    grid = np.linspace(0, 1, 11)
    ax2.plot(grid, grid, ":", color="tab:blue", label=r"$\alpha = \rho$ (IT, reference)")
    ax2.set_xlabel(r"$\rho$")
    ax2.set_ylabel(r"$\alpha$")
    ax2.set_xlim(0, 1)
    ax2.set_ylim(0, 1)
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    for row in results["conditioning"]["runs"]:
        for key, ls in (("amp", "-"), ("vamp", "--")):
            hist = np.maximum(np.array(row[key]["history_mse"], dtype=float), 1e-14)
            hist = hist[np.isfinite(hist)]
            ax3.semilogy(
                np.arange(1, hist.size + 1),
                np.minimum(hist, 1e6),
                ls,
                label=f"{key.upper()}, cond = {row['condition_number']}",
            )
    ax3.set_xlabel("iteration")
    ax3.set_ylabel("MSE")
    ax3.set_title(r"$\alpha$ = 0.6: ill-conditioned X", fontsize=10)
    ax3.legend(fontsize=7)
    ax3.grid(alpha=0.3, which="both")
    fig.suptitle(
        f"compressed sensing, Gauss-Bernoulli prior "
        f"({'quick' if results['quick'] else 'full'} run)",
        fontsize=11,
    )
    return fig


def table(results):
    line = results["algorithmic_line"]
    runs = results["conditioning"]["runs"]
    return "\n\n".join(
        [
            format_table(
                ["rho", "alpha_alg (SE branch)", "max_r r mmse(r)"],
                [
                    [f"{p['rho']:.3f}", f"{p['alpha_alg']:.4f}", f"{p['alpha_bp']:.4f}"]
                    for p in line
                ],
                title="algorithmic line",
            ),
            format_table(
                ["condition number", "GAMP", "VAMP MSE"],
                [
                    [r["condition_number"], r["amp"]["message"], f"{_number(r['vamp']['mse']):.3g}"]
                    for r in runs
                ],
                title="GAMP vs VAMP at alpha = 0.6, rho = 0.2",
            ),
        ]
    )
