"""``fit_linear``: validate -> plan -> drive -> result."""
import itertools
import warnings

import numpy as np

from . import _drive, _plan, _tuning as tune
from ._divergence import (BLOWUP, SCALE_ADVICE, badly_scaled, curvature, gram_curvature,
                          linear_divergence)
from ._kernels import drivers, linear_gram
from ._kernels.gram import moments
from ._kernels.tiles import lanes
from ._kernels.losses import halved, make as make_loss
from ._plan import new_tuple
from ._validate import check_solver, linear_problem, thread_request
from .errors import ConvergenceWarning
from .result import linear_result

__all__ = ["fit_linear", "precompile"]

SOLVERS = ("rows", "gram")


def fit_linear(X, y, *, lr=0.01, max_iter=1000, tol=0.0, w0=None, b0=None, history=False,
               loss="squared", delta=1.0, l2=0.0, l1=0.0, standardize=False, callback=None,
               progress=False, n_threads=None, solver="rows", sample_weight=None,
               fit_intercept=True):
    """Fit ``y ~ X w + b`` by batch gradient descent.

    Each iteration is one compiled pass over the rows of ``X`` that fuses prediction, error and
    gradient, then the simultaneous update ``w -= lr dw, b -= lr db`` (both gradients from the
    same ``w, b``), as in the textbook loop (seed 002). :func:`fastgd.reference.fit_linear` is
    that loop in plain numpy and gives the same answer.

    Parameters
    ----------
    X : array_like, shape (m, n)
        Real numbers. float32 is computed in float32, float64 in float64; ints and bools become
        float64. Any memory order or stride, read-only and memory-mapped arrays are read in
        place (X with at most 16 features and under 16 MiB may be copied to Fortran order,
        where a kernel compiled for its width is ready for it).
    y : array_like, shape (m,) or (m, k)
        Targets (0/1 labels for ``loss="logistic"``). ``(m, k)`` fits k outputs at once. A
        strided 1-D y (a column of a table) of up to 64 MiB is copied once, to be read at speed.
    lr : float or "auto", default 0.01
        Learning rate, > 0. ``"auto"`` takes ``1/L``, ``L`` the largest curvature of the loss
        at this X (computed exactly for up to 2048 features); it converges for any X, and the
        result's ``lr`` says what was used.
    max_iter : int, default 1000
        Most updates to make, >= 0.
    tol : float, default 0.0
        Stop at the first iterate whose gradient norm ``sqrt(|dw|^2 + |db|^2)`` is ``<= tol``,
        checked before updating. ``0`` makes exactly ``max_iter`` updates (the seed's loop);
        ``tol > 0`` that ends at ``max_iter`` warns :class:`fastgd.ConvergenceWarning`.
    w0, b0 : array_like, optional
        Starting weights (n,) or (n, k) and bias (a number, or (k,)); zeros by default. Never
        modified.
    history : bool, default False
        Record J (``history``) and the gradient norm (``grad_history``) before each update.
    loss : {"squared", "huber", "logistic"}, default "squared"
        ``"squared"``: ``J = 1/(2m) sum r^2``, ``r = X w + b - y``. ``"huber"``: ``r^2/2`` where
        ``|r| <= delta``, else ``delta (|r| - delta/2)``, averaged. ``"logistic"``: binary log
        loss ``log(1 + e^z) - y z`` with ``z = X w + b``, averaged (y in {0, 1}).
    delta : float, default 1.0
        Huber's threshold, > 0.
    l2, l1 : float, default 0.0
        Penalties on ``w`` (never on ``b``): ``J += l2/2 |w|^2 + l1 |w|_1``. L1 takes the
        proximal step ``w = sign(v) max(|v| - lr l1, 0)`` after the gradient step ``v``, and
        ``grad_norm`` is then the gradient mapping's norm, zero exactly at the optimum.
        scikit-learn's ``Ridge(alpha=m l2)`` and ``Lasso(alpha=l1)`` have the same optimum.
    standardize : bool, default False
        Descend on X's columns centred and scaled to unit variance (statistics from one pass; X
        is never copied or changed) and return ``w, b`` for X as given: another path to the same
        unpenalised optimum, far shorter for badly scaled columns. Penalties then apply to the
        standardised coefficients (as glmnet's do); ``history`` and ``grad_norm`` are those of
        the standardised problem.
    callback : callable, optional
        Called with an object of ``iteration``, ``loss`` (J) and ``grad_norm`` at least every
        1000 updates and at the end; returning ``True`` stops the fit at that iterate.
    progress : bool, default False
        Show a progress bar (tqdm when installed) once the fit is expected to take over a second.
    n_threads : int, optional
        Threads; by default one for small X and the idle cores for large X. The result is
        bit-for-bit the same whatever the number of threads.
    solver : {"rows", "gram"}, default "rows"
        ``"gram"`` (squared loss, no penalty) forms ``[X 1]^T [X 1]`` in one pass, then each
        iteration costs O(n^2 k) whatever m: far faster for many iterations on few features.
    sample_weight : array_like, shape (m,), optional
        Weights of the rows, >= 0: J is the weighted mean of the rows' losses, so integer
        weights fit as repeated rows do, and a weight of 0 as the row left out.
    fit_intercept : bool, default True
        False keeps ``b`` at ``b0`` (0 by default): its gradient is not followed.

    Returns
    -------
    LinearResult
        ``w``, ``b``, ``n_iter``, ``converged``, ``loss``, ``grad_norm``, ``history``, ``lr``,
        ``grad_history``.

    Raises
    ------
    TypeError, ValueError
        Bad arguments, before any update.
    DivergenceError
        The loss stopped being finite or grew: ``lr`` is too large for this X. The error names
        the iteration and a stable learning rate, and carries the last good ``w, b``.

    Examples
    --------
    Seed 002's example, fitting y = 2x from three points:

    >>> import numpy as np, fastgd
    >>> res = fastgd.fit_linear(np.array([[1], [2], [3]]), np.array([2, 4, 6]))
    >>> round(float(res.w[0]), 8), round(res.b, 8)
    (1.90259238, 0.22143042)

    The same data to convergence, with the learning rate chosen from the data:

    >>> res = fastgd.fit_linear([[1], [2], [3]], [2, 4, 6], lr="auto", tol=1e-10, max_iter=10**6)
    >>> res.converged, round(float(res.w[0]), 6), round(res.b, 6)
    (True, 2.0, 0.0)
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(map(repr, SOLVERS))}, got {solver!r}")
    # by position, in linear_problem's order (its docstring says why)
    problem = linear_problem(X, y, lr, max_iter, tol, w0, b0, history, loss, delta, l2, l1,
                             callback, progress, False, sample_weight, fit_intercept)
    standardize = check_solver(problem, solver, standardize)
    if standardize:
        standardized(problem)
    if solver == "gram":
        sums = linear_gram.gram_sums(problem.X, problem.Y)
        return fit_gram(with_lr(problem, gram_of_moments(sums)), sums)
    problem = with_lr(problem)
    return descend(problem, _plan.plan(problem.X, problem.Y, problem.loss, problem.max_iter,
                                       thread_request(n_threads)))


def settings(problem, block_rows):
    """The compiled descent's ``drivers.Settings`` for ``problem``, read in blocks of
    ``block_rows`` rows."""
    return new_tuple(drivers.Settings, (
        problem.lr, problem.max_iter, problem.tol, BLOWUP, problem.l2, problem.l1,
        0.5 if halved(problem.loss) else 1.0, block_rows,
        _NO_COLUMNS if problem.center is None else problem.center,
        _NO_COLUMNS if problem.spread is None else problem.spread, problem.intercept))


#: ``Settings.center`` and ``spread`` of a fit not standardised (empty: never written).
_NO_COLUMNS = np.empty(0)


def standardized(problem):
    """``problem`` with its columns' means and spreads (a spread of 0 taken as 1), weighted as
    its rows are."""
    problem.check_data()  # the statistics would carry a NaN into every coefficient
    if problem.weights is None:
        center, spread = moments(problem.X)
    else:
        center, spread = _weighted_moments(problem.X, problem.weights)
    spread[spread == 0] = 1.0
    problem.center, problem.spread = center, spread
    return problem


def _weighted_moments(X, weights, rows=1 << 14):
    """Each column's weighted mean and standard deviation (weights summing to m), float64, a
    block of rows at a time (no copy of X)."""
    m = X.shape[0]
    weights = weights.astype(np.float64)
    center = sum(weights[i:i + rows] @ np.asarray(X[i:i + rows], np.float64)
                 for i in range(0, m, rows)) / m
    squares = sum(weights[i:i + rows] @ np.square(np.asarray(X[i:i + rows], np.float64) - center)
                  for i in range(0, m, rows)) / m
    return center, np.sqrt(squares)


def with_lr(problem, gram=None):
    """``problem`` with ``lr="auto"`` resolved to ``1/L``: from ``gram``, ``[X 1]^T [X 1] / m``,
    where given, else from X."""
    if problem.lr is None:
        curvature_args = (problem.loss_name, problem.l2, problem.center, problem.spread)
        L = (curvature(problem.X, *curvature_args, problem.weights) if gram is None
             else gram_curvature(gram, *curvature_args))
        problem.lr = auto_lr(L, problem.check_data)
    return problem


def auto_lr(L, check_data):
    """``lr="auto"``: ``1/L`` for the curvature ``L``, which must be finite. A curvature that
    is not finite comes from a NaN or inf in the data, which ``check_data()`` names (raising),
    else from X too large to square."""
    if not np.isfinite(L):
        check_data()
    if not 0 < L < np.inf:
        raise ValueError("lr='auto' needs X whose curvature [X 1]^T [X 1] / m is finite; "
                         "rescale X")
    return 1.0 / L


def descend(problem, plan):
    """Run ``plan`` on ``problem`` and build the result (or raise the DivergenceError)."""
    Wt = np.ascontiguousarray(problem.W0.T)
    b = problem.b0
    outcome = _drive.run(plan, Wt, b, problem.loss, settings(problem, plan.block_rows),
                         history=problem.history, callback=problem.callback,
                         progress=problem.progress)
    if outcome.status != drivers.OK:
        raise _failure(problem, outcome, Wt, b)
    return result(problem, Wt, b, outcome)


def _failure(problem, outcome, Wt_last, b_last):
    """NaN/inf in X or y if the very first pass was not finite (checked only then, saving a
    read), else the ``DivergenceError``."""
    if outcome.status == drivers.NONFINITE and outcome.n_iter == 0:
        problem.check_data()
    return linear_divergence(problem.X, problem.lr, outcome.n_iter, outcome.loss,
                             *problem.output(Wt_last, b_last), loss_name=problem.loss_name,
                             l2=problem.l2, L=curvature(problem.X, problem.loss_name, problem.l2,
                                                        weights=problem.weights))


def gram_of_moments(sums):
    """``[X 1]^T [X 1] / m`` from ``linear_gram.gram_sums``' means and centred moments."""
    mu, C = sums[0], sums[2]
    n = len(mu)
    A = np.empty((n + 1, n + 1))
    A[:n, :n] = C + np.outer(mu, mu)
    A[:n, n] = A[n, :n] = mu
    A[n, n] = 1.0
    return A


def result(problem, Wt, b, outcome, first_rows=None):
    """The ``LinearResult`` of the solver's ``Wt`` (k, n) and ``b`` (k,), after the
    ``ConvergenceWarning`` where ``tol`` was not reached (its advice looks at ``first_rows()``,
    by default X itself)."""
    converged = bool(outcome.grad_norm <= problem.tol)
    if problem.tol > 0 and not converged:
        rows = problem.X if first_rows is None else first_rows()
        advice = (SCALE_ADVICE if problem.center is None and badly_scaled(rows)
                  else "; raise max_iter, or use lr='auto'")
        warnings.warn(
            f"fit_linear stopped at max_iter={problem.max_iter} with grad_norm "
            f"{outcome.grad_norm:.3g} > tol={problem.tol:g}{advice}",
            ConvergenceWarning, stacklevel=3)
    w, b = problem.output(Wt, b)
    return linear_result(w, b, outcome.n_iter, converged, outcome.loss, outcome.grad_norm,
                         outcome.history, problem.lr, outcome.grad_history)


def fit_gram(problem, sums, failure=None, first_rows=None):
    """Descend on the centred moments ``sums`` (``linear_gram.gram_sums``) of the problem's
    data; ``failure(problem, outcome, Wt_last, b_last)`` makes the error of a failed descent,
    ``first_rows`` as in ``result``."""
    mu, ybar, C, D, S = sums
    dtype = problem.W0.dtype
    W, b = problem.W0.astype(np.float64), problem.b0.astype(np.float64)
    W_last, b_last = np.empty_like(W), np.empty_like(b)
    losses = np.empty((problem.max_iter if problem.history else 0, 2))
    status, n_iter, loss, grad_norm = linear_gram.descend_gram(
        mu, ybar, C, D, S, W, b, problem.lr, problem.max_iter, problem.tol, BLOWUP, losses,
        W_last, b_last)
    outcome = _drive.Outcome.recorded(status, int(n_iter), float(loss), float(grad_norm),
                                      losses[:n_iter] if problem.history else None)
    if status != drivers.OK:
        raise (failure or _failure)(problem, outcome, W_last.T.astype(dtype),
                                    b_last.astype(dtype))
    return result(problem, W.T.astype(dtype), b.astype(dtype), outcome, first_rows)


#: What ``precompile`` takes, and its defaults.
DTYPES = ("float64", "float32")
LAYOUTS = ("C", "F", "strided")
LOSS_NAMES = ("squared", "huber", "logistic")


def precompile(dtypes=DTYPES, layouts=LAYOUTS, read_only=(False, True), losses=("squared",),
               widths=()):
    """Compile (or load from numba's cache) ``fit_linear``'s kernels ahead of use.

    By default the width-agnostic kernels that serve every X: each dtype, layout (C-order,
    Fortran-order, strided) and writability, 1-D and 2-D y, for squared loss; ``losses`` adds
    others. Each number of features in ``widths`` also gets the kernels compiled for that
    width (the fixed-width, row-vector and tile kernels, for each loss of ``losses`` that
    they compute), which fits of X that wide then use: they are faster on X in the caches,
    and take 10-20 s each to compile into a cold cache (milliseconds once cached). Useful
    before forking workers, or to take compile time out of a first measured call.

    Parameters
    ----------
    dtypes : sequence of {"float64", "float32"}
    layouts : sequence of {"C", "F", "strided"}
        X's memory orders.
    read_only : sequence of bool
        Writable X, read-only X, or both.
    losses : sequence of {"squared", "huber", "logistic"}, default ("squared",)
    widths : sequence of int
        Numbers of features to compile the per-width kernels for.

    Returns
    -------
    int
        The number of variants made ready.

    Examples
    --------
    >>> import fastgd
    >>> fastgd.precompile(dtypes=["float64"], layouts=["C"], read_only=[False])
    2
    """
    dtypes, layouts, losses = _choices(dtypes, DTYPES, "dtypes"), _choices(
        layouts, LAYOUTS, "layouts"), _choices(losses, LOSS_NAMES, "losses")
    read_only = [bool(flag) for flag in _choices(read_only, (False, True), "read_only")]
    widths = [_width(n) for n in widths]
    count = 0
    for dtype, order, frozen, loss in itertools.product(dtypes, layouts, read_only, losses):
        kernels = ["columns" if order == "F" else "rows"]
        for n in widths:
            kernels += [kernel.name for kernel in _plan.KERNELS
                        if kernel.per_width and kernel.computes(make_loss(loss, 1.0))
                        and (kernel.name == "fixed" and n <= 16 or kernel.name != "fixed")]
        for kernel in dict.fromkeys(kernels):
            for n in ([2] if not _plan.BY_NAME[kernel].per_width else widths):
                if kernel in ("vectors", "tile") and (order != "C" or n > _limit(kernel)):
                    continue
                if kernel == "vectors" and n < lanes(np.dtype(dtype).itemsize):
                    continue  # a row of at least one vector
                X = _layout(8, n, dtype, "F" if kernel == "fixed" else order, frozen)
                y = np.ones(8, X.dtype) if loss != "logistic" else np.zeros(8, X.dtype)
                ahead = _plan.streaming_distance(kernel, X.itemsize)
                # and, where X streaming from memory runs a variant of its own, that one too
                for Y, streaming in itertools.product((y, np.stack([y, y], axis=1)),
                                                      (False, True) if ahead else (False,)):
                    problem = linear_problem(X, Y, lr=1e-4, max_iter=1, tol=0.0, w0=None, b0=None,
                                             history=False, loss=loss)
                    descend(problem, _plan.plan(problem.X, problem.Y, problem.loss, 1, 1, kernel,
                                                streaming=streaming))
                    count += 1
    _plan.forget_availability()
    return count


def _limit(kernel):
    return tune.VECTORS_MAX_FEATURES if kernel == "vectors" else tune.TILE_MAX_FEATURES


def _choices(values, allowed, name):
    values = [values] if isinstance(values, str) else list(values)
    bad = [value for value in values if value not in allowed]
    if bad:
        raise ValueError(f"{name} must be drawn from {list(allowed)}, got {bad[0]!r}")
    return values


def _width(n):
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"widths must hold positive integers, got {n!r}")
    if n < 1:
        raise ValueError(f"widths must hold positive integers, got {n!r}")
    return int(n)


def _layout(rows, n, dtype, layout, frozen):
    """A (rows, n) X of ones in ``layout`` ("C", "F", or "strided": every other row and column
    of a larger array); read-only if ``frozen``."""
    X = {"C": lambda: np.ones((rows, n), dtype),
         "F": lambda: np.ones((rows, n), dtype, order="F"),
         "strided": lambda: np.ones((2 * rows, 2 * n), dtype)[::2, ::2]}[layout]()
    if frozen:
        X = X.view()  # a read-only view keeps the layout
        X.flags.writeable = False
    return X
