"""ERM speed: a 50-point learning curve from the saddle point; one fit of the simulation side
against scikit-learn on the same data.

(a) ``numerics.erm`` at 50 values of ``alpha = n/p`` in [0.2, 5] (erf features, ``gamma =
    1/2``, sign teacher), square and logistic loss at ``lam = 1e-2`` (and ``1e-4``), once the
    kernels are compiled (a first call compiles or loads them; its time is reported apart).
    Target: seconds per curve.
(b) ``numerics.erm_simulation`` with one seed: the time of its fit (``fit_seconds``: normal
    equations for the square loss, L-BFGS with the compiled loss for the logistic), against
    scikit-learn's ``Ridge(alpha=lam)`` / ``LogisticRegression(C=1/lam)`` (no intercept) on
    the same data (drawn again by ``numerics.hidden_manifold`` from the same child seed, with
    the features scaled by ``1/sqrt(p)`` as in the estimator). The two test errors are
    printed to show that the fits agree. Target: not slower. Skipped without scikit-learn.

BLAS is limited to one thread as in the test suite (``--threads`` to change it).

    python benchmarks/erm.py [--points 50] [--p 400] [--alpha 2] [--repeat 3] [--threads 1]
"""

import argparse
import json
import math
import time

import numpy as np
import sympy as sp
from timing import best_of


def limit_threads(n):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return None
    return threadpool_limits(limits=n, user_api="blas")


def curves(points, repeat):
    import numerics
    from derive import Channel, Loss

    u = sp.Symbol("u", real=True)
    alphas = np.geomspace(0.2, 5.0, points)
    out = {}
    for name, loss in (("square", Loss.square()), ("logistic", Loss.logistic())):
        for lam in (1e-2, 1e-4):
            t0 = time.perf_counter()
            numerics.erm(loss, Channel.sign(), sp.erf(u), u, alpha=1.0, gamma=0.5, lam=lam)
            first = time.perf_counter() - t0
            results = []

            def curve(loss=loss, lam=lam, results=results):
                results.clear()
                for a in alphas:
                    results.append(
                        numerics.erm(
                            loss, Channel.sign(), sp.erf(u), u, alpha=a, gamma=0.5, lam=lam
                        )
                    )

            seconds = best_of(curve, repeat)
            out[f"{name}, lam={lam:g}"] = dict(
                first_call_s=round(first, 3),
                curve_s=round(seconds, 3),
                per_point_ms=round(1e3 * seconds / points, 1),
                converged=sum(r.converged for r in results),
                iterations=int(np.median([r.iterations for r in results])),
            )
    return out


def fits(p, alpha, repeat, seed=0):
    import numerics
    from derive import Channel, Loss

    try:
        from sklearn.linear_model import LogisticRegression, Ridge
    except ImportError:
        return {"skipped": "scikit-learn is not installed"}
    u = sp.Symbol("u", real=True)
    f = sp.erf(u)
    lam, gamma, n_test = 1e-2, 0.5, 4000
    n, d = int(round(alpha * p)), int(round(gamma * p))
    out = {}
    for name, loss in (("square", Loss.square()), ("logistic", Loss.logistic())):
        sims = [
            numerics.erm_simulation(
                loss,
                Channel.sign(),
                f,
                u,
                alpha=alpha,
                gamma=gamma,
                lam=lam,
                features=p,
                seeds=1,
                seed=seed,
                test_samples=n_test,
            )
            for _ in range(repeat)
        ]
        ours = min(s.fit_seconds for s in sims)
        child = np.random.SeedSequence(seed).spawn(1)[0]
        data = numerics.hidden_manifold(n + n_test, d, p, f, u, Channel.sign(), seed=child)
        X, y = data.X / math.sqrt(p), data.y
        if name == "square":
            model = Ridge(alpha=lam, fit_intercept=False, solver="auto")
        else:
            model = LogisticRegression(
                C=1 / lam, fit_intercept=False, solver="lbfgs", tol=1e-8, max_iter=10000
            )
        theirs = best_of(lambda m=model, A=X[:n], b=y[:n]: m.fit(A, b), repeat)
        pred = X[n:] @ model.coef_.ravel()
        out[name] = dict(
            n=n,
            p=p,
            ours_s=round(ours, 4),
            sklearn_s=round(theirs, 4),
            ratio=round(ours / theirs, 2),
            test_error_ours=sims[0].test_error,
            test_error_sklearn=float(np.mean(y[n:] * pred < 0)),
        )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--p", type=int, default=400)
    parser.add_argument("--alpha", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    limit_threads(args.threads)
    report = dict(
        curves=curves(args.points, max(1, args.repeat - 2)),
        fits=fits(args.p, args.alpha, args.repeat),
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
