"""The quadratic shortcut of ``fit_linear`` (``solver="gram"``): two passes form the centred
second moments of X and y, then each iteration costs O(n^2 k) whatever m is.

With column means ``mu`` of X and ``ybar`` of Y, and centred moments ``C = Xc^T Xc / m``,
``D = Xc^T Yc / m``, ``S = sum Yc^2 / m``, a row's residual is ``(x - mu) w - (y - ybar) + b'``
with ``b' = b + mu w - ybar``, so (per output)

    dw = C w - d + mu b',   db = b',   J = w^T C w / 2 - w^T d + S / 2 + b'^2 / 2.

Centring keeps J from the cancellation of uncentred sums (an offset of 1e4 in y made J come out
negative at the optimum), and the blow-up test allows for the rounding left in J.
"""
import math

import numpy as np

from .._config import jit
from .drivers import CONTINUE, checkpoint

#: Rounding allowed in J, in units of the double epsilon times the size of its terms.
ROUNDING = 16 * np.finfo(np.float64).eps


@jit()
def gram_sums(X, Y):
    """``(mu, ybar, C, D, S)`` of X (m, n) and Y (m, k), in float64."""
    m, n = X.shape
    k = Y.shape[1]
    mu = np.zeros(n)
    ybar = np.zeros(k)
    for i in range(m):
        for f in range(n):
            mu[f] += X[i, f]
        for j in range(k):
            ybar[j] += Y[i, j]
    mu /= m
    ybar /= m
    C = np.zeros((n, n))
    D = np.zeros((n, k))
    S = np.zeros(k)
    row = np.empty(n)
    for i in range(m):
        for f in range(n):
            row[f] = X[i, f] - mu[f]
        for p in range(n):
            for q in range(p, n):
                C[p, q] += row[p] * row[q]
            for j in range(k):
                D[p, j] += row[p] * (Y[i, j] - ybar[j])
        for j in range(k):
            S[j] += (Y[i, j] - ybar[j]) ** 2
    for p in range(n):
        for q in range(p, n):
            C[p, q] /= m
            C[q, p] = C[p, q]
    return mu, ybar, C, D / m, S / m


@jit()
def descend_gram(mu, ybar, C, D, S, W, b, lr, max_iter, tol, blowup, history, W_last, b_last):
    """Gradient descent on ``W`` (n, k) and ``b`` (k,), float64, in place, from the centred
    moments; as ``drivers.descend``. Returns ``(status, updates, J, grad_norm)``."""
    n, k = W.shape
    dW = np.empty((n, k))
    db = np.empty(k)
    ceiling = np.inf
    updates = 0
    while True:
        loss = 0.0
        size = 0.0  # the size of J's terms, for the rounding it may carry
        squares = 0.0
        for j in range(k):
            shift = b[j] - ybar[j]
            for f in range(n):
                shift += mu[f] * W[f, j]
            db[j] = shift
            wCw = 0.0
            wd = 0.0
            for p in range(n):
                at = 0.0
                for q in range(n):
                    at += C[p, q] * W[q, j]
                dW[p, j] = at - D[p, j] + mu[p] * shift
                wCw += W[p, j] * at
                wd += W[p, j] * D[p, j]
                squares += dW[p, j] * dW[p, j]
            squares += shift * shift
            loss += 0.5 * wCw - wd + 0.5 * S[j] + 0.5 * shift * shift
            size += 0.5 * abs(wCw) + abs(wd) + 0.5 * S[j] + 0.5 * shift * shift
        loss = max(loss, 0.0)
        noise = ROUNDING * (n + 2) * size
        grad_norm = math.sqrt(squares)
        # The ceiling from the start's J plus its rounding; later J less theirs must pass it.
        tested = loss + noise if updates == 0 else max(loss - noise, 0.0)
        status, ceiling = checkpoint(tested, grad_norm, updates, ceiling, blowup, max_iter, tol)
        if status != CONTINUE:
            return status, updates, loss, grad_norm
        if history.size:
            history[updates, 0] = loss
            history[updates, 1] = grad_norm
        for j in range(k):
            b_last[j] = b[j]
            b[j] -= lr * db[j]
            for f in range(n):
                W_last[f, j] = W[f, j]
                W[f, j] -= lr * dW[f, j]
        updates += 1
