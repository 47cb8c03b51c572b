"""When a fit has diverged, and the ``DivergenceError`` that says so.

For the convex quadratic J of ``fit_linear``, a step ``lr <= 2/L`` never increases J (``L`` the
largest eigenvalue of the Hessian ``[X 1]^T [X 1] / m``). So a loss that is not finite, or that
exceeds ``BLOWUP`` times the starting loss, can only come from a step that is too large.
"""
import numpy as np

from .errors import DivergenceError

BLOWUP = 2.0


def largest_hessian_eigenvalue(X, iterations=50):
    """``L``, the largest eigenvalue of ``[X 1]^T [X 1] / m``, by power iteration.

    Plain numpy on the (m, n) data: two matrix-vector products an iteration, no (n, n) matrix.
    Started from the all-ones vector, whose component on the top eigenvector is non-zero for
    data with a non-zero mean or spread; the estimate approaches ``L`` from below.
    """
    X = np.asarray(X, dtype=np.float64)
    m, n = X.shape
    v = np.ones(n + 1) / np.sqrt(n + 1)
    eigenvalue = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(iterations):
            u = X @ v[:n] + v[n]
            hv = np.append(X.T @ u, u.sum()) / m
            eigenvalue = float(v @ hv)
            norm = np.linalg.norm(hv)
            if norm == 0 or not np.isfinite(norm):
                break
            v = hv / norm
    return eigenvalue


def linear_divergence(X, lr, iteration, loss, w, b):
    """The ``DivergenceError`` for a ``fit_linear`` that blew up after ``iteration`` updates."""
    L = largest_hessian_eigenvalue(X)
    stable = 1.0 / L if L > 0 and np.isfinite(L) else None
    what = "stopped being finite" if not np.isfinite(loss) else f"grew to {loss:.6g}"
    advice = (
        f"a stable learning rate for this X is {stable:.6g} (1/L, L = {L:.6g} the largest "
        "eigenvalue of [X 1]^T [X 1]/m; any lr < 2/L converges)"
        if stable is not None
        else "X is too large in magnitude for its loss to be computed; rescale X"
    )
    message = (
        f"gradient descent diverged at iteration {iteration}: the loss {what} "
        f"with lr={lr:g}; {advice}"
    )
    return DivergenceError(message, iteration=iteration, lr=lr, stable_lr=stable, w=w, b=b, loss=loss)
