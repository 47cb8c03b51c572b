"""``minimize`` and ``maximize``: seeds 000 and 001 as a compiled general optimiser."""
import math
import numbers
import time

import numpy as np
from numba.core.errors import NumbaError
from numba.core.registry import CPUDispatcher

from . import _tuning as tune, symbolic
from ._config import interruptible
from ._kernels import descent
from ._validate import flag, iteration_count, non_negative_tol, positive_lr, real_array
from .errors import DivergenceError
from .result import MinimizeResult

__all__ = ["maximize", "minimize"]

#: A gradient norm above this many times ``1 + norm(grad(x0))`` has grown without bound.
GROWTH = 1e12
#: ``MinimizeResult.message`` by ``status``.
MESSAGES = ("the gradient norm reached tol", "max_iter updates made before the gradient norm "
            "reached tol")


def _start(x0):
    """``x0`` as a float (scalar start) or a fresh float64 1-D array."""
    if isinstance(x0, (bool, np.bool_)):
        raise TypeError(f"x0 must be a real number or a 1-D array of them, got {x0!r}")
    if isinstance(x0, numbers.Real):
        x = float(x0)
        if not np.isfinite(x):
            raise ValueError(f"x0 must be finite, got {x0!r}")
        return x
    array = real_array(x0, "x0")
    if array.ndim == 0:
        return _start(float(array))
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"x0 must be a number or a non-empty 1-D array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"x0 must be finite, got {array}")
    return array.astype(np.float64)


def _checked_gradient(grad, x, at="x0"):
    """``grad(x)``, checked to be shaped like ``x`` and finite; as a float or float64 array."""
    g = grad(x)
    if isinstance(x, float):
        if (isinstance(g, (bool, np.bool_)) or not isinstance(g, (numbers.Real, np.ndarray))
                or np.ndim(g) != 0):
            raise TypeError(f"grad must return a real number for a scalar x0, got {g!r}")
        g = float(g)
    else:
        if not isinstance(g, np.ndarray) or g.dtype.kind not in "iuf":
            raise TypeError(f"grad must return a real array shaped like x0 {x.shape}, got {g!r}")
        if g.shape != x.shape:
            raise ValueError(f"grad must return an array of shape {x.shape} like x0, got shape "
                             f"{g.shape}" + ("" if at == "x0" else f" at {at}"))
        g = g.astype(np.float64)
    if at == "x0" and not np.all(np.isfinite(g)):
        raise ValueError(f"grad(x0) must be finite, got {g}")
    return g


class _CheckedGradient:
    """A plain Python gradient, checked at every call: a shape or type that changes mid-run is
    a clear error naming ``grad``, never a failure deep inside the loop."""

    def __init__(self, grad, x0):
        self.grad, self.scalar, self.calls = grad, isinstance(x0, float), 0

    def __call__(self, x):
        self.calls += 1
        return _checked_gradient(self.grad, float(x) if self.scalar else x,
                                 at=f"iterate {self.calls}")


def _run(compiled, grad, x, g, step, tol, max_iter, record, compile_later=None):
    """The descent in chunks of about ``CHUNK_SECONDS`` (Python runs between them, so Ctrl-C
    raises KeyboardInterrupt there): ``(status, x, g, grad_norm, updates, last good x, trail)``.
    ``compile_later()``, where given, makes the compiled gradient that a run still going after
    ``COMPILE_AFTER_SECONDS`` of Python continues with."""
    limit = GROWTH * (1.0 + descent.norm(g))
    done, chunk, trails, last = 0, 64, [], x
    began = time.perf_counter()
    while True:
        start = time.perf_counter()
        if (compiled is None and compile_later is not None
                and start - began >= tune.COMPILE_AFTER_SECONDS):
            compiled = compile_later()
        if compiled is not None:
            try:
                status, x, g, grad_norm, updates, last, trail = interruptible(
                    descent.compiled_loop, compiled, x, g, step, tol, min(chunk, max_iter - done),
                    limit, record)
            except (NumbaError, ValueError, TypeError) as err:
                raise ValueError(f"grad failed inside the compiled loop: {err}".splitlines()[0]) from None
        else:
            with np.errstate(all="ignore"):  # a non-finite gradient is reported, not warned
                status, x, g, grad_norm, updates, last, trail = descent.loop(
                    grad, x, g, step, tol, min(chunk, max_iter - done), limit, record)
        seconds = time.perf_counter() - start
        trails.append(trail if not trails else trail[1:])
        done += updates
        if status != descent.OK or grad_norm <= tol or done == max_iter:
            return status, x, g, grad_norm, done, last, np.concatenate(trails)
        chunk = max(1, int(chunk * min(16.0, tune.CHUNK_SECONDS / max(seconds, 1e-9))))


def _stable_lr(grad, x0, g0, step):
    """``(1/L, unbounded)``: L the gradient's change over the first step (exact for a
    quadratic); ``unbounded`` where the function curves the wrong way along that step (up for
    ascent, down for descent), so that no learning rate is stable: it may have no optimum."""
    x1 = x0 - step * g0
    with np.errstate(all="ignore"):
        moved = np.subtract(x1, x0)
        turned = np.subtract(grad(x1), g0)
        change, distance = descent.norm(turned), descent.norm(moved)
        curvature = float(np.sum(np.multiply(turned, moved)))
    if not (distance > 0 and 0 < change < np.inf):
        return None, False
    if curvature * step < 0:  # descent (step > 0) on negative curvature, or ascent on positive
        return None, True
    return distance / change, False


def _descend(name, grad, x0, sign, lr, tol, max_iter, fun, path):
    lr = positive_lr(lr)
    tol = non_negative_tol(tol)
    max_iter = iteration_count(max_iter)
    path = flag(path, "path")
    if fun is not None and not callable(fun):
        raise TypeError(f"fun must be callable or None, got {fun!r}")
    x = _start(x0)
    compile_later = None
    if symbolic.is_expression(grad):
        derived = symbolic.derive(grad)
        expected = 1 if isinstance(x, float) else x.size
        if len(derived.variables) != expected:
            raise ValueError(f"x0 must give one value per variable {derived.variables}, "
                             f"got {expected}")
        grad, fun = derived.gradient, fun or derived.objective
        compile_later = derived.compiled_gradient
    elif not callable(grad):
        raise TypeError(f"grad must be callable (or an expression), got {grad!r}")

    with np.errstate(all="ignore"):
        g = _checked_gradient(grad, x)
    step = sign * lr
    record = path or fun is not None
    # A numba-compiled gradient runs the loop compiled; a plain Python one runs as Python, so it
    # keeps Python's meaning (globals read at each call, integers that never wrap).
    compiled = grad if isinstance(grad, CPUDispatcher) else None
    python_grad = grad if compiled is not None else _CheckedGradient(grad, x)
    status, x_final, g_final, grad_norm, nit, last, trail = _run(
        compiled, python_grad, x, g, step, tol, max_iter, record, compile_later)

    if status != descent.OK:
        stable, unbounded = _stable_lr(grad, x, g, step)
        what = "stopped being finite" if status == descent.NONFINITE else f"grew to {grad_norm:.6g}"
        if unbounded:
            advice = ("the function curves " + ("up" if sign < 0 else "down") + " along the "
                      "walk, so no learning rate is stable there: it may have no "
                      + ("maximum" if sign < 0 else "minimum") + " (unbounded "
                      + ("above" if sign < 0 else "below") + "); start elsewhere")
        elif stable:
            advice = (f"a stable learning rate near x0 is about {stable:.6g} (1/L, L the change "
                      "of the gradient over the first step)")
        else:
            advice = "try a smaller lr"
        last = float(last) if isinstance(x, float) else np.array(last)
        raise DivergenceError(
            f"{name} diverged at iteration {nit}: the gradient norm {what} with lr={lr:g}; {advice}",
            iteration=int(nit), lr=lr, stable_lr=stable, w=last, b=None, loss=float(grad_norm))
    values = None
    if fun is not None:
        with np.errstate(all="ignore"):
            values = np.array([_objective(fun, float(point) if isinstance(x, float) else point, i)
                               for i, point in enumerate(trail)], dtype=np.float64)
    converged = bool(grad_norm <= tol)
    scalar = isinstance(x, float)
    return MinimizeResult(
        x=float(x_final) if scalar else np.array(x_final),
        fun=None if values is None else float(values[-1]),
        jac=float(g_final) if scalar else np.array(g_final, dtype=np.float64),
        nit=int(nit),
        converged=converged,
        success=converged,
        status=int(not converged),
        message=MESSAGES[not converged],
        grad_norm=float(grad_norm),
        fun_history=values,
        path=np.array(trail) if path else None,
    )


def _objective(fun, x, iterate):
    """``fun(x)`` as a float; an array or a NaN is an error naming ``fun``."""
    value = fun(x)
    if isinstance(value, (bool, np.bool_)) or np.ndim(value) != 0 or not isinstance(
            value, (numbers.Real, np.ndarray, np.generic)):
        raise TypeError(f"fun must return a real number, got {value!r} at iterate {iterate}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"fun is NaN at iterate {iterate} (x = {x}): the descent left the "
                         "objective's domain; start elsewhere or take a smaller lr")
    return value


def minimize(grad, x0, *, lr=0.1, tol=1e-6, max_iter=10_000, fun=None, path=False):
    """Gradient descent ``x <- x - lr * grad(x)`` until ``|grad| <= tol`` (seeds 000 and 001).

    Parameters
    ----------
    grad : callable, str or SymPy expression
        The gradient: ``grad(x)`` returns a float for a scalar ``x``, else an array shaped like
        ``x``. A ``numba.njit`` function runs the whole loop compiled; a plain Python function
        runs the same loop in Python (so it keeps Python's meaning: globals are read at each
        call, integers never wrap), with identical arithmetic. A string such as ``"x**2 + 2*x + 3"`` or a
        SymPy expression is the *objective*: its gradient is derived and compiled (needs
        ``fastgd[symbolic]``); with several variables, ``x`` lists them in alphabetical order. The
        objective then serves as ``fun``.
    x0 : float or 1-D array_like
        The start. A scalar gives a Python float ``x``.
    lr : float, default 0.1
        Learning rate, > 0.
    tol : float, default 1e-6
        Stop when ``|grad|`` (scalar) or ``||grad||_2`` (vector) is ``<= tol``.
    max_iter : int, default 10000
        Most updates.
    fun : callable, optional
        The objective: the result's ``fun`` is its value at ``x``, ``fun_history`` at each
        iterate (``x0`` first).
    path : bool, default False
        Return the iterates, ``x0`` first.

    Returns
    -------
    MinimizeResult
        ``x``, ``fun``, ``jac``, ``nit`` (updates), ``success``, ``status``, ``message`` (scipy's
        names), ``converged``, ``grad_norm``, ``fun_history``, ``path``.

    Raises
    ------
    TypeError, ValueError
        Bad arguments, or a gradient of the wrong type or shape, before any update.
    DivergenceError
        The iterate or gradient stopped being finite, or the gradient norm grew past
        ``1e12 * (1 + |grad(x0)|)``.

    Examples
    --------
    Seed 000's walk on J(theta) = theta**2, and seed 001's polynomial:

    >>> import fastgd
    >>> fastgd.minimize(lambda t: 2 * t, 3.0, lr=0.3, max_iter=4, tol=0, path=True).path
    array([3.    , 1.2   , 0.48  , 0.192 , 0.0768])
    >>> round(fastgd.minimize("x**2 + 2*x + 3", 5.0).x, 5)
    -1.0
    """
    return _descend("minimize", grad, x0, 1.0, lr, tol, max_iter, fun, path)


def maximize(grad, x0, *, lr=0.1, tol=1e-6, max_iter=10_000, fun=None, path=False):
    """Gradient ascent ``x <- x + lr * grad(x)`` until ``|grad| <= tol``; as :func:`minimize`.

    Examples
    --------
    >>> import fastgd
    >>> round(fastgd.maximize(lambda x: -2 * (x - 4), 0.0).x, 5)
    4.0
    >>> fastgd.maximize("-x**2 - y**2 + 2*y", [3.0, 3.0]).x.round(5)
    array([0., 1.])
    """
    return _descend("maximize", grad, x0, -1.0, lr, tol, max_iter, fun, path)
