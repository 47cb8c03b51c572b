"""The fused row kernel of ``fit_linear``: one pass over the rows per iteration.

Rows are cut into fixed blocks (their size depends on ``n`` only). Each block's gradient and
squared-error sums are formed by one of the block kernels of :mod:`.blocks` (row by row; column
by column when X is in Fortran order; for few features, the fixed-width kernel that keeps its
sums in registers; or, for C-order X, the tile kernel, a vector of rows at a time) into the
block's own slot, and the slots are added in block order. The partition and the order of every
sum are fixed by the data's shape and memory order, so the same input gives the same bits on
one thread or many.
"""
import math

import numpy as np
from numba import get_thread_id, prange

from .._config import jit
from .blocks import column_major_block, fixed_width_block, row_major_block, tiled_block
from .exact import add, mul, sub

OK, NONFINITE, BLOWN_UP, CONTINUE = 0, 1, 2, -1


@jit(parallel=True)
def _evaluate_parallel(X, Y, Wt, b, block_rows, ahead, G, gb, sse, E, width, tile):
    for block in prange(G.shape[0]):
        if tile is not None:
            sse[block] = tiled_block(X, Y, Wt, b, block, block_rows, ahead, G, gb, tile)
        elif width is not None:
            sse[block] = fixed_width_block(X, Y, Wt, b, block, block_rows, G, gb, width)
        elif E is not None:
            sse[block] = column_major_block(X, Y, Wt, b, block, block_rows, G, gb,
                                            E[get_thread_id()])
        elif ahead is None:
            sse[block] = row_major_block(X, Y, Wt, b, block, block_rows, 0, G, gb)
        else:
            sse[block] = row_major_block(X, Y, Wt, b, block, block_rows, ahead, G, gb)


@jit(inline="always")
def _reduce(G, gb, sse, scale, dW, db):
    """Add the block slots in block order into the gradient ``dW``, ``db``, scaled by ``scale``
    (1/m, the seed's factor); return (J, norm).

    This and ``_update`` use :mod:`.exact` arithmetic: fast-math could fuse or reorder them
    differently in the one-thread and the threaded descent, which are compiled apart.
    """
    dW[:] = 0.0
    db[:] = 0.0
    total = 0.0
    for block in range(G.shape[0]):
        for j in range(dW.shape[0]):
            db[j] = add(db[j], gb[block, j])
            for f in range(dW.shape[1]):
                dW[j, f] = add(dW[j, f], np.float64(G[block, j, f]))
        total = add(total, sse[block])
    squares = 0.0
    for j in range(dW.shape[0]):
        db[j] = mul(db[j], scale)
        squares = add(squares, mul(db[j], db[j]))
        for f in range(dW.shape[1]):
            dW[j, f] = mul(dW[j, f], scale)
            squares = add(squares, mul(dW[j, f], dW[j, f]))
    return mul(mul(0.5, scale), total), math.sqrt(squares)


@jit(inline="always")
def checkpoint(loss, grad_norm, updates, ceiling, blowup, max_iter, tol):
    """Whether the descent ends at this iterate: ``(status, ceiling)``.

    The first iterate sets the ceiling, ``blowup`` times its J. Status ``NONFINITE``,
    ``BLOWN_UP`` or ``OK`` ends the descent; ``CONTINUE`` goes on. The history stays with the
    caller: with the history array passed in, W1 took 88 ns an iteration instead of 31.
    """
    if updates == 0:
        ceiling = blowup * loss
    if not (np.isfinite(loss) and np.isfinite(grad_norm)):
        return NONFINITE, ceiling
    if updates > 0 and loss > ceiling:
        return BLOWN_UP, ceiling
    if updates == max_iter or (tol > 0 and grad_norm <= tol):
        return OK, ceiling
    return CONTINUE, ceiling


@jit(inline="always")
def _copy_state(Wt, b, Wt_to, b_to):
    for j in range(Wt.shape[0]):
        b_to[j] = b[j]
        for f in range(Wt.shape[1]):
            Wt_to[j, f] = Wt[j, f]


@jit(inline="always")
def _update(Wt, b, dW, db, lr):
    """The simultaneous step ``W -= lr dW, b -= lr db``, in float64 (stored in W's dtype)."""
    for j in range(Wt.shape[0]):
        b[j] = sub(np.float64(b[j]), mul(lr, db[j]))
        for f in range(Wt.shape[1]):
            Wt[j, f] = sub(np.float64(Wt[j, f]), mul(lr, dW[j, f]))


@jit()
def descend(X, Y, Wt, b, lr, max_iter, tol, blowup, block_rows, ahead, threads, E, width, tile,
            history, Wt_last, b_last):
    """Batch gradient descent on ``Wt`` (k, n) and ``b`` (k,), updated in place.

    Each iteration makes one pass over the rows of ``X`` (m, n) against ``Y`` (m, k), then the
    simultaneous update ``W -= lr dW, b -= lr db``. Stops after ``max_iter`` updates, or at the
    first iterate whose gradient norm is ``<= tol`` when ``tol > 0``. ``history`` (length
    ``max_iter`` or 0) receives J before each update; ``Wt_last``, ``b_last`` the state before
    the last update. Returns ``(status, updates, J, grad_norm)``, J and the norm at the final
    state; status ``NONFINITE`` or ``BLOWN_UP`` (J above ``blowup`` times the first J) stops
    at once, leaving the last good state in ``Wt_last``, ``b_last``.

    ``ahead`` (rows) is how far ahead of the rows at hand the row-major kernel prefetches;
    ``None`` compiles a variant without the prefetches, for X that stays in the caches.

    The other switches work the same way. ``threads=None`` evaluates the blocks on the calling
    thread; numba prunes the other branch when it compiles this variant, so a one-thread fit
    never loads the threaded code. Any other value (``True``) spreads the blocks over numba's
    thread pool. The block dispatch is written out twice, here and in ``_evaluate_parallel``,
    because numba prunes ``is None`` branches only in the function it compiles, not in an
    inlined helper. ``E=None`` sums blocks row by row; an array (one row of at least
    ``block_rows`` per thread id) sums them column by column, the fast order for X whose
    columns are contiguous. ``width``, a tuple of ``n`` items or None, picks the fixed-width
    kernel for X whose columns are contiguous: the tuple's length is part of its type, so each
    ``n`` compiles its own variant, with ``n`` a constant. ``tile``, the same kind of tuple,
    picks the tile kernel for C-order X instead; it then prefetches ``ahead`` elements ahead
    (None: not at all), and ``block_rows`` is a multiple of its group of rows.
    """
    m, n = X.shape
    k = Y.shape[1]
    blocks = (m + block_rows - 1) // block_rows
    G = np.empty((blocks, k, n), X.dtype)
    gb = np.empty((blocks, k))
    sse = np.empty(blocks)
    dW = np.empty((k, n))
    db = np.empty(k)
    _copy_state(Wt, b, Wt_last, b_last)
    scale = 1.0 / m  # computed once: a division every iteration costs small fits a third
    ceiling = np.inf
    updates = 0
    while True:
        if threads is not None:
            _evaluate_parallel(X, Y, Wt, b, block_rows, ahead, G, gb, sse, E, width, tile)
        elif tile is not None:
            for block in range(blocks):
                sse[block] = tiled_block(X, Y, Wt, b, block, block_rows, ahead, G, gb, tile)
        elif width is not None:
            for block in range(blocks):
                sse[block] = fixed_width_block(X, Y, Wt, b, block, block_rows, G, gb, width)
        elif E is not None:
            for block in range(blocks):
                sse[block] = column_major_block(X, Y, Wt, b, block, block_rows, G, gb, E[0])
        elif ahead is None:
            for block in range(blocks):
                sse[block] = row_major_block(X, Y, Wt, b, block, block_rows, 0, G, gb)
        else:
            for block in range(blocks):
                sse[block] = row_major_block(X, Y, Wt, b, block, block_rows, ahead, G, gb)
        loss, grad_norm = _reduce(G, gb, sse, scale, dW, db)
        status, ceiling = checkpoint(loss, grad_norm, updates, ceiling, blowup, max_iter, tol)
        if status != CONTINUE:
            return status, updates, loss, grad_norm
        if history.size:
            history[updates] = loss
        _copy_state(Wt, b, Wt_last, b_last)
        _update(Wt, b, dW, db, lr)
        updates += 1
