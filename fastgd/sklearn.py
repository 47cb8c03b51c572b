"""scikit-learn estimators over ``fastgd.fit_linear``: ``GDRegressor`` and ``GDClassifier``.

They take scikit-learn's names where those exist (``penalty``, ``alpha``, ``l1_ratio``,
``fit_intercept``, ``max_iter``, ``tol``, ``warm_start``), and fastgd's ``lr`` (``"auto"`` by
default) and ``standardize`` (True by default, as glmnet: the descent runs on standardised
columns, so defaults converge whatever the columns' scales). Needs ``fastgd[sklearn]``.

The objective is scikit-learn's ``SGDRegressor``/``SGDClassifier``'s: the (weighted) mean of
the rows' losses plus ``alpha * R(w)``, ``R`` ``|w|^2 / 2`` (``"l2"``), ``|w|_1`` (``"l1"``) or
``l1_ratio |w|_1 + (1 - l1_ratio) |w|^2 / 2`` (``"elasticnet"``); with ``standardize=True`` the
penalty is on the coefficients of the standardised columns (as glmnet's), and ``coef_`` are
those of X as given.
"""
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .linear import fit_linear

__all__ = ["GDClassifier", "GDRegressor"]

PENALTIES = (None, "l2", "l1", "elasticnet")


class _GD(BaseEstimator):
    """What both estimators share: the penalty's mapping, the fit, prediction's linear part."""

    _losses = {}  # scikit-learn's loss names -> fastgd's

    def _penalties(self):
        """``(l2, l1)`` of fastgd for ``penalty``, ``alpha`` and ``l1_ratio``."""
        if self.penalty not in PENALTIES:
            raise ValueError(f"penalty must be one of {PENALTIES}, got {self.penalty!r}")
        if not (isinstance(self.alpha, (int, float, np.number)) and self.alpha >= 0):
            raise ValueError(f"alpha must be a number >= 0, got {self.alpha!r}")
        if not (isinstance(self.l1_ratio, (int, float, np.number)) and 0 <= self.l1_ratio <= 1):
            raise ValueError(f"l1_ratio must be a number in [0, 1], got {self.l1_ratio!r}")
        alpha = float(self.alpha)
        return {None: (0.0, 0.0), "l2": (alpha, 0.0), "l1": (0.0, alpha),
                "elasticnet": (alpha * (1 - self.l1_ratio), alpha * self.l1_ratio)}[self.penalty]

    def _descend(self, X, Y, sample_weight, **loss):
        """Fit ``Y`` (m, k) on X by ``fit_linear``; sets ``coef_`` (k, n), ``intercept_`` (k,),
        ``n_iter_``, ``loss_curve_``, ``lr_``."""
        if self.loss not in self._losses:
            raise ValueError(f"loss must be one of {tuple(self._losses)}, got {self.loss!r}")
        l2, l1 = self._penalties()
        n = X.shape[1]
        k = Y.shape[1]
        w0 = b0 = None
        if self.warm_start and np.size(getattr(self, "coef_", None)) == k * n:
            w0 = np.reshape(self.coef_, (k, n)).T.astype(X.dtype)
            b0 = np.reshape(self.intercept_, k).astype(X.dtype)
        options = dict(lr=self.lr, max_iter=self.max_iter, w0=w0, b0=b0, l2=l2, l1=l1,
                       loss=self._losses[self.loss], standardize=self.standardize,
                       sample_weight=sample_weight, fit_intercept=self.fit_intercept, **loss)
        tol = 0.0
        if self.tol is not None and self.tol > 0:
            # Relative to the gradient at w = 0, b = 0 (whatever the warm start), so the same
            # stop whatever y's scale: one pass (which also settles lr="auto"), then the descent.
            start = fit_linear(X, Y, **{**options, "max_iter": 0, "w0": None, "b0": None})
            options["lr"] = start.lr
            tol = self.tol * start.grad_norm
            if tol == 0:
                options["max_iter"] = 0  # the start is the optimum
        res = fit_linear(X, Y, tol=tol, history=True, **options)
        self.coef_ = np.ascontiguousarray(res.w.T)
        self.intercept_ = np.asarray(res.b)
        self.n_iter_ = res.n_iter
        self.loss_curve_ = res.history.tolist()
        self.lr_ = res.lr
        return self

    def _linear(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return X @ self.coef_.T + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class GDRegressor(RegressorMixin, _GD):
    """Linear regression by batch gradient descent (``fastgd.fit_linear``).

    Parameters
    ----------
    loss : {"squared_error", "huber"}, default "squared_error"
        ``"squared_error"``: ``(y - z)^2 / 2``; ``"huber"``: squared within ``epsilon``, linear
        beyond.
    penalty : {None, "l2", "l1", "elasticnet"}, default None
        The penalty on ``coef_`` (never on ``intercept_``).
    alpha : float, default 0.0001
        The penalty's weight.
    l1_ratio : float, default 0.15
        The L1 share of ``"elasticnet"``.
    fit_intercept : bool, default True
        False keeps ``intercept_`` at 0 (``standardize`` must then be False).
    max_iter : int, default 100000
        Most updates.
    tol : float or None, default 1e-9
        Stop once the gradient norm has fallen to ``tol`` times its value at ``coef_ = 0``,
        ``intercept_ = 0`` (on
        scikit-learn's diabetes data, coefficients within 4e-7 of least squares'); None or 0
        makes ``max_iter`` updates.
    lr : float or "auto", default "auto"
        The learning rate; ``"auto"`` is ``1/L`` for this X (always converges).
    epsilon : float, default 0.1
        Huber's threshold.
    standardize : bool, default True
        Descend on standardised columns (X is never copied), returning ``coef_`` for X.
    warm_start : bool, default False
        Start from the previous fit's ``coef_`` and ``intercept_``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    n_iter_ : int
        Updates made.
    loss_curve_ : list of float
        The objective before each update (of the standardised problem where standardised).
    lr_ : float
        The learning rate used.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Where X had column names (a pandas DataFrame).

    Examples
    --------
    >>> import numpy as np
    >>> from fastgd.sklearn import GDRegressor
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0]]); y = 2 * X[:, 0] + 1
    >>> model = GDRegressor(tol=1e-10).fit(X, y)
    >>> model.coef_.round(6), round(float(model.intercept_), 6), model.score(X, y)
    (array([2.]), 1.0, 1.0)
    """

    _losses = {"squared_error": "squared", "huber": "huber"}

    def __init__(self, loss="squared_error", *, penalty=None, alpha=0.0001, l1_ratio=0.15,
                 fit_intercept=True, max_iter=100_000, tol=1e-9, lr="auto", epsilon=0.1,
                 standardize=True, warm_start=False):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.lr = lr
        self.epsilon = epsilon
        self.standardize = standardize
        self.warm_start = warm_start

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features) and y (n_samples,) or (n_samples, n_targets)."""
        # NaN and inf in X are found by the fit's own first pass (a read of X fewer).
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], multi_output=True,
                             y_numeric=True, ensure_all_finite=False)
        Y = y.reshape(len(y), -1)
        self._descend(X, Y, sample_weight, delta=self.epsilon)
        if y.ndim == 1:
            self.coef_, self.intercept_ = self.coef_[0], float(self.intercept_[0])
        return self

    def predict(self, X):
        """``X @ coef_ + intercept_``."""
        return self._linear(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class GDClassifier(ClassifierMixin, _GD):
    """Logistic regression by batch gradient descent (``fastgd.fit_linear``), binary or
    one-vs-rest: one descent fits every class's column at once (each pass over X serves all).

    Parameters
    ----------
    loss : {"log_loss"}, default "log_loss"
    penalty : {None, "l2", "l1", "elasticnet"}, default "l2"
        As in :class:`GDRegressor`. Without a penalty, classes that a hyperplane separates have
        no finite optimum, and the descent never converges.
    alpha : float, default 0.001
        The penalty's weight (scikit-learn's ``LogisticRegression(C=1)`` on a thousand rows).
    tol : float or None, default 1e-4
        As in :class:`GDRegressor`: predictions settle long before coefficients do.
    l1_ratio, fit_intercept, max_iter, lr, standardize, warm_start :
        As in :class:`GDRegressor`.

    Attributes
    ----------
    classes_ : ndarray
    coef_ : ndarray of shape (1, n_features) (two classes) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_, loss_curve_, lr_, n_features_in_, feature_names_in_ :
        As in :class:`GDRegressor` (``loss_curve_`` sums the classes' objectives).

    Examples
    --------
    >>> import numpy as np
    >>> from fastgd.sklearn import GDClassifier
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]]); y = np.array(["no", "no", "yes", "yes"])
    >>> model = GDClassifier().fit(X, y)
    >>> model.predict([[0.5], [2.5]]).tolist(), model.predict_proba([[1.5]]).round(3).tolist()
    (['no', 'yes'], [[0.5, 0.5]])
    """

    _losses = {"log_loss": "logistic"}

    def __init__(self, loss="log_loss", *, penalty="l2", alpha=0.001, l1_ratio=0.15,
                 fit_intercept=True, max_iter=100_000, tol=1e-4, lr="auto", standardize=True,
                 warm_start=False):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol
        self.lr = lr
        self.standardize = standardize
        self.warm_start = warm_start

    def fit(self, X, y, sample_weight=None):
        """Fit on X (n_samples, n_features) and class labels y (n_samples,)."""
        # NaN and inf in X are found by the fit's own first pass (a read of X fewer).
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], ensure_all_finite=False)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"GDClassifier needs samples of at least 2 classes, got one class: "
                             f"{self.classes_[0]!r}")
        if len(self.classes_) == 2:
            Y = codes.reshape(-1, 1).astype(X.dtype)
        else:  # one column of 0/1 labels a class: one-vs-rest, every class in one descent
            Y = (codes[:, None] == np.arange(len(self.classes_))).astype(X.dtype)
        return self._descend(X, Y, sample_weight)

    def decision_function(self, X):
        """``X @ coef_.T + intercept_``: (n_samples,) for two classes, else per class."""
        z = self._linear(X)
        return z[:, 0] if z.shape[1] == 1 else z

    def predict_proba(self, X):
        """Each class's probability: the sigmoid of its decision, normalised over the classes
        (one-vs-rest, as scikit-learn's ``SGDClassifier``)."""
        z = self._linear(X)
        p = np.exp(-np.logaddexp(0.0, -z))  # the sigmoid, without overflow
        if p.shape[1] == 1:
            return np.hstack([1.0 - p, p])
        total = p.sum(axis=1, keepdims=True)
        return np.divide(p, total, out=np.full_like(p, 1.0 / p.shape[1]), where=total > 0)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """The class of the largest decision."""
        z = self._linear(X)
        return self.classes_[(z[:, 0] > 0).astype(int) if z.shape[1] == 1 else z.argmax(axis=1)]
