"""Pictures of a descent: the loss curve of a fit, and a ``minimize`` walk over its function.

Needs matplotlib (``pip install "fastgd[plot]"``). Both return the matplotlib Axes they drew on.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import fastgd, fastgd.plot
>>> res = fastgd.minimize("x**2 + y**2/4", [2.0, 2.0], lr=0.5, path=True)
>>> ax = fastgd.plot.path("x**2 + y**2/4", res)
>>> ax.get_xlabel(), ax.get_ylabel()
('x', 'y')
"""
import numpy as np

from . import symbolic

__all__ = ["loss_curve", "path"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'fastgd[plot]'") from None
    return plt


def _axes(ax):
    return _pyplot().subplots(figsize=(6, 4))[1] if ax is None else ax


def loss_curve(result, ax=None, label=None, tol=None):
    """The loss J before each update of a fit made with ``history=True``, on a log scale; and,
    on a second axis, the gradient norm with the ``tol`` line it is stopped at, if given.

    Parameters
    ----------
    result : LinearResult
        A ``fit_linear`` result whose ``history`` was recorded.
    ax : matplotlib Axes, optional
        Where to draw (a new figure by default).
    label : str, optional
        The curve's label in the legend.
    tol : float, optional
        The fit's ``tol``, drawn as a dashed line on the gradient norm's axis.

    Returns
    -------
    matplotlib Axes
        The loss's axes (the gradient norm's are ``ax.grad_axes``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import fastgd, fastgd.plot
    >>> res = fastgd.fit_linear([[1.0], [2.0], [3.0]], [2.0, 4.0, 6.0], history=True,
    ...                         lr="auto", tol=1e-6, max_iter=10_000)
    >>> ax = fastgd.plot.loss_curve(res, tol=1e-6)
    >>> ax.get_yscale(), ax.grad_axes.get_yscale(), ax.grad_axes.lines[-1].get_ydata()[0]
    ('log', 'log', 1e-06)
    """
    if getattr(result, "history", None) is None:
        raise ValueError("loss_curve needs a result fitted with history=True")
    ax = _axes(ax)
    history = np.asarray(result.history)
    updates = np.arange(len(history))
    ax.plot(updates, history, label=label)
    if np.all(history > 0):
        ax.set_yscale("log")
    ax.set_xlabel("update")
    ax.set_ylabel("loss J")
    ax.set_title(f"{result.n_iter} updates, final J = {result.loss:.4g}, "
                 f"|grad| = {result.grad_norm:.3g}")
    norms = getattr(result, "grad_history", None)
    if norms is not None:
        grad_axes = getattr(ax, "grad_axes", None) or ax.twinx()
        grad_axes.plot(updates, norms, linestyle=":", label=None if label is None
                       else f"{label}: |grad|")
        if tol:
            grad_axes.axhline(tol, color="gray", linestyle="--", linewidth=1)
        if np.all(np.asarray(norms) > 0):
            grad_axes.set_yscale("log")
        grad_axes.set_ylabel("gradient norm (dotted), tol (dashed)")
        ax.grad_axes = grad_axes
    if label is not None:
        ax.legend()
    return ax


def _objective(fun, dimensions):
    """``fun`` as a Python function of a float (1-D) or of an array (2-D)."""
    if symbolic.is_expression(fun):
        derived = symbolic.derive(fun)
        if len(derived.variables) != dimensions:
            raise ValueError(f"fun has variables {derived.variables}, the path {dimensions}")
        return derived.objective, derived.variables
    if not callable(fun):
        raise TypeError(f"fun must be callable or a formula, got {fun!r}")
    return fun, ("x",) if dimensions == 1 else ("x", "y")


def path(fun, result, ax=None, margin=0.25, resolution=200):
    """A ``minimize``/``maximize`` walk (made with ``path=True``) over its function: the curve of
    a function of one variable with the iterates on it, or the contours of a function of two
    with the iterates joined in order (seed 001's pictures).

    Parameters
    ----------
    fun : callable or str
        The objective: a function of a float (1-D) or of a length-2 array (2-D), or the formula
        that ``minimize`` was given.
    result : MinimizeResult
        With ``path`` recorded.
    ax : matplotlib Axes, optional
    margin : float, default 0.25
        Room around the walk, as a share of its extent.
    resolution : int, default 200
        Points a side of the grid the curve or contours are drawn from.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import fastgd, fastgd.plot
    >>> walk = fastgd.minimize(lambda v: v * [2.0, 8.0], [2.0, 1.0], lr=0.1, path=True)
    >>> ax = fastgd.plot.path(lambda v: v[0] ** 2 + 4 * v[1] ** 2, walk)
    >>> len(ax.lines[0].get_xdata()) == walk.nit + 1
    True
    """
    walk = getattr(result, "path", None)
    if walk is None:
        raise ValueError("path needs a result of minimize or maximize with path=True")
    walk = np.asarray(walk, dtype=float)
    dimensions = 1 if walk.ndim == 1 else walk.shape[1]
    if dimensions not in (1, 2):
        raise ValueError(f"path draws walks in 1 or 2 dimensions, got {dimensions}")
    objective, names = _objective(fun, dimensions)
    ax = _axes(ax)
    points = walk.reshape(len(walk), dimensions)
    low, high = points.min(axis=0), points.max(axis=0)
    room = np.maximum((high - low) * margin, 0.5)
    grids = [np.linspace(a - r, b + r, resolution) for a, b, r in zip(low, high, room)]
    if dimensions == 1:
        ax.plot(grids[0], [objective(float(x)) for x in grids[0]], color="0.4")
        ax.plot(walk, [objective(float(x)) for x in walk], "o-", color="C3", markersize=4)
        ax.set_xlabel(names[0])
        ax.set_ylabel("f")
    else:
        gx, gy = np.meshgrid(*grids)
        values = np.array([[objective(np.array([x, y])) for x, y in zip(row_x, row_y)]
                           for row_x, row_y in zip(gx, gy)])
        ax.contour(gx, gy, values, levels=20, cmap="viridis")
        ax.plot(points[:, 0], points[:, 1], "o-", color="C3", markersize=3)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    ax.set_title(f"{result.nit} updates from {np.round(walk[0], 4)}")
    return ax
