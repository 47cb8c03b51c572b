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

OK, NONFINITE, BLOWN_UP = 0, 1, 2


@jit()
def _accumulate_block(X, Y, Wt, b, r0, r1, G, gb):
    """Add the gradient sums of rows ``r0:r1`` into ``G`` (k, n) and ``gb`` (k,).

    Returns the rows' sum of squared errors. Four rows go together so that four independent
    dot products overlap and ``G`` is read and written once per four rows, not once per row.
    """
    n = X.shape[1]
    sse = 0.0
    for j in range(Y.shape[1]):
        w = Wt[j]
        g = G[j]
        bj = b[j]
        sum_e = 0.0
        i = r0
        while i + 4 <= r1:
            e0 = bj - Y[i, j]
            e1 = bj - Y[i + 1, j]
            e2 = bj - Y[i + 2, j]
            e3 = bj - Y[i + 3, j]
            for f in range(n):
                wf = w[f]
                e0 += X[i, f] * wf
                e1 += X[i + 1, f] * wf
                e2 += X[i + 2, f] * wf
                e3 += X[i + 3, f] * wf
            for f in range(n):
                g[f] += (X[i, f] * e0 + X[i + 1, f] * e1) + (X[i + 2, f] * e2 + X[i + 3, f] * e3)
            sum_e += (e0 + e1) + (e2 + e3)
            sse += (e0 * e0 + e1 * e1) + (e2 * e2 + e3 * e3)
            i += 4
        while i < r1:
            e = bj - Y[i, j]
            for f in range(n):
                e += X[i, f] * w[f]
            for f in range(n):
                g[f] += X[i, f] * e
            sum_e += e
            sse += e * e
            i += 1
        gb[j] += sum_e
    return sse


@jit()
def _evaluate_serial(X, Y, Wt, b, block_rows, G, gb, sse):
    for block in range(G.shape[0]):
        r0 = block * block_rows
        G[block] = 0.0
        gb[block] = 0.0
        sse[block] = _accumulate_block(X, Y, Wt, b, r0, min(r0 + block_rows, X.shape[0]), G[block], gb[block])


@jit(parallel=True)
def _evaluate_parallel(X, Y, Wt, b, block_rows, G, gb, sse):
    for block in prange(G.shape[0]):
        r0 = block * block_rows
        G[block] = 0.0
        gb[block] = 0.0
        sse[block] = _accumulate_block(X, Y, Wt, b, r0, min(r0 + block_rows, X.shape[0]), G[block], gb[block])


@jit()
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


@jit()
def descend(X, Y, Wt, b, lr, max_iter, tol, blowup, block_rows, parallel, history, Wt_last, b_last):
    """Batch gradient descent on ``Wt`` (k, n) and ``b`` (k,), updated in place.

    Each iteration makes one pass over the rows of ``X`` (m, n) against ``Y`` (m, k), then the
    simultaneous update ``W -= lr dW, b -= lr db``. Stops after ``max_iter`` updates, or at the
    first iterate whose gradient norm is ``<= tol`` when ``tol > 0``. ``history`` (length
    ``max_iter`` or 0) receives J before each update; ``Wt_last``, ``b_last`` the state before
    the last update. Returns ``(status, updates, J, grad_norm)``, J and the norm at the final
    state; status ``NONFINITE`` or ``BLOWN_UP`` (J above ``blowup`` times the first J) stops
    at once, leaving the last good state in ``Wt_last``, ``b_last``.
    """
    m, n = X.shape
    k = Y.shape[1]
    blocks = (m + block_rows - 1) // block_rows
    G = np.empty((blocks, k, n), X.dtype)
    gb = np.empty((blocks, k))
    sse = np.empty(blocks)
    dW = np.empty((k, n))
    db = np.empty(k)
    Wt_last[:] = Wt
    b_last[:] = b
    ceiling = np.inf
    updates = 0
    while True:
        if parallel:
            _evaluate_parallel(X, Y, Wt, b, block_rows, G, gb, sse)
        else:
            _evaluate_serial(X, Y, Wt, b, block_rows, G, gb, sse)
        loss, grad_norm = _reduce(G, gb, sse, m, dW, db)
        if not (np.isfinite(loss) and np.isfinite(grad_norm)):
            return NONFINITE, updates, loss, grad_norm
        if updates == 0:
            ceiling = blowup * loss
        elif loss > ceiling:
            return BLOWN_UP, updates, loss, grad_norm
        if updates == max_iter or (tol > 0 and grad_norm <= tol):
            return OK, updates, loss, grad_norm
        if history.size:
            history[updates] = loss
        Wt_last[:] = Wt
        b_last[:] = b
        for j in range(k):
            b[j] -= lr * db[j]
            for f in range(n):
                Wt[j, f] -= lr * dW[j, f]
        updates += 1
