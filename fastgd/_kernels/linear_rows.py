"""The fused row kernel of ``fit_linear``: one pass over the rows per iteration.

Rows are cut into fixed blocks (their size depends on X's shape only). Each block's gradient and
squared-error sums are formed by one of the block kernels of :mod:`.blocks` (row by row; column
by column when X is in Fortran order; for few features, the fixed-width kernel that keeps its
sums in registers; or, for C-order X, the row-vector kernel, a row at a time in vectors, or the
tile kernel, a vector of rows at a time) into the block's own slot, and the slots are added in
block order. The partition and the order of every
sum are fixed by the data's shape and memory order, so the same input gives the same bits on
one thread or many. Threads form a team for the whole descent (``descend_team``): each sums its
own run of blocks and they meet once an iteration (:mod:`.sync`).
"""
import math

import numpy as np
from numba import prange

from .._config import jit
from .blocks import (column_major_block, fixed_width_block, row_major_block, row_vector_block,
                     tiled_block)
from .exact import add, mul, sub
from .sync import join, meet, share, team_flags

OK, NONFINITE, BLOWN_UP, CONTINUE = 0, 1, 2, -1

#: Bytes kept clear around what one thread writes and others do not (two cache lines: the
#: adjacent-line prefetcher fetches lines in pairs). A line written by two threads at once
#: passes between their cores at every write: before this padding, W3 on 2 threads took 0.4
#: or 0.8 ms a fit depending on where the heap put each thread's scratch.
PADDING = 128
#: Slots left between one member's block sums and the next one's: PADDING bytes for slots of
#: 4 bytes or more.
GAP = PADDING // 4


@jit(inline="always")
def _reduce(G, gb, sse, blocks, members, scale, dW, db):
    """Add the block slots in block order into the gradient ``dW``, ``db``, scaled by ``scale``
    (1/m, the seed's factor); return (J, norm). Each of ``members`` wrote its run of the
    ``blocks`` ``GAP`` slots after the previous member's (see ``_member``).

    This and ``_update`` use :mod:`.exact` arithmetic: fast-math could fuse or reorder them
    differently in the one-thread and the threaded descent, which are compiled apart.
    """
    dW[:] = 0.0
    db[:] = 0.0
    total = 0.0
    for member in range(members):
        first, last = share(blocks, member, members)
        for block in range(first, last):
            slot = block + GAP * member
            for j in range(dW.shape[0]):
                db[j] = add(db[j], gb[slot, j])
                for f in range(dW.shape[1]):
                    dW[j, f] = add(dW[j, f], np.float64(G[slot, j, f]))
            total = add(total, sse[slot])
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
def apart(size, like):
    """An empty 1-D array of ``size`` items of ``like``'s dtype, with ``PADDING`` bytes clear on
    either side: a thread's own scratch, which no other thread's writes then touch."""
    room = PADDING // like.itemsize
    return np.empty(size + 2 * room, like.dtype)[room:room + size]


@jit(inline="always")
def _apart_copy(a):
    """A C-order copy of ``a`` in memory of its own (``apart``)."""
    copy = apart(a.size, a).reshape(a.shape)
    copy[...] = a
    return copy


@jit(inline="always")
def _block_slots(X, Y, block_rows, halves, members):
    """Empty slots for the block sums, ``(G, gb, sse)``: ``halves`` sets of X's blocks, with
    ``GAP`` slots between one member's run of blocks and the next one's."""
    m, n = X.shape
    k = Y.shape[1]
    slots = (m + block_rows - 1) // block_rows + GAP * (members - 1)
    return (np.empty((halves, slots, k, n), X.dtype), np.empty((halves, slots, k)),
            np.empty((halves, slots)))


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
def _member(member, members, X, Y, Wt, b, lr, max_iter, tol, blowup, block_rows, ahead, E,
            width, tile, vectors, G, gb, sse, sync, history, Wt_last, b_last):
    """The descent as run by one of ``members`` threads: ``(status, updates, J, grad_norm)``.

    Member ``member`` sums its own run of blocks (blocks are cut by ``block_rows`` and shared
    out in order), publishes them, waits for the others', then adds every block's sums in
    block order and updates its own ``Wt``, ``b``: every member computes the same update from
    the same sums, so all hold the same bits and only one flag an iteration passes between
    them. The block sums alternate between ``G[0]`` and ``G[1]`` (``gb``, ``sse`` alike), so a
    member that runs ahead never overwrites sums that another is still adding. Member 0 keeps
    ``history`` and the state before each update in ``Wt_last``, ``b_last``.

    Variants are chosen by arguments that are None or not, each compiled with only its own
    code (numba prunes ``is None`` branches when it compiles this function): ``tile``, a tuple
    of ``n`` items, picks the tile kernel (``block_rows`` is then a multiple of its group of
    rows); ``vectors``, the same kind of tuple, the row-vector kernel; both prefetch ``ahead``
    elements ahead (None: not at all); ``width``, too, the fixed-width kernel for X whose columns
    are contiguous; ``E`` (a row of at least ``block_rows`` per member) the column kernel; else
    the row kernel.
    """
    m, n = X.shape
    k = Y.shape[1]
    blocks = (m + block_rows - 1) // block_rows
    first, last = share(blocks, member, members)
    dW = apart(k * n, sse).reshape((k, n))  # float64, as sse is
    db = apart(k, sse)
    if member == 0:
        _copy_state(Wt, b, Wt_last, b_last)
    scale = 1.0 / m  # computed once: a division every iteration costs small fits a third
    ceiling = np.inf
    updates = 0
    while True:
        half = updates & (G.shape[0] - 1)
        # This member's slots: its blocks' sums, GAP slots on from the previous member's.
        Gh, gbh, sseh = G[half, GAP * member:], gb[half, GAP * member:], sse[half, GAP * member:]
        if vectors is not None:
            for block in range(first, last):
                sseh[block] = row_vector_block(X, Y, Wt, b, block, block_rows, ahead, Gh, gbh,
                                               vectors)
        elif tile is not None:
            for block in range(first, last):
                sseh[block] = tiled_block(X, Y, Wt, b, block, block_rows, ahead, Gh, gbh, tile)
        elif width is not None:
            for block in range(first, last):
                sseh[block] = fixed_width_block(X, Y, Wt, b, block, block_rows, Gh, gbh, width)
        elif E is not None:
            for block in range(first, last):
                sseh[block] = column_major_block(X, Y, Wt, b, block, block_rows, Gh, gbh,
                                                 E[member])
        else:
            for block in range(first, last):
                sseh[block] = row_major_block(X, Y, Wt, b, block, block_rows, Gh, gbh)
        if members > 1:
            meet(sync, member, members, updates + 1)
        loss, grad_norm = _reduce(G[half], gb[half], sse[half], blocks, members, scale, dW, db)
        status, ceiling = checkpoint(loss, grad_norm, updates, ceiling, blowup, max_iter, tol)
        if status != CONTINUE:
            return status, updates, loss, grad_norm
        if member == 0:
            if history.size:
                history[updates] = loss
            _copy_state(Wt, b, Wt_last, b_last)
        _update(Wt, b, dW, db, lr)
        updates += 1


@jit()
def descend(X, Y, Wt, b, lr, max_iter, tol, blowup, block_rows, ahead, E, width, tile, vectors,
            history, Wt_last, b_last):
    """Batch gradient descent on ``Wt`` (k, n) and ``b`` (k,), updated in place, on this thread.

    Each iteration makes one pass over the rows of ``X`` (m, n) against ``Y`` (m, k), then the
    simultaneous update ``W -= lr dW, b -= lr db``. Stops after ``max_iter`` updates, or at the
    first iterate whose gradient norm is ``<= tol`` when ``tol > 0``. ``history`` (length
    ``max_iter`` or 0) receives J before each update; ``Wt_last``, ``b_last`` the state before
    the last update. Returns ``(status, updates, J, grad_norm)``, J and the norm at the final
    state; status ``NONFINITE`` or ``BLOWN_UP`` (J above ``blowup`` times the first J) stops
    at once, leaving the last good state in ``Wt_last``, ``b_last``. ``block_rows``, ``ahead``,
    ``E``, ``width``, ``tile`` and ``vectors`` pick the block kernel, as in ``_member``.

    This never loads numba's thread pool (``descend_team`` does), and numba compiles its call
    of ``_member`` for the literal member 0 of 1, a variant without the meeting.
    """
    G, gb, sse = _block_slots(X, Y, block_rows, 1, 1)
    return _member(0, 1, X, Y, Wt, b, lr, max_iter, tol, blowup, block_rows, ahead, E, width,
                   tile, vectors, G, gb, sse, np.empty(0, np.int64), history, Wt_last, b_last)


@jit(parallel=True)
def descend_team(X, Y, Wt, b, lr, max_iter, tol, blowup, block_rows, ahead, E, width, tile,
                 vectors, history, Wt_last, b_last, threads):
    """``descend`` on a team of up to ``threads`` of numba's pool, started once for the descent.

    Each thread that starts joins the team (:func:`.sync.join`) and runs ``_member`` to the
    end; they meet once an iteration. A thread only ever waits for threads that are running,
    whatever numba's threading layer does with the loop, and the result is the same bits as
    ``descend``'s whatever the team's size.
    """
    G, gb, sse = _block_slots(X, Y, block_rows, 2, threads)
    sync = team_flags(threads)
    end = np.empty(4)  # member 0's (status, updates, J, grad_norm)
    for _ in prange(threads):
        member, members = join(sync, threads)
        if members:
            # The other members descend on copies of the state, and end with the same bits.
            own_Wt, own_b = (Wt, b) if member == 0 else (_apart_copy(Wt), _apart_copy(b))
            status, updates, loss, grad_norm = _member(
                member, members, X, Y, own_Wt, own_b, lr, max_iter, tol, blowup, block_rows,
                ahead, E, width, tile, vectors, G, gb, sse, sync, history, Wt_last, b_last)
            if member == 0:
                end[0], end[1], end[2], end[3] = status, updates, loss, grad_norm
    return int(end[0]), int(end[1]), end[2], end[3]
