"""Gradients derived symbolically (seed 001 starts from ``sympy.diff``).

Needs the optional extra ``fastgd[symbolic]`` (SymPy). The objective and gradient are plain
Python over numpy's functions (IEEE arithmetic: ``1/0`` is ``inf``, ``log(0)`` is ``-inf``), so
a run starts at once; ``Derived.compiled_gradient()`` compiles the gradient with numba for a
run long enough to pay for it.

>>> from fastgd.symbolic import derive
>>> derived = derive("x**2 + 2*x + 3")
>>> derived.variables, derived.gradient(0.0), derived.objective(-1.0)
(('x',), 2.0, 2.0)
"""
import ast
import functools
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
    """An objective and its gradient (Python functions), with the variables' order."""

    expression: object
    variables: tuple
    objective: object
    gradient: object
    compilable: str  # the gradient's source in what numba compiles (math, Python conditionals)

    def compiled_gradient(self):
        """The gradient compiled by numba (a second or two, once per expression and process)."""
        return _compiled(self.compilable)


@lru_cache(maxsize=64)
def _compiled(source):
    namespace = {"math": math, "numpy": np}
    exec(source, namespace)  # code printed by SymPy from the expression
    return numba.njit(error_model="numpy")(namespace["gradient"])  # IEEE: 1/0 is inf


def _gradient_source(partials, code, scalar):
    if scalar:
        return (f"def gradient(x):\n    x = numpy.float64(x)\n"
                f"    return float({code(partials[0])})\n")
    lines = [f"    out[{i}] = {code(p)}" for i, p in enumerate(partials)]
    return (f"def gradient(x):\n    out = numpy.empty({len(partials)})\n" + "\n".join(lines)
            + "\n    return out\n")


#: The functions a formula may call, by the names it may use (SymPy's and Python's spellings).
FUNCTIONS = ("Abs", "abs", "exp", "log", "sqrt", "sin", "cos", "tan", "asin", "acos", "atan",
             "sinh", "cosh", "tanh", "Max", "Min", "max", "min")
#: Names that are constants, not variables.
CONSTANTS = ("pi", "E")
_OPERATORS = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__",
              ast.Div: "__truediv__", ast.Pow: "__pow__"}


def parse(text):
    """The SymPy expression a formula such as ``"(1-x)**2 + 100*(y-x**2)**2"`` writes, read
    from Python's syntax tree and never evaluated: numbers, names (real variables), ``+ - * /
    **``, and calls of ``FUNCTIONS``. Anything else is a ValueError naming it."""
    sympy = _sympy()
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ValueError(f"grad: cannot read {text!r} as a formula: {err.msg}") from None
    functions = {name: getattr(sympy, {"abs": "Abs", "max": "Max", "min": "Min"}.get(name, name))
                 for name in FUNCTIONS}

    def build(node):
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return sympy.Integer(node.value) if type(node.value) is int else sympy.Float(node.value)
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                return getattr(sympy, node.id)
            if node.id in functions:
                raise ValueError(f"grad: {node.id} is a function; call it, as {node.id}(x)")
            return sympy.Symbol(node.id, real=True)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return getattr(build(node.left), _OPERATORS[type(node.op)])(build(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = build(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in functions and not node.keywords):
            return functions[node.func.id](*[build(arg) for arg in node.args])
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
            raise ValueError("grad: ^ is not a power in a formula; write x**2")
        what = ast.get_source_segment(text.strip(), node) or type(node).__name__
        raise ValueError(f"grad: {what!r} is not allowed in a formula (numbers, variables, "
                         f"+ - * / **, and {', '.join(FUNCTIONS)})")

    try:
        return build(tree)
    except TypeError as err:  # a function called with the wrong number of arguments
        raise ValueError(f"grad: cannot read {text!r}: {err}") from None


@lru_cache(maxsize=64)
def derive(expression):
    """Differentiate ``expression`` (a string such as ``"x**2 + 2*x + 3"`` or a SymPy expression).

    One variable gives scalar functions of a float; several give functions of a 1-D array whose
    entries are the variables in alphabetical order (results are memoised).

    Examples
    --------
    >>> import numpy as np
    >>> derived = derive("x**2 + 4*y**2")
    >>> derived.variables, derived.gradient(np.array([1.0, 1.0])).tolist()
    (('x', 'y'), [2.0, 8.0])
    """
    sympy = _sympy()
    from sympy.printing.numpy import NumPyPrinter
    if isinstance(expression, str):
        expression = parse(expression)
    if not isinstance(expression, sympy.Expr):
        raise TypeError(f"grad must be callable or an expression, got {expression!r}")
    variables = sorted(expression.free_symbols, key=lambda s: s.name)
    if not variables:
        raise ValueError(f"grad: the expression {expression} has no variable to differentiate by")
    if not expression.is_real and expression.has(sympy.I):
        raise ValueError(f"grad: the expression {expression} is not real")
    names = tuple(v.name for v in variables)
    scalar = len(variables) == 1
    slots = {v: sympy.Symbol("x" if scalar else f"x[{i}]") for i, v in enumerate(variables)}

    def numpy_code(expr):
        return NumPyPrinter({"fully_qualified_modules": True}).doprint(expr.xreplace(slots))

    def python_code(expr):
        return sympy.pycode(expr.xreplace(slots), fully_qualified_modules=True)

    # x as numpy's float, so that Python's own float division by zero never raises.
    partials = [sympy.diff(expression, v) for v in variables]
    objective_source = (f"def objective(x):\n    x = numpy.asarray(x, numpy.float64)\n"
                        f"    return float({numpy_code(expression)})\n")
    namespace = {"numpy": np, "functools": functools}
    # code printed by SymPy from the expression
    exec(_gradient_source(partials, numpy_code, scalar) + objective_source, namespace)
    return Derived(expression, names, namespace["objective"], namespace["gradient"],
                   _gradient_source(partials, python_code, scalar))
