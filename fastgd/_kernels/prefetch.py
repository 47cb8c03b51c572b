"""``emit_prefetch``: ask the CPU to start loading a cache line, from inside an intrinsic's code.

Numba has no prefetch of its own; this is LLVM's ``llvm.prefetch`` (a read, kept in every cache
level). It is a hint: nothing is loaded into a register, and an address outside X does not
fault, so it never changes a result.
"""
from llvmlite import ir
from numba.core import cgutils

_I32 = ir.IntType(32)
_BYTE_POINTER = ir.IntType(8).as_pointer()


def emit_prefetch(builder, address):
    """Emit the hint for the cache line at ``address`` (any pointer) into ``builder``'s code."""
    hint = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [_BYTE_POINTER, _I32, _I32, _I32]),
        "llvm.prefetch.p0")
    read, keep_everywhere, data = ir.Constant(_I32, 0), ir.Constant(_I32, 3), ir.Constant(_I32, 1)
    builder.call(hint, [builder.bitcast(address, _BYTE_POINTER), read, keep_everywhere, data])
