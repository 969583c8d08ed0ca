r"""Recipe ``perceptron-gaussian``: Gaussian teacher, sign channel, Bayes-optimal learning.

``Prior.gaussian(0, 1)`` and ``Channel.sign()``; state evolution from the derived
denoisers gives the Bayes-optimal generalisation error at every ``alpha`` (no phase
transition: one branch), GAMP on sampled instances gives test errors of
``sign(x . w_hat)`` on fresh inputs. At large ``alpha`` the error decays like
``c / alpha``; the recipe measures ``alpha * error`` at growing ``alpha`` and reports its
trend next to the published constant 0.4417 (a reference line, not an input).

Both state-evolution curves run through :func:`numerics.sweep` over ``alpha``, and so do
the GAMP instances (each drawn from the sweep's child seed of ``--seed``):
``--workers N`` runs them in parallel with the same numbers, ``--checkpoint DIR`` resumes
(``DIR/perceptron-gaussian-se.jsonl``, ``-se-large``, ``-gamp``).
"""

import time
from pathlib import Path

import numpy as np

import derive

from .glm_common import amp_points, se_curve
from .report import figure, finish, format_table, pm, progress

__all__ = ["NAME", "SUMMARY", "run", "table", "model"]

NAME = "perceptron-gaussian"
SUMMARY = (
    "Gaussian perceptron: Bayes-optimal error vs alpha from state evolution, GAMP "
    "points, the large-alpha constant of alpha * error"
)

#: Published large-alpha constant of the Bayes-optimal error (reference only).
REFERENCE_CONSTANT = 0.4417

SETTINGS = {
    False: dict(
        alphas=np.geomspace(0.1, 30, 40),
        large=[10, 20, 40, 80, 160],
        amp_alphas=[0.5, 1, 2, 4, 8],
        n=3000,
        n_test=20_000,
    ),
    True: dict(
        alphas=np.geomspace(0.2, 20, 10),
        large=[10, 40, 160],
        amp_alphas=[1, 4],
        n=1000,
        n_test=5_000,
    ),
}


def model():
    """``GLM(Prior.gaussian(0, 1), Channel.sign())``."""
    return derive.GLM(derive.Prior.gaussian(0, 1), derive.Channel.sign())


def run(quick=False, out=None, seed=0):
    start = time.perf_counter()
    cfg = SETTINGS[bool(quick)]
    out = Path(out) if out is not None else Path("results") / NAME
    glm = model()
    sweeps = {}
    curve = se_curve(glm, cfg["alphas"], "uninformed", name=f"{NAME}-se", sweeps=sweeps)
    large = se_curve(
        glm,
        cfg["large"],
        "uninformed",
        name=f"{NAME}-se-large",
        sweeps=sweeps,
        label="large alpha",
    )
    products = [a * e for a, e in zip(large["alpha"], large["bayes_error"])]
    progress(
        f"[{NAME}] alpha * error at alpha = {cfg['large']}: "
        + ", ".join(f"{p:.4f}" for p in products)
    )
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
            f"[{NAME}] GAMP alpha = {point['alpha']:g}: test error "
            f"{pm(point['test_error'], point['test_error_sd'])} ({point['message']})"
        )
        amp.append(point)
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        model=dict(prior="N(0, 1)", channel="sign"),
        error_plotted="Bayes-optimal generalisation error, arccos(sqrt q)/pi",
        state_evolution=curve,
        large_alpha=dict(
            alpha=large["alpha"],
            error=large["bayes_error"],
            alpha_times_error=products,
            reference_constant=REFERENCE_CONSTANT,
        ),
        amp=amp,
        sweeps=dict(
            counts=sweeps,
            note="numerics.sweep per curve and per set of GAMP instances: points, and those "
            "computed by this run (the others came from --checkpoint)",
        ),
    )
    return finish(NAME, results, out, plot, start)


def plot(results):
    fig, (ax, ax2) = figure(ncols=2, width=5.4, height=4.4)
    se = results["state_evolution"]
    ax.loglog(se["alpha"], se["bayes_error"], color="tab:blue", label="state evolution")
    a = np.array(se["alpha"])
    ax.loglog(
        a[a > 2],
        REFERENCE_CONSTANT / a[a > 2],
        ":",
        color="tab:red",
        label=f"reference {REFERENCE_CONSTANT}/alpha",
    )
    amp = results["amp"]
    ax.errorbar(
        [p["alpha"] for p in amp],
        [p["test_error"] for p in amp],
        yerr=[p["test_error_sd"] for p in amp],
        fmt="o",
        color="tab:orange",
        capsize=3,
        label=f"GAMP, N = {amp[0]['n']} (test error)",
    )
    ax.set_xlabel(r"$\alpha$")
    ax.set_ylabel("Bayes-optimal generalisation error")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    la = results["large_alpha"]
    ax2.semilogx(
        la["alpha"],
        la["alpha_times_error"],
        "o-",
        color="tab:blue",
        label=r"$\alpha\,\epsilon(\alpha)$, state evolution",
    )
    ax2.axhline(REFERENCE_CONSTANT, ls=":", color="tab:red", label=f"{REFERENCE_CONSTANT}")
    ax2.set_xlabel(r"$\alpha$")
    ax2.set_ylabel(r"$\alpha \times$ error")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    fig.suptitle(
        f"Gaussian teacher, sign channel ({'quick' if results['quick'] else 'full'} run)",
        fontsize=11,
    )
    return fig


def table(results):
    se = results["state_evolution"]
    la = results["large_alpha"]
    return "\n\n".join(
        [
            format_table(
                ["alpha", "Bayes error (SE)"],
                [[f"{a:.3f}", f"{e:.5f}"] for a, e in zip(se["alpha"], se["bayes_error"])],
                title="state evolution",
            ),
            format_table(
                ["alpha", "alpha * error"],
                [[f"{a:g}", f"{p:.4f}"] for a, p in zip(la["alpha"], la["alpha_times_error"])],
                title=f"large alpha (reference constant {REFERENCE_CONSTANT})",
            ),
            format_table(
                ["alpha", "GAMP test error"],
                [
                    [f"{p['alpha']:g}", pm(p["test_error"], p["test_error_sd"])]
                    for p in results["amp"]
                ],
                title="GAMP",
            ),
        ]
    )
