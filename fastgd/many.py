"""``fit_linear_many``: many independent problems in one call, each with its own stop."""
import time
import warnings

import numpy as np

from . import _plan, _tuning as tune
from ._divergence import (BLOWUP, COMPILED_GRAM_MAX_FEATURES, curvature, factor,
                          linear_divergence)
from ._drive import on_team, run
from ._kernels.drivers import NONFINITE, OK
from ._kernels import many as kernels
from ._kernels.gram import grams
from ._kernels.losses import Weighted, halved
from ._validate import (check_finite, first_nonfinite, flag, iteration_count, kernel_dtype, labels,
                        linear_problem, loss_and_penalties, non_negative_tol, positive_lr,
                        real_array, row_weights, thread_request)
from .errors import ConvergenceWarning
from .linear import settings
from .result import ManyResult

__all__ = ["fit_linear_many"]

ON_ERROR = ("raise", "mark")


def fit_linear_many(X, y, *, groups=None, lr=0.01, max_iter=1000, tol=0.0, w0=None, b0=None,
                    loss="squared", delta=1.0, l2=0.0, l1=0.0, on_error="raise", n_threads=None,
                    sample_weight=None, fit_intercept=True):
    """Fit many independent problems ``y_p ~ X_p w_p + b_p`` by batch gradient descent at once.

    Each problem runs the descent of :func:`fastgd.fit_linear` to its own stop, so the total
    work is the sum of the problems' iterations, and ``res[i]`` equals ``fit_linear`` on problem
    i alone with the same arguments, bit for bit (``w, b, n_iter, loss, grad_norm``), whatever
    the number of threads.

    Parameters
    ----------
    X, y : array_like
        Three forms. Stacked: X (P, m, n) and y (P, m), never copied when X is C-contiguous.
        Shared: X (m, n) and y (m, P), P problems on one X (each its own, unlike
        ``fit_linear``'s joint fit of a 2-D y). Ragged: X (N, n), y (N,) and ``groups``.
    groups : array_like, shape (N,), optional
        A label per row, of any sortable dtype; rows of a group need not be contiguous.
        Problems come in sorted label order; for a pandas categorical, one per category in the
        categories' order, those no row takes included (empty problems). X and y are reordered
        once into one copy (stable: a group's rows keep their order).
    lr, max_iter, tol : scalar or array_like of shape (P,)
        Per problem, as in ``fit_linear``; ``lr="auto"`` takes each problem's own ``1/L``.
    w0, b0 : array_like of shape (P, n) and (P,), optional
        Warm starts.
    loss, delta, l2, l1 :
        As in ``fit_linear``.
    on_error : {"raise", "mark"}, default "raise"
        ``"raise"``: the first failed problem (diverged, NaN/infinity in its data, or empty)
        raises, naming it; an empty one before any work. ``"mark"``: every other problem is
        finished and the failed ones are reported in ``status``, their ``w, b`` the last finite
        state (an empty problem's: its start, with ``n_iter`` 0, ``loss`` and ``grad_norm`` NaN,
        and ``lr`` NaN where "auto").
    n_threads : int, optional
        Threads; by default one for little work, the idle cores otherwise.
    sample_weight : array_like, shape (m,), optional
        Weights of the rows of every problem, as in ``fit_linear`` (stacked and shared X).
    fit_intercept : bool, default True
        As in ``fit_linear``.

    Returns
    -------
    ManyResult

    Examples
    --------
    >>> import numpy as np, fastgd
    >>> X = np.random.default_rng(0).standard_normal((4, 50, 3))
    >>> y = X @ np.array([1.0, 2.0, 3.0]) + 0.5
    >>> res = fastgd.fit_linear_many(X, y, lr="auto", tol=1e-10, max_iter=100_000)
    >>> bool(res.converged.all()), res.w.round(6).tolist()[0], res.b.round(6).tolist()
    (True, [1.0, 2.0, 3.0], [0.5, 0.5, 0.5, 0.5])
    """
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be 'raise' or 'mark', got {on_error!r}")
    problems = _problems(X, y, groups, n_threads)
    P = len(problems.keys)
    empty = problems.xe == problems.xs
    if on_error == "raise" and empty.any():
        p = int(np.flatnonzero(empty)[0])
        raise ValueError(f"problem {p} (key {_key(problems, p)!r}) has no rows: a category of "
                         "groups that no row takes; remove the unused categories, or pass "
                         "on_error='mark' to have it marked empty (status 3)")
    name, loss_value, l2, l1 = loss_and_penalties(loss, delta, l2, l1)
    if name == "logistic":
        labels(problems.Y)
    intercept = flag(fit_intercept, "fit_intercept")
    weights = None
    if sample_weight is not None:
        if groups is not None:
            raise ValueError("sample_weight is for stacked or shared X, not groups")
        weights = row_weights(sample_weight, len(problems.representative), problems.X.dtype)
        loss_value = Weighted(loss_value, weights)
    iters = _per_problem(max_iter, P, "max_iter", iteration_count, np.int64)
    tols = _per_problem(tol, P, "tol", non_negative_tol, np.float64)
    auto = isinstance(lr, str) and lr == "auto"
    lrs = (np.empty(P) if auto else
           _per_problem(lr, P, "lr", positive_lr, np.float64))
    n = problems.X.shape[1]
    dtype = problems.X.dtype
    W = np.zeros((P, n), dtype)
    B = np.zeros(P, dtype)
    if w0 is not None:
        W[...] = _shaped(w0, (P, n), "w0")
    if b0 is not None:
        B[...] = _shaped(b0, (P,), "b0")
    threads = _threads(n_threads, problems, iters)
    if auto:
        lrs[...] = _auto_lrs(problems, name, l2, weights, threads)

    status = np.zeros(P, np.int8)
    n_iter = np.zeros(P, np.int64)
    losses, norms = np.zeros(P), np.zeros(P)
    results = (W, B, status, n_iter, losses, norms)
    if P == 1:
        _alone(problems, results, lr=float(lrs[0]), max_iter=int(iters[0]), tol=float(tols[0]),
               loss=name, delta=delta, l2=l2, l1=l1, sample_weight=sample_weight,
               fit_intercept=intercept, n_threads=n_threads)
    else:
        _batched(problems, results, threads, loss_value, lrs, iters, tols, l2, l1, intercept)
    failed = np.flatnonzero(status != kernels.DONE)
    if failed.size and on_error == "raise":
        raise _failure(problems, int(failed[0]), status, lrs, n_iter, losses, W, B, name, l2,
                       weights)
    converged = norms <= tols
    unconverged = (tols > 0) & ~converged & (status == kernels.DONE)
    if unconverged.any():
        warnings.warn(f"fit_linear_many: {int(unconverged.sum())} of {P} problems stopped at "
                      f"max_iter with grad_norm > tol (the first: problem "
                      f"{int(np.flatnonzero(unconverged)[0])})", ConvergenceWarning, stacklevel=2)
    return ManyResult(w=W, b=B, n_iter=n_iter, converged=converged, loss=losses,
                      grad_norm=norms, status=status, keys=problems.keys, lr=lrs)


def _batched(problems, results, threads, loss, lrs, iters, tols, l2, l1, intercept):
    """Every problem by the compiled many-problem driver, claimed in turn by ``threads``."""
    P, n = len(problems.keys), problems.X.shape[1]
    plan = _plan.plan(problems.representative, problems.Y[:1, :1], loss, int(iters.max()), 1)
    X_all, Y_all = _plan.writable_alias(problems.X), _plan.writable_alias(problems.Y)
    counter = np.zeros(1, np.int64)
    args = (X_all, Y_all, problems.xs, problems.xe, problems.ys, problems.ye, problems.yc,
            plan.spec, loss, lrs, iters, tols, BLOWUP, l2, l1, 0.5 if halved(loss) else 1.0,
            intercept, *results)
    # Problems per call at first: about 2^24 element-updates; later calls aim at CHUNK_SECONDS.
    work = max(1, int(np.mean(problems.xe - problems.xs)) * n * int(max(1, np.mean(iters))))
    batch = max(1, min(P, (1 << 24) // work))
    start = 0
    while start < P:
        stop = min(P, start + batch)
        began = time.perf_counter()
        on_team(threads, lambda member: kernels.descend_many(counter, stop, *args))
        counter[0] = stop  # every claim past ``stop`` was refused
        seconds = time.perf_counter() - began
        batch = max(1, int(batch * min(4.0, tune.CHUNK_SECONDS / max(seconds, 1e-9))))
        start = stop


def _alone(problems, results, *, n_threads, **options):
    """One problem: ``fit_linear``'s own plan and drive (a team of threads for large X), which
    are its bits; its outcome written into ``results`` as the batched driver writes it."""
    W, B, status, n_iter, losses, norms = results
    X, y = problems.rows(0)
    problem = linear_problem(X, y, w0=W[0], b0=B[0], history=False, check_data=False,
                             **options)
    plan = _plan.plan(problem.X, problem.Y, problem.loss, problem.max_iter,
                      thread_request(n_threads))
    Wt = np.ascontiguousarray(problem.W0.T)
    outcome = run(plan, Wt, problem.b0, problem.loss, settings(problem, plan.block_rows))
    W[0], B[0] = Wt[0], problem.b0[0]
    n_iter[0], losses[0], norms[0] = outcome.n_iter, outcome.loss, outcome.grad_norm
    if outcome.status == OK:
        status[0] = kernels.DONE
    elif (outcome.status == NONFINITE and outcome.n_iter == 0
          and (first_nonfinite(X) is not None or first_nonfinite(y) is not None)):
        status[0] = kernels.NONFINITE_DATA
    else:
        status[0] = kernels.DIVERGED


class _Problems:
    """The problems as rows ``xs:xe`` of ``X`` (2-D) against column ``yc`` of rows ``ys:ye`` of
    ``Y`` (2-D), in one float dtype; ``keys``; ``representative``, the first non-empty
    problem's X."""

    def __init__(self, X, Y, xs, xe, ys, ye, yc, keys):
        self.X, self.Y, self.keys = X, Y, keys
        self.xs, self.xe, self.ys, self.ye, self.yc = (
            np.ascontiguousarray(a, np.int64) for a in (xs, xe, ys, ye, yc))
        first = int(np.argmax(self.xe > self.xs))  # the first problem with rows
        self.representative = X[self.xs[first]:self.xe[first]]

    def rows(self, p):
        return self.X[self.xs[p]:self.xe[p]], self.Y[self.ys[p]:self.ye[p], self.yc[p]]


def _problems(X, y, groups, n_threads=None):
    X, y = real_array(X, "X"), real_array(y, "y")
    dtype = kernel_dtype(X)
    if groups is not None:
        if X.ndim != 2 or y.ndim != 1:
            raise ValueError(f"with groups, X must be 2-D (N, n) and y 1-D (N,), got X of shape "
                             f"{X.shape} and y of shape {y.shape}")
        groups = _categorical(groups) or np.asarray(groups)
        if groups.shape != (X.shape[0],) or y.shape[0] != X.shape[0]:
            raise ValueError(f"groups and y must have one entry per row of X ({X.shape[0]}), got "
                             f"groups of shape {groups.shape} and y of shape {y.shape}")
        _nonempty(X)
        keys, Xs, Ys, starts = _grouped(X, y, groups, np.dtype(dtype), n_threads)
        return _Problems(Xs, Ys, starts[:-1], starts[1:], starts[:-1], starts[1:],
                         np.zeros(len(keys)), keys)
    if X.ndim == 3:
        P, m, n = X.shape
        if y.shape != (P, m):
            raise ValueError(f"a stacked X of shape {X.shape} takes y of shape {(P, m)}, got "
                             f"{y.shape}")
        if P == 0:
            raise ValueError("X must hold at least one problem, got shape (0, ...)")
        _nonempty(X[0])
        flat = X.astype(dtype, copy=False).reshape(P * m, n)  # a view of C-contiguous X
        offsets = np.arange(P) * m
        return _Problems(flat, y.astype(dtype, copy=False).reshape(P * m, 1), offsets,
                         offsets + m, offsets, offsets + m, np.zeros(P), np.arange(P))
    if X.ndim == 2:
        if y.ndim != 2 or y.shape[0] != X.shape[0]:
            raise ValueError(f"a shared X of shape {X.shape} takes y of shape (m, P) with m = "
                             f"{X.shape[0]}, got {y.shape} (or pass groups for ragged problems)")
        _nonempty(X)
        if y.shape[1] == 0:
            raise ValueError("y must hold at least one problem (column), got shape "
                             f"{y.shape}")
        P, m = y.shape[1], X.shape[0]
        zeros, ms = np.zeros(P), np.full(P, m)
        return _Problems(X.astype(dtype, copy=False), y.astype(dtype, copy=False), zeros, ms,
                         zeros, ms, np.arange(P), np.arange(P))
    raise ValueError(f"X must be 3-D (P, m, n) stacked, or 2-D (m, n) with a 2-D y or groups, "
                     f"got {X.ndim}-D with shape {X.shape}")


class _Categorical:
    """A pandas categorical's integer codes (-1 missing) and its categories."""

    def __init__(self, codes, categories):
        self.codes, self.categories = codes, categories
        self.shape = codes.shape


def _categorical(groups):
    """``groups`` as a ``_Categorical`` where it is a pandas categorical (a Categorical, or a
    Series or Index of category dtype), else None."""
    values = getattr(groups, "array", groups)  # a Series' or Index's Categorical
    if not (type(values).__module__.startswith("pandas") and hasattr(values, "codes")
            and hasattr(values, "categories")):
        return None
    return _Categorical(np.asarray(values.codes, np.int64), np.asarray(values.categories))


def _grouping(groups):
    """The labels, the rows in group order and where each group starts: every category of a
    ``_Categorical`` (empty ones too) in order; otherwise the sorted distinct labels, by
    counting for integer labels of a compact range (no sort), else after one sort."""
    if isinstance(groups, _Categorical):
        if (groups.codes < 0).any():
            row = int(np.flatnonzero(groups.codes < 0)[0])
            raise ValueError(f"groups holds a missing label at row {row}; drop those rows or give "
                             "them a category")
        span = len(groups.categories)
        present, order, present_starts = kernels.group_order(groups.codes, span)
        counts = np.zeros(span, np.int64)  # the categories no row takes: 0
        counts[present] = np.diff(present_starts)
        starts = np.zeros(span + 1, np.int64)
        np.cumsum(counts, out=starts[1:])
        return groups.categories, order, starts
    if groups.dtype.kind in "iub" and groups.size:
        low, high = int(groups.min()), int(groups.max())
        if high - low <= 4 * groups.size and high < 2**63:
            codes = np.subtract(groups, low, dtype=np.int64, casting="unsafe")
            present, order, starts = kernels.group_order(codes, high - low + 1)
            return (present + low).astype(groups.dtype), order, starts
    keys, inverse = np.unique(groups, return_inverse=True)
    _, order, starts = kernels.group_order(inverse.reshape(-1).astype(np.int64, copy=False),
                                           len(keys))
    return keys, order, starts


def _grouped(X, y, groups, dtype, n_threads):
    """X's and y's rows in group order (the one copy of X) and where each group starts, copied
    by the idle cores for large X."""
    keys, order, starts = _grouping(groups)
    N, n = X.shape
    Xs, Ys = np.empty((N, n), dtype), np.empty((N, 1), dtype)
    edges = _edges(N, _team_size(n_threads, N * n))

    def member(index):
        # np.take lets go of the GIL; mode="clip" (the order is a permutation of the rows, in
        # range) because under the default mode numpy writes into a buffer and copies it to out.
        a, b = edges[index], edges[index + 1]
        if a < b:
            if X.dtype == dtype:
                np.take(X, order[a:b], axis=0, out=Xs[a:b], mode="clip")
            else:
                Xs[a:b] = X[order[a:b]]
            if y.dtype == dtype:
                np.take(y, order[a:b], out=Ys[a:b, 0], mode="clip")
            else:
                Ys[a:b, 0] = y[order[a:b]]
    on_team(len(edges) - 1, member)
    return keys, Xs, Ys, starts


def _edges(count, parts):
    """Where each of ``parts`` runs of ``count`` items starts, and the end: the runs of
    ``sync.share``, as even as they can be."""
    return np.arange(parts + 1) * count // parts


def _team_size(n_threads, elements):
    """Threads for a pass over ``elements``: ``n_threads``, else the idle cores for large data."""
    threads = thread_request(n_threads)
    if threads is None:
        threads = _plan.idle_cores() if elements >= tune.PARALLEL_MIN_ELEMENTS else 1
    return max(1, min(threads, _plan.cores()))


def _nonempty(X):
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"each problem must have at least one row and one column, got {X.shape}")


def _per_problem(value, P, name, check, dtype):
    """A scalar or a (P,) array of ``check``-ed values, as a (P,) array."""
    if np.ndim(value) == 0:
        return np.full(P, check(value.item() if isinstance(value, np.generic) else value), dtype)
    array = np.asarray(value)
    if array.shape != (P,):
        raise ValueError(f"{name} must be a scalar or have shape ({P},), got shape {array.shape}")
    if array.dtype.kind not in "biuf":  # strings, objects: each its own check and message
        return np.array([check(v.item() if isinstance(v, np.generic) else v) for v in array],
                        dtype)
    # Every check is of a range (and of a kind, which the array's dtype has once): its ends
    # decide for all, with no Python call a problem (NaN is both ends).
    for end in (array.min(), array.max()):
        check(end.item())
    return array.astype(dtype)


def _shaped(value, shape, name):
    array = real_array(value, name)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    check_finite(array, name)
    return array


def _threads(n_threads, problems, iters):
    """Threads for the descents: a problem each at most; by default more than one only where
    the element-updates are many (a hundredth of them counts as a pass's element)."""
    work = float(np.sum((problems.xe - problems.xs) * iters.astype(float))) * problems.X.shape[1]
    return min(_team_size(n_threads, work / 100), len(problems.keys))


def _auto_lrs(problems, name, l2, weights, threads):
    """Each problem's ``1/L``, computed as ``fit_linear`` computes it for that problem alone:
    by the same compiled Gram matrix and LAPACK's eigenvalues, the problems shared among
    ``threads``. An empty problem's is NaN."""
    if (problems.xs == problems.xs[0]).all() and (problems.xe == problems.xe[0]).all():
        L = curvature(problems.representative, name, l2, weights=weights)  # one X for all
        return np.full(len(problems.keys), 1.0 / L)
    if problems.X.shape[1] > COMPILED_GRAM_MAX_FEATURES or weights is not None:
        return np.array([1.0 / curvature(problems.rows(p)[0], name, l2, weights=weights)
                         if problems.xe[p] > problems.xs[p] else np.nan
                         for p in range(len(problems.keys))])
    rows = problems.xe > problems.xs
    starts, stops = problems.xs[rows], problems.xe[rows]
    A = np.empty((len(starts), problems.X.shape[1] + 1, problems.X.shape[1] + 1))
    counter = np.zeros(1, np.int64)
    with np.errstate(over="ignore", invalid="ignore"):
        on_team(threads, lambda member: grams(counter, problems.X, starts, stops, A))
        finite = np.isfinite(A).all(axis=(1, 2))
        top = np.full(len(A), np.inf)
        top[finite] = _top_eigenvalues(A[finite], threads)
    lrs = np.full(len(problems.keys), np.nan)
    lrs[rows] = 1.0 / (factor(name) * top + l2)
    return lrs


def _top_eigenvalues(A, threads):
    """The largest eigenvalue of each symmetric matrix of A, by LAPACK (which lets go of the
    GIL), the matrices shared among ``threads``."""
    edges = _edges(len(A), max(1, min(threads, len(A))))
    tops = np.empty(len(A))

    def member(index):
        a, b = edges[index], edges[index + 1]
        tops[a:b] = np.linalg.eigvalsh(A[a:b])[:, -1]
    on_team(len(edges) - 1, member)
    return tops


def _key(problems, p):
    """Problem ``p``'s key as a Python object."""
    key = problems.keys[p]
    return key.item() if isinstance(key, np.generic) else key


def _failure(problems, p, status, lrs, n_iter, losses, W, B, name, l2, weights):
    key = _key(problems, p)
    X_p, y_p = problems.rows(p)
    if status[p] == kernels.NONFINITE_DATA:
        for array, label in ((X_p, "X"), (y_p, "y")):
            try:
                check_finite(array, label)
            except ValueError as err:
                return ValueError(f"problem {p} (key {key!r}): {err}")
    error = linear_divergence(X_p, float(lrs[p]), int(n_iter[p]), float(losses[p]),
                              W[p].copy(), float(B[p]), loss_name=name, l2=l2,
                              L=curvature(X_p, name, l2, weights=weights))
    error.args = (f"problem {p} (key {key!r}): {error.args[0]}",)
    return error
