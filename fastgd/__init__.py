"""fastgd: gradient descent at native speed, with the textbook's exact semantics.

>>> import numpy as np, fastgd
>>> res = fastgd.fit_linear(np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0]))
>>> round(float(res.w[0]), 4), round(res.b, 4)
(1.9026, 0.2214)
"""
from . import reference
from .errors import ConvergenceWarning, DivergenceError
from .linear import fit_linear, precompile
from .many import fit_linear_many
from .optimize import maximize, minimize
from .result import LinearResult, ManyResult, MinimizeResult

__all__ = [
    "ConvergenceWarning", "DivergenceError", "LinearResult", "ManyResult", "MinimizeResult",
    "fit_linear", "fit_linear_many", "maximize", "minimize", "precompile", "reference",
]
__version__ = "0.1.0"
