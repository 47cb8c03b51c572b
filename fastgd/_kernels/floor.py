"""The speed floor of a fused kernel: one vectorised read pass over X per iteration."""
import numpy as np
from numba import prange

from .._config import jit
from .sync import LINE, join, meet, share, team_flags


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
def read_passes_team(flat, passes, threads):
    """``read_passes`` on a team of ``threads`` of numba's pool (:mod:`.sync`), as a threaded fit
    runs: each member reads its share of ``flat`` and meets the others after every pass. The
    floor that more threads can reach, which cache or memory bandwidth and the meeting cap."""
    flags = team_flags(threads)
    totals = np.zeros(LINE * threads)  # one line per member's total
    for _ in prange(threads):
        member, members = join(flags, threads)
        if members:
            start, stop = share(flat.size, member, members)
            part = flat[start:stop]
            total = 0.0
            for done in range(passes):
                total += _sum(part)
                meet(flags, member, members, done + 1)
            totals[LINE * member] = total
    return totals.sum()


@jit(parallel=True)
def column_read_passes_team(X, block_rows, passes, threads, width):
    """``read_passes_team`` over X with contiguous columns, in the order the fixed-width kernel
    reads it (:func:`.blocks.fixed_width_block`): block by block, each member its run of blocks,
    every one of the ``len(width)`` columns of a row together, so ``n`` streams at once. What
    a second thread can gain where the kernel's reads, not its arithmetic, set the pace.

    >>> import numpy as np
    >>> float(column_read_passes_team(np.ones((100, 3), order="F"), 64, 2, 1, (0, 0, 0)))
    600.0
    """
    flags = team_flags(threads)
    totals = np.zeros(LINE * threads)  # one line per member's total
    m = X.shape[0]
    blocks = (m + block_rows - 1) // block_rows
    for _ in prange(threads):
        member, members = join(flags, threads)
        if members:
            first, last = share(blocks, member, members)
            total = 0.0
            for done in range(passes):
                for block in range(first, last):
                    # Unsigned rows, as in the kernel: LLVM then loads a vector of rows at once.
                    r0 = np.uint64(block * block_rows)
                    r1 = np.uint64(min(m, (block + 1) * block_rows))
                    partial = X.dtype.type(0)
                    for i in range(r0, r1):
                        for f in range(len(width)):
                            partial += X[i, f]
                    total += partial
                meet(flags, member, members, done + 1)
            totals[LINE * member] = total
    return totals.sum()
