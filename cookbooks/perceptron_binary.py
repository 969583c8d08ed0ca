r"""Recipe ``perceptron-binary``: the teacher-student binary perceptron.

Rademacher teacher :math:`w^*_i = \pm 1`, labels :math:`y = \mathrm{sign}(x \cdot w^*)`,
written as ``Prior.discrete({-1: 1/2, 1: 1/2})`` and ``Channel.sign()``. Everything below
is derived from that: the denoisers, Bayes-optimal state evolution and the RS free
entropy (:mod:`derive.glm`), solved by :func:`numerics.state_evolution`; the thresholds by
:func:`numerics.thresholds` (the uninformed branch found by root-finding on
:math:`q - Q(q)`, the information-theoretic one where the free entropies of the two
branches cross); GAMP (:func:`numerics.amp`) on sampled instances.

The error plotted is the **Bayes-optimal generalisation error** (for the sign channel,
``arccos(sqrt q)/pi``); the Gibbs error (``arccos(q)/pi``) is in the JSON. The AMP points are
test errors of ``sign(x . w_hat)`` measured on fresh inputs, which is the Bayes-optimal
predictor for this channel. Published values (Györgyi 1990; Barbier et al., PNAS 2019):
``alpha_IT ≈ 1.245``, ``alpha_alg ≈ 1.493`` (reference lines only).

Each state-evolution curve is a :func:`numerics.sweep` over ``alpha`` and the GAMP instances
one over their ``alpha`` (each instance drawn from the sweep's child seed of ``--seed``):
``--workers N`` runs them in parallel with the same numbers and ``--checkpoint DIR`` resumes
(``DIR/perceptron-binary-se-uninformed.jsonl``, ``-se-informed``, ``-gamp``; the JSON's
``sweeps`` says how many points this run computed). The thresholds are one bisection.
"""

import time
from pathlib import Path

import numpy as np
import sympy as sp

import derive
import numerics

from .glm_common import amp_points, se_curve
from .report import figure, finish, format_table, pm, progress

__all__ = ["NAME", "SUMMARY", "run", "table", "model"]

NAME = "perceptron-binary"
SUMMARY = (
    "binary perceptron: Bayes-optimal error vs alpha from state evolution, GAMP points, "
    "alpha_IT and alpha_alg"
)

REFERENCES = {"alpha_IT (Györgyi 1990)": 1.245, "alpha_alg (Barbier et al. 2019)": 1.493}

SETTINGS = {
    False: dict(
        alphas=np.linspace(0.1, 2.2, 43),
        amp_alphas=[0.5, 1.0, 1.3, 1.7, 2.0],
        n=4000,
        n_test=20_000,
        xtol=1e-5,
    ),
    True: dict(
        alphas=np.linspace(0.2, 2.0, 10),
        amp_alphas=[0.6, 1.2, 1.8],
        n=2000,
        n_test=5_000,
        xtol=2e-4,
    ),
}


def model():
    """``GLM(Prior.discrete({-1: 1/2, 1: 1/2}), Channel.sign())``."""
    half = sp.Rational(1, 2)
    return derive.GLM(derive.Prior.discrete({-1: half, 1: half}), derive.Channel.sign())


def run(quick=False, out=None, seed=0):
    """Run the recipe; writes ``out/perceptron-binary.json`` and ``.png``."""
    start = time.perf_counter()
    cfg = SETTINGS[bool(quick)]
    out = Path(out) if out is not None else Path("results") / NAME
    glm = model()
    progress(f"[{NAME}] thresholds (to xtol = {cfg['xtol']:g})")
    th = numerics.thresholds(glm, (1.0, 2.0), xtol=cfg["xtol"], strict=True)
    progress(f"[{NAME}] alpha_IT = {th.alpha_it:.4f}, alpha_alg = {th.alpha_alg:.4f}")
    sweeps = {}
    uninformed = se_curve(
        glm, cfg["alphas"], "uninformed", name=f"{NAME}-se-uninformed", sweeps=sweeps
    )
    informed = se_curve(glm, cfg["alphas"], "informed", name=f"{NAME}-se-informed", sweeps=sweeps)
    amp = []
    for row in amp_points(
        glm,
        cfg["n"],
        {"alpha": cfg["amp_alphas"]},
        name=f"{NAME}-gamp",
        sweeps=sweeps,
        seed=seed,
        n_test=cfg["n_test"],
        max_iter=300,
    ):
        point = dict(alpha=row["alpha"], n=row["n"], **row["amp"])
        progress(
            f"[{NAME}] GAMP alpha = {point['alpha']}: overlap {point['overlap']:.4f}, test error "
            f"{pm(point['test_error'], point['test_error_sd'])} ({point['message']})"
        )
        amp.append(point)
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        model=dict(prior="Rademacher", channel="sign"),
        error_plotted="Bayes-optimal generalisation error (arccos(sqrt q)/pi for "
        "the sign channel); gibbs_error is arccos(q)/pi",
        thresholds=dict(alpha_it=th.alpha_it, alpha_alg=th.alpha_alg, reference=REFERENCES),
        state_evolution=dict(uninformed=uninformed, informed=informed),
        amp=amp,
        sweeps=dict(
            counts=sweeps,
            note="numerics.sweep per curve and per set of GAMP instances: points, and those "
            "computed by this run (the others came from --checkpoint)",
        ),
    )
    return finish(NAME, results, out, plot, start)


def plot(results):
    fig, (ax_err, ax_phi) = figure(ncols=2, width=5.6, height=4.4)
    se = results["state_evolution"]
    th = results["thresholds"]
    for name, branch, style in (
        ("uninformed", se["uninformed"], "-"),
        ("informed", se["informed"], "--"),
    ):
        alpha = np.array(branch["alpha"])
        keep = np.ones(alpha.size, bool)
        if name == "uninformed":  # past alpha_alg the iteration lands on the informed branch
            keep = np.array(branch["overlap"]) < 0.99
        for key, ax, what in (
            ("bayes_error", ax_err, "SE"),
            ("free_entropy", ax_phi, "free entropy"),
        ):
            ax.plot(
                alpha[keep],
                np.array(branch[key])[keep],
                style,
                color="tab:blue",
                label=f"{what}, {name} branch",
            )
    amp = results["amp"]
    ax_err.errorbar(
        [a["alpha"] for a in amp],
        [a["test_error"] for a in amp],
        yerr=[a["test_error_sd"] for a in amp],
        fmt="o",
        color="tab:orange",
        capsize=3,
        label=f"GAMP, N = {amp[0]['n']} (test error)",
    )
    for ax in (ax_err, ax_phi):
        ax.axvline(
            th["alpha_it"],
            color="tab:green",
            lw=1.2,
            label=rf"$\alpha_{{IT}}$ = {th['alpha_it']:.4f}",
        )
        ax.axvline(
            th["alpha_alg"],
            color="tab:red",
            lw=1.2,
            label=rf"$\alpha_{{alg}}$ = {th['alpha_alg']:.4f}",
        )
        ax.set_xlabel(r"$\alpha = M/N$")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax_err.set_ylabel("Bayes-optimal generalisation error")
    ax_phi.set_ylabel(r"RS free entropy $\phi$")
    fig.suptitle(
        "binary perceptron, Rademacher teacher, sign channel "
        f"({'quick' if results['quick'] else 'full'} run)",
        fontsize=11,
    )
    return fig


def table(results):
    th = results["thresholds"]
    rows = [
        [f"{a:.3f}", f"{e:.4f}", f"{g:.4f}"]
        for a, e, g in zip(
            results["state_evolution"]["uninformed"]["alpha"],
            results["state_evolution"]["uninformed"]["bayes_error"],
            results["state_evolution"]["uninformed"]["gibbs_error"],
        )
    ]
    lines = [
        format_table(
            ["alpha", "Bayes error (SE)", "Gibbs error (SE)"],
            rows,
            title="state evolution, uninformed branch",
        ),
        format_table(
            ["alpha", "GAMP test error", "GAMP overlap"],
            [
                [
                    f"{a['alpha']:.2f}",
                    pm(a["test_error"], a["test_error_sd"]),
                    f"{a['overlap']:.4f}",
                ]
                for a in results["amp"]
            ],
            title="GAMP on sampled instances",
        ),
        f"alpha_IT = {th['alpha_it']:.4f} (reference 1.245), "
        f"alpha_alg = {th['alpha_alg']:.4f} (reference 1.493)",
    ]
    return "\n\n".join(lines)
