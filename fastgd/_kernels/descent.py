"""The loop of seeds 000/001: ``while norm(grad) > tol: x -= step * grad``.

``loop`` is written once and runs two ways with the same arithmetic: compiled by numba with the
user's jitted gradient called inside (``compiled_loop``), or as plain Python for a plain Python
gradient. The helpers it calls have a Python body and a numba overload, so the same source
covers a scalar ``x`` and a 1-D array ``x``. No fast-math: both ways round alike. A call runs
at most ``max_iter`` updates and returns its last gradient, so the caller runs it in chunks.
Specialised on the gradient function, the compiled loop is not cached on disk; numba keeps one
compilation per gradient function for the life of the process.
"""
import math

import numba
import numpy as np
from numba import types
from numba.extending import overload

OK, NONFINITE, BLOWN_UP = 0, 1, 2


def norm(v):
    """``|v|`` for a number; for a 1-D array, the square root of its squares summed in order."""
    if isinstance(v, np.ndarray):
        total = 0.0
        for item in v:
            total += item * item
        return math.sqrt(total)
    return abs(v)


def new_trail(x, rows):
    """An empty record of ``rows`` iterates shaped like ``x``."""
    return np.empty((rows,) + np.shape(x))


def grow(trail):
    """``trail`` with twice the rows, the first half copied."""
    bigger = np.empty((2 * trail.shape[0],) + trail.shape[1:])
    bigger[: trail.shape[0]] = trail
    return bigger


@overload(norm)
def _norm_compiled(v):
    if isinstance(v, types.Array):
        def impl(v):
            total = 0.0
            for item in v:
                total += item * item
            return math.sqrt(total)
        return impl
    return lambda v: abs(v)


@overload(new_trail)
def _new_trail_compiled(x, rows):
    if isinstance(x, types.Array):
        return lambda x, rows: np.empty((rows, x.shape[0]))
    return lambda x, rows: np.empty(rows)


@overload(grow)
def _grow_compiled(trail):
    def impl(trail):
        bigger = np.empty((2 * trail.shape[0],) + trail.shape[1:])
        bigger[: trail.shape[0]] = trail
        return bigger
    return impl


def loop(grad, x, g, step, tol, max_iter, limit, record):
    """Descend from ``x`` (whose gradient is ``g``) by ``x <- x - step * grad(x)``.

    ``step`` is ``lr`` for descent and ``-lr`` for ascent. Stops when ``norm(grad) <= tol`` or
    after ``max_iter`` updates; stops with ``NONFINITE`` when ``x`` or the gradient stops being
    finite, with ``BLOWN_UP`` when the gradient norm passes ``limit``. Returns ``(status, x, g,
    grad_norm, updates, last_good_x, trail)``; ``trail`` holds the iterates, ``x`` first, when
    ``record`` (else one row).
    """
    grad_norm = norm(g)
    trail = new_trail(x, min(max_iter, 63) + 1 if record else 1)
    trail[0] = x
    last = x
    updates = 0
    status = OK
    while grad_norm > tol and updates < max_iter:
        last = x
        x = x - step * g
        updates += 1
        if record:
            if updates == trail.shape[0]:
                trail = grow(trail)
            trail[updates] = x
        g = grad(x)
        grad_norm = norm(g)
        if not (math.isfinite(grad_norm) and math.isfinite(norm(x))):
            status = NONFINITE
            break
        if grad_norm > limit:
            status = BLOWN_UP
            break
    return status, x, g, grad_norm, updates, last, trail[: updates + 1 if record else 1]


compiled_loop = numba.njit(nogil=True)(loop)
