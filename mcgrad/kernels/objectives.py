"""Built-in objectives f(x) with their gradients, and the calling convention for user functions.

Kernels evaluate the objective with ``f = evaluate_vector(user_path, code, p, user, classes, x, grad)``
(any D, writes the gradient into ``grad``) or ``(f, f') = evaluate_1d(user_path, code, p, user1, x)``
(D = 1).  Built-ins are picked by ``code`` (a predictable branch the compiler inlines); a user
function is a first-class function pointer of :data:`USER_SIGNATURE` / :data:`USER_SCALAR_SIGNATURE`,
so one cached kernel serves every user function.  ``user_path`` is a compile-time literal: each
sampling loop is compiled once for built-ins and once for user functions, because a loop that
merely *could* make an indirect call runs about 2x slower (measured).

All built-ins are sums over the D coordinates of x and take one scalar parameter ``p``.

Hot loops pass scalars, never shared arrays, to per-sample functions: an array argument costs
an atomic reference-count update per call, and on an array shared by all threads those updates
contend for one cache line (measured: 4x slower).
"""

from __future__ import annotations

import math

from numba import literally, types

from ._jit import jit
from .trigonometric import TRIG_LIMIT, sin_cos_small

USER = -1
SQUARE = 0  # x^2 + c
QUADRATIC = 1  # (x - k)^2
COS = 2  # cos(k x)
GAUSSIAN_BUMP = 3  # exp(-k x^2)
LINEAR = 4  # a x
LOG = 5  # log x (positive x)
COMPONENT = 6  # x_i of a simplex vector, i = p
LOG_COMPONENT = 7  # log x_i of a simplex vector, i = p
ONE_HOT_QUADRATIC = 8  # sum_k (x_k - [k == p])^2 over each categorical's K classes (discrete kernels only)

VECTOR = types.float64[::1]
# User adapters share the built-ins' argument lists and ignore (code, p):
#   vector: (code, p, x, grad) -> f(x), writing grad f into grad
#   scalar: (code, p, x) -> (f(x), f'(x)) for D = 1 loops, so no array crosses a per-sample call
USER_SIGNATURE = types.float64(types.int64, types.float64, VECTOR, VECTOR)
USER_FUNCTION = types.FunctionType(USER_SIGNATURE)
USER_SCALAR_SIGNATURE = types.UniTuple(types.float64, 2)(types.int64, types.float64, types.float64)
USER_SCALAR_FUNCTION = types.FunctionType(USER_SCALAR_SIGNATURE)


@jit
def term(code, k, x):
    """One coordinate's term of a built-in objective and its derivative: ``(t(x), t'(x))``."""
    if code == SQUARE:
        return x * x, 2.0 * x
    if code == QUADRATIC:
        u = x - k
        return u * u, 2.0 * u
    if code == COS:
        return math.cos(k * x), -k * math.sin(k * x)
    if code == GAUSSIAN_BUMP:
        e = math.exp(-k * x * x)
        return e, -2.0 * k * x * e
    if code == LOG:
        return math.log(x), 1.0 / x
    return k * x, k


@jit(inline=True)
def coordinate_term(code, p, classes, i, x):
    """Coordinate ``i``'s term of a built-in objective and its derivative at ``x = x_i``: ``(t_i, dt_i)``.

    Every built-in is ``f(x) = sum_i t_i(x_i)`` (plus ``c`` for ``square``).  ``classes`` = K groups the
    coordinates of a flattened (D, K) categorical outcome; it is 1 for every other family.
    """
    if code == COMPONENT or code == LOG_COMPONENT:
        if i != int(p):
            return 0.0, 0.0
        if code == COMPONENT:
            return x, 1.0
        return math.log(x), 1.0 / x
    if code == ONE_HOT_QUADRATIC:
        r = x - (1.0 if i % classes == int(p) else 0.0)
        return r * r, 2.0 * r
    if code == LINEAR and classes > 1:
        w = p * (i % classes)
        return w * x, w
    return term(code, p, x)


@jit
def quadratic_form(code, p, classes, i):
    """``(True, w, c, v)`` when coordinate ``i``'s term is ``w (x - c)^2 + v x``, else ``(False, 0, 0, 0)``.

    square, quadratic, one_hot_quadratic and linear have this form; a
    loop over many values of one coordinate then evaluates ``t = w (x - c)^2 + v x`` and
    ``t' = 2 w (x - c) + v`` without branches (the same operations as :func:`coordinate_term`
    when v = 0, and exactly v x, v when w = 0).
    """
    if code == SQUARE:
        return True, 1.0, 0.0, 0.0
    if code == QUADRATIC:
        return True, 1.0, p, 0.0
    if code == ONE_HOT_QUADRATIC:
        return True, 1.0, (1.0 if i % classes == int(p) else 0.0), 0.0
    if code == LINEAR:
        return True, 0.0, 0.0, (p * (i % classes) if classes > 1 else p)
    return False, 0.0, 0.0, 0.0


@jit(inline=True)
def term_difference(code, p, i, base, a, b):
    """``t_i(base + a) - t_i(base + b)`` for coordinate ``i`` of a built-in objective (classes = 1), without
    cancellation: the difference is factored through ``a - b`` where a closed form allows it.

    Notes
    -----
    With x = base + a, y = base + b and h = a - b: ``w (x - c)^2 + v x`` differs by
    h (w (2 (base - c) + a + b) + v); cos k x by -2 sin(k (base + (a + b)/2)) sin(k h / 2);
    exp(-k x^2) by exp(-k y^2) expm1(-k h (2 base + a + b)) (directly where that exponent exceeds 1 in
    size); log x by log1p(h / y).  Measure-valued
    estimators take such differences at offsets scale * W around loc; with scale 1e-17 of loc, x and y
    round to the same double and the plain difference is 0.
    """
    h = a - b
    quadratic, w, centre, slope = quadratic_form(code, p, 1, i)
    if quadratic:
        return h * (w * (2.0 * (base - centre) + (a + b)) + slope)
    if code == COS:
        return -2.0 * math.sin(p * (base + 0.5 * (a + b))) * math.sin(0.5 * p * h)
    if code == GAUSSIAN_BUMP:
        x = base + a
        y = base + b
        change = -p * h * (2.0 * base + (a + b))  # -k (x^2 - y^2)
        if abs(change) > 1.0:  # the two values differ by more than a factor e: no cancellation
            return math.exp(-p * x * x) - math.exp(-p * y * y)
        return math.exp(-p * y * y) * math.expm1(change)
    if code == LOG:
        return math.log1p(h / (base + b))
    return coordinate_term(code, p, 1, i, base + a)[0] - coordinate_term(code, p, 1, i, base + b)[0]


@jit
def builtin_1d(code, p, x):
    """A built-in objective and its derivative at a scalar ``x`` (D = 1): ``(f, f')``."""
    t, dt = term(code, p, x)
    if code == SQUARE:
        t += p
    return t, dt


@jit
def builtin_round(code, p, work, x_row, f_row, df_row, count):
    """f and f' of a built-in objective (D = 1) at ``work[x_row, :count]`` into rows ``f_row`` and ``df_row``: the
    vector form of :func:`builtin_1d` for the rounds loops.  Quadratic terms (:func:`quadratic_form`) go
    branch-free; cos k x through the branch-free :func:`~mcgrad.kernels.trigonometric.sin_cos_small` (the math
    library where |k x| exceeds its range, within 2 ulp of it elsewhere); the others one by one."""
    quadratic, w, centre, slope = quadratic_form(code, p, 1, 0)
    if quadratic:
        constant = p if code == SQUARE else 0.0
        for t in range(count):  # vector
            x = work[x_row, t]
            r = x - centre
            work[f_row, t] = w * (r * r) + slope * x + constant
            work[df_row, t] = 2.0 * w * r + slope
    elif code == COS:
        for t in range(count):  # vector
            sine, cosine = sin_cos_small(p * work[x_row, t])
            work[f_row, t] = cosine
            work[df_row, t] = -p * sine
        for t in range(count):
            if not abs(p * work[x_row, t]) <= TRIG_LIMIT:
                work[f_row, t], work[df_row, t] = builtin_1d(code, p, work[x_row, t])
    else:
        for t in range(count):
            work[f_row, t], work[df_row, t] = builtin_1d(code, p, work[x_row, t])


@jit(inline=True)
def evaluate_vector(user_path, code, p, user, classes, x, grad):
    """f(x) with its gradient written into ``grad``: the user function if ``user_path`` else a built-in.

    Inlined into the caller at IR level, so built-ins run as scalar calls per coordinate.  (An
    array argument costs two atomic reference-count updates per call; through a non-inlined
    helper that was 10x slower on a three-coordinate quadratic, measured.)  In the discrete and
    Normal array loops the inlined user branch still left reference-count updates in the loop
    (seen in a profile), so those loops write the built-in sum out with
    :func:`coordinate_term` under their own literal ``user_path`` branch.
    """
    if user_path:
        return user(code, p, x, grad)
    total = 0.0
    for i in range(x.shape[0]):
        t, dt = coordinate_term(code, p, classes, i, x[i])
        total += t
        grad[i] = dt
    if code == SQUARE:
        total += p
    return total


@jit(inline=True)
def log_space_term(code, p, i, x, log_x):
    """Coordinate ``i``'s term of a built-in objective on positive x and its derivative in log x:
    ``(t_i, x_i t_i'(x_i))``, with logarithms taken as ``log_x`` (finite when x underflows to 0).

    A positive draw is exp(log x): kernels that hold log x pass it, so log and log_component stay
    finite (t = log x, x t' = 1) where x itself underflowed.
    """
    if code == LOG or (code == LOG_COMPONENT and i == int(p)):
        return log_x, 1.0
    t, dt = coordinate_term(code, p, 1, i, x)
    return t, x * dt


@jit(inline=True)
def evaluate_log_space(user_path, code, p, user, x, log_x, dlog):
    """f(x) on positive x, writing x_i df/dx_i = df/dlog x_i into ``dlog`` (see :func:`log_space_term`).

    For a user function the derivative is its gradient times x (0 where x underflowed and the gradient
    is finite).
    """
    if user_path:
        total = user(code, p, x, dlog)
        for i in range(x.shape[0]):
            dlog[i] *= x[i]
        return total
    total = 0.0
    for i in range(x.shape[0]):
        t, e = log_space_term(code, p, i, x[i], log_x[i])
        total += t
        dlog[i] = e
    if code == SQUARE:
        total += p
    return total


@jit
def evaluate_1d(user_path, code, p, user1, x):
    """``(f(x), f'(x))`` at a scalar x: the user adapter if ``user_path`` else a built-in."""
    literally(user_path)
    if user_path:
        return user1(code, p, x)
    return builtin_1d(code, p, x)


@jit
def no_user_function(code, p, x, grad):
    """Placeholder passed as ``user`` when a built-in objective is selected; never called."""
    return math.nan


@jit
def no_user_scalar(code, p, x):
    """Placeholder passed as ``user1`` when a built-in objective is selected; never called."""
    return math.nan, math.nan


@jit
def batch_builtin(code, p, classes, x, grad, per_column, chunk, count, f):
    """A built-in objective on a batch in row-major layout: ``x[k, d C + j]`` is coordinate d R + k of sample j
    (R rows, C = ``chunk`` columns per segment d).  Writes ``grad[k, col] = t'(x[k, col])`` and
    ``f[j] = sum_d sum_k t(x[k, d C + j])`` (+ c for ``square``), t the term of coordinate d R + k; ``classes``
    as in :func:`coordinate_term` (a Categorical's K, 1 for the continuous families).

    Rows of quadratic terms (:func:`quadratic_form`) run as branch-free vector loops; the others call
    :func:`coordinate_term` per value.
    """
    rows = x.shape[0]
    per_column[:] = 0.0
    for k in range(rows):
        xk = x[k]
        gk = grad[k]
        quadratic, w, c, v = quadratic_form(code, p, classes, k)
        if quadratic:
            for col in range(x.shape[1]):
                u = xk[col] - c
                per_column[col] += w * (u * u) + v * xk[col]
                gk[col] = 2.0 * w * u + v
        else:
            for col in range(x.shape[1]):
                t, dt = coordinate_term(code, p, classes, k, xk[col])
                per_column[col] += t
                gk[col] = dt
    dim = x.shape[1] // chunk
    constant = p if code == SQUARE else 0.0
    for j in range(count):
        total = 0.0
        for d in range(dim):
            total += per_column[d * chunk + j]
        f[j] = total + constant


@jit
def batch_user(func, code, p, x, grad, chunk, count, f, xv, gv):
    """A user function sample by sample on a batch laid out as in :func:`batch_builtin`: ``f[j] = func(x_j)``
    with x_j the flat vector of sample j (coordinate d R + k at ``x[k, d C + j]``), its gradient scattered back
    into ``grad``."""
    classes = x.shape[0]
    dim = x.shape[1] // chunk
    for j in range(count):
        for d in range(dim):
            for k in range(classes):
                xv[d * classes + k] = x[k, d * chunk + j]
        f[j] = func(code, p, xv, gv)
        for d in range(dim):
            for k in range(classes):
                grad[k, d * chunk + j] = gv[d * classes + k]


@jit
def batch_objective(user_path, user, code, p, classes, x, grad, per_column, chunk, count, f, xv, gv):
    """f per sample into ``f`` and grad f per entry into ``grad`` at the columns of ``x``: the user
    function sample by sample when ``user_path`` (a compile-time literal), else the built-in."""
    literally(user_path)
    if user_path:
        batch_user(user, code, p, x, grad, chunk, count, f, xv, gv)
    else:
        batch_builtin(code, p, classes, x, grad, per_column, chunk, count, f)
