"""The losses, each defined once: a row's prediction ``z = x . w + b`` against its target ``y``.

A loss is a small namedtuple whose *type* picks its code when a pass is compiled (numba types a
namedtuple by its class), so a fit compiles only the loss it uses and the choice costs nothing
in the loop. Every pass accumulates ``start(loss, b, y) + x . w`` row by row and hands the
total to ``error_value``, which returns the row's error (dloss/dz, what the gradient sums take)
and its value:

- ``Squared()``: accumulates the residual ``r = z - y``; error ``r``; value ``r * r``, halved
  once for the whole sum (``HALVED``) so that J is seed 002's ``1/(2m) sum r^2`` bit for bit.
- ``Huber(delta)``: error ``clip(r, -delta, delta)``; value ``r^2 / 2`` within ``delta``, else
  ``delta (|r| - delta / 2)``.
- ``Logistic()``: accumulates ``z`` itself (y in {0, 1}); error ``sigmoid(z) - y``; value
  ``log(1 + e^z) - y z``, computed as ``max(z, 0) + log1p(e^-|z|) - y z`` so it never overflows
  (``exp`` and ``log1p`` of :mod:`.elementary`, which vectorise across rows).
- ``Weighted(loss, weights)``: ``loss`` with row ``i``'s error and value times ``weights[i]``
  (weights in X's dtype, scaled to sum to the rows' count, so J stays a mean).
"""
from collections import namedtuple

import numpy as np
from numba import types
from numba.extending import overload
from numba.np.numpy_support import as_dtype

from .elementary import logistic_parts
from .exact import add, mul, sub

Squared = namedtuple("Squared", [])
Huber = namedtuple("Huber", ["delta"])
Logistic = namedtuple("Logistic", [])
Weighted = namedtuple("Weighted", ["loss", "weights"])

#: Loss names as the public API spells them.
LOSSES = {"squared": Squared, "huber": Huber, "logistic": Logistic}


def make(name, delta):
    """The loss object for the API's ``loss`` name (``delta`` serves Huber only)."""
    return Huber(float(delta)) if name == "huber" else _NO_PARAMETERS[name]


_NO_PARAMETERS = {"squared": Squared(), "logistic": Logistic()}  # immutable: shared


def describe(loss):
    """The loss in words: ``"huber"``, ``"weighted squared"``."""
    if isinstance(loss, Weighted):
        return "weighted " + describe(loss.loss)
    return type(loss).__name__.lower()


def kind(loss):
    """What sets the loss's numba type: its class, and a weighted loss's own."""
    return (Weighted, kind(loss.loss)) if isinstance(loss, Weighted) else type(loss)


def halved(loss):
    """Whether J is half the mean of the values (squared loss) rather than their mean."""
    return isinstance(loss.loss if isinstance(loss, Weighted) else loss, Squared)


def _kind(loss):
    return loss.instance_class if isinstance(loss, types.BaseNamedTuple) else None


def start(loss, b, y):
    """What a row's sum starts from: ``b - y`` (the residual's losses) or ``b`` (logistic)."""


def error_value(loss, total, y, row):
    """``(error, value)`` of row ``row`` (of X) whose sum (from ``start``) came to ``total``."""


@overload(start, inline="always")
def _start(loss, b, y):
    if _kind(loss) is Weighted:
        return lambda loss, b, y: start(loss.loss, b, y)
    if _kind(loss) is Logistic:
        return lambda loss, b, y: b
    return lambda loss, b, y: b - y


@overload(error_value, inline="always")
def _error_value(loss, total, y, row):
    kind = _kind(loss)
    if kind is Weighted:
        def weighted(loss, total, y, row):
            error, value = error_value(loss.loss, total, y, row)
            weight = loss.weights[row]
            return error * weight, value * weight
        return weighted
    if kind is Squared:
        return lambda loss, total, y, row: (total, total * total)
    real = as_dtype(total).type  # the error stays in X's float type
    # Branch-free, so the loops over rows that inline them still vectorise.
    if kind is Huber:
        def huber(loss, total, y, row):
            delta = real(loss.delta)
            clipped = min(max(total, -delta), delta)
            # r^2/2 within delta; beyond it delta^2/2 + delta (|r| - delta) = delta (|r| - delta/2)
            # exact, as the logistic value below
            half_square = mul(mul(0.5, np.float64(clipped)), np.float64(clipped))
            beyond = mul(delta, sub(abs(total), abs(clipped)))
            return clipped, add(half_square, np.float64(beyond))
        return huber
    if kind is Logistic:
        def logistic(loss, total, y, row):
            z = np.float64(total)
            sigmoid, tail = logistic_parts(z)  # tail = log1p(e^-|z|): never overflows
            # Rounded as written (exact), as the row-vector pass's IR has it: fast-math would
            # fuse or reorder the terms as the code around allows, and J's last bit would
            # depend on the compiled variant.
            return real(sigmoid) - y, sub(add(max(z, 0.0), tail), mul(np.float64(y), z))
        return logistic
    return None
