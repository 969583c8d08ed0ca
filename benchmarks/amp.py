"""GLM speed: one GAMP iteration against its two matrix-vector products; state evolution at one
alpha; derivation + compilation of a GLM in a fresh process, cold and warm.

(a) GAMP (``numerics.amp``, scalar variances) for a Gaussian teacher and the sign channel
    (its posterior never collapses, so every run does exactly ``max_iter`` iterations;
    ``tol=1e-300``). One iteration is timed as the difference of the runs with ``--k1`` and
    ``--k2`` iterations divided by ``k2 - k1``, which removes the setup (``sum(X * X)``,
    the cached derivation); the baseline is ``X @ v`` plus ``X.T @ u`` on the same matrix.
    Target: ratio <= 1.5.
(b) ``numerics.state_evolution`` at one alpha once its kernels are compiled (a first call at
    the same alpha compiles or loads them). Target < 0.1 s.
(c) ``derive.denoisers`` + ``derive.state_evolution`` and their compilation (the denoiser
    kernels GAMP uses, the SE kernel at its first rung) in a fresh interpreter with an empty
    ``CAVITYLAB_CACHE`` (cold), then in a second fresh interpreter on the same directory
    (warm: generated modules and numba machine code on disk). Imports are timed apart.
    Target: warm < 1 s. ``--profile`` prints the top of a cProfile of the warm run.

BLAS is limited to one thread as in the test suite (``--threads`` to change it): on the
two-core machines of this project multi-threaded OpenBLAS is pathologically slow.

    python benchmarks/amp.py [--n 4000] [--alpha 2] [--k1 5] [--k2 25] [--repeat 3]
        [--threads 1] [--profile]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
from timing import best_of

ROOT = Path(__file__).resolve().parent.parent


def limit_threads(n):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scipy's stack
        return None
    return threadpool_limits(limits=n, user_api="blas")


def models():
    import sympy as sp

    from derive import GLM, Channel, Prior

    rademacher = GLM(Prior.discrete({-1: sp.Rational(1, 2), 1: sp.Rational(1, 2)}), Channel.sign())
    gaussian = GLM(Prior.gaussian(), Channel.sign())
    return rademacher, gaussian


def gamp_iteration(args):
    import derive
    import numerics

    _, glm = models()
    data = numerics.teacher_student(glm, args.n, args.alpha, seed=0)
    X, y = data.X, data.y
    M, N = X.shape
    numerics.amp(glm, X[:50, :25], y[:50], max_iter=2)  # derive + compile outside the timing

    def run(k):
        res = numerics.amp(glm, X, y, max_iter=k, tol=1e-300)
        assert res.iterations == k, res.message

    t1 = best_of(lambda: run(args.k1), args.repeat)
    t2 = best_of(lambda: run(args.k2), args.repeat)
    per_iteration = (t2 - t1) / (args.k2 - args.k1)

    v, u = np.random.default_rng(1).normal(size=N), np.random.default_rng(2).normal(size=M)
    reps = 20
    matvec = best_of(lambda: [(X @ v, X.T @ u) for _ in range(reps)], args.repeat) / reps

    # where the rest goes: the two denoiser calls on arrays of the iteration's sizes
    eqs = derive.denoisers(glm)  # the same derivation GAMP compiles (memoised by content)
    channel = numerics.compile(eqs.select("g_out", "dg_out"))
    prior = numerics.compile(eqs.select("f_a", "f_v"))
    omega, V = X @ (0.5 * data.w_star), np.full(M, 0.5)
    A, B = np.full(N, 2.0), X.T @ y
    t_channel = (
        best_of(lambda: [channel.array(y=y, omega=omega, V=V) for _ in range(reps)], args.repeat)
        / reps
    )
    t_prior = best_of(lambda: [prior.array(A=A, B=B) for _ in range(reps)], args.repeat) / reps
    print(
        f"(a) GAMP, Gaussian prior + sign channel, N = {N}, M = {M} (alpha = {args.alpha}), "
        f"BLAS threads = {args.threads}"
    )
    print(
        f"    one iteration           : {per_iteration * 1e3:8.2f} ms "
        f"(runs of {args.k1} and {args.k2} iterations: {t1:.3f} s, {t2:.3f} s)"
    )
    print(f"    X @ v + X.T @ u         : {matvec * 1e3:8.2f} ms")
    print(f"    ratio                   : {per_iteration / matvec:8.2f}   (target <= 1.5)")
    print(
        f"    of which denoisers      : channel {t_channel * 1e3:.2f} ms (M = {M}), "
        f"prior {t_prior * 1e3:.2f} ms (N = {N})"
    )


def se_one_alpha(args):
    import numerics

    rademacher, gaussian = models()
    print("(b) state evolution at one alpha, kernels compiled (first call at the same alpha)")
    for name, glm, alpha in (
        ("Rademacher + sign", rademacher, 1.0),
        ("Gaussian + sign", gaussian, args.alpha),
    ):
        t0 = time.perf_counter()
        first = numerics.state_evolution(glm, alpha)
        t_first = time.perf_counter() - t0
        t = best_of(lambda: numerics.state_evolution(glm, alpha), args.repeat)  # noqa: B023
        other = best_of(lambda: numerics.state_evolution(glm, 1.1 * alpha), 1)  # noqa: B023
        print(
            f"    {name:18s} alpha = {alpha:4.2f}: {t * 1e3:7.1f} ms  (target < 100 ms; "
            f"{first.iterations} iterations; first call {t_first:.2f} s; at 1.1 alpha "
            f"{other * 1e3:.1f} ms)"
        )


_CHILD = textwrap.dedent("""
    import sys, time, json
    t0 = time.perf_counter()
    import sympy as sp
    import derive, numerics
    t_import = time.perf_counter() - t0
    glm = derive.GLM(derive.Prior.discrete({-1: sp.Rational(1, 2), 1: sp.Rational(1, 2)}),
                     derive.Channel.sign())
    def work():
        times = {}
        t = time.perf_counter(); eqs = derive.denoisers(glm)
        times["derive denoisers"] = time.perf_counter() - t
        t = time.perf_counter()
        numerics.compile(eqs.select("f_a", "f_v")); numerics.compile(eqs.select("g_out", "dg_out"))
        times["compile denoisers"] = time.perf_counter() - t
        t = time.perf_counter(); se = derive.state_evolution(glm)
        times["derive state evolution"] = time.perf_counter() - t
        t = time.perf_counter(); numerics.compile(se, order=241)
        times["compile state evolution"] = time.perf_counter() - t
        return times
    if "--profile" in sys.argv:
        import cProfile, pstats
        prof = cProfile.Profile(); prof.enable(); times = work(); prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    else:
        times = work()
    print(json.dumps({"import": t_import, **times}))
""")


def cold_warm(args):
    print("(c) derivation + compilation of the binary perceptron GLM in a fresh interpreter")
    with tempfile.TemporaryDirectory(prefix="clcache_bench_") as cache:
        env = dict(os.environ, CAVITYLAB_CACHE=cache)
        rows = {}
        for label in ("cold", "warm"):
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", _CHILD],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            wall = time.perf_counter() - t0
            rows[label] = json.loads(out.stdout.strip().splitlines()[-1])
            rows[label]["process wall"] = wall
        keys = list(rows["cold"])
        print(f"    {'':26s} {'cold':>8s} {'warm':>8s}")
        for k in keys:
            print(f"    {k:26s} {rows['cold'][k]:8.2f} {rows['warm'][k]:8.2f}  s")
        work = {
            label: sum(v for k, v in r.items() if k not in ("import", "process wall"))
            for label, r in rows.items()
        }
        print(
            f"    {'derivation + compilation':26s} {work['cold']:8.2f} {work['warm']:8.2f}  s"
            "   (target: warm < 1 s)"
        )
        if args.profile:
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, "--profile"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            print("    cProfile of a warm run (cumulative):")
            print(textwrap.indent(out.stderr, "      "))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--alpha", type=float, default=2.0)
    parser.add_argument("--k1", type=int, default=5)
    parser.add_argument("--k2", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--only", choices=("a", "b", "c"), default=None)
    args = parser.parse_args()
    os.environ["CAVITYLAB_BLAS_THREADS"] = str(args.threads)  # children inherit it
    limit_threads(args.threads)
    if args.only in (None, "a"):
        gamp_iteration(args)
    if args.only in (None, "b"):
        se_one_alpha(args)
    if args.only in (None, "c"):
        cold_warm(args)


if __name__ == "__main__":
    main()
