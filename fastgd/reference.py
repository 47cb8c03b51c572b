"""The reference: seed 002's numpy loop, the oracle of the tests and the baseline of benchmarks.

Plain on purpose. It is generalised only as far as the contract needs (2-D ``y``, ``tol``, warm
start, history, divergence, the losses and penalties) and must never be optimised: its value is
that anyone can check it against the textbook line by line. It computes in float64 whatever X's
dtype, so it does not overflow where the fast path does not, and returns X's dtype.
"""
import math
import warnings
from dataclasses import dataclass

import numpy as np

from ._divergence import BLOWUP, curvature, linear_divergence
from ._validate import check_solver, linear_problem
from .errors import ConvergenceWarning
from .result import LinearResult

__all__ = ["compute_gradient", "fit_linear", "minimize"]


def compute_gradient(X, y, w, b, loss="squared", delta=1.0, weights=None):
    """Seed 002's gradient of J and J itself, for the loss named (squared by default); rows
    weighted by ``weights`` (summing to m) where given.

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
    if loss == "squared":
        error = predictions - y
        J = float(np.sum(error**2) / (2 * m))
    elif loss == "huber":
        r = predictions - y
        error = np.clip(r, -delta, delta)
        J = float(np.sum(np.where(np.abs(r) <= delta, r**2 / 2, delta * (np.abs(r) - delta / 2))) / m)
    else:  # logistic: log(1 + e^z) - y z, written so that it never overflows
        z = predictions
        error = np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))),
                         np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z)))) - y
        J = float(np.sum(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - y * z) / m)
    if weights is not None:  # the same terms, each row's times its weight
        error = error * weights[:, None]
        J = float(np.sum(weights * _row_losses(predictions, y, loss, delta).sum(axis=1)) / m)
    dw = (1 / m) * (X.T @ error)
    db = (1 / m) * np.sum(error, axis=0)
    return dw, db, J


def _row_losses(predictions, y, loss, delta):
    """Each row's loss value (J's terms before the mean), halved for squared loss."""
    r = predictions - y
    if loss == "squared":
        return r**2 / 2
    if loss == "huber":
        return np.where(np.abs(r) <= delta, r**2 / 2, delta * (np.abs(r) - delta / 2))
    z = predictions
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - y * z


def fit_linear(X, y, *, lr=0.01, max_iter=1000, tol=0.0, w0=None, b0=None, history=False,
               loss="squared", delta=1.0, l2=0.0, l1=0.0, standardize=False, callback=None,
               progress=False, n_threads=None, solver=None, sample_weight=None,
               fit_intercept=True):
    """Fit ``y ~ X w + b`` by batch gradient descent, in plain numpy (seed 002).

    Same signature, semantics and result as :func:`fastgd.fit_linear`; ``n_threads``,
    ``solver`` and ``progress`` are accepted and ignored (they do not change the answer).

    Examples
    --------
    >>> import numpy as np
    >>> res = fit_linear(np.array([[1], [2], [3]]), np.array([2, 4, 6]))
    >>> round(float(res.w[0]), 8), round(res.b, 8)
    (1.90259238, 0.22143042)
    """
    problem = linear_problem(X, y, lr=lr, max_iter=max_iter, tol=tol, w0=w0, b0=b0,
                             history=history, loss=loss, delta=delta, l2=l2, l1=l1,
                             callback=callback, progress=progress, sample_weight=sample_weight,
                             fit_intercept=fit_intercept)
    weights = None if problem.weights is None else problem.weights.astype(np.float64)
    X, w, b = problem.X, problem.W0, problem.b0
    # float64 throughout, whatever X's dtype: the oracle must not overflow where fastgd does not.
    Xd, y = X.astype(np.float64), problem.Y.astype(np.float64)
    w, b = w.astype(np.float64), b.astype(np.float64)
    standardize = check_solver(problem, "rows", standardize)
    if standardize:
        # The descent on standardised columns, from the same start: v = spread w, c = b + mean w.
        problem.check_data()
        center, spread = Xd.mean(axis=0), Xd.std(axis=0)
        spread[spread == 0] = 1.0
        Xd = (Xd - center) / spread
        w, b = w * spread[:, None], b + center @ w

    def original(w, b):
        """``w, b`` for X's own columns, in X's dtype."""
        if standardize:
            w = w / spread[:, None]
            b = b - center @ w
        return problem.output(w.T.astype(X.dtype), b.astype(X.dtype))

    if problem.lr is None:
        problem.lr = 1.0 / curvature(Xd, problem.loss_name, problem.l2, weights=weights)
    alpha = problem.lr
    losses, norms = [], []
    last_w, last_b = w, b
    for iteration in range(problem.max_iter + 1):
        with np.errstate(all="ignore"):
            dw, db, J = compute_gradient(Xd, y, w, b, problem.loss_name, delta, weights)
            if not problem.intercept:
                db = np.zeros_like(db)  # b stays where it starts
            dw = dw + problem.l2 * w
            J += problem.l2 / 2 * float(np.sum(w**2)) + problem.l1 * float(np.sum(np.abs(w)))
            if problem.l1 > 0:  # the gradient mapping's norm
                mapped = (w - _soft(w - alpha * dw, alpha * problem.l1)) / alpha
                grad_norm = math.sqrt(float(np.sum(mapped**2) + np.sum(db**2)))
            else:
                grad_norm = math.sqrt(float(np.sum(dw**2) + np.sum(db**2)))
        if iteration == 0:
            ceiling = BLOWUP * J
        if not (math.isfinite(J) and math.isfinite(grad_norm)) or J > ceiling:
            if iteration == 0:
                problem.check_data()
            raise linear_divergence(X, alpha, iteration, J, *original(last_w, last_b),
                                    loss_name=problem.loss_name, l2=problem.l2,
                                    L=curvature(X, problem.loss_name, problem.l2,
                                                weights=weights))
        if problem.callback is not None and iteration % 1000 == 0 and iteration > 0:
            if problem.callback(_Info(iteration, J, grad_norm)) is True:
                break
        if iteration == problem.max_iter or (problem.tol > 0 and grad_norm <= problem.tol):
            break
        losses.append(J)
        norms.append(grad_norm)
        last_w, last_b = w, b
        # Simultaneous update: both gradients come from the same w, b.
        w = w - alpha * dw
        b = b - alpha * db
        if problem.l1 > 0:
            w = _soft(w, alpha * problem.l1)
    if problem.callback is not None:
        problem.callback(_Info(iteration, J, grad_norm))
    converged = grad_norm <= problem.tol
    if problem.tol > 0 and not converged:
        warnings.warn(f"reference fit_linear stopped at max_iter={problem.max_iter} with "
                      f"grad_norm {grad_norm:.3g} > tol={problem.tol:g}", ConvergenceWarning,
                      stacklevel=2)
    w, b = original(w, b)
    return LinearResult(
        w=w,
        b=b,
        n_iter=iteration,
        converged=converged,
        loss=J,
        grad_norm=grad_norm,
        history=np.array(losses, dtype=np.float64) if problem.history else None,
        lr=alpha,
        grad_history=np.array(norms, dtype=np.float64) if problem.history else None,
    )


def _soft(v, t):
    """The proximal step of ``t |w|_1``: ``sign(v) max(|v| - t, 0)``."""
    return np.sign(v) * np.maximum(np.abs(v) - t, 0)


@dataclass(frozen=True)
class _Info:
    iteration: int
    loss: float
    grad_norm: float


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
