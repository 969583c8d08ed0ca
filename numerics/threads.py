"""BLAS threads: one by default.

Measured on the two-core machines this project runs on: a 500 x 500 QR takes 0.03 s
with one OpenBLAS thread and 5.6 s with two (the threads spin against each other),
and the matrices here (AMP, VAMP, TAP) are small enough that one thread is never the
bottleneck. The command line and the test suite call :func:`limit_blas_threads`;
``CAVITYLAB_BLAS_THREADS`` overrides the count.
"""

import os

__all__ = ["limit_blas_threads"]

_LIMITER = None


def limit_blas_threads(n=None):
    """Limit the BLAS thread pools to ``n`` (default ``$CAVITYLAB_BLAS_THREADS`` or 1) for
    the rest of the process; returns the limit applied."""
    global _LIMITER
    from threadpoolctl import threadpool_limits

    n = int(n or os.environ.get("CAVITYLAB_BLAS_THREADS", 1))
    _LIMITER = threadpool_limits(limits=n, user_api="blas")
    return n
