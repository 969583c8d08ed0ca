r"""Recipe ``gardner-capacity``: storage capacities and linear-separability thresholds.

(a) The capacity :math:`\alpha_c(\kappa)` of the spherical perceptron, the :math:`q \to 1`
    limit of the RS saddle point of the Gardner volume (``numerics.gardner`` on a Gaussian
    prior, derived by ``derive.gardner_capacity``), against the largest margin of random
    patterns measured at finite ``p`` (``numerics.max_margin``: the least-norm solution of
    the stability constraints), with Gardner's 2 at :math:`\kappa = 0` as a reference line
    (Gardner, J. Phys. A 21, 257 (1988); Cover 1965).
(b) :math:`\pm 1` weights: the RS entropy of the solutions against ``alpha``
    (``numerics.gardner_saddle``); it vanishes at the RS capacity ``numerics.gardner`` finds,
    0.833 (Krauth & Mézard, J. Phys. France 50, 3057 (1989)).
(c) Linear separability: the fraction of separable samples (feasibility LP,
    ``numerics.is_separable``) against ``n/p`` for iid Gaussian inputs with random labels,
    iid inputs with a noisy sign teacher, and hidden-manifold data (``f = sign``, sign teacher
    on the latent), with the thresholds of ``numerics.separability_threshold`` (Cover 1965;
    Candès & Sur, arXiv:1804.09753; the Gaussian equivalence of Goldt et al.,
    arXiv:1909.11500).
"""

import functools
import math
import time
from pathlib import Path

import numpy as np
import sympy as sp

import derive
import numerics

from .report import figure, finish, format_table, progress, run_sweep

__all__ = ["NAME", "SUMMARY", "run", "table"]

NAME = "gardner-capacity"
SUMMARY = (
    "Gardner capacity alpha_c(kappa) of the spherical perceptron vs max-margin simulations, "
    "the +-1 capacity 0.833 from the RS entropy, separability thresholds vs LP"
)

SETTINGS = {
    False: dict(p=60, margin_instances=12, lp_instances=24, lp_alphas=np.arange(0.5, 5.01, 0.25)),
    True: dict(p=30, margin_instances=4, lp_instances=6, lp_alphas=np.arange(0.5, 5.01, 0.5)),
}
KAPPAS = np.linspace(-1.0, 3.0, 81)
MARGIN_ALPHAS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
ENTROPY_ALPHAS = np.linspace(0.0, 1.2, 25)
FLIP = 0.1
GAMMAS = (0.5, 1.0, 2.0)
U = sp.Symbol("u", real=True)
SPHERE = derive.Prior.gaussian(0, 1)
ISING = derive.Prior.discrete({-1: sp.S.Half, 1: sp.S.Half})
NOISY_SIGN = derive.Channel.sign(sp.Symbol("eps"))


def margin_point(p, alpha, instance, seed):
    """The largest margin of one instance of ``alpha p`` random patterns and labels."""
    rng = np.random.default_rng(seed)
    n = max(1, int(round(alpha * p)))
    kappa = numerics.max_margin(rng.standard_normal((n, p)), rng.choice([-1.0, 1.0], n))
    return dict(kappa=kappa, n=n)


def _iid(kind, n, p, rng):
    X = rng.standard_normal((n, p))
    if kind == "iid, random labels":
        return X, rng.choice([-1.0, 1.0], n)
    y = np.sign(X @ rng.standard_normal(p) / math.sqrt(p))
    y[rng.random(n) < FLIP] *= -1
    return X, y


def lp_point(kind, p, alpha, instance, seed):
    """Whether one sample of ``alpha p`` points of the given kind is linearly separable."""
    n = max(1, int(round(alpha * p)))
    if kind.startswith("hidden manifold"):
        data = numerics.hidden_manifold(
            samples=n,
            latent=p,
            features=p,
            f=sp.sign(U),
            variable=U,
            teacher=derive.Channel.sign(),
            seed=seed,
        )
        X, y = data.X, data.y
    else:
        X, y = _iid(kind, n, p, np.random.default_rng(seed))
    return dict(separable=bool(numerics.is_separable(X, y)), n=n)


def _thresholds():
    a, b, c = numerics.get_moments(sp.sign(U), U)
    moments = (float(a), float(b), float(c))
    cases = [
        ("iid, random labels", dict()),
        ("iid, sign teacher", dict(teacher=NOISY_SIGN, params={"eps": 0.0})),
        (f"iid, sign teacher flipped w.p. {FLIP}", dict(teacher=NOISY_SIGN, params={"eps": FLIP})),
        ("hidden manifold (f = sign, gamma = 1), random labels", dict(moments=moments, gamma=1.0)),
    ]
    for g in GAMMAS:
        cases.append(
            (
                f"hidden manifold (f = sign, gamma = {g:g}), sign teacher",
                dict(teacher=derive.Channel.sign(), moments=moments, gamma=g),
            )
        )
    out = []
    for label, kwargs in cases:
        r = numerics.separability_threshold(**kwargs)
        out.append(dict(label=label, **r.to_dict()))
        progress(f"[{NAME}] separability, {label}: n/p < {r.alpha_s:.6g}")
    return out


def run(quick=False, out=None, seed=0):
    """Run the recipe; writes ``out/gardner-capacity.json`` and ``.png``; returns the results."""
    start = time.perf_counter()
    cfg = SETTINGS[bool(quick)]
    out = Path(out) if out is not None else Path("results") / NAME
    sweeps = {}
    curve = [numerics.gardner(SPHERE, kappa=float(k)) for k in KAPPAS]
    progress(f"[{NAME}] spherical alpha_c(0) = {numerics.gardner(SPHERE, 0.0).alpha_c:.12g}")
    p = cfg["p"]
    grid = {"alpha": list(MARGIN_ALPHAS), "instance": list(range(cfg["margin_instances"]))}
    margins = run_sweep(
        functools.partial(margin_point, p), grid, "margins", sweeps, recipe=NAME, seed=seed
    )
    binary = numerics.gardner(ISING, kappa=0.0, check_quadrature=not quick)
    progress(f"[{NAME}] +-1 weights: alpha_c = {binary.alpha_c:.6g} ({binary.message})")
    entropy = [numerics.gardner_saddle(ISING, float(a)) for a in ENTROPY_ALPHAS]
    thresholds = _thresholds()
    kinds = ("iid, random labels", f"iid, sign teacher flipped w.p. {FLIP}", "hidden manifold")
    lp_grid = {
        "kind": list(kinds),
        "alpha": [float(a) for a in cfg["lp_alphas"]],
        "instance": list(range(cfg["lp_instances"])),
    }
    lp_rows = run_sweep(
        functools.partial(lp_point, p=p), lp_grid, "lp", sweeps, recipe=NAME, seed=seed + 1
    )
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        spherical=dict(
            kappa=KAPPAS.tolist(),
            alpha_c=[r.alpha_c for r in curve],
            converged=[bool(r.converged) for r in curve],
            alpha_c_at_0=dict(computed=curve[list(KAPPAS).index(0.0)].alpha_c, reference=2.0),
        ),
        margins=dict(p=p, points=_grouped(margins, "alpha", "kappa")),
        binary=dict(
            alpha_c=dict(computed=binary.alpha_c, reference=0.833),
            result=binary.to_dict(),
            entropy_curve=dict(
                alpha=ENTROPY_ALPHAS.tolist(),
                entropy=[r.entropy for r in entropy],
                q=[r.q for r in entropy],
                converged=[bool(r.converged) for r in entropy],
            ),
        ),
        separability=dict(thresholds=thresholds, lp=_lp_fractions(lp_rows, p)),
        sweeps=sweeps,
    )
    return finish(NAME, results, out, plot, start)


def _grouped(rows, key, value):
    groups = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row[value])
    out = []
    for k, values in groups.items():
        v = np.array([x if x is not None else np.nan for x in values], dtype=float)
        ok = v[np.isfinite(v)]
        out.append(
            dict(
                alpha=k,
                mean=float(ok.mean()) if ok.size else None,
                std=float(ok.std(ddof=1)) if ok.size > 1 else None,
                separable=int(ok.size),
                instances=int(v.size),
            )
        )
    return out


def _lp_fractions(rows, p):
    out = {}
    for row in rows:
        d = out.setdefault(row["kind"], {})
        d.setdefault(row["alpha"], []).append(row["separable"])
    return {
        kind: dict(
            p=p,
            alpha=sorted(d),
            fraction=[float(np.mean(d[a])) for a in sorted(d)],
            instances=[len(d[a]) for a in sorted(d)],
        )
        for kind, d in out.items()
    }


def plot(results):
    """(a) alpha_c(kappa) vs max margins; (b) the +-1 RS entropy; (c) separable fraction."""
    fig, (a, b, c) = figure(ncols=3, width=5.2, height=4.3)
    sph = results["spherical"]
    a.semilogy(sph["kappa"], sph["alpha_c"], color="tab:blue", label="RS, q → 1 (derived)")
    pts = [m for m in results["margins"]["points"] if m["mean"] is not None]
    a.errorbar(
        [m["mean"] for m in pts],
        [m["alpha"] for m in pts],
        xerr=[m["std"] or 0.0 for m in pts],
        fmt="o",
        color="k",
        ms=4,
        label=f"max margin, p = {results['margins']['p']} (mean ± sd)",
    )
    a.axhline(2.0, color="0.6", ls=":", label="Cover: 2")
    a.set_xlabel("margin κ")
    a.set_ylabel("capacity α_c")
    a.set_title("spherical perceptron")
    a.legend(fontsize=8)
    binary = results["binary"]
    curve = binary["entropy_curve"]
    b.plot(curve["alpha"], curve["entropy"], color="tab:red", label="RS entropy, ±1 weights")
    b.axhline(0.0, color="0.6", lw=0.8)
    b.axvline(
        binary["alpha_c"]["computed"],
        color="tab:red",
        ls="--",
        label=f"α_c = {binary['alpha_c']['computed']:.4f}",
    )
    b.axvline(binary["alpha_c"]["reference"], color="0.6", ls=":", label="Krauth–Mézard 0.833")
    b.set_xlabel("α = M/N")
    b.set_ylabel("entropy per weight")
    b.set_title("binary perceptron, κ = 0")
    b.legend(fontsize=8)
    colors = dict(zip(results["separability"]["lp"], ("k", "tab:green", "tab:purple")))
    thresholds = {t["label"]: t["alpha_s"] for t in results["separability"]["thresholds"]}
    for kind, d in results["separability"]["lp"].items():
        c.plot(d["alpha"], d["fraction"], "o-", ms=3, color=colors[kind], label=f"LP: {kind}")
    lines = {
        "iid, random labels": "iid, random labels",
        f"iid, sign teacher flipped w.p. {FLIP}": f"iid, sign teacher flipped w.p. {FLIP}",
        "hidden manifold": "hidden manifold (f = sign, gamma = 1), sign teacher",
    }
    for kind, label in lines.items():
        if kind in colors and thresholds.get(label) is not None:
            c.axvline(thresholds[label], color=colors[kind], ls="--", lw=1)
    c.set_xlabel("n / p")
    c.set_ylabel("fraction separable")
    c.set_title("separability (dashed: thresholds)")
    c.legend(fontsize=7)
    return fig


def table(results):
    """Capacities and thresholds, computed next to the references."""
    sph = results["spherical"]
    rows = [
        ["spherical alpha_c(0)", f"{sph['alpha_c_at_0']['computed']:.10g}", "2 (Cover; Gardner)"]
    ]
    for k in (-1.0, 1.0, 2.0):
        i = int(np.argmin(np.abs(np.array(sph["kappa"]) - k)))
        rows.append([f"spherical alpha_c({k:g})", f"{sph['alpha_c'][i]:.6g}", ""])
    b = results["binary"]["alpha_c"]
    rows.append(["±1 weights alpha_c(0)", f"{b['computed']:.6g}", "0.833 (Krauth-Mézard)"])
    for t in results["separability"]["thresholds"]:
        ref = "2 (Cover)" if "random labels" in t["label"] else ""
        value = t["alpha_s"]
        rows.append(
            [f"separable n/p < ... : {t['label']}", "inf" if value is None else f"{value:.6g}", ref]
        )
    return format_table(["quantity", "computed", "reference"], rows, title=SUMMARY)
