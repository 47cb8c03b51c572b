"""Numba options shared by every compiled kernel, in one place.

``cache=True`` so a second process loads machine code instead of compiling; ``nogil=True`` so
fits in several Python threads run at once. Fast-math is restricted to flags that reorder or
fuse arithmetic (``reassoc`` lets LLVM vectorise reductions, ``contract`` forms FMAs) and never
includes ``nnan``/``ninf``: fastgd's divergence and NaN checks rely on IEEE semantics.
Reassociation is fixed at compile time, so the same input always gives the same bits.
"""
import os
import tempfile

import numba
from numba.misc.appdirs import AppDirs

FASTMATH = frozenset({"nsz", "arcp", "contract", "afn", "reassoc"})

_KERNEL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_kernels")


def _writable_dir(path):
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            return True
    except OSError:
        return False


def _ensure_cache_dir():
    """Give numba a writable cache when neither of its own places is writable.

    Numba caches beside the source (``_kernels/__pycache__``), else in the user's cache
    folder; with both read-only (a system-wide install used by a user without a writable
    home) it refuses to compile any ``cache=True`` function. Only then fastgd points
    ``numba.config.CACHE_DIR`` at a per-user folder under the temporary directory.
    """
    if numba.config.CACHE_DIR:
        return numba.config.CACHE_DIR
    if _writable_dir(os.path.join(_KERNEL_DIR, "__pycache__")):
        return None
    if _writable_dir(AppDirs(appname="numba", appauthor=False).user_cache_dir):
        return None
    fallback = os.path.join(tempfile.gettempdir(), f"fastgd-numba-cache-{os.getuid()}")
    os.makedirs(fallback, exist_ok=True)
    numba.config.CACHE_DIR = fallback
    return fallback


CACHE_DIR = _ensure_cache_dir()


def jit(exact=False, **options):
    """``numba.njit`` with fastgd's options: cached, GIL released, restricted fast-math.

    ``exact=True`` compiles without fast-math, so every sum runs in the order written, in
    whatever function LLVM inlines it into (its flags travel with its instructions).
    """
    fastmath = set() if exact else set(FASTMATH)
    return numba.njit(cache=True, nogil=True, fastmath=fastmath, **options)
