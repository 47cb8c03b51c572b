"""``row_vector_pass``: the fused pass over C-order X a row at a time, ``n`` a constant.

A row of ``n >= L`` features is ``K = ceil(n / L)`` vectors of ``L`` lanes (64 bytes: 8
float64, 16 float32). The last one ends where the row ends, so where ``L`` does not divide
``n`` it overlaps the one before it; its overlapping lanes are zero in ``w``, and their
gradient sums are dropped. The prediction adds the row's products into two vector sums (so the
chain of dependent FMAs is half the row), then across lanes in a fixed tree; the gradient adds
the row's vectors times its error into ``K`` vector sums. The ``K`` vectors of ``w`` and the
``K`` sums stay in registers from row to row, where the CPU has enough of them.

Every instruction of a row is a vertical vector operation but for the one sum across lanes,
and nothing is prefetched: a CPU's own prefetcher follows the rows. From memory this streams X
at 0.9-0.97 of a plain read pass on one thread (W5 and W6 of the spec, AVX-512), where the
tile kernel, with its folds and permutes, kept 0.3-0.5. The order of every sum is fixed by
``n`` and the dtype, so the same rows give the same bits on any CPU.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .registers import LOOP_VECTORS, hidden, register_bytes, register_count, target_features
from .tiles import _EXACT, _I32, VECTOR_BYTES, _fma, _indices, _splat, lanes


def _tree_sum(builder, vector):
    """The lanes of ``vector`` summed in halves: lanes i and i + L/2, and so on down to one."""
    while vector.type.count > 1:
        half = vector.type.count // 2
        low = builder.shuffle_vector(vector, vector, _indices(list(range(half))))
        high = builder.shuffle_vector(vector, vector, _indices(list(range(half, 2 * half))))
        vector = builder.fadd(low, high, flags=_EXACT)
    return builder.extract_element(vector, _I32(0))


@intrinsic
def row_vector_pass(typingctx, X, y, w, bias, start, stop, g, width):
    """Errors and gradient sums of rows ``start .. stop`` of C-order ``X``.

    ``y`` the targets (1-D, any stride), ``w`` the weights (contiguous), ``bias`` a number,
    ``g`` (contiguous, ``n`` long) receives the gradient sums, ``width`` a tuple of ``n >= L``
    items (its length is ``n`` when the kernel is compiled). Returns ``(sum of squared errors,
    sum of errors)`` in float64.
    """
    contiguous = all(isinstance(a, types.Array) and a.layout == "C" for a in (X, w, g))
    if not (contiguous and X.ndim == 2 and isinstance(width, types.UniTuple)):
        return None
    dtype, n = X.dtype, width.count
    signature = types.UniTuple(types.float64, 2)(X, y, w, bias, start, stop, g, width)

    def codegen(context, builder, sig, args):
        X_, y_, w_, bias_, start_, stop_, g_, _ = args
        item = context.get_value_type(dtype)
        L = lanes(context.get_abi_sizeof(item))
        K = -(-n // L)
        last = n - L  # where the last vector starts
        vector = ir.VectorType(item, L)
        zero = ir.Constant(vector, None)
        intp = context.get_value_type(types.intp)
        # The gradient takes the row's vectors from registers where the CPU holds them beside
        # w and the sums, else loads them again from L1 through a hidden pointer (as
        # ``registers.reread``). In L2, one thread, AVX-512: n = 64 0.10-0.12 ns an element
        # kept against 0.13-0.16 loaded again; from memory n = 100 0.37 loaded again against
        # 0.44 kept (kept, its loop stored and reloaded 14 vectors a row).
        features = target_features(context)
        per_vector = VECTOR_BYTES // register_bytes(features)
        keep = (3 * K + LOOP_VECTORS) * per_vector <= register_count(features)
        x = context.make_array(sig.args[0])(context, builder, X_)
        ys = context.make_array(sig.args[1])(context, builder, y_)
        ws = context.make_array(sig.args[2])(context, builder, w_)
        gs = context.make_array(sig.args[6])(context, builder, g_)
        start = context.cast(builder, start_, sig.args[4], types.intp)
        stop = context.cast(builder, stop_, sig.args[5], types.intp)
        bias = context.cast(builder, bias_, sig.args[3], dtype)
        offsets = [k * L for k in range(K - 1)] + [last]
        overlap = (K - 1) * L - last  # lanes of the last vector that the one before holds

        def load(base, offset):
            pointer = builder.gep(base, [intp(offset)])
            return builder.load(builder.bitcast(pointer, vector.as_pointer()), align=1)

        w_vectors = [load(ws.data, o) for o in offsets]
        if overlap:
            keep_lanes = ir.Constant(ir.VectorType(ir.IntType(1), L),
                                     [i >= overlap for i in range(L)])
            w_vectors[-1] = builder.select(keep_lanes, w_vectors[-1], zero)
        sums = [cgutils.alloca_once_value(builder, zero) for _ in range(K)]
        sse = cgutils.alloca_once_value(builder, ir.Constant(ir.DoubleType(), 0.0))
        sum_e = cgutils.alloca_once_value(builder, ir.Constant(ir.DoubleType(), 0.0))
        y_step = builder.extract_value(ys.strides, 0)
        y_bytes = builder.bitcast(ys.data, ir.IntType(8).as_pointer())
        with cgutils.for_range(builder, builder.sub(stop, start), intp=intp) as loop:
            row = builder.add(start, loop.index)
            base = builder.gep(x.data, [builder.mul(row, intp(n))])
            xv = [load(base, o) for o in offsets]
            partial = [builder.fmul(xv[0], w_vectors[0], flags=_EXACT)]
            if K > 1:
                partial.append(builder.fmul(xv[1], w_vectors[1], flags=_EXACT))
            for k in range(2, K):
                partial[k % 2] = _fma(builder, xv[k], w_vectors[k], partial[k % 2])
            total = partial[0] if K == 1 else builder.fadd(partial[0], partial[1], flags=_EXACT)
            target = builder.load(builder.bitcast(
                builder.gep(y_bytes, [builder.mul(row, y_step)]), item.as_pointer()))
            error = builder.fadd(_tree_sum(builder, total),
                                 builder.fsub(bias, target, flags=_EXACT), flags=_EXACT)
            wide = error if dtype == types.float64 else builder.fpext(error, ir.DoubleType())
            builder.store(builder.fadd(builder.load(sum_e), wide, flags=_EXACT), sum_e)
            builder.store(builder.fadd(builder.load(sse), builder.fmul(wide, wide, flags=_EXACT),
                                        flags=_EXACT), sse)
            spread = _splat(builder, vector, error)
            if keep:
                again = xv
            else:
                hidden_base = hidden(builder, base)
                again = [load(hidden_base, o) for o in offsets]
            for k in range(K):
                builder.store(_fma(builder, again[k], spread, builder.load(sums[k])), sums[k])
        for k in range(K):
            vector_sum = builder.load(sums[k])
            for i in range(overlap if k == K - 1 else 0, L):
                builder.store(builder.extract_element(vector_sum, _I32(i)),
                              builder.gep(gs.data, [intp(offsets[k] + i)]))
        return context.make_tuple(builder, sig.return_type,
                                  [builder.load(sse), builder.load(sum_e)])

    return signature, codegen
