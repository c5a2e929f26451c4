"""One place that limits BLAS to a single thread for small matrix products."""

from __future__ import annotations

from threadpoolctl import threadpool_limits


def one_blas_thread() -> threadpool_limits:
    """Context manager limiting BLAS to one thread while it is open.

    For the small networks of the notebooks and explorers (products such as 100×64 by
    64×32) threads cannot pay off, and on a busy machine BLAS threads that wait for one
    another make every product several times slower. Use ``with one_blas_thread(): ...``.
    """
    return threadpool_limits(limits=1, user_api="blas")
