"""numba's thread pool as fastgd starts it: from several Python threads at once, and after a fork.

Fits on threads start numba's pool (``numba_threads``). Two of numba's threading layers need
care there. ``workqueue``, numba's fallback where neither TBB nor OpenMP loads, ends the process
when two Python threads start parallel loops at once, so ``numba_threads`` then starts the pool
for one fit at a time. And GNU OpenMP, numba's OpenMP layer on Linux, cannot start again in a
process forked after it ran (numba ends that process when it tries), so such a process fits on
one thread (``lost_in_fork``), which gives the same bits.
"""
import os
import sys
import threading
from contextlib import contextmanager, nullcontext

import numba

#: Held around each start of the pool where the threading layer cannot take two at once.
_LOCK = threading.Lock()
_lost_in_fork = False


def _threading_layer():
    """numba's threading layer, or None before the pool's first start."""
    try:
        return numba.threading_layer()
    except ValueError:  # "Threading layer is not initialized."
        return None


def _after_fork_in_child():
    global _lost_in_fork
    if sys.platform.startswith("linux") and _threading_layer() == "omp":
        _lost_in_fork = True


os.register_at_fork(after_in_child=_after_fork_in_child)


def lost_in_fork():
    """Whether this process was forked from one whose pool ran on GNU OpenMP: it cannot start
    the pool."""
    return _lost_in_fork


def _threadsafe():
    """Whether the threading layer takes parallel loops started from several Python threads at
    once: OpenMP and TBB do, ``workqueue`` does not. Before the pool's first start no layer is
    chosen yet, and the answer is no."""
    return _threading_layer() not in (None, "workqueue")


@contextmanager
def numba_threads(count):
    """Run the block with numba's pool set to ``count`` threads, the only start of the pool in
    the process at that time where the threading layer is not thread-safe.

    Examples
    --------
    >>> import numba
    >>> from fastgd._pool import numba_threads
    >>> with numba_threads(1):
    ...     numba.get_num_threads()
    1
    """
    with nullcontext() if _threadsafe() else _LOCK:
        previous = numba.get_num_threads()
        numba.set_num_threads(count)
        try:
            yield
        finally:
            numba.set_num_threads(previous)
