"""The pass primitive: the partial sums of one block of rows for given ``w, b`` and loss.

``block_sums(spec, loss, member, X, Y, Wt, b, block, block_rows, G, gb)`` reads rows
``block * block_rows`` up to the next block (or X's end), writes the block's gradient sums
``sum_i error_i x_i`` into ``G[block]`` (k, n) and ``sum_i error_i`` into ``gb[block]`` (k,), and
returns the sum of the rows' loss values (:mod:`.losses`). It is the only code that reads X:
every driver (one thread, a team, many problems, Dask chunks) calls it and adds the blocks in
block order, so the same rows give the same bits whichever driver runs them.

Which code reads the block is the *type* of ``spec``, resolved when the caller is compiled:

- ``Rows()``: any X, row by row (four rows a step); width-agnostic, every loss.
- ``Columns(E)``: X whose columns are contiguous; a block's errors formed in ``E[member]``,
  then each column's dot product with them; width-agnostic, every loss.
- ``FixedWidth(width)``: contiguous columns, ``len(width)`` of them a constant of the compiled
  variant, so the gradient sums stay in registers; every loss.
- ``Tiles(width, ahead)``, ``RowVectors(width, ahead, lines)``: C-order X, written in LLVM IR
  (:mod:`.tiles`, :mod:`.row_vectors`), compiled per width; squared loss, and every unweighted
  loss on the row vectors (``computes``: the planner never sends them another). ``lines``: the
  row vectors may read rows from memory as whole lines (a value, not a type: no compile).

The order of every sum is fixed by X's shape and the spec, never by the thread count.
"""
from collections import namedtuple

import numpy as np
from numba.core.errors import TypingError
from numba.extending import overload

from .._config import jit
from .losses import Squared, error_value, start
from .registers import reread, stack_zeros
from .row_vectors import LOSSES as ROW_VECTOR_LOSSES, row_vector_pass
from .tiles import VECTOR_BYTES, tile_pass

Rows = namedtuple("Rows", [])
Columns = namedtuple("Columns", ["E"])
FixedWidth = namedtuple("FixedWidth", ["width"])
Tiles = namedtuple("Tiles", ["width", "ahead"])
RowVectors = namedtuple("RowVectors", ["width", "ahead", "lines"])

#: The losses of the passes that do not run every loss (their rows' errors written in IR).
_LOSSES_OF = {Tiles: (Squared,), RowVectors: ROW_VECTOR_LOSSES}


def computes(spec, loss):
    """Whether the pass of spec class ``spec`` computes the loss of class ``loss``."""
    return loss in _LOSSES_OF.get(spec, (loss,))


def features(spec, Wt):
    """The number of features: ``len(spec.width)``, a constant of the caller's compiled code,
    for a pass compiled per width; else ``Wt.shape[1]``."""


@overload(features, inline="always")
def _features(spec, Wt):
    if "width" in getattr(spec, "fields", ()):
        count = spec.types[spec.fields.index("width")].count
        return lambda spec, Wt: count
    return lambda spec, Wt: Wt.shape[1]


def block_sums(spec, loss, member, X, Y, Wt, b, block, block_rows, G, gb):
    """Write block ``block``'s gradient sums into ``G[block]``, ``gb[block]``; return its loss sum."""


@jit(inline="always")
def _row_step(loss, X, again, Y, i, j, bj, w, g, n):
    """Row ``i`` (of X) against output ``j``: its ``(error, value)``, with its share of the gradient
    added into ``g``. The gradient reads the row from ``again``: X itself, or X behind
    ``registers.reread``."""
    e = start(loss, bj, Y[i, j])
    for f in range(n):
        e += X[i, f] * w[f]
    e, value = error_value(loss, e, Y[i, j], i)
    for f in range(n):
        g[f] += again[i, f] * e
    return e, value


#: The width-agnostic passes are compiled apart, not inlined into the descent: typed once per
#: loss and X's type and cached on their own, they shorten the first fit's compile by a third
#: (docs/performance.md, "The first compile") for one call per block.
@jit()
def _rows(loss, X, Y, Wt, b, block, block_rows, G, gb):
    # Four rows a step: four independent dot products overlap and G is read and written once
    # per four rows; a single feature keeps every sum in a register, vectorised across rows.
    m, n = X.shape
    r0 = block * block_rows
    r1 = min(r0 + block_rows, m)
    xs = X[r0:r1]
    ys = Y[r0:r1]
    rows = r1 - r0
    total = 0.0
    for j in range(Y.shape[1]):
        bj = b[j]
        sum_e = 0.0
        if n == 1:
            w0 = Wt[j, 0]
            g0 = 0.0
            for i in range(rows):
                e, value = error_value(loss, xs[i, 0] * w0 + start(loss, bj, ys[i, j]), ys[i, j],
                                       r0 + i)
                g0 += xs[i, 0] * e
                sum_e += e
                total += value
            G[block, j, 0] = g0
            gb[block, j] = sum_e
            continue
        w = Wt[j]
        g = G[block, j]
        g[:] = 0.0
        i = 0
        while i + 4 <= rows:
            e0 = start(loss, bj, ys[i, j])
            e1 = start(loss, bj, ys[i + 1, j])
            e2 = start(loss, bj, ys[i + 2, j])
            e3 = start(loss, bj, ys[i + 3, j])
            for f in range(n):
                wf = w[f]
                e0 += xs[i, f] * wf
                e1 += xs[i + 1, f] * wf
                e2 += xs[i + 2, f] * wf
                e3 += xs[i + 3, f] * wf
            e0, v0 = error_value(loss, e0, ys[i, j], r0 + i)
            e1, v1 = error_value(loss, e1, ys[i + 1, j], r0 + i + 1)
            e2, v2 = error_value(loss, e2, ys[i + 2, j], r0 + i + 2)
            e3, v3 = error_value(loss, e3, ys[i + 3, j], r0 + i + 3)
            for f in range(n):
                g[f] += (xs[i, f] * e0 + xs[i + 1, f] * e1) + (xs[i + 2, f] * e2 + xs[i + 3, f] * e3)
            sum_e += (e0 + e1) + (e2 + e3)
            total += (v0 + v1) + (v2 + v3)
            i += 4
        while i < rows:
            e, value = _row_step(loss, X, X, Y, r0 + i, j, bj, w, g, n)
            sum_e += e
            total += value
            i += 1
        gb[block, j] = sum_e
    return total


@jit()
def _columns(loss, X, Y, Wt, b, block, block_rows, G, gb, e):
    # Every inner loop runs down a contiguous column (or e), so LLVM vectorises it across rows.
    m, n = X.shape
    r0 = block * block_rows
    r1 = min(r0 + block_rows, m)
    rows = r1 - r0
    ys = Y[r0:r1]
    zero = G.dtype.type(0)
    total = 0.0
    for j in range(Y.shape[1]):
        bj = b[j]
        for i in range(rows):
            e[i] = start(loss, bj, ys[i, j])
        for f in range(n):
            wf = Wt[j, f]
            # X[r0:r1, f], not a slice of a slice: numba types this one contiguous for F-order X.
            column = X[r0:r1, f]
            for i in range(rows):
                e[i] += column[i] * wf
        sum_e = 0.0
        for i in range(rows):
            e[i], value = error_value(loss, e[i], ys[i, j], r0 + i)
            sum_e += e[i]
            total += value
        for f in range(n):
            column = X[r0:r1, f]
            g = zero
            for i in range(rows):
                g += column[i] * e[i]
            G[block, j, f] = g
        gb[block, j] = sum_e
    return total


@jit(inline="always")
def _fixed_width(loss, X, Y, Wt, b, block, block_rows, G, gb, width):
    # The number of features is a constant of the compiled variant: the loops over features
    # unroll, the sums stay in registers (stack_zeros) and the loop over rows vectorises.
    m = X.shape[0]
    n = len(width)
    # Unsigned row numbers: a signed one that LLVM cannot prove non-negative turns every load
    # of a vector of rows into a gather.
    r0 = np.uint64(block * block_rows)
    r1 = np.uint64(min(m, (block + 1) * block_rows))
    total = 0.0
    for j in range(Y.shape[1]):
        bj = b[j]
        w = Wt[j]
        g = stack_zeros(width, G)
        sum_e = 0.0
        again = reread(X, width)
        for i in range(r0, r1):
            e, value = _row_step(loss, X, again, Y, i, j, bj, w, g, n)
            sum_e += e
            total += value
        for f in range(n):
            G[block, j, f] = g[f]
        gb[block, j] = sum_e
    return total


@jit(exact=True)
def _last_rows(X, Y, j, bj, w, g, start_row, stop):
    """Squared loss over rows ``start_row .. stop``, added into ``g``: ``(sse, sum of errors)``.
    Compiled without fast-math: wherever LLVM inlines it, its instructions keep their flags."""
    sse = 0.0
    sum_e = 0.0
    for i in range(start_row, stop):
        e, value = _row_step(Squared(), X, X, Y, i, j, bj, w, g, X.shape[1])
        sum_e += e
        sse += value
    return sse, sum_e


@jit(inline="always")
def _tiles(X, Y, Wt, b, block, block_rows, G, gb, width, ahead):
    # Whole groups of rows (a vector of rows each) through the IR kernel; the rows after the
    # last whole group, only in X's last block, take the textbook step.
    m = X.shape[0]
    r0 = block * block_rows
    r1 = min(r0 + block_rows, m)
    step = VECTOR_BYTES // X.itemsize
    done = r0 + (r1 - r0) // step * step
    sse = 0.0
    for j in range(Y.shape[1]):
        g = G[block, j]
        group_sse, group_sum = tile_pass(X, Y[:, j], Wt[j], b[j], r0, (done - r0) // step, g,
                                         ahead, width)
        last_sse, last_sum = _last_rows(X, Y, j, b[j], Wt[j], g, done, r1)
        sse += group_sse + last_sse
        gb[block, j] = group_sum + last_sum
    return sse


@jit(inline="always")
def _row_vectors(loss, X, Y, Wt, b, block, block_rows, G, gb, width, ahead, lines):
    r0 = block * block_rows
    r1 = min(r0 + block_rows, X.shape[0])
    total = 0.0
    for j in range(Y.shape[1]):
        values, gb[block, j] = row_vector_pass(X, Y[:, j], Wt[j], b[j], r0, r1, G[block, j],
                                               ahead, width, loss, lines)
        total += values
    return total


@overload(block_sums, inline="always")
def _block_sums(spec, loss, member, X, Y, Wt, b, block, block_rows, G, gb):
    kind = spec.instance_class
    if not computes(kind, loss.instance_class):
        raise TypingError(f"the {kind.__name__} pass does not compute "
                          f"{loss.instance_class.__name__.lower()} loss")
    if kind is Rows:
        return lambda spec, loss, member, X, Y, Wt, b, block, block_rows, G, gb: _rows(
            loss, X, Y, Wt, b, block, block_rows, G, gb)
    if kind is Columns:
        return lambda spec, loss, member, X, Y, Wt, b, block, block_rows, G, gb: _columns(
            loss, X, Y, Wt, b, block, block_rows, G, gb, spec.E[member])
    if kind is FixedWidth:
        return lambda spec, loss, member, X, Y, Wt, b, block, block_rows, G, gb: _fixed_width(
            loss, X, Y, Wt, b, block, block_rows, G, gb, spec.width)
    if kind is Tiles:
        return lambda spec, loss, member, X, Y, Wt, b, block, block_rows, G, gb: _tiles(
            X, Y, Wt, b, block, block_rows, G, gb, spec.width, spec.ahead)
    if kind is RowVectors:
        return lambda spec, loss, member, X, Y, Wt, b, block, block_rows, G, gb: _row_vectors(
            loss, X, Y, Wt, b, block, block_rows, G, gb, spec.width, spec.ahead, spec.lines)
    return None
