"""``fit_linear``: the checked Python layer over the fused row kernel."""
import numbers
from contextlib import contextmanager

import numba
import numpy as np

from ._divergence import BLOWUP, linear_divergence
from ._kernels import linear_rows
from ._validate import check_finite, flag, linear_problem
from .result import LinearResult

__all__ = ["fit_linear"]

#: Elements of X below which one thread is fastest: under it, waking threads every iteration
#: costs more than the pass itself (measured with ``python -m fastgd.bench``).
PARALLEL_MIN_ELEMENTS = 1 << 18
#: Rows of a block hold about this many elements, so a block stays in the L2 cache.
BLOCK_ELEMENTS = 1 << 14


def block_rows(n):
    """Rows per block for ``n`` features: fixed by ``n`` alone, so results never depend on threads."""
    return max(64, BLOCK_ELEMENTS // n)


def thread_count(n_threads, size):
    """How many threads to use: ``n_threads``, capped at numba's pool, or the default for ``size``."""
    pool = numba.config.NUMBA_NUM_THREADS
    if n_threads is None:
        return 1 if size < PARALLEL_MIN_ELEMENTS else pool
    if isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads must be a positive integer or None, got {n_threads!r}")
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads!r}")
    return min(int(n_threads), pool)


@contextmanager
def _numba_threads(count):
    previous = numba.get_num_threads()
    numba.set_num_threads(count)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def fit_linear(X, y, *, lr=0.01, max_iter=1000, tol=0.0, w0=None, b0=None, history=False,
               n_threads=None):
    """Fit ``y ~ X w + b`` by batch gradient descent on ``J = 1/(2m) sum (X w + b - y)^2``.

    Each iteration is one compiled pass over the rows of ``X`` that fuses prediction, error and
    gradient, then the simultaneous update ``w -= lr dw, b -= lr db`` (both gradients from the
    same ``w, b``), as in the textbook loop; :func:`fastgd.reference.fit_linear` is that loop in
    plain numpy and gives the same answer.

    Parameters
    ----------
    X : array_like, shape (m, n)
        Real numbers. float32 is computed in float32, float64 in float64; ints, bools and
        other floats are converted to float64 (float16 to float32), the only copy of ``X`` ever
        made. Any memory order or stride, read-only and memory-mapped arrays are read in place.
    y : array_like, shape (m,) or (m, k)
        Targets; converted to X's dtype if it differs.
    lr : float, default 0.01
        Learning rate, > 0.
    max_iter : int, default 1000
        Most updates to make, >= 0.
    tol : float, default 0.0
        Stop at the first iterate whose gradient norm ``sqrt(|dw|^2 + |db|^2)`` is ``<= tol``,
        checked before updating; ``0`` makes exactly ``max_iter`` updates.
    w0 : array_like, shape (n,) or (n, k), optional
        Starting weights (zeros by default); never modified.
    b0 : float or array_like of shape (k,), optional
        Starting bias (zero by default); never modified.
    history : bool, default False
        Record J before each update.
    n_threads : int, optional
        Threads to use, capped at numba's pool (``NUMBA_NUM_THREADS``). By default one thread
        for small X, the whole pool for large X. The result is bit-for-bit the same whatever
        the number of threads.

    Returns
    -------
    LinearResult
        ``w``, ``b``, ``n_iter``, ``converged``, ``loss``, ``grad_norm``, ``history``.

    Raises
    ------
    TypeError, ValueError
        Bad arguments, before any update (NaN or infinity in X is found by the first pass).
    DivergenceError
        The loss stopped being finite or grew: ``lr`` is too large for this X. The error names
        the iteration and a stable learning rate, and carries the last good ``w, b``.

    Notes
    -----
    Partial sums are accumulated per block of rows and added in float64, in a fixed order.
    Memory used beyond X and y is O(n k (1 + m / block)) for the block sums, and O(max_iter)
    for the history.

    Examples
    --------
    Seed 002's example: fitting y = 2x from three points.

    >>> import numpy as np, fastgd
    >>> res = fastgd.fit_linear(np.array([[1], [2], [3]]), np.array([2, 4, 6]))
    >>> round(float(res.w[0]), 8), round(res.b, 8)
    (1.90259238, 0.22143042)
    """
    problem = linear_problem(X, y, lr=lr, max_iter=max_iter, tol=tol, w0=w0, b0=b0,
                             history=history, check_X_finite=False)
    X, Y = problem.X, problem.Y
    threads = thread_count(n_threads, X.size)
    Wt = np.ascontiguousarray(problem.W0.T)
    b = problem.b0
    Wt_last, b_last = np.empty_like(Wt), np.empty_like(b)
    losses = np.empty(problem.max_iter if problem.history else 0)
    with _numba_threads(threads):
        status, n_iter, loss, grad_norm = linear_rows.descend(
            X, Y, Wt, b, problem.lr, problem.max_iter, problem.tol, BLOWUP, block_rows(X.shape[1]),
            threads > 1, losses, Wt_last, b_last)
    if status != linear_rows.OK:
        if status == linear_rows.NONFINITE and n_iter == 0:
            check_finite(X, "X")
        raise linear_divergence(X, problem.lr, n_iter, loss, *problem.output(Wt_last.T.copy(), b_last))
    w, b = problem.output(np.ascontiguousarray(Wt.T), b)
    return LinearResult(
        w=w,
        b=b,
        n_iter=int(n_iter),
        converged=bool(grad_norm <= problem.tol),
        loss=float(loss),
        grad_norm=float(grad_norm),
        history=losses[:n_iter].copy() if problem.history else None,
    )
