"""The quadratic shortcut of ``fit_linear``: one pass forms the Gram matrix, then O(n^2) steps.

J is quadratic, so its gradient is ``(X^T X W + X^T 1 b^T - X^T Y) / m`` and
``db = (1^T X W + m b - 1^T Y) / m``: after one pass over X for ``X^T X``, ``X^T 1``,
``X^T Y``, ``Y^T Y`` and ``1^T Y``, each iteration costs O(n^2 k) whatever m is, and J itself
is ``(tr(W^T X^T X W) + 2 b^T(X^T 1)^T W ... ) / 2m``, computed from the same sums.
"""
import math

import numpy as np

from .._config import jit
from .drivers import CONTINUE, checkpoint


@jit()
def gram_sums(X, Y):
    """``A = [X 1]^T [X 1]`` ((n+1, n+1)), ``c = [X 1]^T Y`` ((n+1, k)), ``yy = sum Y^2`` per column."""
    m, n = X.shape
    k = Y.shape[1]
    A = np.zeros((n + 1, n + 1))
    c = np.zeros((n + 1, k))
    yy = np.zeros(k)
    row = np.empty(n + 1)
    row[n] = 1.0
    for i in range(m):
        for f in range(n):
            row[f] = X[i, f]
        for p in range(n + 1):
            rp = row[p]
            for q in range(p, n + 1):
                A[p, q] += rp * row[q]
            for j in range(k):
                c[p, j] += rp * Y[i, j]
        for j in range(k):
            yy[j] += Y[i, j] * Y[i, j]
    for p in range(n + 1):
        for q in range(p):
            A[p, q] = A[q, p]
    return A, c, yy


@jit()
def descend_gram(A, c, yy, m, Theta, lr, max_iter, tol, blowup, history, Theta_last):
    """Gradient descent on ``Theta`` ((n+1, k): W over b) from the Gram sums; as ``descend``.

    ``grad = (A Theta - c) / m`` and ``J = (sum Theta * (A Theta) - 2 sum Theta * c + yy) / 2m``.
    """
    p, k = Theta.shape
    grad = np.empty((p, k))
    ceiling = np.inf
    updates = 0
    while True:
        loss2 = 0.0
        squares = 0.0
        for j in range(k):
            loss2 += yy[j]
            for r in range(p):
                at = 0.0
                for q in range(p):
                    at += A[r, q] * Theta[q, j]
                g = at - c[r, j]
                grad[r, j] = g / m
                squares += grad[r, j] * grad[r, j]
                loss2 += Theta[r, j] * (at - 2.0 * c[r, j])
        loss = 0.5 * loss2 / m
        grad_norm = math.sqrt(squares)
        status, ceiling = checkpoint(loss, grad_norm, updates, ceiling, blowup, max_iter, tol)
        if status != CONTINUE:
            return status, updates, loss, grad_norm
        if history.size:
            history[updates] = loss
        for r in range(p):
            for j in range(k):
                Theta_last[r, j] = Theta[r, j]
                Theta[r, j] -= lr * grad[r, j]
        updates += 1
