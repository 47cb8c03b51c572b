"""Accumulators that LLVM keeps in registers: a few zeros on the stack of the compiled function.

A numba array lives on the heap, where LLVM cannot tell it from X, so a loop that adds into
one stores every sum back to memory and is not vectorised. A fixed number of slots on the
stack, indexed only by fully unrolled loops, is promoted to registers, and the loop around
them vectorises.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.numpy_support import carray

from .._config import jit


@intrinsic
def _stack_zeros(typingctx, width, like):
    if not isinstance(width, types.UniTuple) or not isinstance(like, types.Array):
        return None
    count, dtype = width.count, like.dtype

    def codegen(context, builder, signature, args):
        slot = context.get_value_type(dtype)
        # alloca_once puts the slots in the function's entry block, once, even in a loop.
        ptr = cgutils.alloca_once(builder, slot, size=count)
        for f in range(count):
            builder.store(ir.Constant(slot, 0), builder.gep(ptr, [cgutils.int32_t(f)]))
        return ptr

    return types.CPointer(dtype)(width, like), codegen


@jit(inline="always")
def stack_zeros(width, like):
    """``len(width)`` zeros of ``like``'s dtype in the caller's stack frame, as a 1-D array.

    ``width`` is a tuple: its length is part of its type, so it is a constant when the
    caller is compiled, and a loop over the slots unrolls.
    """
    return carray(_stack_zeros(width, like), (len(width),))
