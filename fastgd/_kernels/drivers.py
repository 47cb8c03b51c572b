"""The descent over the pass primitive: one compiled function for one thread and for a team.

``descend`` runs the iterations of one member of a team of ``members`` (1 for a one-thread
fit): each iteration it sums its own run of blocks with :func:`.passes.block_sums`, meets the
other members (:mod:`.sync`), adds every block's sums in block order, and makes the
simultaneous update with the penalties. Every member computes the same update from the same
sums, so all hold the same bits, whatever the team's size, and only one flag an iteration
passes between them. The team's threads are Python threads (the function releases the GIL),
so numba's own thread pool is never started.

A call stops at iterate ``run[STOP]`` and returns ``CONTINUE`` there: the Python driver
(``fastgd._drive``) calls again, and between calls Ctrl-C, a callback or a progress bar can
act. Everything a later call needs (the update count, the pending update, the blow-up
ceiling, the sync rounds) is in the arrays passed in.
"""
import math
from collections import namedtuple

import numpy as np
from numba import types
from numba.extending import overload

from .. import _tuning as tune
from .._config import jit
from .borrowed import borrowed
from .exact import add, div, mul, sub
from .passes import block_sums, features
from .registers import one_column, stack_copy, stack_slots
from .sync import meet, share

OK, NONFINITE, BLOWN_UP, CONTINUE = 0, 1, 2, -1
#: The width of a one-element array on the stack (``registers.stack_copy``).
ONE = (0,)

#: Indices into ``run`` (int64) and ``state`` (float64), the descent's resumable state.
UPDATES, STOP, PENDING = 0, 1, 2
CEILING, LOSS, GRAD_NORM = 0, 1, 2

#: The settings of a descent (``l2``, ``l1`` 0 when unpenalised). ``half`` is 0.5 where J
#: halves the mean of the losses' values (squared loss), else 1. ``center`` and ``spread``
#: (float64, n each, or empty) make the descent run in the coordinates of standardised columns,
#: ``v = spread w``, ``c = b + center . w``, while the pass reads X as it is. ``intercept``
#: False keeps ``b`` where it starts (its gradient taken as 0).
Settings = namedtuple("Settings", ["lr", "max_iter", "tol", "blowup", "l2", "l1", "half",
                                   "block_rows", "center", "spread", "intercept"])

#: Bytes kept clear around what one thread writes and others do not (two cache lines: the
#: adjacent-line prefetcher fetches lines in pairs), so no line passes between cores at writes.
PADDING = 128
#: Slots left between one member's block sums and the next one's: PADDING bytes of 4-byte slots.
GAP = PADDING // 4


@jit()
def block_rows(m, n):
    """Rows per block for X of shape (m, n): fixed by the shape alone, so results never depend
    on threads. About ``BLOCK_ELEMENTS`` elements, cut smaller to give ``MIN_BLOCKS``; a
    multiple of ``BLOCK_ROW_MULTIPLE``, at least ``MIN_BLOCK_ROWS``. X too short to give every
    block ``MIN_BLOCK_ROWS`` is one block: a descent of one block runs alone (in registers)."""
    group = tune.BLOCK_ROW_MULTIPLE
    if m <= tune.MIN_BLOCKS * tune.MIN_BLOCK_ROWS:
        return max(tune.MIN_BLOCK_ROWS, -(-m // group) * group)
    share = -(-m // tune.MIN_BLOCKS)
    rows = min(tune.BLOCK_ELEMENTS // n // group * group, -(-share // group) * group)
    return max(tune.MIN_BLOCK_ROWS, rows)


@jit(inline="always")
def checkpoint(loss, grad_norm, updates, ceiling, blowup, max_iter, tol):
    """Whether the descent ends at this iterate: ``(status, ceiling)``. The first iterate sets
    the ceiling, ``blowup`` times its J; ``CONTINUE`` goes on."""
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
def _soft(v, t):
    """The proximal step of ``t |w|``: ``sign(v) max(|v| - t, 0)``."""
    if v > t:
        return sub(v, t)
    if v < -t:
        return add(v, t)
    return 0.0


@jit(inline="always")
def _gather(G, gb, values, blocks, members, dW, db, n):
    """Add the block slots in block order into ``dW``, ``db``; return J's sum. The first slot
    is copied, not added to zeros: no sum is -0.0 (``_finish``), so the bits are the same."""
    for j in range(dW.shape[0]):
        db[j] = gb[0, j]
        for f in range(n):
            dW[j, f] = np.float64(G[0, j, f])
    total = values[0]
    for member in range(members):
        first, last = share(blocks, member, members)
        for block in range(max(first, 1), last):  # member 0's first block is slot 0
            slot = block + GAP * member
            for j in range(dW.shape[0]):
                db[j] = add(db[j], gb[slot, j])
                for f in range(n):
                    dW[j, f] = add(dW[j, f], np.float64(G[slot, j, f]))
            total = add(total, values[slot])
    return total


@jit(inline="always")
def _finish(S, sb, total, scale, settings, Wt, dW, db, n):
    """The gradient ``dW``, ``db`` from the sums ``S`` (k, n), ``sb`` (k,) and ``total`` of
    every row (one block's slot, or ``dW``, ``db`` themselves), and (J, gradient norm). With an
    L1 penalty the norm is the gradient mapping's, ``(w - prox(w - lr dW)) / lr``, zero exactly
    at the optimum. Standardised (``settings.spread`` not empty), ``dW`` is the gradient in
    ``v = spread w``, ``(dW - center db) / spread``, and the penalties are on ``v``.

    :mod:`.exact` arithmetic: nothing fused or reordered, so the bits are those written here.
    Every pass's sums start from +0.0, so none is -0.0 and ``S`` needs no ``0.0 +`` to match a
    sum of slots (that add sat on every iteration's chain of latencies).
    """
    loss = mul(mul(settings.half, scale), total)
    squares = 0.0
    for j in range(dW.shape[0]):
        dbj = mul(sb[j], scale) if settings.intercept else 0.0
        db[j] = dbj
        squares = add(squares, mul(dbj, dbj))
        for f in range(n):
            d = mul(np.float64(S[j, f]), scale)
            w = np.float64(Wt[j, f])
            if settings.spread.size:
                d = div(sub(d, mul(settings.center[f], dbj)), settings.spread[f])
                w = mul(w, settings.spread[f])
            if settings.l2 > 0:
                d = add(d, mul(settings.l2, w))
                loss = add(loss, mul(mul(0.5, settings.l2), mul(w, w)))
            if settings.l1 > 0:
                loss = add(loss, mul(settings.l1, abs(w)))
                step = sub(w, _soft(sub(w, mul(settings.lr, d)), mul(settings.lr, settings.l1)))
                mapped = div(step, settings.lr)
                squares = add(squares, mul(mapped, mapped))
            else:
                squares = add(squares, mul(d, d))
            dW[j, f] = d
    return loss, math.sqrt(squares)


@jit(inline="always")
def _update(Wt, b, dW, db, settings, n):
    """The simultaneous step ``W -= lr dW, b -= lr db`` in float64 (stored in W's dtype), then
    the L1 penalty's proximal step on W; standardised, the same step on ``v`` and ``c``."""
    lr = settings.lr
    if settings.spread.size:
        _update_standardised(Wt, b, dW, db, settings, n)
        return
    for j in range(Wt.shape[0]):
        b[j] = sub(np.float64(b[j]), mul(lr, db[j]))
        for f in range(n):
            v = sub(np.float64(Wt[j, f]), mul(lr, dW[j, f]))
            if settings.l1 > 0:
                v = _soft(v, mul(lr, settings.l1))
            Wt[j, f] = v


@jit(inline="always")
def _update_standardised(Wt, b, dW, db, settings, n):
    lr, center, spread = settings.lr, settings.center, settings.spread
    for j in range(Wt.shape[0]):
        c = np.float64(b[j])
        for f in range(n):
            c = add(c, mul(center[f], np.float64(Wt[j, f])))
        c = sub(c, mul(lr, db[j]))
        for f in range(n):
            v = sub(mul(np.float64(Wt[j, f]), spread[f]), mul(lr, dW[j, f]))
            if settings.l1 > 0:
                v = _soft(v, mul(lr, settings.l1))
            Wt[j, f] = div(v, spread[f])
        for f in range(n):
            c = sub(c, mul(center[f], np.float64(Wt[j, f])))
        b[j] = c


@jit()
def descend(member, members, X, Y, Wt, b, spec, loss, settings, G, gb, values, sync, run, state,
            dW, db, history):
    """Gradient descent on ``Wt`` (k, n) and ``b`` (k,), in place, as member ``member`` of
    ``members``; returns the status.

    Each iteration: this member's blocks by ``block_sums`` into the slots ``G``, ``gb``,
    ``values`` (two sets alternating when ``members > 1``, so a member running ahead never
    overwrites sums another is still adding), the meeting, the reduction into this member's
    ``dW``, ``db``, the stop test (``checkpoint``), then the update. A call returns
    ``CONTINUE`` after the stop test at iterate ``run[STOP]`` (below ``max_iter``), its update
    pending (``run[PENDING]``) for the next call, else at the end (``OK``, ``NONFINITE`` or
    ``BLOWN_UP``). Member 0 writes back ``run``, ``state`` (ceiling, J and gradient norm at the
    last iterate tested) and J and the gradient norm before each update into ``history``'s rows
    (from this call's first update, when it is not empty). A failed descent (``NONFINITE``,
    ``BLOWN_UP``) leaves ``Wt``, ``b`` at the state before its last update, the last good one.

    ``sync`` (the team's flags) None compiles the variant of one member over one block for one
    output, with a pass of fixed width (``passes.FixedWidth``), which holds its state in
    registers (``G``, ``gb``, ``values`` None): the same arithmetic, so the same bits.
    """
    # Every array is the caller's, alive for the whole call: no reference counting in the loop.
    X, Y, Wt, b, G, gb, values = (borrowed(X), borrowed(Y), borrowed(Wt), borrowed(b),
                                  borrowed(G), borrowed(gb), borrowed(values))
    dW, db, history = borrowed(dW), borrowed(db), borrowed(history)
    sync, run, state = borrowed(sync), borrowed(run), borrowed(state)
    settings = Settings(settings.lr, settings.max_iter, settings.tol, settings.blowup,
                        settings.l2, settings.l1, settings.half, settings.block_rows,
                        borrowed(settings.center), borrowed(settings.spread), settings.intercept)
    callers = Wt, b, dW, db
    # Wt_last, b_last: the state before the last update; a call begins with its first update
    # (the one pending, or none at the start), so no call needs another's.
    member, members, Y, Wt, b, G, gb, values, dW, db, Wt_last, b_last = alone_or_not(
        sync, spec, member, members, Y, Wt, b, G, gb, values, dW, db)
    m = X.shape[0]
    blocks = block_count(sync, m, settings.block_rows)
    first, last = share(blocks, member, members)
    k = Wt.shape[0]
    n = features(spec, Wt)  # a constant where the pass fixes the width: the loops unroll
    scale = 1.0 / m  # once: a division every iteration costs small fits a third
    ceiling = state[CEILING]
    J, grad_norm = state[LOSS], state[GRAD_NORM]
    updates = run[UPDATES]
    first_update = updates
    pending = run[PENDING] == 1
    stop = run[STOP]
    # The slots of each set (two alternate in a team), and this member's own part of them:
    # its blocks' sums, GAP slots on from the previous member's.
    odd_set = G.shape[0] - 1
    sets = ((G[0], gb[0], values[0]), (G[odd_set], gb[odd_set], values[odd_set]))
    own = GAP * member
    mine = ((sets[0][0][own:], sets[0][1][own:], sets[0][2][own:]),
            (sets[1][0][own:], sets[1][1][own:], sets[1][2][own:]))
    while True:
        if not pending:
            odd = (updates & odd_set) == 1
            Gs, gbs, valuess = sets[1] if odd else sets[0]
            Gm, gbm, valuesm = mine[1] if odd else mine[0]
            for block in range(first, last):
                valuesm[block] = block_sums(spec, loss, member, X, Y, Wt, b, block,
                                            settings.block_rows, Gm, gbm)
            if members > 1:
                _meet(sync, member, members, updates + 1)
            # every block count through one inlined _finish: numba types each copy anew
            total = _gather(Gs, gbs, valuess, blocks, members, dW, db, n)
            J, grad_norm = _finish(dW, db, total, scale, settings, Wt, dW, db, n)
            status, ceiling = checkpoint(J, grad_norm, updates, ceiling, settings.blowup,
                                         settings.max_iter, settings.tol)
            if status == CONTINUE and updates == stop:
                run[PENDING] = 1  # every member returns here; member 0 writes the rest
            if status != CONTINUE or updates == stop:
                if (status == NONFINITE or status == BLOWN_UP) and updates > 0:
                    for j in range(k):
                        b[j] = b_last[j]
                        for f in range(n):
                            Wt[j, f] = Wt_last[j, f]
                if member == 0:
                    run[UPDATES] = updates
                    state[CEILING], state[LOSS], state[GRAD_NORM] = ceiling, J, grad_norm
                write_back(sync, callers, Wt, b, dW, db)
                return status
        pending = False
        if member == 0 and history.size:
            history[updates - first_update, 0] = J
            history[updates - first_update, 1] = grad_norm
        for j in range(k):
            b_last[j] = b[j]
            for f in range(n):
                Wt_last[j, f] = Wt[j, f]
        _update(Wt, b, dW, db, settings, n)
        updates += 1


def alone_or_not(sync, spec, member, members, Y, Wt, b, G, gb, values, dW, db):
    """``member, members, Y, Wt, b, G, gb, values, dW, db`` as ``descend`` runs on them, and
    room for ``Wt, b`` before an update: as they are (the room new arrays), or alone (``sync``
    None: one member, one block, one output, a pass of fixed width) ``Y`` of one column and the
    rest on the stack (the state copied, the block's slots new: the caller passes None for
    ``G``, ``gb``, ``values``), where every index into them is a constant: LLVM keeps them in
    registers, and an iteration passes nothing through memory (W1: half the time)."""


@overload(alone_or_not, inline="always")
def _alone_or_not(sync, spec, member, members, Y, Wt, b, G, gb, values, dW, db):
    if not isinstance(sync, types.NoneType):
        return lambda sync, spec, member, members, Y, Wt, b, G, gb, values, dW, db: (
            member, members, Y, Wt, b, G, gb, values, dW, db, Wt.copy(), b.copy())

    def alone(sync, spec, member, members, Y, Wt, b, G, gb, values, dW, db):
        n = len(spec.width)
        return (0, 1, one_column(Y), stack_copy(Wt, spec.width, (1, n)),
                stack_copy(b, ONE, (1,)), stack_slots(spec.width, Wt, (1, 1, 1, n)),
                stack_slots(ONE, dW, (1, 1, 1)), stack_slots(ONE, dW, (1, 1)),
                stack_copy(dW, spec.width, (1, n)), stack_copy(db, ONE, (1,)),
                stack_slots(spec.width, Wt, (1, n)), stack_slots(ONE, b, (1,)))
    return alone


def block_count(sync, m, block_rows):
    """The blocks of ``m`` rows: 1 alone (``sync`` None), a constant of the compiled code."""


@overload(block_count, inline="always")
def _block_count(sync, m, block_rows):
    if isinstance(sync, types.NoneType):
        return lambda sync, m, block_rows: 1
    return lambda sync, m, block_rows: (m + block_rows - 1) // block_rows


def _meet(sync, member, members, round):
    """``sync.meet`` for a team; nothing alone."""


@overload(_meet, inline="always")
def _meet_overload(sync, member, members, round):
    if isinstance(sync, types.NoneType):
        return lambda sync, member, members, round: None
    return lambda sync, member, members, round: meet(sync, member, members, round)


def write_back(sync, callers, Wt, b, dW, db):
    """Alone, copy the state from the stack back to the caller's ``Wt``, ``b``, ``dW``, ``db``
    (``callers``): the next call starts from them, its update pending."""


@overload(write_back, inline="always")
def _write_back(sync, callers, Wt, b, dW, db):
    if not isinstance(sync, types.NoneType):
        return lambda sync, callers, Wt, b, dW, db: None

    def copy(sync, callers, Wt, b, dW, db):
        for f in range(Wt.shape[1]):  # element by element: a slice would count references
            callers[0][0, f], callers[2][0, f] = Wt[0, f], dW[0, f]
        callers[1][0], callers[3][0] = b[0], db[0]
    return copy


@jit()
def settle(G, gb, values, m, settings, Wt, dW, db, updates, state):
    """An iteration's end from the sums of every row (one slot of ``G``, ``gb``, ``values``,
    float64), as ``descend`` ends one: the gradient into ``dW``, ``db``, then the stop test;
    returns the status and writes ``state``. A distributed fit's driver runs it."""
    J, grad_norm = _finish(G[0], gb[0], values[0], 1.0 / m, settings, Wt, dW, db,
                           Wt.shape[1])
    status, state[CEILING] = checkpoint(J, grad_norm, updates, state[CEILING], settings.blowup,
                                        settings.max_iter, settings.tol)
    state[LOSS], state[GRAD_NORM] = J, grad_norm
    return status


@jit()
def update(Wt, b, dW, db, settings):
    """``descend``'s update, for a driver that computes the gradient elsewhere."""
    _update(Wt, b, dW, db, settings, Wt.shape[1])
