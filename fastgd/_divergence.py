"""The curvature of a fit's loss, the learning rate it allows, and the ``DivergenceError``.

``L``, the largest eigenvalue of the Hessian bound ``c [X 1]^T [X 1] / m + l2`` (``c`` 1 for
squared and Huber loss, 1/4 for logistic), bounds the loss's curvature: a step ``lr < 2/L``
never increases it, ``lr = 1/L`` is ``lr="auto"``. ``[X 1]^T [X 1]`` is formed exactly (float64,
a block of rows at a time, no copy of X) where it is small, so L is exact to rounding, whatever
X's spectrum; beyond ``GRAM_MAX_FEATURES`` features, power iteration from random starts.
"""
import numpy as np

from ._kernels.gram import gram
from .errors import DivergenceError

#: A loss above this many times the starting loss has blown up.
BLOWUP = 2.0
#: Most features for which L comes from the (n+1) x (n+1) matrix itself.
GRAM_MAX_FEATURES = 2048
#: Most features for which the matrix is formed by the compiled row loop (``_kernels.gram``),
#: which ``fit_linear_many`` runs for every problem at once; BLAS beyond.
COMPILED_GRAM_MAX_FEATURES = 64
#: Rows converted to float64 at a time while forming the matrix.
_CHUNK_ROWS = 1 << 14
#: The power iteration's rounds at most, and the relative change at which it stops.
_POWER_ROUNDS, _POWER_TOL = 300, 1e-7


def _gram(X, weights=None):
    """``[X 1]^T S [X 1] / m`` in float64, ``S`` the rows' weights (all 1 by default)."""
    m, n = X.shape
    A = np.zeros((n + 1, n + 1))
    for start in range(0, m, _CHUNK_ROWS):
        part = np.asarray(X[start:start + _CHUNK_ROWS], dtype=np.float64)
        weighted = part if weights is None else part * weights[start:start + _CHUNK_ROWS, None]
        A[:n, :n] += part.T @ weighted
        A[:n, n] += weighted.sum(axis=0)
    A[n, :n] = A[:n, n]
    A[n, n] = m if weights is None else float(np.sum(weights, dtype=np.float64))
    return A / m


def gram_matrix(X, weights=None):
    """``[X 1]^T S [X 1] / m`` of X (at most ``GRAM_MAX_FEATURES`` features), float64, ``S``
    the rows' weights (which sum to m) where given."""
    with np.errstate(over="ignore", invalid="ignore"):
        if weights is None and X.shape[1] <= COMPILED_GRAM_MAX_FEATURES:
            return gram(X)
        return _gram(X, weights)


def hessian_product(X, weights=None):
    """``v -> [X 1]^T S [X 1] v / m`` for X, an array of anything that multiplies like
    numpy's (``S`` the rows' weights, all 1 by default)."""
    m, n = X.shape

    def product(v):
        u = X @ v[:n] + v[n]
        if weights is not None:
            u = u * weights
        return np.append(np.asarray(X.T @ u), np.asarray(u.sum())) / m
    return product


def power_eigenvalue(product, size, seed=0):
    """The largest eigenvalue of the symmetric positive semi-definite map ``product`` on
    vectors of ``size``, by power iteration from a random start."""
    v = np.random.default_rng(seed).standard_normal(size)
    v /= np.linalg.norm(v)
    eigenvalue = 0.0
    for _ in range(_POWER_ROUNDS):
        hv = product(v)
        previous, eigenvalue = eigenvalue, float(v @ hv)
        norm = np.linalg.norm(hv)
        if norm == 0 or not np.isfinite(norm):
            break
        v = hv / norm
        if abs(eigenvalue - previous) <= _POWER_TOL * eigenvalue:
            break
    return eigenvalue


def largest_hessian_eigenvalue(X):
    """``L0``, the largest eigenvalue of ``[X 1]^T [X 1] / m`` (inf if X overflows it).

    Examples
    --------
    >>> import numpy as np
    >>> c = np.tile([2.0, -2.0], 50); X = np.c_[c, -c]
    >>> round(largest_hessian_eigenvalue(X), 6)  # 8: the all-ones start of a power iteration sees 1
    8.0
    """
    return curvature(X, "squared", 0.0)


def factor(loss_name):
    """The loss's curvature bound as a multiple of ``[X 1]^T [X 1] / m``."""
    return 0.25 if loss_name == "logistic" else 1.0


def curvature(X, loss_name, l2, center=None, spread=None, weights=None):
    """``L`` of the loss ``loss_name`` with an L2 penalty ``l2`` at this X (its rows weighted
    by ``weights``, which sum to m, where given), or at X's standardised columns
    ``(X - center) / spread`` where those are given."""
    if center is None and X.shape[1] > GRAM_MAX_FEATURES:
        product = hessian_product(X, weights)
        with np.errstate(over="ignore", invalid="ignore"):
            top = max(power_eigenvalue(product, X.shape[1] + 1, seed) for seed in (0, 1))
        return factor(loss_name) * top + l2
    return gram_curvature(gram_matrix(X, weights), loss_name, l2, center, spread)


def gram_curvature(A, loss_name, l2, center=None, spread=None):
    """``L`` as :func:`curvature` says, from ``A = [X 1]^T S [X 1] / m`` (inf where A is not
    finite: X too large in magnitude). Standardised, the matrix is that of ``[Z 1]`` with
    ``Z = (X - center) / spread``: ``M A M^T`` for the affine map ``M`` from ``[x 1]`` to
    ``[z 1]``."""
    with np.errstate(over="ignore", invalid="ignore"):
        if center is not None:
            n = A.shape[0] - 1
            M = np.zeros((n + 1, n + 1))
            M[np.arange(n), np.arange(n)] = 1.0 / spread
            M[:n, n] = -center / spread
            M[n, n] = 1.0
            A = M @ A @ M.T
        if not np.all(np.isfinite(A)):
            return np.inf
        top = float(np.linalg.eigvalsh(A)[-1])
    return factor(loss_name) * top + l2


#: Columns whose sizes differ by this factor make every learning rate slow: advise standardize.
SCALE_RATIO = 100.0


def badly_scaled(X):
    """Whether the sizes (root mean squares, of at most 10^5 rows) of X's columns and of the
    intercept's column of ones differ by ``SCALE_RATIO`` or more: large spreads or offsets."""
    with np.errstate(over="ignore", invalid="ignore"):
        sizes = np.sqrt(np.mean(np.square(X[:100_000], dtype=np.float64), axis=0))
    sizes = np.append(sizes[sizes > 0], 1.0)
    return bool(np.isfinite(sizes).all() and sizes.max() >= SCALE_RATIO * sizes.min())


SCALE_ADVICE = ("; X's columns (and the intercept's column of ones) differ in size by orders of "
                "magnitude: standardize=True helps")


def linear_divergence(X, lr, iteration, loss, w, b, *, loss_name="squared", l2=0.0, L=None):
    """The ``DivergenceError`` for a fit that blew up after ``iteration`` updates (``L``, the
    loss's curvature at X, computed from X when not given; X's first rows serve the scale test)."""
    L = curvature(X, loss_name, l2) if L is None else L
    stable = 1.0 / L if 0 < L < np.inf else None
    what = "stopped being finite" if not np.isfinite(loss) else f"grew to {loss:.6g}"
    if iteration == 0:
        advice = ("the loss at the start is not finite: X, y or the warm start are too large "
                  "in magnitude for it to be computed; rescale them")
        return DivergenceError(f"gradient descent cannot start: {advice}", iteration=0, lr=lr,
                               stable_lr=stable, w=w, b=b, loss=loss)
    if stable is None:
        advice = "X is too large in magnitude for its curvature to be computed; rescale X"
    else:
        advice = (f"a stable learning rate for this X is {stable:.6g} (1/L, L = {L:.6g} the "
                  "largest curvature of the loss; lr=\"auto\" uses it)")
    message = (f"gradient descent diverged at iteration {iteration}: the loss {what} "
               f"with lr={lr:g}; {advice}" + (SCALE_ADVICE if badly_scaled(X) else ""))
    return DivergenceError(message, iteration=iteration, lr=lr, stable_lr=stable, w=w, b=b,
                           loss=loss)
