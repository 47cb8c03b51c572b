"""The fused row kernel of ``fit_linear``: one pass over the rows per iteration.

Rows are cut into fixed blocks (their size depends on ``n`` only). For each row of a block, the
prediction, its error and that row's share of the gradient are formed while the row is in
registers; each block leaves its partial sums in its own slot, and the slots are added in block
order. The partition and the order of every sum are fixed by the data's shape, so the same input
gives the same bits on one thread or many.
"""
import math

import numpy as np
from numba import prange

from .._config import jit

OK, NONFINITE, BLOWN_UP, CONTINUE = 0, 1, 2, -1


@jit(inline="always")
def _accumulate_block(X, Y, Wt, b, block, block_rows, G, gb):
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
            e = bj - ys[i, j]
            for f in range(n):
                e += xs[i, f] * w[f]
            for f in range(n):
                g[f] += xs[i, f] * e
            sum_e += e
            sse += e * e
            i += 1
        gb[block, j] = sum_e
    return sse


@jit(inline="always")
def _evaluate_serial(X, Y, Wt, b, block_rows, G, gb, sse):
    for block in range(G.shape[0]):
        sse[block] = _accumulate_block(X, Y, Wt, b, block, block_rows, G, gb)


@jit(parallel=True)
def _evaluate_parallel(X, Y, Wt, b, block_rows, G, gb, sse):
    for block in prange(G.shape[0]):
        sse[block] = _accumulate_block(X, Y, Wt, b, block, block_rows, G, gb)


@jit(inline="always")
def _reduce(G, gb, sse, m, dW, db):
    """Add the block slots in block order into the gradient ``dW``, ``db``; return (J, norm)."""
    dW[:] = 0.0
    db[:] = 0.0
    total = 0.0
    for block in range(G.shape[0]):
        for j in range(dW.shape[0]):
            db[j] += gb[block, j]
            for f in range(dW.shape[1]):
                dW[j, f] += G[block, j, f]
        total += sse[block]
    squares = 0.0
    for j in range(dW.shape[0]):
        db[j] /= m
        squares += db[j] * db[j]
        for f in range(dW.shape[1]):
            dW[j, f] /= m
            squares += dW[j, f] * dW[j, f]
    return 0.5 * total / m, math.sqrt(squares)


@jit(inline="always")
def stop_status(loss, grad_norm, updates, ceiling, max_iter, tol):
    """How the descent ends at this iterate: ``NONFINITE``, ``BLOWN_UP``, ``OK``, or ``CONTINUE``."""
    if not (np.isfinite(loss) and np.isfinite(grad_norm)):
        return NONFINITE
    if updates > 0 and loss > ceiling:
        return BLOWN_UP
    if updates == max_iter or (tol > 0 and grad_norm <= tol):
        return OK
    return CONTINUE


@jit(inline="always")
def _copy_state(Wt, b, Wt_to, b_to):
    for j in range(Wt.shape[0]):
        b_to[j] = b[j]
        for f in range(Wt.shape[1]):
            Wt_to[j, f] = Wt[j, f]


@jit()
def descend(X, Y, Wt, b, lr, max_iter, tol, blowup, block_rows, threads, history, Wt_last, b_last):
    """Batch gradient descent on ``Wt`` (k, n) and ``b`` (k,), updated in place.

    Each iteration makes one pass over the rows of ``X`` (m, n) against ``Y`` (m, k), then the
    simultaneous update ``W -= lr dW, b -= lr db``. Stops after ``max_iter`` updates, or at the
    first iterate whose gradient norm is ``<= tol`` when ``tol > 0``. ``history`` (length
    ``max_iter`` or 0) receives J before each update; ``Wt_last``, ``b_last`` the state before
    the last update. Returns ``(status, updates, J, grad_norm)``, J and the norm at the final
    state; status ``NONFINITE`` or ``BLOWN_UP`` (J above ``blowup`` times the first J) stops
    at once, leaving the last good state in ``Wt_last``, ``b_last``.

    ``threads=None`` evaluates the blocks on the calling thread; numba prunes the other branch
    when it compiles this variant, so a one-thread fit never loads the threaded code. Any
    other value (``True``) spreads the blocks over numba's thread pool.
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
    ceiling = np.inf
    updates = 0
    while True:
        if threads is None:
            _evaluate_serial(X, Y, Wt, b, block_rows, G, gb, sse)
        else:
            _evaluate_parallel(X, Y, Wt, b, block_rows, G, gb, sse)
        loss, grad_norm = _reduce(G, gb, sse, m, dW, db)
        if updates == 0:
            ceiling = blowup * loss
        status = stop_status(loss, grad_norm, updates, ceiling, max_iter, tol)
        if status != CONTINUE:
            return status, updates, loss, grad_norm
        if history.size:
            history[updates] = loss
        _copy_state(Wt, b, Wt_last, b_last)
        for j in range(k):
            b[j] -= lr * db[j]
            for f in range(n):
                Wt[j, f] -= lr * dW[j, f]
        updates += 1
