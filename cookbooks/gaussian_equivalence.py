r"""Recipe ``gaussian-equivalence``: GET moments of nonlinearities, and the GET covariance on
hidden-manifold data.

* Moments :math:`(a, b, c) = (\mathbb{E} f, \mathbb{E}\, u f, \mathbb{E} f^2)`,
  :math:`u \sim N(0, 1)`, of ``sign``, ReLU, ``erf(u / sqrt 2)``, ``tanh``, the sigmoid and
  softplus: derived by :func:`derive.get_moments` (closed forms where the Gaussian rules close,
  quadrature nodes otherwise), evaluated by :func:`numerics.get_moments`, against Monte Carlo
  averages over Gaussian samples (Mei & Montanari, arXiv:1908.05335; Goldt, Mézard, Krzakala,
  Zdeborová, PRX 10, 041044 (2020), arXiv:1909.11500).
* The Gaussian equivalence theorem on hidden-manifold data (:func:`numerics.hidden_manifold`,
  Gaussian and orthogonal features): the covariance of student pre-activations predicted from
  :math:`(a, b, c)` and the features, :math:`(c - a^2 - b^2) W + b^2 \Sigma`
  (:func:`numerics.get_covariance`), against the one measured on the data, for two random
  students and two in the span of the features; and the prediction that treats the features
  as independent, :math:`(c - a^2) W`, which the latent structure breaks.

* The learning curve of ridge regression on hidden-manifold data (sign teacher on the latent,
  ``f = tanh``, ``d/p = 1/2``, ``lam = 1e-2``): the test error of fits on sampled data
  (:func:`numerics.erm_simulation`) against the replica saddle point of the Gaussian
  equivalent model, in which only :math:`(a, b, c)` and the spectrum of the features enter
  (:func:`numerics.erm`; Gerace, Loureiro, Krzakala, Mézard, Zdeborová, arXiv:2002.09339).

Every part runs through :func:`numerics.sweep` (``gaussian-equivalence-moments``,
``-covariance``, ``-curve-theory``, ``-curve-simulation``), each point from its child seed of
``--seed``.
"""

import functools
import time
from pathlib import Path

import numpy as np
import sympy as sp

import derive
import numerics

from .report import figure, finish, format_table, pm, progress, run_sweep

__all__ = ["NAME", "SUMMARY", "run", "table", "nonlinearity", "NONLINEARITIES"]

NAME = "gaussian-equivalence"
SUMMARY = (
    "GET moments (a, b, c) of sign, relu, erf, tanh, sigmoid, softplus (exact / quadrature "
    "vs Monte Carlo); the GET covariance on hidden-manifold data vs measurement; ridge "
    "learning curve on hidden-manifold data vs the Gaussian equivalent model"
)

U = sp.Symbol("u", real=True)

#: The nonlinearities of the moment table, by name (``erf`` is ``erf(u / sqrt 2)``, the
#: convention of Goldt et al.; ``erf(u)`` is another function).
NONLINEARITIES = ("sign", "relu", "erf", "tanh", "sigmoid", "softplus")

SETTINGS = {
    False: dict(
        mc_samples=4_000_000,
        hm=dict(samples=40_000, latent=100, features=400),
        covariance=("sign", "relu", "erf", "tanh"),
        curve=dict(theory=np.linspace(0.2, 4, 39), simulation=np.linspace(0.4, 4, 10)),
        simulation=dict(features=400, seeds=10),
    ),
    True: dict(
        mc_samples=200_000,
        hm=dict(samples=4_000, latent=50, features=100),
        covariance=("sign", "relu", "tanh"),
        curve=dict(theory=np.linspace(0.2, 4, 20), simulation=np.array([0.5, 1.0, 2.0, 3.0])),
        simulation=dict(features=100, seeds=4),
    ),
}


#: The learning curve: ridge regression (square loss) of sign-teacher labels on hidden-manifold
#: features f = tanh, latent dimension d = GAMMA p, penalty LAM.
CURVE = dict(name="tanh", gamma=0.5, lam=1e-2)


def nonlinearity(name):
    """The sympy expression of a named nonlinearity, in the symbol ``u``."""
    table = {
        "sign": sp.sign(U),
        "relu": sp.Max(0, U),
        "erf": sp.erf(U / sp.sqrt(2)),
        "tanh": sp.tanh(U),
        "sigmoid": 1 / (1 + sp.exp(-U)),
        "softplus": sp.log(1 + sp.exp(U)),
    }
    return table[name]


def moment_point(name, samples, seed):
    """Derived, evaluated and Monte Carlo moments of one nonlinearity (a sweep task)."""
    f = nonlinearity(name)
    t0 = time.perf_counter()
    symbolic = derive.get_moments(f, U)
    t_derive = time.perf_counter() - t0
    t0 = time.perf_counter()
    numeric = numerics.get_moments(f, U)
    t_numeric = time.perf_counter() - t0
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(samples)
    x = numerics.evaluate_nonlinearity(f, U, u)
    draws = (x, u * x, x * x)
    return dict(
        f=str(f),
        symbolic=[str(m) for m in symbolic],
        exact=list(numeric.exact),
        theory=list(numeric.astuple()),
        theory_error=list(numeric.errors),
        converged=numeric.converged,
        kappa_star_squared=numeric.kappa_star_squared,
        mc=[float(d.mean()) for d in draws],
        mc_error=[float(d.std(ddof=1) / np.sqrt(samples)) for d in draws],
        samples=samples,
        seconds_derive=t_derive,
        seconds_numeric=t_numeric,
    )


def students(F, rng):
    """Two random students and two in the span of the features (``w = v F / sqrt D``), for
    which :math:`\\Sigma` differs most from :math:`W`."""
    D, N = F.shape
    return np.vstack([rng.standard_normal((2, N)), rng.standard_normal((2, D)) @ F / np.sqrt(D)])


def covariance_point(name, kind, samples, latent, features, seed):
    """GET covariance vs measurement on one hidden-manifold data set (a sweep task)."""
    f = nonlinearity(name)
    moments = numerics.get_moments(f, U, strict=True)
    seeds = np.random.SeedSequence(seed).spawn(2)
    data = numerics.hidden_manifold(
        samples=samples,
        latent=latent,
        features=features,
        f=f,
        variable=U,
        teacher=derive.Channel.sign(),
        seed=seeds[0],
        features_kind=kind,
    )
    W = students(data.F, np.random.default_rng(seeds[1]))
    predicted = numerics.get_covariance(W, data.F, moments)
    measured, error = numerics.measured_covariance(W, data.X, moments.a)
    naive = (moments.c - moments.a**2) * W @ W.T / W.shape[1]
    iu = np.triu_indices(len(W))
    return dict(
        predicted=predicted[iu].tolist(),
        measured=measured[iu].tolist(),
        standard_error=error[iu].tolist(),
        independent=naive[iu].tolist(),
        max_z=float(np.max(np.abs((measured - predicted) / error)[iu])),
        max_z_independent=float(np.max(np.abs((measured - naive) / error)[iu])),
        samples=samples,
        latent=latent,
        features=features,
    )


def theory_point(alpha, name, gamma, lam):
    """The test error of ridge regression from the replica saddle point of the Gaussian
    equivalent model (:func:`numerics.erm`, Gerace et al., arXiv:2002.09339)."""
    r = numerics.erm(
        derive.Loss.square(), derive.Channel.sign(), nonlinearity(name), U,
        alpha=alpha, gamma=gamma, lam=lam,
    )  # fmt: skip
    return dict(
        test_error=r.test_error, train_error=r.train_error, converged=r.converged,
        message=r.message,
    )  # fmt: skip


def simulation_point(alpha, name, gamma, lam, features, seeds, seed):
    """The same estimator fitted on sampled hidden-manifold data
    (:func:`numerics.erm_simulation`), averaged over ``seeds`` draws."""
    s = numerics.erm_simulation(
        derive.Loss.square(), derive.Channel.sign(), nonlinearity(name), U,
        alpha=alpha, gamma=gamma, lam=lam, features=features, seeds=seeds, seed=seed,
    )  # fmt: skip
    return dict(
        test_error=s.test_error,
        test_error_sem=s.test_error_std / np.sqrt(seeds),
        train_error=s.train_error,
        converged=s.converged,
        features=features,
        seeds=seeds,
    )


def run(quick=False, out=None, seed=0):
    """Run the recipe; writes ``out/gaussian-equivalence.json`` and ``.png``."""
    start = time.perf_counter()
    cfg = SETTINGS[bool(quick)]
    out = Path(out) if out is not None else Path("results") / NAME
    counts = {}
    moments = run_sweep(
        functools.partial(moment_point, samples=cfg["mc_samples"]),
        {"name": list(NONLINEARITIES)},
        "moments",
        counts=counts,
        recipe=NAME,
        seed=seed,
    )
    for row in moments:
        progress(
            f"[{NAME}] {row['name']}: (a, b, c) = "
            + ", ".join(f"{v:.6f}" for v in row["theory"])
            + f" ({'exact' if all(row['exact']) else 'quadrature'}; derived in "
            f"{row['seconds_derive']:.2f} s)"
        )
    covariance = run_sweep(
        functools.partial(covariance_point, **cfg["hm"]),
        {"name": list(cfg["covariance"]), "kind": ["gaussian", "orthogonal"]},
        "covariance",
        counts=counts,
        recipe=NAME,
        seed=seed + 1,
    )
    for row in covariance:
        progress(
            f"[{NAME}] GET covariance, {row['name']}, {row['kind']} features: max |z| "
            f"{row['max_z']:.2f} (independent features: {row['max_z_independent']:.1f})"
        )
    theory = run_sweep(
        functools.partial(theory_point, **CURVE),
        {"alpha": sorted({round(float(a), 9) for c in cfg["curve"].values() for a in c})},
        "curve-theory",
        counts=counts,
        recipe=NAME,
        seed=seed + 2,
    )
    simulation = run_sweep(
        functools.partial(simulation_point, **CURVE, **cfg["simulation"]),
        {"alpha": [float(a) for a in cfg["curve"]["simulation"]]},
        "curve-simulation",
        counts=counts,
        recipe=NAME,
        seed=seed + 3,
    )
    for row in simulation:
        progress(
            f"[{NAME}] ridge on hidden-manifold data, alpha = {row['alpha']:g}: test error "
            f"{pm(row['test_error'], row['test_error_sem'])}"
        )
    results = dict(
        recipe=NAME,
        quick=bool(quick),
        seed=int(seed),
        conventions=dict(
            moments="a = E f(u), b = E u f(u), c = E f(u)^2, u ~ N(0, 1)",
            erf="erf(u / sqrt 2)",
            covariance="lambda_k = w_k . (x - a) / sqrt(N); GET: (c - a^2 - b^2) W + b^2 Sigma; "
            "independent features: (c - a^2) W; z = (measured - predicted) / standard error",
            features="columns rescaled to squared norm D (u exactly standard normal)",
        ),
        reference_moments=dict(
            relu=[1 / np.sqrt(2 * np.pi), 0.5, 0.5],
            sign=[0.0, np.sqrt(2 / np.pi), 1.0],
            erf=[0.0, 1 / np.sqrt(np.pi), 1 / 3],
        ),
        moments=moments,
        covariance=covariance,
        learning_curve=dict(
            setting=dict(
                loss="square (ridge)",
                teacher="sign",
                f=str(nonlinearity(CURVE["name"])),
                gamma=CURVE["gamma"],
                lam=CURVE["lam"],
                error="classification test error of sign(x . w / sqrt p)",
            ),
            theory=theory,
            simulation=simulation,
        ),
        sweeps=dict(counts=counts),
    )
    return finish(NAME, results, out, plot, start)


def plot(results):
    """(a) Moments: theory (bars) and Monte Carlo (points, 2 standard errors); (b) their
    difference in standard errors; (c) measured against predicted pre-activation covariances;
    (d) the learning curve: theory of the Gaussian equivalent model against fits on data."""
    fig, (ax, ax_z, ax2, ax3) = figure(ncols=2, nrows=2, width=5.6, height=4.4)
    rows = results["moments"]
    x = np.arange(len(rows))
    for k, (label, colour) in enumerate(
        zip(("a = E f", "b = E u f", "c = E f²"), ("tab:blue", "tab:orange", "tab:green"))
    ):
        theory = [r["theory"][k] for r in rows]
        mc = [r["mc"][k] for r in rows]
        err = [2 * r["mc_error"][k] for r in rows]
        ax.bar(x + (k - 1) * 0.27, theory, width=0.25, color=colour, alpha=0.45, label=label)
        ax.errorbar(x + (k - 1) * 0.27, mc, yerr=err, fmt="k.", ms=4, capsize=2)
    ax.errorbar([], [], yerr=[], fmt="k.", label=f"Monte Carlo ({rows[0]['samples']:.0e}, ± 2σ)")
    ax.set_xticks(x, [r["name"] + ("" if all(r["exact"]) else "*") for r in rows])
    ax.set_title("GET moments (* = by quadrature, else exact)")
    ax.legend(fontsize=8)
    for k, (label, colour) in enumerate(zip("abc", ("tab:blue", "tab:orange", "tab:green"))):
        z = [
            (r["mc"][k] - r["theory"][k]) / r["mc_error"][k] if r["mc_error"][k] > 0 else 0.0
            for r in rows
        ]
        ax_z.plot(x + (k - 1) * 0.2, z, "o", color=colour, label=label)
    ax_z.axhspan(-2, 2, color="0.9", label="± 2 standard errors")
    ax_z.axhline(0, color="k", lw=0.8)
    ax_z.set_xticks(x, [r["name"] for r in rows])
    ax_z.set_ylabel("(Monte Carlo - theory) / standard error")
    ax_z.set_title("moments: Monte Carlo against theory")
    ax_z.legend(fontsize=8)
    lo, hi = np.inf, -np.inf
    for row in results["covariance"]:
        p, m = np.array(row["predicted"]), np.array(row["measured"])
        e, ind = np.array(row["standard_error"]), np.array(row["independent"])
        marker = "o" if row["kind"] == "gaussian" else "s"
        ax2.errorbar(
            p, m, yerr=2 * e, fmt=marker, ms=4, capsize=2, label=f"{row['name']}, {row['kind']}"
        )
        ax2.plot(ind, m, marker, ms=3, color="0.7")
        lo, hi = min(lo, p.min(), ind.min(), m.min()), max(hi, p.max(), ind.max(), m.max())
    ax2.plot([], [], "o", ms=3, color="0.7", label="independent features, (c - a²) W")
    ax2.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax2.set_xlabel("predicted E[λ_k λ_l]")
    ax2.set_ylabel("measured on hidden-manifold data")
    hm = results["covariance"][0]
    ax2.set_title(f"GET covariance, n = {hm['samples']}, D = {hm['latent']}, N = {hm['features']}")
    ax2.legend(fontsize=7)
    curve = results.get("learning_curve")
    if curve:
        th, sim = curve["theory"], curve["simulation"]
        ax3.plot(
            [r["alpha"] for r in th], [r["test_error"] for r in th], color="tab:blue",
            label="Gaussian equivalent model (replica saddle point)",
        )  # fmt: skip
        ax3.errorbar(
            [r["alpha"] for r in sim], [r["test_error"] for r in sim],
            yerr=[2 * r["test_error_sem"] for r in sim], fmt="o", color="tab:orange",
            capsize=3,
            label=f"hidden-manifold data, p = {sim[0]['features']} ({sim[0]['seeds']} seeds, ± 2σ)",
        )  # fmt: skip
        st = curve["setting"]
        ax3.set_title(f"ridge, λ = {st['lam']}, f = {st['f']}, d/p = {st['gamma']}, sign teacher")
        ax3.set_xlabel("alpha = n / p")
        ax3.set_ylabel("test classification error")
        ax3.legend(fontsize=8)
    else:
        ax3.set_axis_off()
    return fig


def table(results):
    """The moment table and the covariance check."""
    rows = []
    for r in results["moments"]:
        rows.append(
            [
                r["name"],
                "exact" if all(r["exact"]) else "quadrature",
                *(f"{t:.8f}" for t in r["theory"]),
                *(pm(m, e, 5) for m, e in zip(r["mc"], r["mc_error"])),
                f"{r['kappa_star_squared']:.6f}",
                f"{r['seconds_derive']:.2f}",
            ]
        )
    first = format_table(
        ["f", "how", "a", "b", "c", "a (MC)", "b (MC)", "c (MC)", "kappa*^2", "derive s"],
        rows,
        title="GET moments, u ~ N(0, 1)",
    )
    second = format_table(
        ["f", "features", "max |z| GET", "max |z| independent"],
        [
            [r["name"], r["kind"], f"{r['max_z']:.2f}", f"{r['max_z_independent']:.1f}"]
            for r in results["covariance"]
        ],
        title="pre-activation covariance: measured vs predicted (z in standard errors)",
    )
    parts = [first, second]
    curve = results.get("learning_curve")
    if curve:
        theory = {round(r["alpha"], 9): r["test_error"] for r in curve["theory"]}
        rows = []
        for r in curve["simulation"]:
            t = theory.get(round(r["alpha"], 9))
            rows.append(
                [f"{r['alpha']:g}", pm(r["test_error"], r["test_error_sem"]),
                 "-" if t is None else f"{t:.4f}"]
            )  # fmt: skip
        parts.append(
            format_table(
                ["alpha", "test error (data)", "theory (GET)"],
                rows,
                title="ridge on hidden-manifold data vs the Gaussian equivalent model",
            )  # fmt: skip
        )
    return "\n\n".join(parts)
