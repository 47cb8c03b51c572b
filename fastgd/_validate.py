"""Argument checks shared by the fast path and the reference: every error before any work.

Each message names the argument, what was expected and what was given.
"""
import math
import numbers
from dataclasses import dataclass

import numpy as np

from ._kernels.losses import LOSSES, Weighted, make

_FLOAT32, _FLOAT64 = np.dtype(np.float32), np.dtype(np.float64)
#: A strided 1-D y up to this size is copied once to contiguous memory (a few percent of X).
Y_COPY_MAX_BYTES = 1 << 26


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    return f"{value!r} ({type(value).__name__})"


def real_number(value, name):
    """Return ``value`` as a float; bools, complex and non-numbers raise ``TypeError``."""
    if type(value) is float or type(value) is int:  # the usual case, without the ABC checks
        return float(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    return float(value)


def positive_lr(lr, auto=False):
    """``lr`` as a float > 0; ``"auto"`` gives None where ``auto`` allows it."""
    if type(lr) is float and 0.0 < lr < math.inf:  # the usual case, at once
        return lr
    if auto and isinstance(lr, str) and lr == "auto":
        return None
    if isinstance(lr, str):
        allowed = 'a number > 0 or "auto"' if auto else "a number > 0"
        raise ValueError(f"lr must be {allowed}, got {lr!r}")
    value = real_number(lr, "lr")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    return value


def non_negative(value, name):
    if type(value) is float and 0.0 <= value < math.inf:  # the usual case, at once
        return value
    number = real_number(value, name)
    if not (number >= 0 and math.isfinite(number)):  # also catches NaN
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return number


def non_negative_tol(tol):
    return non_negative(tol, "tol")


#: Largest max_iter: the compiled loops count updates in a signed 64-bit integer.
MAX_ITER_LIMIT = 2**63 - 1


def iteration_count(max_iter):
    if type(max_iter) is int and 0 <= max_iter <= MAX_ITER_LIMIT:
        return max_iter
    if isinstance(max_iter, (bool, np.bool_)) or not isinstance(max_iter, numbers.Integral):
        raise TypeError(f"max_iter must be an integer, got {_describe(max_iter)}")
    if not 0 <= max_iter <= MAX_ITER_LIMIT:
        raise ValueError(f"max_iter must be >= 0 and < 2**63, got {max_iter!r}")
    return int(max_iter)


def flag(value, name):
    if value is True or value is False:
        return value
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_describe(value)}")
    return bool(value)


def _from_pandas(value, name):
    """A pandas object of nullable dtypes (``Int64``, ``Float64``, ``boolean``) as float64, or
    None when ``value`` is not one; NA in it is a ValueError naming the column."""
    if not hasattr(value, "to_numpy") or not type(value).__module__.startswith("pandas"):
        return None
    columns = [value] if getattr(value, "ndim", 1) == 1 else [value[c] for c in value.columns]
    for column in columns:
        if column.isna().any():
            label = f" column {column.name!r}" if getattr(value, "ndim", 1) == 2 else ""
            raise ValueError(f"{name}{label} holds missing values (NA); drop or fill them first")
    try:
        return value.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        return None


def real_array(value, name):
    """``value`` as an ndarray of real numbers (a view where it already is one)."""
    if type(value) is np.ndarray and value.dtype.kind in "biuf":  # the usual case, at once
        return value
    if value is None or isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array of real numbers, got {_describe(value)}")
    if isinstance(value, np.ma.MaskedArray):
        if np.ma.getmaskarray(value).any():
            raise ValueError(f"{name} is a masked array with masked entries; fastgd does not "
                             "honour masks: drop those rows, or fill them (X.filled(value))")
        value = value.data
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of real numbers: {err}") from None
    if array.dtype.kind == "O":
        converted = _from_pandas(value, name)
        array = array if converted is None else converted
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    return array


def kernel_dtype(array):
    """The float dtype fastgd computes in: float32 stays, float16 widens, the rest is float64."""
    if array.dtype.type is np.float32 or array.dtype.type is np.float16:
        return _FLOAT32
    return _FLOAT64


def first_nonfinite(array):
    """Index of the first NaN or infinity in ``array`` (0-, 1- or 2-D), or ``None``.

    Scans a chunk of rows at a time, so no temporary as large as ``array`` is made.
    """
    grid = array.reshape(1, -1) if array.ndim < 2 else array  # a view for 0-D and 1-D
    rows = max(1, (1 << 16) // max(1, grid.shape[1]))
    for start in range(0, grid.shape[0], rows):
        bad = np.argwhere(~np.isfinite(grid[start:start + rows]))
        if bad.size:
            row, column = int(bad[0, 0]) + start, int(bad[0, 1])
            return ((row, column), (column,), ())[2 - array.ndim]
    return None


def check_finite(array, name, offset=0):
    """Raise the ``ValueError`` for ``array``'s first NaN or infinity, its index counting rows
    from ``offset`` (``array``, rows ``offset:`` of the caller's ``name``)."""
    # A finite sum proves every element finite (NaN and inf propagate) without a temporary;
    # only a sum that is not finite (or overflowed) needs the element-by-element scan.
    if array.dtype.kind != "f":
        return
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(np.add.reduce(array, axis=None)):
            return
    where = first_nonfinite(array)
    if where is not None:
        value = "NaN" if np.isnan(array[where]) else array[where]
        where = (where[0] + offset,) + where[1:] if where else where
        raise ValueError(f"{name} must be finite, got {value} at index {where}")


@dataclass(slots=True)
class LinearProblem:
    """A checked ``fit_linear`` call, in the shapes the solvers use.

    ``X`` is (m, n) and ``Y`` is (m, k) in one float dtype, both views of the caller's arrays
    where no conversion is needed; ``y`` is the caller's ``y`` as an array. ``W0`` (n, k) and
    ``b0`` (k,) are fresh arrays the solvers may update in place. ``vector_y`` records whether
    ``y`` was 1-D, for the result's shapes. Not frozen: a frozen dataclass of these ten fields
    took 1.7 us to build against 0.35 on a small fit's call.
    """

    X: np.ndarray
    Y: np.ndarray
    y: np.ndarray
    W0: np.ndarray
    b0: np.ndarray
    vector_y: bool
    lr: object  # a float, or None for "auto" (set by the caller once the curvature is known)
    max_iter: int
    tol: float
    history: bool
    loss_name: str
    loss: object  # a ``_kernels.losses`` namedtuple
    l2: float
    l1: float
    callback: object
    progress: bool
    center: object = None  # standardize=True: the columns' means and spreads (float64)
    spread: object = None
    weights: object = None  # sample_weight, scaled to sum to m, in X's dtype (also in ``loss``)
    intercept: bool = True  # fit_intercept=False keeps b at b0

    def output(self, Wt, b):
        """``(w, b)`` in the caller's shapes from a solver's ``Wt`` (k, n) and ``b`` (k,), arrays
        it hands over: w (n,) (a view of ``Wt``) and a float for a 1-D ``y``, else w (n, k)."""
        if self.vector_y:
            return Wt[0], b.item()
        return Wt.T.copy(), b

    def check_data(self):
        """Raise the ``ValueError`` for the first NaN or infinity in ``X``, else in ``y``."""
        check_finite(self.X, "X")
        check_finite(self.y, "y")


def loss_name(loss):
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(map(repr, LOSSES))}, got {loss!r}")
    return loss


def loss_and_penalties(loss, delta, l2, l1):
    """``(name, loss object, l2, l1)``, checked: the loss's name, Huber's ``delta > 0``, and the
    penalties ``>= 0``."""
    if (loss == "squared" and type(delta) is float and 0.0 <= delta < math.inf
            and type(l2) is float and l2 == 0.0 and type(l1) is float and l1 == 0.0):
        return _UNPENALISED_SQUARED  # the usual call, at once
    name = loss_name(loss)
    delta = non_negative(delta, "delta")
    if name == "huber" and delta == 0:
        raise ValueError("delta must be > 0 for loss='huber', got 0")
    return name, make(name, delta), non_negative(l2, "l2"), non_negative(l1, "l1")


_UNPENALISED_SQUARED = ("squared", make("squared", 1.0), 0.0, 0.0)


def thread_request(n_threads):
    """``n_threads`` as a positive int, or None (the default)."""
    if n_threads is None:
        return None
    if isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads must be a positive integer or None, got {n_threads!r}")
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads!r}")
    return int(n_threads)


def linear_problem(X, y, lr, max_iter, tol, w0, b0, history, loss="squared", delta=1.0,
                   l2=0.0, l1=0.0, callback=None, progress=False, check_data=True,
                   sample_weight=None, fit_intercept=True):
    """Check every ``fit_linear`` argument and return a :class:`LinearProblem` (``fit_linear``
    passes them by position: keywords are a measurable part of a small fit's call).

    ``check_data=False`` leaves NaN/inf in ``X`` and ``y`` to be found by the solver's first
    pass, whose J is then not finite (the fast path then calls ``LinearProblem.check_data``).
    That saves a read of X, and on a small fit the check of y was a fifth of the call's time.
    """
    lr = positive_lr(lr, auto=True)
    max_iter = iteration_count(max_iter)
    tol = non_negative_tol(tol)
    history = flag(history, "history")
    name, loss, l2, l1 = loss_and_penalties(loss, delta, l2, l1)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {_describe(callback)}")
    progress = flag(progress, "progress")

    X = real_array(X, "X")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (rows, features), got {X.ndim}-D with shape {X.shape}")
    m, n = X.shape
    if m == 0 or n == 0:
        raise ValueError(f"X must have at least one row and one column, got shape {X.shape}")
    dtype = kernel_dtype(X)
    if X.dtype != dtype:
        X = X.astype(dtype)  # ints, bools, float16 and longdouble: one unavoidable copy
    if check_data:
        check_finite(X, "X")

    y = real_array(y, "y")
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D (m,) or 2-D (m, k), got {y.ndim}-D with shape {y.shape}")
    if y.shape[0] != m:
        raise ValueError(f"y must have one row per row of X ({m}), got {y.shape[0]} (shape {y.shape})")
    if y.ndim == 2 and y.shape[1] == 0:
        raise ValueError(f"y must have at least one column, got shape {y.shape}")
    if check_data:
        check_finite(y, "y")
    if name == "logistic":
        labels(y)
    vector_y = y.ndim == 1
    Y = y.reshape(m, 1) if vector_y else y
    if Y.dtype != dtype:
        Y = Y.astype(dtype)
    if vector_y and not Y.flags.c_contiguous and Y.nbytes <= Y_COPY_MAX_BYTES:
        Y = np.ascontiguousarray(Y)  # a column of a table: read strided, it slowed fits 5x
    k = Y.shape[1]

    W0 = np.zeros((n, k), dtype)
    if w0 is not None:
        w0 = real_array(w0, "w0")
        expected = (n,) if vector_y else (n, k)
        if w0.shape != expected:
            raise ValueError(f"w0 must have shape {expected} to match X and y, got {w0.shape}")
        check_finite(w0, "w0")
        W0[...] = w0.reshape(n, k)
    b_init = np.zeros(k, dtype)
    if b0 is not None:
        b0 = real_array(b0, "b0")
        if b0.shape not in ((), (k,)) or (vector_y and b0.shape != ()):
            expected = "a scalar" if vector_y else f"a scalar or shape ({k},)"
            raise ValueError(f"b0 must be {expected} to match y, got shape {b0.shape}")
        check_finite(b0, "b0")
        b_init[...] = b0
    intercept = flag(fit_intercept, "fit_intercept")
    weights = None if sample_weight is None else row_weights(sample_weight, m, dtype)
    if weights is not None:
        loss = Weighted(loss, weights)
    return LinearProblem(X, Y, y, W0, b_init, vector_y, lr, max_iter, tol, history, name,
                         loss, l2, l1, callback, progress, None, None, weights, intercept)


def check_solver(problem, solver, standardize):
    """Raise for what the solver (or ``standardize``) cannot do with this problem; return
    ``standardize``, checked."""
    standardize = flag(standardize, "standardize")
    if standardize and not problem.intercept:
        raise ValueError("standardize=True centres X's columns, which moves the intercept; "
                         "use fit_intercept=True with it")
    if solver != "gram":
        return standardize
    if standardize:
        raise ValueError("solver='gram' does not standardize; use solver='rows'")
    if problem.loss_name != "squared" or problem.l1 or problem.l2:
        raise ValueError("solver='gram' fits squared loss without penalties; use "
                         "solver='rows' for this loss or penalty")
    if problem.weights is not None or not problem.intercept:
        raise ValueError("solver='gram' fits unweighted rows with an intercept; use "
                         "solver='rows' for sample_weight or fit_intercept=False")
    return standardize


def row_weights(sample_weight, m, dtype):
    """``sample_weight`` checked (m finite numbers >= 0, not all 0) and scaled to sum to m, in
    ``dtype``: a fit's J is then the weighted mean of its rows' losses."""
    weights = weight_array(sample_weight, m)
    return scaled_weights(weights, check_weights(weights), m, dtype)


def weight_array(sample_weight, m):
    """``sample_weight`` as a 1-D array of real numbers with one per row of X (``m``)."""
    weights = real_array(sample_weight, "sample_weight")
    if weights.shape != (m,):
        raise ValueError(f"sample_weight must have shape ({m},), one weight per row of X, got "
                         f"{weights.shape}")
    return weights


def check_weights(weights, offset=0):
    """Raise for a weight that is not finite or is negative (its index counting rows from
    ``offset``); return the weights' float64 sum."""
    check_finite(weights, "sample_weight", offset)
    weights = weights.astype(np.float64, copy=False)
    if (weights < 0).any():
        first = int(np.flatnonzero(weights < 0)[0])
        raise ValueError(f"sample_weight must be >= 0, got {float(weights[first])!r} at index "
                         f"{first + offset}")
    return weights.sum()


def check_weight_total(total):
    """Raise for weights that are zero for every row (their sum ``total``)."""
    if total == 0:
        raise ValueError("sample_weight is zero for every row: give some row a weight > 0")


def scaled_weights(weights, total, m, dtype):
    """``weights`` (a part of them, of sum ``total`` in all) scaled to sum to ``m``, in
    ``dtype``; an all-zero ``total`` raises."""
    check_weight_total(total)
    return np.ascontiguousarray(weights.astype(np.float64, copy=False) * (m / total), dtype)


def labels(y, offset=0):
    """Check that ``y`` holds the labels of a logistic fit: 0 and 1 (or False and True); an
    index in the error counts rows from ``offset``."""
    if y.dtype.kind == "b":
        return
    bad = (y != 0) & (y != 1)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        value = y[where].item()
        where = (where[0] + offset,) + where[1:]
        raise ValueError(f"y must hold labels 0 and 1 for loss='logistic', got {value!r} at "
                         f"index {where if len(where) > 1 else where[0]}")
