"""Spin-flip attempts per second: generated Metropolis kernel vs a hand-written numba loop.

Ising model, J = 1 on every edge, h = 0, on the same CSR random regular graph
(N = 10^5, degree 3 by default). Both kernels are compiled (and warmed up)
before timing; each is timed over the same number of sweeps, best of
``--repeat`` alternating runs, in CPU time. The generated kernel does its full
bookkeeping (energy and magnetisation series, per-node visit counts for the
marginals); the hand-written one keeps only the spins.

    python benchmarks/montecarlo.py [--n 100000] [--degree 3] [--sweeps 100]
"""

import argparse
import time

import networkx as nx
import numba
import numpy as np
import sympy as sp
from timing import best_of

import derive
import numerics
from graphs import to_csr


@numba.njit(cache=True)
def hand_written(indptr, indices, weights, spins, field, beta, sweeps):
    """Metropolis for the Ising model: dE = 2 s_i (h_i + sum_j J_ij s_j)."""
    n = spins.shape[0]
    accepted = 0
    for _ in range(sweeps):
        for i in range(n):
            local = field[i]
            for e in range(indptr[i], indptr[i + 1]):
                local += weights[e] * spins[indices[e]]
            delta = 2.0 * spins[i] * local
            if delta <= 0.0 or np.random.random() < np.exp(-beta * delta):
                spins[i] = -spins[i]
                accepted += 1
    return accepted


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--degree", type=int, default=3)
    parser.add_argument("--sweeps", type=int, default=100)
    parser.add_argument("--beta", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    si, sj, J, h = sp.symbols("s_i s_j J h", real=True)
    model = derive.PairwiseModel((-1, 1), -J * si * sj, -h * si, variables=(si, sj))
    G = nx.random_regular_graph(args.degree, args.n, seed=0)
    csr = to_csr(G)
    # the kernel graphs.monte_carlo runs: mc_sweeps of the local-energy module
    eqs = derive.local_energy(model)
    sampler = numerics.compile(eqs).module
    params = {"J": 1.0, "h": 0.0}
    node_values = np.array([[params[p.name] for p in eqs.node_params]] * args.n)
    edge_values = np.array([[params[p.name] for p in eqs.edge_params]] * csr.indices.size)
    values = np.array([-1.0, 1.0])
    rng = np.random.default_rng(0)
    spins0 = rng.integers(2, size=args.n)

    def generated(sweeps):
        spins = spins0.copy()
        state = np.where(spins == 1, 1.0, -1.0)[:, None].copy()
        counts = np.zeros((2, args.n, 2))
        energies, mags = np.empty(sweeps), np.empty(sweeps)
        sampler.mc_seed(1)
        sampler.mc_sweeps(
            csr.indptr,
            csr.indices,
            csr.edge_id,
            state,
            node_values,
            edge_values,
            values,
            spins,
            args.beta,
            sweeps,
            False,
            0,
            counts,
            0.0,
            energies,
            mags,
        )

    weights = np.ones(csr.indices.size)
    field = np.zeros(args.n)

    def baseline(sweeps):
        spins = np.where(spins0 == 1, 1.0, -1.0)
        np.random.seed(1)
        hand_written(csr.indptr, csr.indices, weights, spins, field, args.beta, sweeps)

    generated(2)  # compile / load from cache
    baseline(2)
    # CPU time of this process, alternating the two: other processes on a shared machine do
    # not count, and a change of load hits both alike
    t_gen = t_hand = float("inf")
    for _ in range(args.repeat):
        t_gen = min(t_gen, best_of(lambda: generated(args.sweeps), 1, clock=time.process_time))
        t_hand = min(t_hand, best_of(lambda: baseline(args.sweeps), 1, clock=time.process_time))
    attempts = args.n * args.sweeps
    print(
        f"N = {args.n}, degree {args.degree}, beta = {args.beta}, {args.sweeps} sweeps, "
        f"numba {numba.__version__}"
    )
    print("variant          :   rate            ratio to the fastest hand-written")
    print(f"generated kernel : {attempts / t_gen / 1e6:8.2f} M attempts/s   {t_hand / t_gen:.2f}")
    print(f"hand-written     : {attempts / t_hand / 1e6:8.2f} M attempts/s   1.00")
    print(f"ratio generated / hand-written = {t_hand / t_gen:.2f}   (target >= 0.8)")


if __name__ == "__main__":
    main()
