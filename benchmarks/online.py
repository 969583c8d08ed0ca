"""Online learning: the SGD simulator against hand-written loops; the Saad-Solla ODEs.

1. Samples per second of ``numerics.online_sgd`` (erf(u/sqrt 2), K = M = 2, N = 10000, iid
   inputs) against a hand-written numba loop doing the same work (one Gaussian sample per step
   drawn inside the loop, teacher and student fields, math.erf, the update) and a plain numpy
   loop (one sample per step, vectorised over N). The library's figure includes its
   bookkeeping (the test set measured at the start and at the end, 1000 samples).
2. Seconds to integrate the derived ODEs to t = 1000 for K = M = 4, with erf (closed arcsin
   forms) and with tanh (Gaussian quadrature in the kernel): the first call (derivation and
   compilation included, or loaded from the disk cache) and a second call (integration only).

    python benchmarks/online.py [--N 10000] [--t 2.0] [--repeat 3] [--skip-ode] [--t-ode 1000]
"""

import argparse
import functools
import math
import time

import numba
import numpy as np
import sympy as sp
from timing import best_of

import derive
import numerics

U = sp.Symbol("u", real=True)


@numba.njit(cache=True)
def hand_numba(W, B, eta, steps, seed):
    """Online SGD of erf(x/sqrt 2) committee machines, written by hand in numba."""
    np.random.seed(seed)
    K, N = W.shape
    M = B.shape[0]
    x = np.empty(N)
    lam = np.empty(K)
    dg = np.empty(K)
    s2 = math.sqrt(2.0)
    c = math.sqrt(2.0 / math.pi)
    scale = 1.0 / math.sqrt(N)
    for _ in range(steps):
        for i in range(N):
            x[i] = np.random.standard_normal()
        y = 0.0
        for m in range(M):
            acc = 0.0
            for i in range(N):
                acc += B[m, i] * x[i]
            y += math.erf(acc * scale / s2)
        yhat = 0.0
        for k in range(K):
            acc = 0.0
            for i in range(N):
                acc += W[k, i] * x[i]
            lam[k] = acc * scale
            yhat += math.erf(lam[k] / s2)
            dg[k] = c * math.exp(-lam[k] * lam[k] / 2)
        err = y - yhat
        for k in range(K):
            f = eta * scale * dg[k] * err
            for i in range(N):
                W[k, i] += f * x[i]


def plain_numpy(W, B, eta, steps, rng):
    from scipy.special import erf

    N = W.shape[1]
    for _ in range(steps):
        x = rng.standard_normal(N)
        y = erf(B @ x / math.sqrt(2 * N)).sum()
        lam = W @ x / math.sqrt(N)
        err = y - erf(lam / math.sqrt(2)).sum()
        dg = math.sqrt(2 / math.pi) * np.exp(-(lam**2) / 2)
        W += (eta / math.sqrt(N)) * (dg * err)[:, None] * x


def sgd(N, t, repeat):
    g = sp.erf(U / sp.sqrt(2))
    model = derive.CommitteeMachine(student=g, teacher=g, variable=U, K=2, M=2)
    steps = int(t * N)
    run = dict(N=N, eta=0.5, t_max=t, record_every=t, test_size=1000)
    numerics.online_sgd(model, **(run | dict(t_max=2 / N, record_every=1 / N)))  # compile
    lib = best_of(lambda: numerics.online_sgd(model, **run), repeat)
    rng = np.random.default_rng(0)
    W, B = rng.standard_normal((2, N)), rng.standard_normal((2, N))
    hand_numba(W.copy(), B, 0.5, 2, 0)  # compile
    hand = best_of(lambda: hand_numba(W.copy(), B, 0.5, steps, 0), repeat)
    n_np = max(1, steps // 10)
    plain = best_of(lambda: plain_numpy(W.copy(), B, 0.5, n_np, rng), repeat)
    rows = [
        ("numerics.online_sgd", steps / lib),
        ("hand-written numba loop", steps / hand),
        ("plain numpy loop", n_np / plain),
    ]
    print(f"online SGD, erf, K = M = 2, N = {N}, {steps} steps (best of {repeat})")
    for name, rate in rows:
        print(f"  {name:26s} {rate:12.0f} samples/s")
    print(f"  library / hand-written numba = {rows[0][1] / rows[1][1]:.2f} (target >= 0.8)")
    print(f"  library / plain numpy        = {rows[0][1] / rows[2][1]:.1f}")


#: Quadrature nodes per variable by dimension for tanh at K = M = 4 (90 four-dimensional I4
#: applications per right-hand side; one transcendental per node of the innermost loop)
TANH_ORDER = {4: 17, 3: 25, 2: 41}


def ode(t_max=1000.0, K=4, tanh_order=None, rtol=1e-6):
    init = {"Q": np.eye(K), "R": 1e-3 * np.eye(K) + 1e-2, "T": np.eye(K)}
    print(f"Saad-Solla ODEs, K = M = {K}, eta = 0.5, to t = {t_max:g} (RK45, rtol {rtol:g})")
    for name, g, order in (
        ("erf(u/sqrt 2)", sp.erf(U / sp.sqrt(2)), None),
        ("tanh", sp.tanh(U), tanh_order or TANH_ORDER),
    ):
        model = derive.CommitteeMachine(student=g, teacher=g, variable=U, K=K, M=K)
        t0 = time.perf_counter()
        eqs = derive.saad_solla(model)
        kernel = numerics.compile(eqs, order=order)
        first = time.perf_counter() - t0
        times = []
        for _ in range(2):  # the first run also compiles rhs and the resolution check
            t0 = time.perf_counter()
            r = numerics.saad_solla(
                model, eta=0.5, t_max=t_max, init=init, n_points=11, order=order, rtol=rtol
            )
            times.append(time.perf_counter() - t0)
        y = np.array([0.5] * len(kernel.module.STATE))
        p = np.ones(len(kernel.module.RHS_PARAMS))
        out = np.empty_like(y)
        per_call = best_of(functools.partial(kernel.module.rhs, 0.0, y, p, out), 3)
        print(
            f"  {name:14s} derive + compile {first:7.1f} s, integration {times[-1]:8.2f} s "
            f"(first {times[0]:.1f} s), {r.settings['nfev']} evaluations of "
            f"{per_call * 1e3:.3g} ms, eps_g(t_max) = {r.eps_g[-1]:.3g}, "
            f"order {order}, {r.message}"
        )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--N", type=int, default=10000)
    p.add_argument("--t", type=float, default=2.0, help="SGD time (steps / N)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--skip-ode", action="store_true")
    p.add_argument("--t-ode", type=float, default=1000.0, help="ODE time")
    args = p.parse_args()
    numerics.limit_blas_threads(1)
    sgd(args.N, args.t, args.repeat)
    if not args.skip_ode:
        ode(t_max=args.t_ode)


if __name__ == "__main__":
    main()
