"""Immutable result types shared by the fast path and the reference."""
import operator
from dataclasses import dataclass, fields

import numpy as np


def _format(value):
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=8, threshold=8, edgeitems=3):
            return np.array2string(value, prefix=" " * 14)
    if isinstance(value, float):
        return f"{value:.10g}"
    return repr(value)


class _Result:
    """Attribute access and an aligned repr (as scipy's OptimizeResult), on slots: a small
    fit's whole call is microseconds."""

    __slots__ = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        names = cls.__dict__.get("__slots__")  # the dataclass's fields, on its slotted class
        if names:
            cls._values = operator.attrgetter(*names)

    def __post_init__(self):
        # Arrays are made read-only, so a result cannot be changed in place.
        for value in self._values(self):
            if type(value) is np.ndarray:  # results hold base-class arrays only
                value.setflags(write=False)

    def __repr__(self):
        width = max(len(field.name) for field in fields(self))
        rows = [
            f"{field.name.rjust(width)}: {_format(getattr(self, field.name))}"
            for field in fields(self)
        ]
        return f"{type(self).__name__}(\n  " + "\n  ".join(rows) + "\n)"


@dataclass(frozen=True, repr=False, eq=False, slots=True)
class LinearResult(_Result):
    """What ``fit_linear`` returns.

    Attributes
    ----------
    w : ndarray
        Weights, shape ``(n,)`` for a 1-D ``y`` or ``(n, k)`` for a 2-D ``y``, in X's float dtype.
    b : float or ndarray
        Bias: a Python float for a 1-D ``y``, an array of shape ``(k,)`` for a 2-D ``y``.
    n_iter : int
        Updates made.
    converged : bool
        Whether the gradient norm at the returned ``w, b`` is ``<= tol``.
    loss : float
        Cost ``J = 1/(2m) sum (X w + b - y)^2`` at the returned ``w, b``.
    grad_norm : float
        ``sqrt(|dw|^2 + |db|^2)`` at the returned ``w, b``.
    history : ndarray or None
        ``J`` before each update (length ``n_iter``) when asked for, else ``None``.
    lr : float
        The learning rate used (``1/L`` where ``lr="auto"`` was asked for).
    grad_history : ndarray or None
        The gradient norm before each update, beside ``history``.

    ``converged`` says whether ``tol`` was reached, so a fit with ``tol=0`` (a fixed number of
    updates, the seed's loop) is never "converged", however close it came.

    Examples
    --------
    >>> import numpy as np, fastgd
    >>> res = fastgd.fit_linear(np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0]))
    >>> res.n_iter, res.converged
    (1000, False)
    >>> round(float(res.w[0]), 8), round(res.b, 8)
    (1.90259238, 0.22143042)
    """

    w: np.ndarray
    b: object
    n_iter: int
    converged: bool
    loss: float
    grad_norm: float
    history: object = None
    lr: float = None
    grad_history: object = None


def linear_result(w, b, n_iter, converged, loss, grad_norm, history, lr, grad_history):
    """``LinearResult(...)`` as a fit makes it, whose arrays can only be ``w``, ``b`` and the
    histories: the same object without the dataclass's generic ``__init__`` and its look at
    every field, a tenth of a small fit's call (docs/performance.md)."""
    res = _new(LinearResult)
    _set_w(res, w)
    _set_b(res, b)
    _set_n_iter(res, n_iter)
    _set_converged(res, converged)
    _set_loss(res, loss)
    _set_grad_norm(res, grad_norm)
    _set_history(res, history)
    _set_lr(res, lr)
    _set_grad_history(res, grad_history)
    w.setflags(write=False)
    if type(b) is np.ndarray:
        b.setflags(write=False)
    if history is not None:
        history.setflags(write=False)
        grad_history.setflags(write=False)
    return res


_new = object.__new__
# The slots' own setters, which a frozen dataclass's __setattr__ stands in front of.
(_set_w, _set_b, _set_n_iter, _set_converged, _set_loss, _set_grad_norm, _set_history, _set_lr,
 _set_grad_history) = (LinearResult.__dict__[name].__set__ for name in LinearResult.__slots__)


@dataclass(frozen=True, repr=False, eq=False, slots=True)
class MinimizeResult(_Result):
    """What ``minimize`` and ``maximize`` return, under scipy's ``OptimizeResult`` names
    (``x``, ``fun``, ``jac``, ``nit``, ``success``, ``status``, ``message``) and fastgd's own.

    Attributes
    ----------
    x : float or ndarray
        The last iterate: a Python float for a scalar ``x0``, else a 1-D array.
    fun : float or None
        The objective at ``x``, when one was given (``fun=``, or a formula), else ``None``.
    jac : float or ndarray
        The gradient at ``x``, shaped like ``x``.
    nit : int
        Updates made.
    converged : bool
        Whether the gradient norm at ``x`` is ``<= tol``.
    success : bool
        ``converged``, by scipy's name.
    status : int
        0: ``tol`` reached; 1: ``max_iter`` updates made first (scipy's codes).
    message : str
        ``status`` in words.
    grad_norm : float
        ``|grad(x)|`` (scalar) or ``||grad(x)||_2`` (vector).
    fun_history : ndarray or None
        The objective at each iterate, ``x0`` first, when one was given, else ``None``.
    path : ndarray or None
        The iterates, ``x0`` first, when asked for, else ``None``.

    Examples
    --------
    >>> import fastgd
    >>> fastgd.minimize(lambda t: 2 * t, 3.0, lr=0.3, max_iter=4, tol=0, path=True).path
    array([3.    , 1.2   , 0.48  , 0.192 , 0.0768])
    >>> res = fastgd.minimize(lambda x: 2 * x + 2, 5.0, fun=lambda x: x * x + 2 * x + 3)
    >>> res.success, res.status, res.message, round(res.fun, 10), abs(res.jac) <= 1e-6
    (True, 0, 'the gradient norm reached tol', 2.0, True)
    """

    x: object
    fun: object
    jac: object
    nit: int
    converged: bool
    success: bool
    status: int
    message: str
    grad_norm: float
    fun_history: object = None
    path: object = None


@dataclass(frozen=True, repr=False, eq=False, slots=True)
class ManyResult(_Result):
    """What ``fit_linear_many`` returns: one row per problem, in ``keys`` order.

    Attributes
    ----------
    w : ndarray, shape (P, n)
    b, n_iter, converged, loss, grad_norm, lr : ndarray, shape (P,)
        As :class:`LinearResult`'s, per problem.
    status : ndarray of int8, shape (P,)
        0 done, 1 diverged, 2 non-finite data (X or y of that problem), 3 empty (a category
        of ``groups`` that no row takes).
    keys : ndarray, shape (P,)
        The group labels (sorted), or ``arange(P)``.

    ``len(res)`` is P and ``res[i]`` is problem i's :class:`LinearResult`.

    Examples
    --------
    >>> import numpy as np, fastgd
    >>> X = np.array([[1.0], [2.0], [3.0], [1.0], [2.0]]); y = np.array([2.0, 4.0, 6.0, 1.0, 2.0])
    >>> res = fastgd.fit_linear_many(X, y, groups=["a", "a", "a", "b", "b"])
    >>> len(res), res.keys.tolist(), round(float(res[0].w[0]), 8)
    (2, ['a', 'b'], 1.90259238)
    """

    w: np.ndarray
    b: np.ndarray
    n_iter: np.ndarray
    converged: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    status: np.ndarray
    keys: np.ndarray
    lr: np.ndarray

    def __len__(self):
        return len(self.b)

    def __getitem__(self, i):
        return LinearResult(w=self.w[i].copy(), b=float(self.b[i]), n_iter=int(self.n_iter[i]),
                            converged=bool(self.converged[i]), loss=float(self.loss[i]),
                            grad_norm=float(self.grad_norm[i]), lr=float(self.lr[i]))
