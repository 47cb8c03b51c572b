"""``tile_pass``: the fused pass over C-order X a vector of rows at a time, ``n`` a constant.

``L`` rows of C-order X, L the lanes of one 64-byte vector of its dtype (8 float64, 16
float32), are exactly ``n`` whole vectors. The kernel loads each of them once for the
prediction and multiplies it by ``w`` tiled to the same lanes; the products of each row are
summed with the lanes of other rows masked off, and the ``L`` row sums are folded into one
vector of ``L`` errors. The gradient takes the same ``n`` vectors again (now from the L1
cache) times the errors permuted to the rows of their lanes, into ``V = n / gcd(n, L)`` vector
sums that repeat with the tile of ``w``: every step is a vertical multiply-add, and the only
sums across lanes are the fold, once per ``L`` rows. The loop is pipelined one group deep: a
step forms the errors of a group, then the gradient of the group before it, so that the next
rows' loads are under way while the last rows' gradient is computed.

Numba's loops cannot express this (LLVM vectorises a C-order row along the row and ends each
row with a sum across lanes), so the loop is written in LLVM IR here, unrolled for ``n``.
The order of every sum is fixed by ``n`` and the dtype, so the same rows give the same bits.
"""
from math import gcd

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .prefetch import emit_prefetch
from .registers import hidden, register_bytes, target_features

#: Bytes in one group's vector: a cache line, one register with AVX-512, two with AVX2. Fixed
#: whatever the CPU, so the order of every sum, and so every bit, is too.
VECTOR_BYTES = 64

_I32 = ir.IntType(32)
_BYTE_POINTER = ir.IntType(8).as_pointer()
#: Numba's fast-math pass adds its flags to every float instruction of a function that has
#: none, this kernel's included. ``arcp`` (which only lets x / y become x * (1 / y), and there
#: is no division here) keeps it off, so every sum runs in the order written.
_EXACT = ("arcp",)


def lanes(itemsize):
    """Rows in one group of the tile kernel: the lanes of a vector of ``itemsize``-byte items.

    >>> lanes(8), lanes(4)  # float64, float32
    (8, 16)
    """
    return VECTOR_BYTES // itemsize


def _indices(values):
    return ir.Constant(ir.VectorType(_I32, len(values)), values)


def _splat(builder, vector_type, scalar):
    one = builder.insert_element(ir.Constant(vector_type, ir.Undefined), scalar, _I32(0))
    return builder.shuffle_vector(one, one, _indices([0] * vector_type.count))


def float_intrinsic(builder, name, *values):
    """LLVM's ``llvm.<name>`` on float values of one type, scalars or vectors (``fma``,
    ``floor``, ``fabs``)."""
    kind = values[0].type
    suffix = (f"v{kind.count}{kind.element.intrinsic_name}" if isinstance(kind, ir.VectorType)
              else kind.intrinsic_name)
    function = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(kind, [kind] * len(values)), f"llvm.{name}.{suffix}")
    return builder.call(function, list(values))


def _fma(builder, a, b, c):
    """``a * b + c`` rounded once, lane by lane."""
    return float_intrinsic(builder, "fma", a, b, c)


def _opaque(builder, value, register):
    """``value``, hidden from LLVM's optimiser (:func:`.registers.hidden`). A vector passes
    ``register`` bytes at a time: the asm statement takes registers, and a 64-byte vector fills
    one only with AVX-512."""
    if not isinstance(value.type, ir.VectorType):
        return hidden(builder, value)
    count = value.type.count
    per = min(count, register // (8 if isinstance(value.type.element, ir.DoubleType) else 4))
    parts = [hidden(builder, builder.shuffle_vector(value, value,
                                                    _indices(list(range(first, first + per)))), "v")
             for first in range(0, count, per)]
    while len(parts) > 1:
        size = parts[0].type.count
        parts = [builder.shuffle_vector(a, b, _indices(list(range(2 * size))))
                 for a, b in zip(parts[0::2], parts[1::2])]
    return parts[0]


def _fold(builder, vectors):
    """One vector whose lane r is the sum of the lanes of ``vectors[r]``: ``R`` vectors of
    ``L`` lanes (``R`` a power of two, at most ``L``) become one of ``R`` lanes. log2(R)
    rounds each add the halves of pairs of vectors; then log2(L / R) rounds add the halves of
    each vector's share of one. Every vector's lanes are added in the same tree, so the sum
    of a vector does not depend on the others beside it."""
    count = vectors[0].type.count
    span = count
    while len(vectors) > 1:
        half = span // 2
        low = [s * span + i for s in range(count // span) for i in range(half)]
        low += [count + i for i in low]
        high = [i + half for i in low]
        vectors = [builder.fadd(builder.shuffle_vector(a, b, _indices(low)),
                                builder.shuffle_vector(a, b, _indices(high)), flags=_EXACT)
                   for a, b in zip(vectors[0::2], vectors[1::2])]
        span = half
    vector = vectors[0]
    while span > 1:
        half = span // 2
        low = [s * span + i for s in range(vector.type.count // span) for i in range(half)]
        high = [i + half for i in low]
        vector = builder.fadd(builder.shuffle_vector(vector, vector, _indices(low)),
                              builder.shuffle_vector(vector, vector, _indices(high)),
                              flags=_EXACT)
        span = half
    return vector


def _target_address(builder, ys, row):
    """Where target ``row`` of the 1-D array ``ys`` lies (a byte pointer)."""
    step = builder.extract_value(ys.strides, 0)
    return builder.gep(builder.bitcast(ys.data, _BYTE_POINTER), [builder.mul(row, step)])


def _targets(builder, ys, row, kind, contiguous):
    """``kind.count`` targets of the 1-D array ``ys`` from ``row`` on, as a vector of ``kind``:
    one load where y is ``contiguous``, else one load per row, a stride apart."""
    step = builder.extract_value(ys.strides, 0)
    first = _target_address(builder, ys, row)
    if contiguous:
        return builder.load(builder.bitcast(first, kind.as_pointer()), align=1)
    values = ir.Constant(kind, None)
    for i in range(kind.count):
        at = builder.gep(first, [builder.mul(row.type(i), step)])
        values = builder.insert_element(
            values, builder.load(builder.bitcast(at, kind.element.as_pointer())), _I32(i))
    return values


def _by_y_stride(builder, ys, item_bytes, loops):
    """Emit ``loops(True)`` for contiguous y and ``loops(False)`` for strided y, and run the
    one that y's stride calls for: the contiguous loop loads a vector of targets at once."""
    step = builder.extract_value(ys.strides, 0)
    with builder.if_else(builder.icmp_signed("==", step, step.type(item_bytes))) as (unit,
                                                                                     strided):
        with unit:
            loops(True)
        with strided:
            loops(False)


def _add_errors(builder, errors, errors_sum, squares):
    """Add the vector ``errors`` (float64) into the vector sums ``errors_sum`` and ``squares``
    (of the errors' squares, each rounded once)."""
    builder.store(builder.fadd(builder.load(errors_sum), errors, flags=_EXACT), errors_sum)
    builder.store(_fma(builder, errors, errors, builder.load(squares)), squares)


def _lane_sum(builder, vector):
    total = builder.extract_element(vector, _I32(0))
    for lane in range(1, vector.type.count):
        total = builder.fadd(total, builder.extract_element(vector, _I32(lane)), flags=_EXACT)
    return total


def _takes(X, w, g, width):
    """Whether a pass intrinsic (``tile_pass``, ``row_vector_pass``) is typed for these
    arguments: C-contiguous 2-D ``X``, C-contiguous ``w`` and ``g``, ``width`` a tuple."""
    contiguous = all(isinstance(a, types.Array) and a.layout == "C" for a in (X, w, g))
    return contiguous and X.ndim == 2 and isinstance(width, types.UniTuple)


def _arguments(context, builder, sig, args):
    """A pass intrinsic's arguments ``(X, y, w, bias, start, count, g, ahead, width)`` as
    ``(x, ys, ws, gs, start, count, ahead, bias)``: the arrays' structures, ``start``,
    ``count`` and ``ahead`` as intp (``ahead`` None where it is None), ``bias`` in X's dtype."""
    X_, y_, w_, bias_, start_, count_, g_, ahead_ = args[:8]
    x, ys, ws, gs = (context.make_array(sig.args[i])(context, builder, args[i])
                     for i in (0, 1, 2, 6))
    start = context.cast(builder, start_, sig.args[4], types.intp)
    count = context.cast(builder, count_, sig.args[5], types.intp)
    ahead = (None if isinstance(sig.args[7], types.NoneType)
             else context.cast(builder, ahead_, sig.args[7], types.intp))
    bias = context.cast(builder, bias_, sig.args[3], sig.args[0].dtype)
    return x, ys, ws, gs, start, count, ahead, bias


class _Tile:
    """The code of one group of L rows, for ``n`` features of one dtype."""

    def __init__(self, context, builder, dtype, n):
        self.builder = builder
        self.item = context.get_value_type(dtype)
        self.L = lanes(context.get_abi_sizeof(self.item))
        self.n = n
        self.V = n // gcd(n, self.L)  # vectors in one tile of w: V * L lanes hold whole rows
        self.vector = ir.VectorType(self.item, self.L)
        self.wide = ir.VectorType(ir.DoubleType(), self.L)
        self.zero = ir.Constant(self.vector, None)
        self.intp = context.get_value_type(types.intp)
        self.register = register_bytes(target_features(context))

    def load(self, base, k):
        pointer = self.builder.gep(base, [self.intp(k * self.L)])
        return self.builder.load(self.builder.bitcast(pointer, self.vector.as_pointer()), align=1)

    def row_sums(self, vectors, w_tile):
        """Per row r of the group, one vector: the products of ``vectors`` and ``w_tile`` in
        row r's lanes, summed by FMAs, other lanes zero (their x masked to zero, so a NaN or
        infinity in one row never reaches another)."""
        b = self.builder
        sums = []
        for r in range(self.L):
            first, end = r * self.n, (r + 1) * self.n
            total = None
            for k in range(first // self.L, (end - 1) // self.L + 1):
                inside = [first <= k * self.L + i < end for i in range(self.L)]
                x = vectors[k]
                if not all(inside):
                    mask = ir.Constant(ir.VectorType(ir.IntType(1), self.L), inside)
                    x = b.select(mask, x, self.zero)
                w = w_tile[k % self.V]
                total = b.fmul(x, w, flags=_EXACT) if total is None else _fma(b, x, w, total)
            sums.append(total)
        return sums

    def gradient(self, base, errors, sums, ahead):
        """Add vector k of the group times the errors of its lanes' rows into ``sums[k % V]``.

        The errors are permuted from ``errors`` shifted by the rows of one tile of w per tile
        (the shift hidden from LLVM, so it does not fuse the two shuffles into one whose index
        vector has to be loaded for every k): V index vectors serve every tile.
        """
        b = self.builder
        rows_per_tile = self.V * self.L // self.n
        shifted = errors
        for k in range(self.n):
            tile, v = divmod(k, self.V)
            if v == 0 and tile > 0:
                shift = [(i + rows_per_tile) % self.L for i in range(self.L)]
                shifted = b.shuffle_vector(shifted, shifted, _indices(shift))
                shifted = _opaque(b, shifted, self.register)
            rows = [(v * self.L + i) // self.n for i in range(self.L)]
            spread = b.shuffle_vector(shifted, shifted, _indices(rows))
            b.store(_fma(b, self.load(base, k), spread, b.load(sums[v])), sums[v])
            if ahead is not None:
                emit_prefetch(b, b.gep(base, [b.add(ahead, self.intp(k * self.L))]))


@intrinsic
def tile_pass(typingctx, X, y, w, bias, start, groups, g, ahead, width):
    """Errors and gradient sums of rows ``start .. start + L * groups`` of C-order ``X``.

    ``y`` the targets of those rows (1-D, any stride), ``w`` the weights (contiguous),
    ``bias`` a number, ``g`` (contiguous, ``n`` long) receives the gradient sums, ``width`` a
    tuple of ``n`` items (its length is ``n`` when the kernel is compiled). ``ahead`` is None,
    or the distance in elements at which each vector's cache line is prefetched. Returns
    ``(sum of squared errors, sum of errors)`` in float64.
    """
    if not _takes(X, w, g, width):
        return None
    dtype, n = X.dtype, width.count
    signature = types.UniTuple(types.float64, 2)(X, y, w, bias, start, groups, g, ahead, width)

    def codegen(context, builder, sig, args):
        tile = _Tile(context, builder, dtype, n)
        L, V, intp = tile.L, tile.V, tile.intp
        x, ys, ws, gs, start, count, ahead, bias = _arguments(context, builder, sig, args)
        bias = _splat(builder, tile.vector, bias)
        weights = [builder.load(builder.gep(ws.data, [intp(f)])) for f in range(n)]
        w_tile = []
        for v in range(V):
            vector = tile.zero
            for i in range(L):
                vector = builder.insert_element(vector, weights[(v * L + i) % n], _I32(i))
            w_tile.append(vector)
        sums = [cgutils.alloca_once_value(builder, tile.zero) for _ in range(V)]
        squares = cgutils.alloca_once_value(builder, ir.Constant(tile.wide, None))
        errors_sum = cgutils.alloca_once_value(builder, ir.Constant(tile.wide, None))

        def group(index):
            row = builder.add(start, builder.mul(index, intp(L)))
            return row, builder.gep(x.data, [builder.mul(row, intp(n))])

        def errors_of(index, contiguous):
            """Group ``index``'s L errors, added into the sums of the errors and their squares."""
            row, base = group(index)
            vectors = [tile.load(base, k) for k in range(n)]
            predictions = _fold(builder, tile.row_sums(vectors, w_tile))
            targets = _targets(builder, ys, row, tile.vector, contiguous)
            errors = builder.fadd(predictions, builder.fsub(bias, targets, flags=_EXACT),
                                  flags=_EXACT)
            wide = errors if dtype == types.float64 else builder.fpext(errors, tile.wide)
            _add_errors(builder, wide, errors_sum, squares)
            return errors

        def gradient(index, errors):
            # The second read of the group comes from L1; loading it again costs less than
            # keeping n vectors live across the fold, which spills them.
            tile.gradient(_opaque(builder, group(index)[1], tile.register), errors, sums, ahead)

        def groups_loop(contiguous):
            """Step i forms the errors of group i and then the gradient of group i - 1: the
            loads of the next rows start before the gradient of the rows before them (a
            software pipeline one group deep), and everything is still summed in the order
            of the groups."""
            held, fresh = (cgutils.alloca_once(builder, tile.vector) for _ in range(2))
            with cgutils.for_range(builder, builder.add(count, intp(1)), intp=intp) as loop:
                with builder.if_then(builder.icmp_signed("<", loop.index, count), likely=True):
                    builder.store(errors_of(loop.index, contiguous), fresh)
                with builder.if_then(builder.icmp_signed(">", loop.index, intp(0)), likely=True):
                    gradient(builder.sub(loop.index, intp(1)), builder.load(held))
                builder.store(builder.load(fresh), held)  # read no more after the last step

        _by_y_stride(builder, ys, context.get_abi_sizeof(tile.item), groups_loop)
        lanes_of = [builder.load(s) for s in sums]
        for f in range(n):
            total = None
            for lane in range(f, V * L, n):
                value = builder.extract_element(lanes_of[lane // L], _I32(lane % L))
                total = value if total is None else builder.fadd(total, value, flags=_EXACT)
            builder.store(total, builder.gep(gs.data, [intp(f)]))
        return context.make_tuple(builder, sig.return_type, [
            _lane_sum(builder, builder.load(squares)), _lane_sum(builder, builder.load(errors_sum))])

    return signature, codegen
