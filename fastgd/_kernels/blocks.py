"""The ways to sum one block of rows: the gradient and squared-error sums of rows
``block * block_rows`` up to the next block (or the end of X).

Each writes the block's gradient sums into ``G[block]`` (k, n) and ``gb[block]`` (k,) and
returns its sum of squared errors. Which one runs depends on X's shape and memory order only,
never on the number of threads, so each block's sums come out the same bits on one thread or
many.
"""
import numpy as np

from .._config import jit
from .registers import reread, stack_zeros
from .row_vectors import row_vector_pass
from .tiles import VECTOR_BYTES, tile_pass


@jit(inline="always")
def _row_step(X, again, Y, i, j, bj, w, g, n):
    """Row ``i``'s error against output ``j`` (its prediction minus ``Y[i, j]``), with the
    row's share of the gradient added into ``g``: the textbook step, one row at a time. The
    gradient reads the row from ``again``: X itself, or X behind ``registers.reread``."""
    e = bj - Y[i, j]
    for f in range(n):
        e += X[i, f] * w[f]
    for f in range(n):
        g[f] += again[i, f] * e
    return e


@jit(inline="always")
def row_major_block(X, Y, Wt, b, block, block_rows, G, gb):
    """Write the gradient sums of block ``block`` of rows into ``G[block]`` (k, n), ``gb[block]``.

    Returns the block's sum of squared errors. Four rows go together so that four independent
    dot products overlap and ``G`` is read and written once per four rows, not once per row;
    a single feature keeps every sum in a register, so LLVM vectorises across rows.
    """
    m, n = X.shape
    r0 = block * block_rows
    r1 = min(r0 + block_rows, m)
    xs = X[r0:r1]
    ys = Y[r0:r1]
    rows = r1 - r0
    sse = 0.0
    for j in range(Y.shape[1]):
        bj = b[j]
        sum_e = 0.0
        if n == 1:
            w0 = Wt[j, 0]
            g0 = 0.0
            for i in range(rows):
                e = xs[i, 0] * w0 + (bj - ys[i, j])
                g0 += xs[i, 0] * e
                sum_e += e
                sse += e * e
            G[block, j, 0] = g0
            gb[block, j] = sum_e
            continue
        w = Wt[j]
        g = G[block, j]
        g[:] = 0.0
        i = 0
        while i + 4 <= rows:
            e0 = bj - ys[i, j]
            e1 = bj - ys[i + 1, j]
            e2 = bj - ys[i + 2, j]
            e3 = bj - ys[i + 3, j]
            for f in range(n):
                wf = w[f]
                e0 += xs[i, f] * wf
                e1 += xs[i + 1, f] * wf
                e2 += xs[i + 2, f] * wf
                e3 += xs[i + 3, f] * wf
            for f in range(n):
                g[f] += (xs[i, f] * e0 + xs[i + 1, f] * e1) + (xs[i + 2, f] * e2 + xs[i + 3, f] * e3)
            sum_e += (e0 + e1) + (e2 + e3)
            sse += (e0 * e0 + e1 * e1) + (e2 * e2 + e3 * e3)
            i += 4
        while i < rows:
            e = _row_step(xs, xs, ys, i, j, bj, w, g, n)
            sum_e += e
            sse += e * e
            i += 1
        gb[block, j] = sum_e
    return sse


@jit(inline="always")
def column_major_block(X, Y, Wt, b, block, block_rows, G, gb, e):
    """The sums of ``row_major_block``, for X whose columns are contiguous (Fortran order).

    The block's errors are formed in ``e`` (at least ``block_rows`` long) a column at a time,
    then each column's dot product with them: every inner loop runs down a contiguous column,
    so LLVM vectorises it across rows.
    """
    m, n = X.shape
    r0 = block * block_rows
    r1 = min(r0 + block_rows, m)
    rows = r1 - r0
    ys = Y[r0:r1]
    zero = G.dtype.type(0)
    sse = 0.0
    for j in range(Y.shape[1]):
        bj = b[j]
        for i in range(rows):
            e[i] = bj - ys[i, j]
        for f in range(n):
            wf = Wt[j, f]
            # X[r0:r1, f], not a slice of a slice: numba types this one contiguous for F-order X,
            # so LLVM loads it as vectors.
            column = X[r0:r1, f]
            for i in range(rows):
                e[i] += column[i] * wf
        for f in range(n):
            column = X[r0:r1, f]
            g = zero
            for i in range(rows):
                g += column[i] * e[i]
            G[block, j, f] = g
        sum_e = 0.0
        for i in range(rows):
            sum_e += e[i]
            sse += e[i] * e[i]
        gb[block, j] = sum_e
    return sse


@jit(inline="always")
def fixed_width_block(X, Y, Wt, b, block, block_rows, G, gb, width):
    """The sums of ``row_major_block`` for X with contiguous columns and ``len(width)`` of them.

    The number of features is a constant of the compiled variant, so the loops over features
    unroll, the gradient sums stay in registers (:func:`.registers.stack_zeros`), and LLVM
    vectorises the loop over rows: each step loads a vector of rows from every column, one
    load an element for the two FMAs that the prediction and the gradient need (two loads
    where the registers cannot hold the row's vectors beside the sums: see ``reread``).
    """
    m = X.shape[0]
    n = len(width)
    # Unsigned row numbers: numba wraps negative indices around, and a signed row number
    # that LLVM cannot prove non-negative turns every load of a vector of rows into a gather.
    r0 = np.uint64(block * block_rows)
    r1 = np.uint64(min(m, (block + 1) * block_rows))
    sse = 0.0
    for j in range(Y.shape[1]):
        bj = b[j]
        w = Wt[j]
        g = stack_zeros(width, G)
        sum_e = 0.0
        again = reread(X, width)
        for i in range(r0, r1):
            e = _row_step(X, again, Y, i, j, bj, w, g, n)
            sum_e += e
            sse += e * e
        for f in range(n):
            G[block, j, f] = g[f]
        gb[block, j] = sum_e
    return sse


@jit(exact=True)
def _last_rows(X, Y, j, bj, w, g, start, stop):
    """The textbook step for rows ``start .. stop``, added into ``g``: ``(sse, sum of errors)``.

    Compiled on its own without fast-math: wherever LLVM inlines it, its instructions keep
    their own flags, so the one-thread and the threaded descent sum these rows alike.
    """
    sse = 0.0
    sum_e = 0.0
    for i in range(start, stop):
        e = _row_step(X, X, Y, i, j, bj, w, g, X.shape[1])
        sum_e += e
        sse += e * e
    return sse, sum_e


@jit(inline="always")
def tiled_block(X, Y, Wt, b, block, block_rows, ahead, G, gb, tile):
    """The sums of ``row_major_block`` for C-order X with ``len(tile)`` features.

    Whole groups of rows, one vector of rows each, go through :func:`.tiles.tile_pass`
    (``block_rows`` is a multiple of the group); the rows after the last whole group, only in
    X's last block, take the textbook step. ``ahead`` (elements) is how far ahead the tile
    kernel prefetches X, or None.
    """
    m = X.shape[0]
    r0 = block * block_rows
    r1 = min(r0 + block_rows, m)
    step = VECTOR_BYTES // X.itemsize
    done = r0 + (r1 - r0) // step * step
    sse = 0.0
    for j in range(Y.shape[1]):
        g = G[block, j]
        group_sse, group_sum = tile_pass(X, Y[:, j], Wt[j], b[j], r0, (done - r0) // step, g,
                                         ahead, tile)
        last_sse, last_sum = _last_rows(X, Y, j, b[j], Wt[j], g, done, r1)
        sse += group_sse + last_sse
        gb[block, j] = group_sum + last_sum
    return sse


@jit(inline="always")
def row_vector_block(X, Y, Wt, b, block, block_rows, ahead, G, gb, width):
    """The sums of ``row_major_block`` for C-order X with ``len(width)`` features, at least a
    vector's worth: :func:`.row_vectors.row_vector_pass` over the block's rows, prefetching
    ``ahead`` elements ahead (None: not at all)."""
    r0 = block * block_rows
    r1 = min(r0 + block_rows, X.shape[0])
    sse = 0.0
    for j in range(Y.shape[1]):
        block_sse, gb[block, j] = row_vector_pass(X, Y[:, j], Wt[j], b[j], r0, r1, G[block, j],
                                                  ahead, width)
        sse += block_sse
    return sse
