"""``add``, ``sub``, ``mul``, ``div``: one floating-point operation that fast-math cannot touch.

fastgd's kernels are compiled with fast-math flags that let LLVM reassociate sums and fuse a
multiply and an add into an FMA. Inside one compiled function that is fixed at compile time;
but the one-thread and the threaded descents are compiled apart, and LLVM may make different
choices in each around the same inlined code: it once fused the update ``w - lr * dw`` into an
FMA in one and not in the other, which changed the last bit with the thread count. Numba's
fast-math pass adds its flags to every float instruction of a function that has none; these
operations carry one flag of their own that changes nothing for them (``arcp``, which lets a
division become a multiplication by a reciprocal, on the others; ``contract``, which fuses a
multiplication into an addition, on the division), and the pass leaves them alone.
Nothing is fused into them or reordered across them, and they are inlined like any other
instruction (a call to a function compiled without fast-math cost W1 13 ns an iteration).
"""
from numba import types
from numba.extending import intrinsic


def _operation(name, instruction, flag="arcp"):
    def typer(typingctx, a, b):
        if not (isinstance(a, types.Float) and a == b):
            return None

        def codegen(context, builder, signature, args):
            return getattr(builder, instruction)(*args, flags=(flag,))

        return a(a, b), codegen

    typer.__name__ = name
    return intrinsic(typer)


#: ``a + b``, rounded once; both of one float type.
add = _operation("add", "fadd")
#: ``a - b``, rounded once; both of one float type.
sub = _operation("sub", "fsub")
#: ``a * b``, rounded once; both of one float type.
mul = _operation("mul", "fmul")
#: ``a / b``, rounded once (never a multiplication by a reciprocal); both of one float type.
div = _operation("div", "fdiv", "contract")
