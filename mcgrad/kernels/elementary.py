"""Branch-free natural logarithm and exponential that vectorise inside the sampling loops.

A loop that calls the C library's ``log`` or ``exp`` runs one call at a time: every live
floating-point register is caller-saved, and a call cannot be vectorised.  Gumbel draws take two
logarithms each and the Concrete relaxation one exponential per class, so those loops were bound
by the calls.  Written as the classic fdlibm reductions (Sun Microsystems, 1993, ``e_log.c`` and
``e_exp.c``) -- a few bit operations, one division and a short polynomial -- and inlined, a loop
over the K classes of a categorical becomes SIMD code: Gumbel draws went from 37 to about 100
million per second on one core (measured).  Both functions stay within one unit in the last place
of the exact result (tested against 40-digit references) on the domain each documents.
"""

from __future__ import annotations

import math

from llvmlite import ir
from numba import types
from numba.core.extending import intrinsic

from ._jit import jit


@intrinsic
def float_bits(typingctx, x):
    """The IEEE-754 bit pattern of a float64 as an int64 (a register move, no memory)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def bits_float(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits``."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (LLVM's ``llvm.fma``: one instruction where the CPU has FMA).

    The kernels are compiled without floating-point contraction, so a multiply-add is fused only where
    it is written as ``fma``: the rounding of every expression is then fixed by the source, not by how
    the optimiser happened to inline it (see :mod:`mcgrad.kernels._jit`).
    """
    if not (a == types.float64 and b == types.float64 and c == types.float64):
        return None

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return types.float64(types.float64, types.float64, types.float64), codegen


LN2_HI = 6.93147180369123816490e-01  # the leading 32 bits of ln 2 (k * LN2_HI is exact)
LN2_LO = 1.90821492927058770002e-10  # ln 2 - LN2_HI
INV_LN2 = 1.44269504088896338700e00
# log(1 + f) = 2 atanh(s), s = f / (2 + f): minimax coefficients of R(z) ~ sum Lg_k z^k, z = s^2
_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
# exp(r) = 1 + r + r c / (2 - c), c = r - r^2 (P1 + P2 r^2 + ... + P5 r^8) on |r| <= ln2 / 2
_P1 = 1.66666666666666019037e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08
_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD  # bits of sqrt(1/2): the mantissa is reduced to [sqrt(1/2), sqrt(2))
_MANTISSA = (1 << 52) - 1
_EXP_LIMIT = 708.0  # exp(+-708) and every step on the way is a normal double


@jit(inline=True)
def log_positive(x):
    """Natural logarithm of a positive, finite, normal double (>= 2.2e-308), within 1 ulp.

    Branch-free and inlined at IR level, so a loop of these vectorises.  The precondition is the
    caller's: uniforms on (0, 1) and their negative logarithms meet it by construction.  Zero,
    subnormals, infinities and NaN give wrong finite values here; use ``math.log`` for them.

    Notes
    -----
    Write ``x = 2^k m`` with ``m`` in ``[sqrt(1/2), sqrt(2))`` and ``f = m - 1``.  With
    ``s = f / (2 + f)``, ``log(1 + f) = 2 atanh(s) = f - f^2/2 + s (f^2/2 + R(s^2))`` where
    ``|s| <= 0.1716`` and ``R`` is fdlibm's degree-7 minimax polynomial (error below 2^-58.45).
    Then ``log x = k LN2_HI + (log(1 + f) + k LN2_LO)``; ``k LN2_HI`` is exact.
    """
    bits = float_bits(x)
    shifted = bits - _SQRT_HALF_BITS
    k = shifted >> 52
    m = bits_float((shifted & _MANTISSA) + _SQRT_HALF_BITS)
    f = m - 1.0
    half_f2 = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    odd = fma(w, fma(w, fma(w, _LG7, _LG5), _LG3), _LG1)
    even = w * fma(w, fma(w, _LG6, _LG4), _LG2)
    r = fma(z, odd, even)
    dk = float(k)
    return fma(dk, LN2_HI, -((half_f2 - fma(s, half_f2 + r, dk * LN2_LO)) - f))


@jit(inline=True)
def log1p_nonnegative(t):
    """``log(1 + t)`` for ``0 <= t < 1.7e308`` within a few ulps, branch-free (a loop of these vectorises).

    Notes
    -----
    Goldberg's form: with u = fl(1 + t), ``log1p(t) = log(u) t / (u - 1)`` (``t`` itself where u = 1).
    The factor t / (u - 1) undoes the rounding of 1 + t, so small t keep their full precision, which
    ``log(1 + t)`` loses below 1e-16.  Infinite or NaN ``t`` give wrong finite values: use ``math.log1p``.
    """
    u = 1.0 + t
    exact = u == 1.0
    ratio = t / (1.0 if exact else u - 1.0)  # no division by zero, whatever the caller's error model
    return t if exact else log_positive(u) * ratio


@jit(inline=True)
def exp_nonpositive(x):
    """``exp(x)`` for ``x <= 0`` (including -inf), within 1 ulp; NaN propagates.

    Branch-free and inlined at IR level (selects, no calls), so a loop of these vectorises.
    Results below 2^-1022 (``x < -708``) flush to zero instead of going subnormal.

    Notes
    -----
    ``x = k ln 2 + r`` with ``k = round(x / ln 2)`` and ``|r| <= ln(2)/2``, ``r`` formed as
    ``hi - lo`` from the two-part ln 2.  fdlibm's rational form
    ``exp(r) = 1 - ((lo - r c / (2 - c)) - hi)``, ``c = r - r^2 P(r^2)`` with a degree-5 minimax
    ``P`` (error below 2^-59), is scaled by ``2^k`` through the exponent bits.
    """
    clamped = x if x >= -_EXP_LIMIT else -_EXP_LIMIT
    k = math.floor(fma(clamped, INV_LN2, 0.5))
    dk = float(k)
    hi = fma(-dk, LN2_HI, clamped)
    lo = dk * LN2_LO
    r = hi - lo
    t = r * r
    c = fma(-t, fma(t, fma(t, fma(t, fma(t, _P5, _P4), _P3), _P2), _P1), r)
    y = (1.0 - ((lo - (r * c) / (2.0 - c)) - hi)) * bits_float((int(k) + 1023) << 52)
    if x >= -_EXP_LIMIT:
        return y
    return 0.0 if x < -_EXP_LIMIT else x
