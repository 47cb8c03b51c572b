"""``borrowed(array)``: the same array without its reference count, for a hot loop.

Numba counts references to an array's memory with atomic increments and decrements. Where an
array goes into an inlined helper whose branches its reference-count pruning cannot follow,
each iteration pays for them: about twenty a descent iteration, 60-70 % of the time of an
iteration on small X. A ``descend`` call's arrays are all its caller's and outlive the call, so
inside it they are borrowed: the same data, shape and strides with no meminfo, whose
increments and decrements do nothing.
"""
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def borrowed(typingctx, array):
    """``array`` itself, its meminfo and parent left out: valid while the caller's array is
    (None stays None)."""
    if isinstance(array, types.NoneType):
        return array(array), lambda context, builder, signature, args: args[0]
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, signature, args):
        view = context.make_array(array)(context, builder, value=args[0])
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        return view._getvalue()

    return array(array), codegen
