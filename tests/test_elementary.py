"""The branch-free log and exp of the sampling loops against 40-digit references."""

import math

import mpmath
import numba
import numpy as np
import pytest

from mcgrad.kernels.elementary import exp_nonpositive, log1p_nonnegative, log_positive
from mcgrad.kernels.trigonometric import TRIG_LIMIT, atan_any, sin_cos_small

mpmath.mp.dps = 40


def _elementwise(function):
    """A compiled loop applying one of the kernels' inlined scalar functions to every element of an array."""
    @numba.njit
    def apply(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = function(x[i])
        return out

    return apply


_log_all, _exp_all, _log1p_all, _atan_all = (_elementwise(f) for f in (log_positive, exp_nonpositive,
                                                                       log1p_nonnegative, atan_any))


def _max_ulp_error(got, x, reference):
    worst = 0.0
    for value, arg in zip(got, x, strict=True):
        exact = reference(mpmath.mpf(float(arg)))
        ulp = mpmath.mpf(float(np.spacing(abs(float(exact)))))
        worst = max(worst, float(abs(mpmath.mpf(float(value)) - exact) / ulp))
    return worst


def test_log_within_one_ulp_over_the_normal_range():
    rng = np.random.default_rng(7)
    x = np.concatenate([
        np.exp(rng.uniform(-707.0, 709.0, 3000)),
        rng.uniform(1e-17, 1.0, 3000),  # the uniforms of the streams
        -np.log(rng.uniform(1e-17, 1.0, 2000)),  # and their negative logs (Gumbel draws)
        1.0 + rng.uniform(-1e-5, 1e-5, 500),  # cancellation near 1
        [2.2250738585072014e-308, 1.7976931348623157e308, math.sqrt(0.5), np.nextafter(math.sqrt(0.5), 1.0),
         np.nextafter(math.sqrt(2.0), 1.0), 0.5 * (1.0 + 2.0**-53), 1.0 - 2.0**-53],
    ])
    assert _max_ulp_error(_log_all(x), x, mpmath.log) < 1.0


def test_log_is_exact_on_powers_of_two_and_one():
    k = np.arange(-1022, 1024)
    x = np.ldexp(1.0, k)
    got = _log_all(x)
    assert got[k == 0][0] == 0.0
    np.testing.assert_array_equal(got, [float(mpmath.log(mpmath.mpf(v))) for v in x])


def test_exp_within_one_ulp_for_nonpositive_arguments():
    rng = np.random.default_rng(8)
    x = np.concatenate([
        -rng.uniform(0.0, 708.0, 3000),
        -rng.uniform(0.0, 1.0, 3000),
        -rng.uniform(0.0, 1e-8, 500),
        [0.0, -0.0, -708.0, -math.log(2.0) / 2.0, -math.log(2.0), -1e-300],
    ])
    assert _max_ulp_error(_exp_all(x), x, mpmath.exp) < 1.0


@pytest.mark.parametrize("x, expected", [(-708.5, 0.0), (-745.2, 0.0), (-1e300, 0.0), (-math.inf, 0.0), (0.0, 1.0)])
def test_exp_edges(x, expected):
    assert _exp_all(np.array([x]))[0] == expected


def test_exp_propagates_nan():
    assert math.isnan(_exp_all(np.array([math.nan]))[0])


def test_log1p_within_a_few_ulps_from_zero_to_huge():
    """Goldberg's log1p keeps small arguments' precision, which log(1 + t) loses below 1e-16."""
    rng = np.random.default_rng(11)
    t = np.concatenate([
        np.exp(rng.uniform(-740.0, 0.0, 2000)),  # tiny, down to subnormal: log1p(t) = t
        rng.uniform(0.0, 1.0, 2000),
        np.exp(rng.uniform(0.0, 700.0, 2000)),
        [0.0, 2.0**-53, 2.0**-52, 1e-16, 1.0, 1e300],
    ])
    got = _log1p_all(t)
    assert got[t == 0.0][0] == 0.0
    assert _max_ulp_error(got, t, mpmath.log1p) < 4.0


@numba.njit
def _sin_cos_all(x):
    sines, cosines = np.empty_like(x), np.empty_like(x)
    for i in range(x.shape[0]):
        sines[i], cosines[i] = sin_cos_small(x[i])
    return sines, cosines


def test_atan_within_one_ulp_everywhere():
    rng = np.random.default_rng(3)
    x = np.concatenate([
        rng.standard_cauchy(2000),
        np.exp(rng.uniform(-700.0, 700.0, 2000)) * rng.choice([-1.0, 1.0], 2000),
        [0.0, 0.66, np.nextafter(0.66, 1.0), 2.41421356237309504880, np.nextafter(2.41421356237309504880, 3.0), 1e-300,
         -1.0, 1.0, 1.7976931348623157e308],
    ])
    assert _max_ulp_error(_atan_all(x), x, mpmath.atan) < 1.0
    edges = _atan_all(np.array([np.inf, -np.inf, -0.0, np.nan]))
    assert edges[0] == math.pi / 2 and edges[1] == -math.pi / 2
    assert edges[2] == 0.0  # its sign is not kept: the kernels compile with no-signed-zeros
    assert np.isnan(edges[3])


def test_sin_and_cos_within_two_ulps_up_to_their_limit():
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(-10.0, 10.0, 1500), rng.uniform(-TRIG_LIMIT, TRIG_LIMIT, 1500),
                        np.exp(rng.uniform(-30.0, 0.0, 500)), [0.0, math.pi / 2, math.pi, 3 * math.pi / 4, TRIG_LIMIT,
                                                              -TRIG_LIMIT]])
    sines, cosines = _sin_cos_all(x)
    assert _max_ulp_error(sines, x, mpmath.sin) < 2.0
    assert _max_ulp_error(cosines, x, mpmath.cos) < 2.0
