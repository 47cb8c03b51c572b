"""``[X 1]^T [X 1] / m`` in float64, row by row in a fixed order: the curvature of a fit's loss
(``lr="auto"``), the same bits for a problem alone and among many."""
import numpy as np

from .._config import jit
from .sync import fetch_add


@jit(inline="always")
def gram_into(X, A):
    """Write ``[X 1]^T [X 1] / m`` of X (m, n) into A (n + 1, n + 1)."""
    m, n = X.shape
    A[:] = 0.0
    for i in range(m):
        for p in range(n):
            xp = np.float64(X[i, p])
            for q in range(p, n):
                A[p, q] += xp * np.float64(X[i, q])
            A[p, n] += xp
    A[n, n] = m
    for p in range(n + 1):
        for q in range(p, n + 1):
            A[p, q] /= m
            A[q, p] = A[p, q]


@jit()
def gram(X):
    """``[X 1]^T [X 1] / m`` of X (m, n), (n + 1, n + 1)."""
    A = np.empty((X.shape[1] + 1, X.shape[1] + 1))
    gram_into(X, A)
    return A


#: Problems a thread claims at a time in ``grams``.
CLAIM = 64


@jit()
def grams(counter, X, starts, stops, out):
    """``gram`` of rows ``starts[p]:stops[p]`` of X into ``out[p]``, for each problem p claimed
    (``CLAIM`` at a time) from ``counter[0]``, so that a team of threads shares them."""
    P = starts.shape[0]
    while True:
        first = fetch_add(counter, 0, CLAIM)
        if first >= P:
            return
        for p in range(first, min(P, first + CLAIM)):
            gram_into(X[starts[p]:stops[p]], out[p])


@jit()
def moments(X):
    """Each column's mean and standard deviation (population), in one pass over X, in float64
    (sums of the differences from the first row, so a large offset does not cancel)."""
    m, n = X.shape
    first = np.empty(n)
    for f in range(n):
        first[f] = X[0, f]
    sums = np.zeros(n)
    squares = np.zeros(n)
    for i in range(m):
        for f in range(n):
            d = np.float64(X[i, f]) - first[f]
            sums[f] += d
            squares[f] += d * d
    mean = sums / m
    return first + mean, np.sqrt(np.maximum(squares / m - mean * mean, 0.0))
