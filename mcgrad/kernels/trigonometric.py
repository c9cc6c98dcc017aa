"""Branch-free arctangent, sine and cosine for vector loops (selects, no calls), beside the log and exp of
:mod:`.elementary`.

Numba compiles ``math.atan``, ``math.sin`` and ``math.cos`` to library calls, which keep a loop scalar: in the
VonMises rounds the calls cost more than the sampler's own work.  These forms vectorise.  Both are tested
against 40-digit references (tests/test_elementary.py).

* :func:`atan_any`: Cephes' ``atan`` (S. L. Moshier): the argument is reduced to ``|x| <= 0.66`` through
  ``atan x = pi/2 + atan(-1/x)`` (``x > tan(3 pi/8)``) or ``pi/4 + atan((x - 1)/(x + 1))``, and a rational
  function of degree 4/5 in x^2 finishes; within 1 ulp (0.9 at most over 7,000 arguments against mpmath).
* :func:`sin_cos_small`: fdlibm's kernels (degree 13 and 14 polynomials on ``|r| <= pi/4``) after a three-part
  Cody-Waite reduction ``r = x - k pi/2``, valid for ``|x| <= TRIG_LIMIT``; beyond it the caller uses ``math``.
  Within 2 ulp (1.6 at most over 7,000 arguments).
"""

from __future__ import annotations

import math

from ._jit import jit
from .elementary import fma

_T3P8 = 2.41421356237309504880  # tan(3 pi / 8)
_MOREBITS = 6.123233995736765886130e-17  # pi/2 - fl(pi/2)
_P0, _P1, _P2, _P3, _P4 = (-8.750608600031904122785e-1, -1.615753718733365076637e1, -7.500855792314704667340e1,
                           -1.228866684490136173410e2, -6.485021904942025371773e1)
_Q0, _Q1, _Q2, _Q3, _Q4 = (2.485846490142306297962e1, 1.650270098316988542046e2, 4.328810604912902668951e2,
                           4.853903996359136964868e2, 1.945506571482613964425e2)


@jit(inline=True)
def atan_any(x):
    """``atan(x)`` for any double (±pi/2 at ±inf; NaN propagates), within 1 ulp, branch-free.

    Notes
    -----
    One division reduces the argument (``-1/|x|``, ``(|x| - 1)/(|x| + 1)`` or ``|x|/1``, picked by selects) and
    one forms ``P(z)/Q(z)``, z = r^2; ``atan r = r + r z P(z)/Q(z)``, plus the offset (0, pi/4 or pi/2, the
    latter two with the low part of pi/2 added after the polynomial, as Cephes does).
    """
    a = abs(x)
    big = a > _T3P8
    middle = a > 0.66
    numerator = -1.0 if big else (a - 1.0 if middle else a)
    denominator = a if big else (a + 1.0 if middle else 1.0)
    r = numerator / denominator
    offset = math.pi / 2.0 if big else (math.pi / 4.0 if middle else 0.0)
    low = _MOREBITS if big else (0.5 * _MOREBITS if middle else 0.0)
    z = r * r
    p = fma(fma(fma(fma(_P0, z, _P1), z, _P2), z, _P3), z, _P4)
    q = fma(fma(fma(fma(fma(1.0, z, _Q0), z, _Q1), z, _Q2), z, _Q3), z, _Q4)
    y = offset + (fma(r * z, p / q, r) + low)
    return -y if x < 0.0 else y


TRIG_LIMIT = 1e5  # |x| up to which sin_cos_small's reduction keeps its accuracy
_INV_PIO2 = 6.36619772367581382433e-01
_PIO2_1 = 1.57079632673412561417e00  # the first 33 bits of pi/2: k * _PIO2_1 is exact for |k| < 2^20
_PIO2_2 = 6.07710050630396597660e-11  # the next 33 bits
_PIO2_3 = 2.02226624871116645580e-21  # the next 33 bits
_PIO2_3T = 8.47842766036889956997e-32  # pi/2 - (_PIO2_1 + _PIO2_2 + _PIO2_3)
_S1, _S2, _S3, _S4, _S5, _S6 = (-1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04,
                                2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10)
_C1, _C2, _C3, _C4, _C5, _C6 = (4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05,
                                -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11)


@jit(inline=True)
def sin_cos_small(x):
    """``(sin x, cos x)`` for ``|x| <= TRIG_LIMIT``, branch-free; outside that range the values are wrong (use
    ``math.sin`` and ``math.cos`` there).  Within 2 ulp.

    Notes
    -----
    k = round(2x/pi), ``r = ((x - k p1) - k p2) - k p3`` with pi/2 in 33-bit parts, so every product is exact
    for |k| < 2^20 and r carries about 1e-30 absolute error; then fdlibm's minimax polynomials for sin r and
    cos r on [-pi/4, pi/4], and the quadrant k mod 4 picks and signs them.
    """
    k = math.floor(fma(x, _INV_PIO2, 0.5))
    r = ((x - k * _PIO2_1) - k * _PIO2_2) - k * _PIO2_3
    tail = k * _PIO2_3T
    z = r * r
    sin_poly = fma(fma(fma(fma(_S6, z, _S5), z, _S4), z, _S3), z, _S2)
    sin_r = r + (r * z) * (_S1 + z * sin_poly) - tail
    cos_poly = z * fma(fma(fma(fma(fma(_C6, z, _C5), z, _C4), z, _C3), z, _C2), z, _C1)
    half = 0.5 * z
    w = 1.0 - half
    cos_r = w + (((1.0 - w) - half) + (z * cos_poly + r * tail))
    quadrant = int(k) & 3
    s = cos_r if quadrant & 1 else sin_r
    c = sin_r if quadrant & 1 else cos_r
    s = -s if quadrant & 2 else s
    c = -c if (quadrant == 1 or quadrant == 2) else c
    return s, c
