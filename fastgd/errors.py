"""Exceptions and warnings raised by fastgd."""


class DivergenceError(ArithmeticError):
    """Gradient descent blew up: the loss grew or stopped being finite.

    Attributes
    ----------
    iteration : int
        Number of updates made when the divergence was detected.
    lr : float
        The learning rate that diverged.
    stable_lr : float or None
        A learning rate that is stable for this problem (``1/L`` for ``fit_linear``, with ``L``
        the largest eigenvalue of the Hessian), or ``None`` where none is known.
    w, b
        The last state that passed the check (finite, loss not blown up). For
        ``minimize``/``maximize``, ``w`` holds that last good ``x`` and ``b`` is ``None``.
    loss : float
        The loss (``fit_linear``) or gradient norm (``minimize``) that failed the check.

    Examples
    --------
    >>> import numpy as np, fastgd
    >>> X = np.array([[1.0], [2.0], [3.0]]); y = np.array([2.0, 4.0, 6.0])
    >>> try:
    ...     fastgd.fit_linear(X, y, lr=1.0)
    ... except fastgd.DivergenceError as err:
    ...     print(err.iteration, round(err.stable_lr, 4))
    1 0.1803
    """

    def __init__(self, message, *, iteration, lr, stable_lr, w, b, loss):
        super().__init__(message)
        self.iteration = iteration
        self.lr = lr
        self.stable_lr = stable_lr
        self.w = w
        self.b = b
        self.loss = loss


class ConvergenceWarning(UserWarning):
    """A fit with ``tol > 0`` made ``max_iter`` updates without reaching ``grad_norm <= tol``.

    Examples
    --------
    >>> import warnings, numpy as np, fastgd
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = fastgd.fit_linear([[1.0], [2.0], [3.0]], [2.0, 4.0, 6.0], tol=1e-9, max_iter=5)
    >>> caught[0].category.__name__
    'ConvergenceWarning'
    """
