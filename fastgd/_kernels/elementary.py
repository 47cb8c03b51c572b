"""The logistic loss's ``exp`` and ``log1p`` as plain LLVM IR, one definition for a row and for a
vector of rows.

numba calls libm's ``exp`` and ``log1p`` a row at a time, and LLVM cannot vectorise a loop
around them: on W9 they cost more than reading X. Here ``e^x`` (``x <= 0``) is Cody and Waite's
reduction ``x = k ln 2 + r`` and a degree-11 polynomial in ``r`` (``|r| <= ln(2) / 2``);
``log1p(d)`` (``0 <= d <= 1``) is ``2 atanh(s) = 2 s P(s^2)``, ``s = d / (2 + d) <= 1/3``, with
``P`` of degree 10; both polynomials by Estrin's scheme. Each is the interpolant at Chebyshev
nodes (relative error 1.7e-17 and 2.4e-18, below a rounding; ``tests/test_elementary.py``
derives the coefficients and checks the accuracy), 12 and 11 terms where Taylor series need
14 and 17. The sigmoid and log1p(e^-|z|) that the loss takes are within 3 and
4 ulp of the exact values. Every step is an FMA, a rounding, a shift or a division, emitted
alike on a float64 and on a vector of them, so a loop of rows vectorises, and a row gets the
same bits in a scalar pass as in a lane of the row-vector pass. Instructions carry ``arcp`` so
that numba's fast-math pass leaves them as written.
"""

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from .tiles import float_intrinsic

_FLAGS = ("arcp",)
_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # its low 32 bits zero: k * LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
#: Below this, e^x is under 3.3e-308: taken as e^-708 (no subnormal scaling needed).
_EXP_LOW = -708.0
#: e^r = sum(_EXP_TERMS[i] r^i) and atanh(s) / s = sum(_ATANH_TERMS[i] s^(2i)), as derived in
#: tests/test_elementary.py.
_EXP_TERMS = (1.0, 1.0, 0.5000000000000019, 0.1666666666666668, 0.0416666666664881,
              0.008333333333319601, 0.0013888888952314775, 0.00019841269890047113,
              2.4801485482328494e-05, 2.755724091857897e-06, 2.763263963904103e-07,
              2.5110037605963777e-08)
_ATANH_TERMS = (1.0, 0.33333333333333076, 0.20000000000092874, 0.14285714272727057,
                0.11111112040373837, 0.09090870416252403, 0.07693307021152004,
                0.06650187016337313, 0.06055084364034609, 0.0416225325593041,
                0.08522081781390699)


def _constant(kind, value):
    if isinstance(kind, ir.VectorType):
        return ir.Constant(kind, [value] * kind.count)
    return ir.Constant(kind, value)


def _polynomial(builder, x, terms):
    """``sum(terms[i] x^i)`` by Estrin's scheme: pairs, then pairs of pairs, so the chain of
    dependent FMAs is log2 of the terms long (Horner's rule made it as long as the terms, and
    that chain, not the arithmetic, set the pace of the row-vector pass)."""
    parts = [_constant(x.type, term) for term in terms]
    power = x
    while len(parts) > 1:
        pairs = [float_intrinsic(builder, "fma", parts[i + 1], power, parts[i])
                 for i in range(0, len(parts) - 1, 2)]
        parts = pairs + parts[len(pairs) * 2:]
        if len(parts) > 1:
            power = builder.fmul(power, power, flags=_FLAGS)
    return parts[0]


def emit_exp_nonpositive(builder, x):
    """``e^x`` of float64 ``x <= 0`` (a value or a vector); NaN gives a finite number, which
    the logistic loss's other terms make NaN again."""
    kind = x.type
    low = _constant(kind, _EXP_LOW)
    x = builder.select(builder.fcmp_unordered("<", x, low), low, x)
    scaled = float_intrinsic(builder, "fma", x, _constant(kind, _INV_LN2), _constant(kind, 0.5))
    k = float_intrinsic(builder, "floor", scaled)
    r = float_intrinsic(builder, "fma", k, _constant(kind, -_LN2_HI), x)
    r = float_intrinsic(builder, "fma", k, _constant(kind, -_LN2_LO), r)
    integers = (ir.VectorType(ir.IntType(64), kind.count) if isinstance(kind, ir.VectorType)
                else ir.IntType(64))
    exponent = builder.shl(builder.add(builder.fptosi(k, integers), _constant(integers, 1023)),
                           _constant(integers, 52))
    return builder.fmul(_polynomial(builder, r, _EXP_TERMS), builder.bitcast(exponent, kind),
                        flags=_FLAGS)


def emit_log1p_unit(builder, d):
    """``log(1 + d)`` of float64 ``0 <= d <= 1`` (a value or a vector)."""
    kind = d.type
    s = builder.fdiv(d, builder.fadd(_constant(kind, 2.0), d, flags=_FLAGS), flags=_FLAGS)
    series = _polynomial(builder, builder.fmul(s, s, flags=_FLAGS), _ATANH_TERMS)
    return builder.fmul(builder.fadd(s, s, flags=_FLAGS), series, flags=_FLAGS)


def emit_logistic_parts(builder, z):
    """``(sigmoid(z), log1p(e^-|z|))`` of float64 ``z`` (a value or a vector): the logistic
    loss's error is the first less y, its value ``max(z, 0) + second - y z``."""
    kind = z.type
    decay = emit_exp_nonpositive(builder, builder.fsub(
        _constant(kind, 0.0), float_intrinsic(builder, "fabs", z), flags=_FLAGS))
    one = _constant(kind, 1.0)
    # 1 / (1 + e^-z) for z >= 0, e^z / (1 + e^z) below: never overflows
    top = builder.select(builder.fcmp_ordered(">=", z, _constant(kind, 0.0)), one, decay)
    sigmoid = builder.fdiv(top, builder.fadd(one, decay, flags=_FLAGS), flags=_FLAGS)
    return sigmoid, emit_log1p_unit(builder, decay)


@intrinsic
def logistic_parts(typingctx, z):
    """``(sigmoid(z), log1p(e^-|z|))`` of a float64, as :func:`emit_logistic_parts`."""
    if z != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return context.make_tuple(builder, signature.return_type,
                                  list(emit_logistic_parts(builder, args[0])))

    return types.UniTuple(types.float64, 2)(types.float64), codegen
