"""``row_vector_pass``: the fused pass over C-order X a row at a time, ``n`` a constant.

A row of ``n >= L`` features is ``K = ceil(n / L)`` vectors of ``L`` lanes (64 bytes: 8
float64, 16 float32). The last one ends where the row ends, so where ``L`` does not divide
``n`` it overlaps the one before it; its overlapping lanes are zero in ``w``, and their
gradient sums are dropped (or, where the lanes left fill whole 16-byte registers, never
formed). The prediction adds the row's products into two vector sums (so the chain of
dependent FMAs is half the row), then across lanes in a fixed tree (rows of one or two
vectors go four or eight at a time, sharing the tree); the gradient adds the row's vectors times its
error into ``K`` vector sums. The ``K`` vectors of ``w`` and the ``K`` sums stay in
registers from row to row, where the CPU has enough of them.

Every instruction of a row is a vertical vector operation but for the one sum across lanes.
From memory this streams X at 0.88-1.04 of a plain read pass on one thread on a Zen 4 (W5 and
W6 of the spec, AVX-512), where the tile kernel, with its folds and permutes, kept 0.35-0.54,
and nothing needs prefetching there: the CPU's reorder window runs far enough ahead of the row
at hand. A Zen 5 core reads memory faster than that window reaches: there the kernel prefetches
each line of X ``ahead`` elements on (``_plan.prefetch_distance``). Such a pass, on a fit's one
thread (``lines``), also reads a row of ``LINES_MIN_VECTORS`` vectors or more as the whole lines
it spans and makes its vectors by a permute each (``_whole_lines``, AVX-512): a row seldom
starts on a line (numpy's large arrays start 16 bytes into one), and from memory a load that
crosses a line costs the stream more than a permute does. w is then read from L1 each row, so
that the row's vectors stay in registers for its gradient, and the targets are prefetched as
many rows on as X. The order of every sum is fixed by ``n`` and the dtype, so the same rows give
the same bits on any CPU, wherever X starts, prefetching or not.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .elementary import emit_logistic_parts
from .losses import Huber, Logistic, Squared
from .prefetch import emit_prefetch
from .registers import LOOP_VECTORS, hidden, register_bytes, register_count, target_features
from .tiles import (_EXACT, _I32, VECTOR_BYTES, _add_errors, _arguments, _by_y_stride, _fma, _fold,
                    _indices, _lane_sum, _splat, _takes, _target_address, _targets, lanes)


#: Rows that one step of the loop takes where a row is at most FOLD_MAX_VECTORS vectors:
#: their sums across lanes share one fold (:func:`.tiles._fold`), one vector of errors, and
#: one vector sum each of the errors and their squares, which a row this short otherwise
#: pays for nearly as much as for its arithmetic. W5 in float32 (20 features, two vectors a
#: row), one thread, floor / kernel over three alternate runs: 0.79-0.95 in steps of 4 rows
#: against 0.76-0.83 a row at a time. Longer rows go a row at a time: in L2, float64, n = 20
#: kept 0.50 of the floor that way against 0.47 in steps of 4, n = 50 0.74 against 0.58, 100
#: 0.71 against 0.48.
FOLDED_ROWS = 4
FOLD_MAX_VECTORS = 2
#: Fewest vectors of a row that the pass reads as whole lines from memory (``_whole_lines``):
#: shorter rows pay more for working out their lines than their loads lose by splitting.
LINES_MIN_VECTORS = 7
#: Rows a step takes instead, as two groups of FOLDED_ROWS, where the CPU has 32 vector
#: registers: the fold and the work on the errors serve twice the rows. Each group's errors are
#: added as a step of FOLDED_ROWS adds them, and the rows left over take such a step first, so
#: the bits are those of four a step (docs/performance.md, the planner's constants).
FOLDED_ROWS_WIDE = 2 * FOLDED_ROWS
#: Rows a step takes for the logistic loss, whatever the row's length: its exp and log1p run on a
#: vector of the step's errors, and a row at a time their chain of dependent FMAs sets the pace.
LOGISTIC_ROWS = FOLDED_ROWS_WIDE
#: The losses whose errors the pass forms (``passes.computes`` tells the planner).
LOSSES = (Squared, Huber, Logistic)


@intrinsic
def row_vector_pass(typingctx, X, y, w, bias, start, stop, g, ahead, width, loss, lines):
    """Errors and gradient sums of rows ``start .. stop`` of C-order ``X``.

    ``y`` the targets (1-D, any stride), ``w`` the weights (contiguous), ``bias`` a number,
    ``g`` (contiguous, ``n`` long) receives the gradient sums, ``ahead`` is None or how many
    elements ahead of each step's rows their lines are prefetched, ``width`` a tuple of
    ``n >= L`` items (its length is ``n`` when the kernel is compiled), ``loss`` one of
    ``LOSSES``, whose errors and values are those of ``losses.error_value``, ``lines`` whether
    rows from memory may be read as whole lines (a boolean, known at run time). Returns ``(sum
    of the rows' loss values, sum of errors)`` in float64, the squared loss's values ``r * r``.
    """
    if not _takes(X, w, g, width) or getattr(loss, "instance_class", None) not in LOSSES:
        return None
    dtype, n = X.dtype, width.count
    huber, logistic = loss.instance_class is Huber, loss.instance_class is Logistic
    signature = types.UniTuple(types.float64, 2)(X, y, w, bias, start, stop, g, ahead, width,
                                                 loss, lines)

    def codegen(context, builder, sig, args):
        item = context.get_value_type(dtype)
        size = context.get_abi_sizeof(item)
        L = lanes(size)
        K = -(-n // L)
        last = n - L  # where the last vector starts
        vector = ir.VectorType(item, L)
        zero = ir.Constant(vector, None)
        intp = context.get_value_type(types.intp)
        # The gradient takes the rows' vectors from registers where the CPU holds them beside
        # w and the sums, else loads them again from L1 through a hidden pointer (as
        # ``registers.reread``). In L2, one thread, AVX-512: n = 64 0.10-0.12 ns an element
        # kept against 0.13-0.16 loaded again; from memory n = 100 0.37 loaded again against
        # 0.44 kept (kept, its loop stored and reloaded 14 vectors a row).
        features = target_features(context)
        per_vector = VECTOR_BYTES // register_bytes(features)
        x, ys, ws, gs, start, stop, ahead, bias = _arguments(context, builder, sig, args)
        delta = (context.cast(builder, builder.extract_value(args[9], 0), types.float64, dtype)
                 if huber else None)
        if logistic:
            R = LOGISTIC_ROWS
        elif K > FOLD_MAX_VECTORS:
            R = 1
        elif register_count(features) < 32:
            R = FOLDED_ROWS
        else:
            R = FOLDED_ROWS_WIDE
        # Rows a row at a time from memory, where a register is a whole vector (AVX-512), are
        # read as whole lines (``_whole_lines``) while the row's vectors, w's and the sums fit
        # in registers: w is then read from L1 each row, and the row stays for its gradient.
        # X must be aligned to its items (an unpickled buffer may not be: numba's type does not
        # say), so the pass looks at X's address, and at ``lines``, and keeps a loop of plain
        # loads beside.
        by_lines = (ahead is not None and R == 1 and K >= LINES_MIN_VECTORS and per_vector == 1
                    and 2 * K + LOOP_VECTORS <= register_count(features))
        rows_ahead = builder.sdiv(ahead, intp(n)) if by_lines else None  # y's hint, in rows

        def keep(rows, lined):
            held = K if lined else 2 * K  # the sums, and w where it stays in registers
            return (rows * K + held + LOOP_VECTORS) * per_vector <= register_count(features)
        G = min(R, FOLDED_ROWS)  # rows of a group: lanes of the sums of the errors
        offsets = [k * L for k in range(K - 1)] + [last]
        overlap = (K - 1) * L - last  # lanes of the last vector that the one before holds

        def load(base, offset):
            pointer = builder.gep(base, [intp(offset)])
            return builder.load(builder.bitcast(pointer, vector.as_pointer()), align=1)

        def weights(base):
            """w's vectors, the last one's lanes that the one before holds zero."""
            vectors = [load(base, o) for o in offsets]
            if overlap:
                keep_lanes = ir.Constant(ir.VectorType(ir.IntType(1), L),
                                         [i >= overlap for i in range(L)])
                vectors[-1] = builder.select(keep_lanes, vectors[-1], zero)
            return vectors

        # The last vector's gradient sum holds only the lanes that the one before does not, where
        # they fill whole 16-byte registers: its other lanes would be dropped, and a CPU whose
        # registers are narrower than the vector skips them (AVX2, n = 20 and 100: one FMA a row
        # fewer; Zen 3, in L2, one thread, floor / kernel, medians of two A/B runs in one
        # process: W5 0.52-0.56 to 0.57-0.60, W6 0.48 to 0.48-0.52; from memory unchanged).
        tail = L - overlap if overlap and (L - overlap) * size % 16 == 0 else L
        widths = [L] * (K - 1) + [tail]
        sums = [cgutils.alloca_once_value(builder, ir.Constant(ir.VectorType(item, width), None))
                for width in widths]
        # The sums of the errors and of their values (squared loss: their squares), a lane for
        # each row of a group.
        squares, errors_sum = ({count: cgutils.alloca_once_value(
            builder, ir.Constant(ir.VectorType(ir.DoubleType(), count), None))
            for count in {G, 1}} for _ in range(2))

        def step(row, count, contiguous, lined, w_vectors):
            """Rows ``row .. row + count``: their errors, added into the sums of the errors and
            their squares, then their share of the gradient."""
            bases = [builder.gep(x.data, [builder.mul(builder.add(row, intp(r)), intp(n))])
                     for r in range(count)]
            rows = [_whole_lines(builder, base, vector, size, K, last) if lined
                    else [load(base, o) for o in offsets] for base in bases]
            if lined:  # through a pointer LLVM cannot follow, so that it does not hoist them
                stack = hidden(builder, w_vectors)
                wv = [builder.load(builder.gep(stack, [intp(k)]), align=VECTOR_BYTES)
                      for k in range(K)]
            else:
                wv = w_vectors
            if ahead is not None:  # a hint for each line of the step's rows, ``ahead`` on
                for offset in range(0, count * n, L):
                    emit_prefetch(builder, builder.gep(bases[0],
                                                       [builder.add(ahead, intp(offset))]))
                if lined:  # and, on a fit's one thread, the targets as many rows on: a miss
                    # in y's stream would hold up a row's error (a team ran slower with them)
                    emit_prefetch(builder, _target_address(builder, ys,
                                                           builder.add(row, rows_ahead)))
            totals = []
            for xv in rows:
                partial = [builder.fmul(xv[k], wv[k], flags=_EXACT) for k in range(min(K, 2))]
                for k in range(2, K):
                    partial[k % 2] = _fma(builder, xv[k], wv[k], partial[k % 2])
                totals.append(partial[0] if K == 1
                              else builder.fadd(partial[0], partial[1], flags=_EXACT))
            kind = ir.VectorType(item, count)
            wide_kind = ir.VectorType(ir.DoubleType(), count)

            def widen(v):
                return v if v is None or dtype == types.float64 else builder.fpext(v, wide_kind)
            targets = _targets(builder, ys, row, kind, contiguous)
            values = None
            if logistic:
                errors, values = _logistic(builder, builder.fadd(
                    _fold(builder, totals), _splat(builder, kind, bias), flags=_EXACT),
                    targets, widen)
            else:
                errors = builder.fadd(_fold(builder, totals), builder.fsub(
                    _splat(builder, kind, bias), targets, flags=_EXACT), flags=_EXACT)
            if huber:
                errors, values = _huber(builder, errors, _splat(builder, kind, delta))
                values = widen(values)
            wide = widen(errors)
            group = min(count, G)
            for first in range(0, count, group):  # a group at a time, as a step of G adds them
                lanes_of = _indices(list(range(first, first + group)))
                part, part_values = ((v if v is None or group == count
                                      else builder.shuffle_vector(v, v, lanes_of))
                                     for v in (wide, values))
                if part_values is None:
                    _add_errors(builder, part, errors_sum[group], squares[group])
                else:
                    for addend, slot in ((part, errors_sum[group]), (part_values, squares[group])):
                        builder.store(builder.fadd(builder.load(slot), addend, flags=_EXACT),
                                      slot)
            for r, (base, xv) in enumerate(zip(bases, rows)):
                if not keep(count, lined):
                    hidden_base = hidden(builder, base)
                    xv = [load(hidden_base, o) for o in offsets]
                for k in range(K):
                    xk = xv[k]
                    if widths[k] < L:  # the lanes the sum holds: the vector's last ones
                        held = _indices(list(range(L - widths[k], L)))
                        xk = builder.shuffle_vector(xk, xk, held)
                    spread = builder.shuffle_vector(errors, errors, _indices([r] * widths[k]))
                    builder.store(_fma(builder, xk, spread, builder.load(sums[k])), sums[k])

        steps = builder.sdiv(builder.sub(stop, start), intp(R))
        after = builder.add(start, builder.mul(steps, intp(R)))
        # Where a step is two groups, the rows after the last whole step take one step of a
        # group if they fill it: the rows that steps of a group alone would take so.
        grouped = (builder.icmp_signed(">=", builder.sub(stop, after), intp(G)) if R > G
                   else None)
        singles = builder.select(grouped, builder.add(after, intp(G)), after) if R > G else after

        def rows_loop(contiguous, *how):
            with cgutils.for_range(builder, steps, intp=intp) as loop:
                step(builder.add(start, builder.mul(loop.index, intp(R))), R, contiguous, *how)
            if R > G:
                with builder.if_then(grouped):
                    step(after, G, contiguous, *how)
            if R > 1:  # the rows after the last whole step (or group)
                with cgutils.for_range(builder, builder.sub(stop, singles), intp=intp) as loop:
                    step(builder.add(singles, loop.index), 1, contiguous, *how)

        def rows_loops(lined):
            w_vectors = weights(ws.data)
            if lined:  # on this thread's stack, on lines: loaded every row, never split
                stack = cgutils.alloca_once(builder, vector, size=K)
                stack.align = VECTOR_BYTES
                for k, w_vector in enumerate(w_vectors):
                    builder.store(w_vector, builder.gep(stack, [intp(k)]), align=VECTOR_BYTES)
                w_vectors = stack
            _by_y_stride(builder, ys, size,
                         lambda contiguous: rows_loop(contiguous, lined, w_vectors))

        if by_lines:
            on_items = builder.and_(context.cast(builder, args[10], sig.args[10], types.boolean),
                                    builder.icmp_unsigned("==", builder.and_(
                                        builder.ptrtoint(x.data, intp), intp(size - 1)), intp(0)))
            with builder.if_else(on_items) as (aligned, unaligned):
                with aligned:
                    rows_loops(True)
                with unaligned:
                    rows_loops(False)
        else:
            rows_loops(False)
        for k in range(K):
            vector_sum = builder.load(sums[k])
            first = overlap if k == K - 1 else 0  # the first lane of the vector stored
            for i in range(first, L):
                lane = i - (L - widths[k])
                builder.store(builder.extract_element(vector_sum, _I32(lane)),
                              builder.gep(gs.data, [intp(offsets[k] + i)]))
        return context.make_tuple(builder, sig.return_type, [
            _lane_sum(builder, builder.load(slots[G])) if G == 1 else builder.fadd(
                _lane_sum(builder, builder.load(slots[G])),
                _lane_sum(builder, builder.load(slots[1])), flags=_EXACT)
            for slots in (squares, errors_sum)])

    return signature, codegen


def _whole_lines(builder, base, vector, size, K, last):
    """The ``K`` vectors of the row at ``base`` (``size``-byte items) that start at its elements
    ``0, L, ..., (K - 2) L`` and ``last = n - L``, each made by one permute (AVX-512's
    ``vpermi2var``) of the two whole lines that it spans: no load crosses a line, and every line
    read holds an element of the row, so none lies outside X's pages. The lanes are the row's
    elements as unaligned loads would give them: the same bits."""
    L = vector.count
    i64 = ir.IntType(64)
    index = ir.VectorType(ir.IntType(8 * size), L)
    address = builder.ptrtoint(base, i64)
    phase = builder.and_(builder.lshr(address, i64(size.bit_length() - 1)), i64(L - 1))
    first_line = builder.inttoptr(builder.and_(address, i64(-VECTOR_BYTES)), vector.as_pointer())
    permute = cgutils.get_or_insert_function(builder.module, ir.FunctionType(
        vector, [vector, index, vector]), f"llvm.x86.avx512.vpermi2var.{'pd' if size == 8 else 'ps'}.512")

    def line(j):
        return builder.load(builder.gep(first_line, [j]), align=VECTOR_BYTES)

    def lanes_from(start):  # lanes start .. start + L - 1 of the two lines side by side
        start = builder.trunc(start, index.element) if size == 4 else start
        return builder.add(ir.Constant(index, list(range(L))), _splat(builder, index, start))

    lines = [line(i64(j)) for j in range(K)]
    from_phase = lanes_from(phase)
    vectors = [builder.call(permute, [lines[k], from_phase, lines[k + 1]]) for k in range(K - 1)]
    end = builder.add(phase, i64(last))  # the last vector's first element, from first_line
    shift = i64(L.bit_length() - 1)
    vectors.append(builder.call(permute, [
        line(builder.lshr(end, shift)), lanes_from(builder.and_(end, i64(L - 1))),
        line(builder.lshr(builder.add(end, i64(L - 1)), shift))]))
    return vectors


def _huber(builder, r, delta):
    """Huber's errors and values of the residuals ``r`` (a vector): ``clip(r, -delta, delta)``
    and ``c * c / 2 + delta (|r| - |c|)``, as ``losses.error_value`` computes them; a NaN stays
    NaN."""
    minus = builder.fsub(ir.Constant(r.type, None), delta, flags=_EXACT)
    clipped = builder.select(builder.fcmp_ordered("<", r, minus), minus, r)
    clipped = builder.select(builder.fcmp_ordered(">", clipped, delta), delta, clipped)

    def magnitude(v):
        return builder.select(builder.fcmp_ordered("<", v, ir.Constant(v.type, None)),
                              builder.fsub(ir.Constant(v.type, None), v, flags=_EXACT), v)
    half = ir.Constant(r.type, [0.5] * r.type.count)
    square = builder.fmul(builder.fmul(half, clipped, flags=_EXACT), clipped, flags=_EXACT)
    beyond = builder.fmul(delta, builder.fsub(magnitude(r), magnitude(clipped), flags=_EXACT),
                          flags=_EXACT)
    return clipped, builder.fadd(square, beyond, flags=_EXACT)


def _logistic(builder, z, y, widen):
    """The logistic loss's errors ``sigmoid(z) - y`` (in z's type) and values ``max(z, 0) +
    log1p(e^-|z|) - y z`` (float64) of the predictions ``z`` (a vector), as
    ``losses.error_value`` computes them."""
    z_wide, y_wide = widen(z), widen(y)
    sigmoid, tail = emit_logistic_parts(builder, z_wide)
    if sigmoid.type != z.type:
        sigmoid = builder.fptrunc(sigmoid, z.type)
    zero = ir.Constant(z_wide.type, None)
    positive = builder.select(builder.fcmp_ordered(">", z_wide, zero), z_wide, zero)
    values = builder.fsub(builder.fadd(positive, tail, flags=_EXACT),
                          builder.fmul(y_wide, z_wide, flags=_EXACT), flags=_EXACT)
    return builder.fsub(sigmoid, y, flags=_EXACT), values
