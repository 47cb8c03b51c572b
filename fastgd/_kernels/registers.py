"""Accumulators that LLVM keeps in registers: a few zeros on the stack of the compiled function.

A numba array lives on the heap, where LLVM cannot tell it from X, so a loop that adds into
one stores every sum back to memory and is not vectorised. A fixed number of slots on the
stack, indexed only by fully unrolled loops, is promoted to registers, and the loop around
them vectorises.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic
from numba.np.numpy_support import carray

from .._config import jit

#: Vectors that the fixed-width loop keeps live beside its n weights and n gradient sums: the
#: error, and the sums of the errors and of their squares.
LOOP_VECTORS = 3


def register_bytes(features):
    """Bytes in the widest vector register of a CPU with LLVM's ``features`` (``+avx2,...``).

    >>> register_bytes("+avx,+avx2,+fma,-avx512f"), register_bytes("")
    (32, 16)
    """
    enabled = set(features.split(","))
    if "+avx512f" in enabled:
        return 64
    return 32 if "+avx" in enabled else 16


def register_count(features):
    """Vector registers of an x86-64 CPU with LLVM's ``features``: 32 with AVX-512, else 16.

    >>> register_count("+avx,+avx2,+fma,-avx512f")
    16
    """
    return 32 if register_bytes(features) == 64 else 16


def target_features(context):
    """The CPU features numba compiles for (the host's, or ``NUMBA_CPU_FEATURES``)."""
    return getattr(context.codegen(), "_tm_features", "")


def hidden(builder, value, constraint="r"):
    """``value``, passed through an empty asm statement in one register (``"r"`` a general one,
    ``"v"`` a vector one): LLVM's optimiser no longer knows what it holds, so it can neither
    merge loads through it (a pointer) with earlier ones nor fuse shuffles across it."""
    return builder.asm(ir.FunctionType(value.type, [value.type]), "", f"={constraint},0", [value],
                       False)


def _slots(name, fill):
    """An intrinsic ``(width, array) -> pointer`` to ``len(width)`` slots of ``array``'s dtype
    in the caller's stack frame, slot i set to ``fill(context, builder, array's type, array,
    i, slot type)``."""
    def typer(typingctx, width, array):
        if not isinstance(width, types.UniTuple) or not isinstance(array, types.Array):
            return None
        count, dtype = width.count, array.dtype

        def codegen(context, builder, signature, args):
            slot = context.get_value_type(dtype)
            # alloca_once puts the slots in the function's entry block, once, even in a loop.
            ptr = cgutils.alloca_once(builder, slot, size=count)
            for f in range(count):
                index = cgutils.int32_t(f)
                value = fill(context, builder, array, args[1], index, slot)
                builder.store(value, builder.gep(ptr, [index]))
            return ptr

        return types.CPointer(dtype)(width, array), codegen

    typer.__name__ = name
    return intrinsic(typer)


def _element(context, builder, kind, array, index, slot):
    return builder.load(builder.gep(context.make_array(kind)(context, builder, array).data,
                                    [index]))


_stack_zeros = _slots("_stack_zeros", lambda context, builder, kind, array, index, slot:
                      ir.Constant(slot, 0))
_stack_copy = _slots("_stack_copy", _element)


@jit(inline="always")
def stack_zeros(width, like):
    """``len(width)`` zeros of ``like``'s dtype in the caller's stack frame, as a 1-D array.

    ``width`` is a tuple: its length is part of its type, so it is a constant when the
    caller is compiled, and a loop over the slots unrolls.
    """
    return carray(_stack_zeros(width, like), (len(width),))


@jit(inline="always")
def stack_slots(width, like, shape):
    """``stack_zeros``, as an array of ``shape`` (of ``len(width)`` elements)."""
    return carray(_stack_zeros(width, like), shape)


@jit(inline="always")
def stack_copy(array, width, shape):
    """C-contiguous ``array`` of ``len(width)`` elements copied to the caller's stack frame, as
    an array of ``shape``: where every index into it is a constant, LLVM keeps it in
    registers."""
    return carray(_stack_copy(width, array), shape)


@intrinsic
def one_column(typingctx, Y):
    """2-D ``Y`` of one column, its width a constant of the compiled code: loops over Y's
    columns unroll, and their indices into arrays on the stack are constants."""
    if not (isinstance(Y, types.Array) and Y.ndim == 2):
        return None

    def codegen(context, builder, signature, args):
        view = context.make_array(Y)(context, builder, args[0])
        rows = builder.extract_value(view.shape, 0)
        view.shape = cgutils.pack_array(builder, [rows, rows.type(1)])
        return impl_ret_borrowed(context, builder, Y, view._getvalue())

    return Y(Y), codegen


@intrinsic
def reread(typingctx, X, width):
    """``X``, with its data pointer hidden from LLVM (an empty asm statement) where the
    fixed-width loop over ``len(width)`` features would keep more vectors live than the CPU
    has registers; else ``X`` as it is.

    Hidden, a load through it is not merged with the same load through ``X``: the gradient
    reads each element again from L1 instead of keeping all n of a row's vectors in registers
    across the prediction, which with AVX2 (16 registers) and n = 10 spilled six gradient sums
    to the stack, a store and a load each every 4 rows.
    """
    if not (isinstance(X, types.Array) and isinstance(width, types.UniTuple)):
        return None

    def codegen(context, builder, signature, args):
        view = context.make_array(X)(context, builder, args[0])
        if 2 * width.count + LOOP_VECTORS > register_count(target_features(context)):
            view.data = hidden(builder, view.data)
        return impl_ret_borrowed(context, builder, X, view._getvalue())

    return X(X, width), codegen
