"""``prefetch(X, i, j)``: ask the CPU to start loading the cache line that holds ``X[i, j]``;
``emit_prefetch`` emits the same hint inside another intrinsic's code.

Numba has no prefetch of its own; this is LLVM's ``llvm.prefetch`` (a read, kept in every cache
level). It is a hint: nothing is loaded into a register, no index is checked, and an address
outside X does not fault, so it never changes a result.
"""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

_I32 = ir.IntType(32)
_BYTE_POINTER = ir.IntType(8).as_pointer()


def emit_prefetch(builder, address):
    """Emit the hint for the cache line at ``address`` (any pointer) into ``builder``'s code."""
    hint = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [_BYTE_POINTER, _I32, _I32, _I32]),
        "llvm.prefetch.p0")
    read, keep_everywhere, data = ir.Constant(_I32, 0), ir.Constant(_I32, 3), ir.Constant(_I32, 1)
    builder.call(hint, [builder.bitcast(address, _BYTE_POINTER), read, keep_everywhere, data])


@intrinsic
def prefetch(typingctx, X, i, j):
    signature = types.void(X, i, j)

    def codegen(context, builder, sig, args):
        array_type = sig.args[0]
        array = context.make_array(array_type)(context, builder, args[0])
        emit_prefetch(builder, cgutils.get_item_pointer(context, builder, array_type, array,
                                                        args[1:], wraparound=False))
        return context.get_dummy_value()

    return signature, codegen
