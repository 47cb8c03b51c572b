"""A team of threads that meet once an iteration: how the threads of one fit start together and
tell each other their block sums are written. Atomic loads, stores and adds on an int64 array
of flags, a spin-wait, and a yield of the processor.

A team's members (Python threads running the same GIL-free compiled descent) start once per
chunk of iterations and ``meet`` after each pass over their share of X.

Numba has no atomics for the CPU; these are LLVM's, each on one element of a 1-D int64 array.
A store with ``release`` order makes every write before it visible to a thread whose
``acquire`` load sees the stored value: a thread publishes its block sums with
``store_release`` and the others read them after ``wait_at_least``. On x86 these compile to
plain moves (``fetch_add`` to ``lock xadd``) that LLVM may not reorder across.
"""
import platform
import sys

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .._config import jit

#: Int64s in a cache line. From ``DONE`` on, each member of a team has a flag on a line of its
#: own: how many rounds it has finished.
LINE = 8
DONE = 2 * LINE
#: Pauses between two yields of the processor while waiting for another thread: about 50 µs
#: here, enough that a thread which is running answers without a system call, and short enough
#: that threads beyond the cores (more threads than cores) still take turns.
SPINS_PER_YIELD = 2_000

_YIELD = "SwitchToThread" if sys.platform == "win32" else "sched_yield"
_X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "x86")


def _element_pointer(context, builder, array_type, array, index):
    array = context.make_array(array_type)(context, builder, array)
    return cgutils.get_item_pointer(context, builder, array_type, array, [index],
                                    wraparound=False)


def _int64_array(array):
    return isinstance(array, types.Array) and array.ndim == 1 and array.dtype == types.int64


@intrinsic
def load_acquire(typingctx, flags, i):
    """``flags[i]``, read so that what its writer wrote before storing it is visible after."""
    if not _int64_array(flags):
        return None

    def codegen(context, builder, signature, args):
        pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1])
        return builder.load_atomic(pointer, "acquire", 8)

    return types.int64(flags, i), codegen


def _write(name, emit, result):
    """An intrinsic ``name(flags, i, value)`` that writes ``value`` into ``flags[i]`` with
    ``emit(builder, pointer, value)`` and returns what that returns (as ``result``)."""
    def typer(typingctx, flags, i, value):
        if not _int64_array(flags):
            return None

        def codegen(context, builder, signature, args):
            pointer = _element_pointer(context, builder, signature.args[0], args[0], args[1])
            written = emit(builder, pointer, context.cast(builder, args[2], signature.args[2],
                                                          types.int64))
            return context.get_dummy_value() if result == types.void else written

        return result(flags, i, value), codegen

    typer.__name__ = name
    return intrinsic(typer)


#: ``store_release(flags, i, value)``: ``flags[i] = value``, after every write that comes
#: before it in this thread.
store_release = _write("store_release",
                       lambda builder, pointer, value: builder.store_atomic(value, pointer,
                                                                            "release", 8),
                       types.void)
#: ``fetch_add(flags, i, value)``: ``flags[i] += value`` as one indivisible step; returns the
#: value before.
fetch_add = _write("fetch_add",
                   lambda builder, pointer, value: builder.atomic_rmw("add", pointer, value,
                                                                      "acq_rel"),
                   types.int64)


@intrinsic
def pause(typingctx):
    """The spin-wait hint (x86 ``pause``): the core slows the loop and yields to its sibling.
    Elsewhere nothing: the wait loop's atomic load keeps it a real loop."""
    def codegen(context, builder, signature, args):
        if not _X86:
            return context.get_dummy_value()
        hint = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), []),
                                              "llvm.x86.sse2.pause")
        builder.call(hint, [])
        return context.get_dummy_value()

    return types.void(), codegen


@intrinsic
def yield_processor(typingctx):
    """Let the operating system run another thread on this core (``sched_yield``)."""
    def codegen(context, builder, signature, args):
        call = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), []),
                                              _YIELD)
        builder.call(call, [])
        return context.get_dummy_value()

    return types.void(), codegen


@jit(inline="always")
def wait_at_least(flags, i, value):
    """Spin until ``flags[i] >= value``, yielding the processor every ``SPINS_PER_YIELD`` pauses."""
    spins = 0
    while load_acquire(flags, i) < value:
        pause()
        spins += 1
        if spins == SPINS_PER_YIELD:
            yield_processor()
            spins = 0


@jit(inline="always")
def share(count, member, members):
    """The run ``(start, stop)`` of ``count`` items that ``member`` of ``members`` takes: runs
    in member order, as even as they can be."""
    return member * count // members, (member + 1) * count // members


@jit(inline="always")
def team_flags(threads):
    """The zeroed flags of a team of up to ``threads``, with a clear line after the last."""
    return np.zeros(DONE + LINE * (threads + 1), np.int64)


@jit(inline="always")
def meet(flags, member, members, rounds):
    """Say that ``member`` has finished ``rounds`` rounds, and wait until every other member
    has: what each wrote before is then visible to all."""
    store_release(flags, DONE + LINE * member, rounds)
    for other in range(members):
        if other != member:
            wait_at_least(flags, DONE + LINE * other, rounds)
