"""The reference: seed 002's numpy loop, the oracle of the tests and the baseline of benchmarks.

Plain on purpose. It is generalised only as far as the contract needs (2-D ``y``, ``tol``, warm
start, history, divergence) and must never be optimised: its value is that anyone can check it
against the textbook line by line.
"""
import math

import numpy as np

from ._divergence import BLOWUP, linear_divergence
from ._validate import linear_problem
from .result import LinearResult

__all__ = ["compute_gradient", "fit_linear", "minimize"]


def compute_gradient(X, y, w, b):
    """Seed 002's gradient of ``J = 1/(2m) sum (X w + b - y)^2``, and J itself.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0], [2.0], [3.0]]); y = np.array([[2.0], [4.0], [6.0]])
    >>> dw, db, J = compute_gradient(X, y, np.zeros((1, 1)), np.zeros(1))
    >>> dw.ravel(), db, round(J, 10)
    (array([-9.33333333]), array([-4.]), 9.3333333333)
    """
    m = X.shape[0]
    predictions = X @ w + b
    error = predictions - y
    dw = (1 / m) * (X.T @ error)
    db = (1 / m) * np.sum(error, axis=0)
    J = float(np.sum(error**2) / (2 * m))
    return dw, db, J


def fit_linear(X, y, *, lr=0.01, max_iter=1000, tol=0.0, w0=None, b0=None, history=False):
    """Fit ``y ~ X w + b`` by batch gradient descent, in plain numpy (seed 002).

    Same signature, semantics and result as :func:`fastgd.fit_linear`.

    Examples
    --------
    >>> import numpy as np
    >>> res = fit_linear(np.array([[1], [2], [3]]), np.array([2, 4, 6]))
    >>> round(float(res.w[0]), 8), round(res.b, 8)
    (1.90259238, 0.22143042)
    """
    problem = linear_problem(X, y, lr=lr, max_iter=max_iter, tol=tol, w0=w0, b0=b0, history=history)
    X, y, w, b = problem.X, problem.Y, problem.W0, problem.b0
    alpha = problem.lr
    losses = []
    last_w, last_b = w, b
    for iteration in range(problem.max_iter + 1):
        dw, db, J = compute_gradient(X, y, w, b)
        grad_norm = math.sqrt(float(np.sum(dw**2) + np.sum(db**2)))
        if iteration == 0:
            ceiling = BLOWUP * J
        if not (math.isfinite(J) and math.isfinite(grad_norm)) or J > ceiling:
            raise linear_divergence(X, alpha, iteration, J, *problem.output(last_w, last_b))
        if iteration == problem.max_iter or (problem.tol > 0 and grad_norm <= problem.tol):
            break
        losses.append(J)
        last_w, last_b = w, b
        # Simultaneous update: both gradients come from the same w, b.
        w = w - alpha * dw
        b = b - alpha * db
    w, b = problem.output(w, b)
    return LinearResult(
        w=w,
        b=b,
        n_iter=iteration,
        converged=grad_norm <= problem.tol,
        loss=J,
        grad_norm=grad_norm,
        history=np.array(losses, dtype=np.float64) if problem.history else None,
    )


def minimize(grad, init, *, lr=0.1, eps=1e-6, max_iter=10_000):
    """Seed 001's loop, in plain Python: ``while norm(grad) > eps: var = var - lr * grad``.

    The baseline of ``fastgd.minimize``'s benchmarks; returns ``(var, updates)``. Bounded by
    ``max_iter`` so that nothing hangs, and unchecked: it is the textbook, not the product.

    Examples
    --------
    >>> minimize(lambda t: 2 * t, 3.0, lr=0.3, eps=0.2)
    (0.0768..., 4)
    """
    norm = abs if np.ndim(init) == 0 else np.linalg.norm
    var = init
    grad_value = grad(var)
    updates = 0
    while norm(grad_value) > eps and updates < max_iter:
        var = var - lr * grad_value
        grad_value = grad(var)
        updates += 1
    return var, updates
