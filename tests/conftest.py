"""Shared test configuration: the hypothesis profile and the kernel cache.

* hypothesis: ``deadline=None`` because the first example of a test pays numba's
  compilation (seconds), which is not a property of the code under test;
  ``max_examples=25`` keeps the suite within a few minutes on two cores.
* ``CAVITYLAB_CACHE``: every compiled kernel is written as a module into this
  directory (with numba's ``cache=True`` files beside it), so that tests, their
  subprocesses and later runs share the machine code. It is set at import time,
  before any test imports ``numerics``, and only if the caller has not chosen a
  directory (CI exports its own).
"""

import os
from pathlib import Path

from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("CAVITYLAB_CACHE", str(ROOT / ".cavitylab_cache"))

from numerics.threads import limit_blas_threads  # noqa: E402 -- after the cache is chosen

limit_blas_threads()  # multi-threaded OpenBLAS is pathologically slow on two cores

settings.register_profile(
    "cavitylab", deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("cavitylab")
