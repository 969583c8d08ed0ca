"""What the teacher-student recipes share: SE curves, AMP runs and their test errors."""

import numpy as np

import numerics

from .report import progress

__all__ = ["se_curve", "amp_point", "test_error"]


def se_curve(glm, alphas, init, params=None, label=""):
    """State evolution along ``alphas`` from ``init``: overlaps, MSE, errors, free entropies."""
    rows = []
    for alpha in alphas:
        r = numerics.state_evolution(glm, alpha, init=init, params=params)
        rows.append(
            dict(
                alpha=float(alpha),
                overlap=r.overlap,
                mse=r.mse,
                bayes_error=r.generalization_error,
                gibbs_error=r.gibbs_error,
                free_entropy=r.free_entropy,
                converged=r.converged,
                iterations=r.iterations,
            )
        )
    progress(f"  state evolution ({label or init}): {len(rows)} values of alpha")
    return {k: [row[k] for row in rows] for k in rows[0]}


def test_error(w_hat, w_star, n_test, rng):
    """Sign-classification error of ``sign(x . w_hat)`` against ``sign(x . w_star)`` on fresh
    Gaussian inputs, with its binomial standard error: a simulation, not a formula."""
    X = rng.normal(size=(n_test, w_star.size)) / np.sqrt(w_star.size)
    wrong = np.sign(X @ w_hat) != np.sign(X @ w_star)
    p = float(wrong.mean())
    return p, float(np.sqrt(max(p * (1 - p), 1.0 / n_test) / n_test))


def amp_point(glm, n, alpha, seed, params=None, n_test=None, algorithm="amp", **options):
    """Sample a teacher-student instance, run AMP (or VAMP), report what it reached."""
    data = numerics.teacher_student(
        glm,
        n,
        alpha,
        seed=seed,
        params=params,
        condition_number=options.pop("condition_number", None),
    )
    solve = numerics.amp if algorithm == "amp" else numerics.vamp
    r = solve(glm, data.X, data.y, params=params, truth=data.w_star, **options)
    out = dict(
        alpha=float(alpha),
        n=int(n),
        converged=bool(r.converged),
        iterations=int(r.iterations),
        message=r.message,
        overlap=float(r.estimate @ data.w_star / n),
        mse=float(np.mean((r.estimate - data.w_star) ** 2)),
        history_mse=r.history["mse"],
    )
    if n_test:
        err, sd = test_error(r.estimate, data.w_star, n_test, np.random.default_rng(seed + 1))
        out.update(test_error=err, test_error_sd=sd)
    return out
