"""Hidden-manifold online SGD: the ODEs of numerics.saad_solla_manifold in the seed's setting.

Goldt, Mézard, Krzakala & Zdeborová, PRX 10, 041044 (2020), Sec. V: f = sign, g = erf(x/sqrt 2),
K = M = 2, eta = 0.2, N = 10000, D = 100, first-layer weights and teacher N(0, 1), F i.i.d.
N(0, 1). Prints the seconds to integrate (first call: derivation and compilation included, or
loaded from the disk cache; second call: integration only), eps_g and R along the way, the time
at which the student specialises (the two rows of R first differ by more than 0.5), and, with
``--sim``, online SGD on the same F and weights for comparison.

    python benchmarks/online_manifold.py [--N 10000] [--D 100] [--t 150] [--sim] [--seed 0]
"""

import argparse
import time

import numpy as np
import sympy as sp

import numerics
from derive import CommitteeMachine
from numerics import saad_solla_manifold

U = sp.Symbol("u", real=True)


def specialisation_time(t, R):
    """First time at which a student unit's overlaps with the two teachers differ by > 0.5."""
    gap = np.abs(R[:, :, 0] - R[:, :, 1]).max(axis=1)
    hit = np.nonzero(gap > 0.5)[0]
    return float(t[hit[0]]) if hit.size else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--N", type=int, default=10000)
    parser.add_argument("--D", type=int, default=100)
    parser.add_argument("--t", type=float, default=150.0)
    parser.add_argument("--eta", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sim", action="store_true")
    args = parser.parse_args()
    model = CommitteeMachine(sp.erf(U / sp.sqrt(2)), variable=U, K=2, M=2)
    f = sp.sign(U)
    rng = np.random.default_rng(args.seed)
    F = rng.standard_normal((args.N, args.D))
    init = {"W": rng.standard_normal((2, args.N)), "B": rng.standard_normal((2, args.D))}
    times = []
    for _ in range(2):
        start = time.perf_counter()
        ode = saad_solla_manifold(
            model, f, U, F, args.eta, args.t, init=init, n_points=int(args.t) + 1
        )
        times.append(time.perf_counter() - start)
    print(
        f"ODE N={args.N} D={args.D} t_max={args.t}: first call {times[0]:.2f} s, "
        f"second {times[1]:.2f} s, nfev {ode.settings['nfev']}, {ode.message}"
    )
    print(f"ODE specialisation time t = {specialisation_time(ode.t, ode.R):.1f}")
    sim = None
    if args.sim:
        start = time.perf_counter()
        sim = numerics.online_sgd(
            model,
            N=args.N,
            eta=args.eta,
            t_max=args.t,
            seed=args.seed,
            init=init,
            inputs=numerics.HiddenManifold(args.D, f, U, F),
            record_every=1.0,
            test_size=5000,
        )
        print(f"SGD: {time.perf_counter() - start:.1f} s")
        print(f"SGD specialisation time t = {specialisation_time(sim.t, sim.R):.1f}")
    print("t      eps_g(ODE)  R(ODE)                      " + ("eps_g(SGD)  R(SGD)" if sim else ""))
    for t in sorted({0, 1, 5, 10, 20, 30, 40, 50, 60, 80, 100, 120, 150} | {int(args.t)}):
        if t > args.t:
            continue
        j = int(np.argmin(np.abs(ode.t - t)))
        line = f"{t:5d}  {ode.eps_g[j]:.5f}     {np.round(ode.R[j].ravel(), 3)}"
        if sim is not None:
            k = int(np.argmin(np.abs(sim.t - t)))
            line += f"  {sim.eps_g[k]:.5f}     {np.round(sim.R[k].ravel(), 3)}"
        print(line)


if __name__ == "__main__":
    main()
