"""The speed floor of a fused kernel: one vectorised read pass over X per iteration."""
from numba import prange

from .._config import jit


@jit(inline="always")
def _sum(flat):
    partial = flat.dtype.type(0)
    for i in range(flat.size):
        partial += flat[i]
    return partial


@jit()
def read_passes(flat, passes):
    """Sum every element of the 1-D ``flat`` once per pass; return the total (so it is kept)."""
    total = 0.0
    for _ in range(passes):
        total += _sum(flat)
    return total


@jit()
def fma_passes(flat, passes):
    """Two multiply-adds an element into two separate sums, once per pass: the fused kernel's
    arithmetic (one FMA for the prediction, one for the gradient) without its rows, so with no
    sum across a row. What one thread reaches with that much work per element beside the read.

    >>> import numpy as np
    >>> float(fma_passes(np.arange(4.0), 2))  # 2 passes of 0.5 * 6 + 0.25 * 6
    9.0
    """
    total = 0.0
    for _ in range(passes):
        first = flat.dtype.type(0)
        second = flat.dtype.type(0)
        for i in range(flat.size):
            first += flat[i] * flat.dtype.type(0.5)
            second += flat[i] * flat.dtype.type(0.25)
        total += first + second
    return total


@jit(parallel=True)
def read_passes_threaded(flat, passes, parts):
    """``read_passes`` with ``flat`` cut into ``parts`` slices read by numba's threads: the floor
    that more threads can reach, which memory bandwidth caps."""
    total = 0.0
    for _ in range(passes):
        for part in prange(parts):
            total += _sum(flat[part * flat.size // parts:(part + 1) * flat.size // parts])
    return total


@jit(parallel=True)
def launch(passes, parts, out):
    """``passes`` parallel loops of ``parts`` trivial iterations: numba's cost to start one."""
    for _ in range(passes):
        for part in prange(parts):
            out[part] = part
