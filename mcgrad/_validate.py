"""Argument checks shared by the public API: each error names the argument and what is allowed."""

from __future__ import annotations

import math
import numbers

import numpy as np


def real_array(name: str, value) -> np.ndarray:
    """``value`` as a finite float64 1-D array (a scalar becomes length 1)."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"{name} must be a real number or a 1-D array of real numbers, got {value!r}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number or a 1-D array of real numbers, got {value!r}") from None
    except OverflowError:  # a Python int beyond the float64 range
        raise ValueError(f"{name} must be finite (no NaN or inf), got {value!r}") from None
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array, got shape {arr.shape}")
    arr = np.atleast_1d(arr).copy()
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {value!r}")
    return arr


SMALLEST_POSITIVE = float(np.finfo(np.float64).tiny)  # 2.2e-308: below it (subnormal) 1 / x overflows


def positive_array(name: str, value) -> np.ndarray:
    """``value`` as a finite float64 1-D array of positive normal numbers (``>= SMALLEST_POSITIVE``): a subnormal
    scale or rate would make the kernels' 1 / x infinite and every sample non-finite."""
    arr = real_array(name, value)
    if np.any(arr <= 0.0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if np.any(arr < SMALLEST_POSITIVE):
        raise ValueError(f"{name} must be >= {SMALLEST_POSITIVE!r} (the smallest normal double; 1 / {name} would "
                         f"overflow), got {value!r}")
    return arr


def real_scalar(name: str, value) -> float:
    """``value`` as a finite float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    try:
        out = float(value)
    except OverflowError:  # a Python int beyond the float64 range
        out = math.inf
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return out


def short_number(value: float) -> str:
    """A bound as the docs write it: 0.001 -> "1e-3", 1e6 -> "1e6", 0.5 -> "0.5"."""
    text = f"{value:g}"
    if "e" in text or value >= 1e4 or 0 < value < 1e-2:
        mantissa, exponent = f"{value:e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return text


POSITIVE_REALS = f"finite reals >= {short_number(SMALLEST_POSITIVE)} (no subnormals)"  # positive_array's range

MAX_COUNT = 2**62  # sample counts and sizes beyond this would overflow the kernels' 64-bit integers


def count(name: str, value, minimum: int = 1, maximum: int = MAX_COUNT) -> int:
    """``value`` as an int in [``minimum``, ``maximum``] (floats such as 1e7 are accepted when integral)."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if isinstance(value, numbers.Integral):
        out = int(value)
    elif isinstance(value, numbers.Real) and _integral_float(value):
        out = int(value)
    else:
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if out < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if out > maximum:
        limit = "2**62" if maximum == MAX_COUNT else f"{maximum:,}"
        raise ValueError(f"{name} must be an integer <= {limit}, got {value!r}")
    return out


def _integral_float(value: numbers.Real) -> bool:
    """Whether a real number converts to a finite, integral float (a huge Fraction does not convert)."""
    try:
        as_float = float(value)
    except OverflowError:
        return False
    return math.isfinite(as_float) and as_float.is_integer()


def seed(value) -> int:
    """A seed in [0, 2**64); ``None`` draws a fresh one from the operating system."""
    if value is None:
        return int.from_bytes(np.random.SeedSequence().entropy.to_bytes(16, "little")[:8], "little")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"seed must be an integer in [0, 2**64) or None, got {value!r}")
    if not 0 <= int(value) < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64) or None, got {value!r}")
    return int(value)
