"""Many independent problems: each one the descent of ``drivers.descend``, claimed in turn.

Problem ``p`` is rows ``xs[p]:xe[p]`` of X against column ``yc[p]`` of rows ``ys[p]:ye[p]`` of
Y. Threads claim problems from one counter (an atomic add) until ``stop``; each runs the same
``descend`` that ``fit_linear`` runs on that problem alone, as member 0 of a team of 1, to its
own end, so every problem gets ``fit_linear``'s bits whichever thread takes it.
"""
import numpy as np
from numba.extending import overload

from .._config import jit
from .drivers import (BLOWN_UP, CEILING, GRAD_NORM, LOSS, NONFINITE, OK, STOP, Settings,
                      block_rows, descend)
from .passes import Columns, FixedWidth
from .sync import fetch_add

#: A problem's status in ``fit_linear_many``'s result.
DONE, DIVERGED, NONFINITE_DATA, EMPTY = 0, 1, 2, 3


def problem_rows(spec, X):
    """The rows that ``spec``'s pass reads: a Fortran-order copy for the fixed-width pass (as
    ``fit_linear`` makes for C-order X), else ``X`` itself."""


@overload(problem_rows, inline="always")
def _problem_rows(spec, X):
    if spec.instance_class is FixedWidth:
        def copy(spec, X):
            F = np.empty((X.shape[1], X.shape[0]), X.dtype).T
            for i in range(X.shape[0]):
                for f in range(X.shape[1]):
                    F[i, f] = X[i, f]
            return F
        return copy
    return lambda spec, X: X


def thread_spec(spec, rows, dtype):
    """``spec`` with scratch of this thread's own where the pass needs it (``columns``)."""


@overload(thread_spec, inline="always")
def _thread_spec(spec, rows, dtype):
    if spec.instance_class is Columns:
        return lambda spec, rows, dtype: Columns(np.empty((1, rows), dtype))
    return lambda spec, rows, dtype: spec


def descend_problem(blocks, member, members, X, Y, Wt, b, spec, loss, settings, G, gb, values,
                    flags, run, state, dW, db, history):
    """``descend`` on one problem: alone (``sync`` None) where ``fit_linear`` would run it so,
    a problem of one block on the fixed-width pass, else as a team of one."""


@overload(descend_problem, inline="always")
def _descend_problem(blocks, member, members, X, Y, Wt, b, spec, loss, settings, G, gb, values,
                     flags, run, state, dW, db, history):
    if spec.instance_class is not FixedWidth:
        def team(blocks, member, members, X, Y, Wt, b, spec, loss, settings, G, gb, values,
                 flags, run, state, dW, db, history):
            return descend(member, members, X, Y, Wt, b, spec, loss, settings, G, gb, values,
                           flags, run, state, dW, db, history)
        return team

    def either(blocks, member, members, X, Y, Wt, b, spec, loss, settings, G, gb, values,
               flags, run, state, dW, db, history):
        if blocks == 1:
            return descend(member, members, X, Y, Wt, b, spec, loss, settings, None, None, None,
                           None, run, state, dW, db, history)
        return descend(member, members, X, Y, Wt, b, spec, loss, settings, G, gb, values,
                       flags, run, state, dW, db, history)
    return either


@jit(inline="always")
def _finite(X, Y):
    for i in range(X.shape[0]):
        if not np.isfinite(Y[i, 0]):
            return False
        for f in range(X.shape[1]):
            if not np.isfinite(X[i, f]):
                return False
    return True


@jit()
def descend_many(counter, stop, X, Y, xs, xe, ys, ye, yc, spec, loss, lrs, iters, tols, blowup,
                 l2, l1, half, intercept, W, B, status, n_iter, losses, norms):
    """Claim problems from ``counter[0]`` until ``stop`` and descend on each: its weights and bias
    (start in, end out: a failed problem's last good state) in ``W[p]``, ``B[p]``, and its
    status, updates, J and gradient norm (a problem of no rows: ``EMPTY``, left at its start, J
    and norm NaN). Returns the problems done."""
    n = X.shape[1]
    done = 0
    flags = np.zeros(1, np.int64)
    run = np.zeros(3, np.int64)
    state = np.zeros(3)
    dW = np.empty((1, n))
    db = np.empty(1)
    history = np.empty((0, 2))
    Wt = np.empty((1, n), W.dtype)
    b = np.empty(1, W.dtype)
    no_columns = np.empty(0)  # not standardised
    # Member 0 of a team of 1 as int64 variables: literal 0 and 1 would type (and cache) a
    # descend of its own with them as constants, whose fast-math sums LLVM may order otherwise.
    first_member, one_member = np.int64(0), np.int64(1)
    while True:
        p = fetch_add(counter, 0, 1)
        if p >= stop:
            return done
        if xe[p] == xs[p]:
            n_iter[p], losses[p], norms[p], status[p] = 0, np.nan, np.nan, EMPTY
            done += 1
            continue
        Xp = problem_rows(spec, X[xs[p]:xe[p]])
        m = Xp.shape[0]
        # y's column, contiguous as fit_linear has it (a strided view compiles slower code)
        Yp = np.empty((m, 1), Y.dtype)
        for i in range(m):
            Yp[i, 0] = Y[ys[p] + i, yc[p]]
        rows = block_rows(m, n)
        blocks = (m + rows - 1) // rows
        settings = Settings(lrs[p], iters[p], tols[p], blowup, l2, l1, half, rows, no_columns,
                            no_columns, intercept)
        run[0], run[STOP], run[2] = 0, iters[p], 0
        state[CEILING] = np.inf
        Wt[0, :] = W[p]
        b[0] = B[p]
        code = descend_problem(blocks, first_member, one_member, Xp, Yp, Wt, b,
                               thread_spec(spec, rows, X.dtype), loss, settings,
                               np.empty((1, blocks, 1, n), X.dtype), np.empty((1, blocks, 1)),
                               np.empty((1, blocks)), flags, run, state, dW, db, history)
        W[p] = Wt[0]
        B[p] = b[0]
        n_iter[p], losses[p], norms[p] = run[0], state[LOSS], state[GRAD_NORM]
        if code == OK:
            status[p] = DONE
        elif code == NONFINITE and run[0] == 0 and not _finite(Xp, Yp):
            status[p] = NONFINITE_DATA
        else:
            status[p] = DIVERGED if code in (NONFINITE, BLOWN_UP) else code
        done += 1


@jit()
def group_order(codes, span):
    """Rows grouped by their codes (``0 <= codes[i] < span``) by counting, no sort:
    ``(present, order, starts)``, the codes that occur in ascending order, the rows in group
    order (a group's rows in their own order), and where each group starts in ``order``."""
    N = codes.shape[0]
    counts = np.zeros(span, np.int64)
    for i in range(N):
        counts[codes[i]] += 1
    place = np.empty(span, np.int64)
    P = 0
    for c in range(span):
        place[c] = P
        P += counts[c] > 0
    present = np.empty(P, np.int64)
    starts = np.zeros(P + 1, np.int64)
    for c in range(span):
        if counts[c]:
            present[place[c]] = c
            starts[place[c] + 1] = counts[c]
    for p in range(P):
        starts[p + 1] += starts[p]
    at = starts[:P].copy()
    order = np.empty(N, np.int64)
    for i in range(N):
        p = place[codes[i]]
        order[at[p]] = i
        at[p] += 1
    return present, order, starts
