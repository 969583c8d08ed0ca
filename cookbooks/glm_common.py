"""What the teacher-student recipes share: SE curves, AMP runs and their test errors.

Every loop runs through :func:`numerics.sweep`, one coarse point per task (one ``alpha`` of a
state-evolution curve, one sampled instance): ``cavitylab run NAME --workers N`` runs them in
parallel and ``--checkpoint DIR`` makes them resumable (each sweep is named, its checkpoint
is ``DIR/<name>.jsonl``). The tasks are module-level functions with their fixed arguments
bound by ``functools.partial`` (GLM models print by content, so a checkpoint written by one
process is recognised by the next); a sampled instance takes the sweep's child seed, which
depends only on the recipe's ``--seed`` and the point's position in the grid.
"""

import functools

import numpy as np

import numerics

from .errors import CookbookError
from .report import progress, run_sweep

__all__ = ["se_curve", "se_point", "amp_point", "amp_points", "test_error", "run_sweep"]


def se_point(glm, init, params, alpha):
    """State evolution at one ``alpha`` from ``init``: a :func:`numerics.sweep` task."""
    r = numerics.state_evolution(glm, alpha, init=init, params=params)
    return dict(
        alpha=float(alpha),
        overlap=r.overlap,
        mse=r.mse,
        bayes_error=r.generalization_error,
        gibbs_error=r.gibbs_error,
        free_entropy=r.free_entropy,
        converged=r.converged,
        iterations=r.iterations,
    )


def se_curve(glm, alphas, init, *, name, sweeps, params=None, label=""):
    """State evolution along ``alphas`` from ``init`` (one sweep point per ``alpha``, the
    sweep named ``name``): overlaps, MSE, errors, free entropies, as columns."""
    task = functools.partial(se_point, glm, init, params)
    rows = run_sweep(task, {"alpha": list(alphas)}, name, sweeps)
    progress(f"  state evolution ({label or init}): {len(rows)} values of alpha")
    keys = ("alpha", "overlap", "mse", "bayes_error", "gibbs_error", "free_entropy")
    return {k: [row[k] for row in rows] for k in (*keys, "converged", "iterations")}


def test_error(w_hat, w_star, n_test, rng):
    """Sign-classification error of ``sign(x . w_hat)`` against ``sign(x . w_star)`` on fresh
    Gaussian inputs, with its binomial standard error: a simulation, not a formula."""
    X = rng.normal(size=(n_test, w_star.size)) / np.sqrt(w_star.size)
    wrong = np.sign(X @ w_hat) != np.sign(X @ w_star)
    p = float(wrong.mean())
    return p, float(np.sqrt(max(p * (1 - p), 1.0 / n_test) / n_test))


def amp_point(
    glm,
    n,
    alpha,
    seed,
    params=None,
    n_test=None,
    algorithms=("amp",),
    condition_number=None,
    **options,
):
    """Sample one teacher-student instance from ``seed`` and run each of ``algorithms``
    (``"amp"``, ``"vamp"``) on it; a :func:`numerics.sweep` task (one instance per point).

    Returns
    -------
    dict
        ``alpha``, ``n`` and, per algorithm, what it reached: ``converged``, ``iterations``,
        ``message``, ``overlap``, ``mse``, ``history_mse`` and, with ``n_test``, the test
        error of ``sign(x . w_hat)`` on ``n_test`` fresh inputs (drawn from a stream of
        ``seed`` independent of the instance's).
    """
    data = numerics.teacher_student(
        glm, n, alpha, seed=seed, params=params, condition_number=condition_number
    )
    out = dict(alpha=float(alpha), n=int(n))
    for algorithm in algorithms:
        solve = {"amp": numerics.amp, "vamp": numerics.vamp}.get(algorithm)
        if solve is None:
            raise CookbookError(f"unknown algorithm {algorithm!r}; the algorithms are amp, vamp")
        r = solve(glm, data.X, data.y, params=params, truth=data.w_star, **options)
        run = dict(
            converged=bool(r.converged),
            iterations=int(r.iterations),
            message=r.message,
            overlap=float(r.estimate @ data.w_star / n),
            mse=float(np.mean((r.estimate - data.w_star) ** 2)),
            history_mse=r.history["mse"],
        )
        if n_test:
            rng = np.random.default_rng([seed, 1])
            err, sd = test_error(r.estimate, data.w_star, n_test, rng)
            run.update(test_error=err, test_error_sd=sd)
        out[algorithm] = run
    return out


def amp_points(glm, n, grid, *, name, sweeps, seed, **options):
    """:func:`amp_point` at every point of ``grid`` (keywords of :func:`amp_point`: ``alpha``,
    ``condition_number``), one sampled instance per point, its seed the sweep's child seed of
    the recipe's ``seed``; the other keywords (``params``, ``n_test``, ``algorithms``, the
    solvers' options) are bound to the task."""
    task = functools.partial(amp_point, glm, n, **options)
    return run_sweep(task, grid, name, sweeps, seed=int(seed))
