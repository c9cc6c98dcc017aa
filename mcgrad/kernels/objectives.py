"""Built-in objectives f(x) with their gradients, and the calling convention for user functions.

Every objective is evaluated as ``value = value_grad(code, p, user, x, grad)``: it returns
f(x) and writes the gradient of f into ``grad``; D = 1 loops use ``value_deriv_1d(code, p, user1,
x) -> (f, f')`` instead.  Built-ins are selected by ``code`` (a
predictable branch the compiler inlines); ``code == USER`` calls ``user``, a first-class
function of signature :data:`USER_SIGNATURE`, so one cached kernel serves every user function.
All built-ins are sums over the D coordinates of x and take one scalar parameter ``p``.

Hot loops pass scalars, never shared arrays, to per-sample functions: an array argument costs
an atomic reference-count update per call, and on an array shared by all threads those updates
contend for one cache line (measured: 4x slower).
"""

from __future__ import annotations

import math

from numba import types

from ._jit import jit

USER = -1
SQUARE = 0  # x^2 + c
QUADRATIC = 1  # (x - k)^2
COS = 2  # cos(k x)
GAUSSIAN_BUMP = 3  # exp(-k x^2)
LINEAR = 4  # a x

VECTOR = types.float64[::1]
USER_SIGNATURE = types.float64(VECTOR, VECTOR)
USER_FUNCTION = types.FunctionType(USER_SIGNATURE)
# D = 1 loops call a scalar adapter x -> (f(x), f'(x)) so no array crosses a per-sample call.
USER_SCALAR_SIGNATURE = types.UniTuple(types.float64, 2)(types.float64)
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
    return k * x, k


@jit
def value_grad(code, p, user, x, grad):
    """Return f(x) and write its gradient into ``grad``; ``p`` is the built-in's parameter."""
    if code == USER:
        return user(x, grad)
    total = 0.0
    for d in range(x.shape[0]):
        t, dt = term(code, p, x[d])
        total += t
        grad[d] = dt
    if code == SQUARE:
        total += p
    return total


@jit
def builtin_1d(code, p, x):
    """A built-in objective and its derivative at a scalar ``x`` (D = 1): ``(f, f')``."""
    t, dt = term(code, p, x)
    if code == SQUARE:
        t += p
    return t, dt


@jit
def value_deriv_1d(code, p, user1, x):
    """``(f(x), f'(x))`` at a scalar ``x`` (D = 1), built-in or through the scalar user adapter."""
    if code == USER:
        return user1(x)
    return builtin_1d(code, p, x)


@jit
def no_user_function(x, grad):
    """Placeholder passed as ``user`` when a built-in objective is selected; never called."""
    return math.nan


@jit
def no_user_scalar(x):
    """Placeholder passed as ``user1`` when a built-in objective is selected; never called."""
    return math.nan, math.nan
