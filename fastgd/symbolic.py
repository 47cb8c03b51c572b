"""Gradients derived symbolically (seed 001 starts from ``sympy.diff``), compiled by numba.

Needs the optional extra ``fastgd[symbolic]`` (SymPy).

>>> from fastgd.symbolic import derive
>>> derived = derive("x**2 + 2*x + 3")
>>> derived.variables, derived.gradient(0.0), derived.objective(-1.0)
(('x',), 2.0, 2.0)
"""
import math
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np


def _sympy():
    try:
        import sympy
    except ImportError:
        raise ImportError(
            "symbolic gradients need SymPy: install the extra with pip install 'fastgd[symbolic]'"
        ) from None
    return sympy


def is_expression(value):
    """Whether ``value`` is a string or a SymPy expression (without importing SymPy needlessly)."""
    if isinstance(value, str):
        return True
    return type(value).__module__.startswith("sympy")


@dataclass(frozen=True)
class Derived:
    """A compiled objective and its gradient, with the variables' order."""

    expression: object
    variables: tuple
    objective: object
    gradient: object


@lru_cache(maxsize=64)
def derive(expression):
    """Differentiate ``expression`` (a string such as ``"x**2 + 2*x + 3"`` or a SymPy expression).

    One variable gives scalar functions of a float; several give functions of a 1-D array whose
    entries are the variables in alphabetical order. Both are numba-compiled, once per
    expression (results are memoised).
    """
    sympy = _sympy()
    if isinstance(expression, str):
        try:
            expression = sympy.sympify(expression)
        except (sympy.SympifyError, SyntaxError, TypeError) as err:
            raise ValueError(f"grad: cannot read {expression!r} as an expression: {err}") from None
    if not isinstance(expression, sympy.Expr):
        raise TypeError(f"grad must be callable or an expression, got {expression!r}")
    variables = sorted(expression.free_symbols, key=lambda s: s.name)
    if not variables:
        raise ValueError(f"grad: the expression {expression} has no variable to differentiate by")
    names = tuple(v.name for v in variables)
    scalar = len(variables) == 1
    slots = {v: sympy.Symbol("x" if scalar else f"x[{i}]") for i, v in enumerate(variables)}

    def code(expr):
        return sympy.pycode(expr.xreplace(slots), fully_qualified_modules=True)

    partials = [sympy.diff(expression, v) for v in variables]
    if scalar:
        gradient_source = f"def gradient(x):\n    return float({code(partials[0])})\n"
    else:
        lines = [f"    out[{i}] = {code(p)}" for i, p in enumerate(partials)]
        gradient_source = (f"def gradient(x):\n    out = np.empty({len(partials)})\n"
                           + "\n".join(lines) + "\n    return out\n")
    objective_source = f"def objective(x):\n    return float({code(expression)})\n"
    namespace = {"math": math, "np": np, "numpy": np}
    exec(gradient_source + objective_source, namespace)  # code printed by SymPy from the expression
    return Derived(expression, names, numba.njit(namespace["objective"]), numba.njit(namespace["gradient"]))
