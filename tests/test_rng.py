import math

import numba
import numpy as np
import pytest
from scipy import stats

from mcgrad.kernels import rng, wide_stream


def test_splitmix64_reference_outputs():
    # Published outputs of splitmix64.c seeded with 1234567.
    expected = [6457827717110365317, 3203168211198807973, 9817491932198370423,
                4593380528125082431, 16408922859458223821]
    x = np.uint64(1234567)
    got = []
    for _ in expected:
        x, out = rng.splitmix64_next(np.uint64(x))
        got.append(int(out))
    assert got == expected


def test_xoshiro256starstar_reference_outputs():
    # Outputs of the reference xoshiro256starstar.c from state {1, 2, 3, 4}.
    expected = [11520, 0, 1509978240, 1215971899390074240, 1216172134540287360, 607988272756665600,
                16172922978634559625, 8476171486693032832, 10595114339597558777, 2904607092377533576]
    out = np.empty(len(expected), np.uint64)
    rng.fill_u64(tuple(np.uint64(v) for v in (1, 2, 3, 4)), out)
    assert [int(v) for v in out] == expected


def test_block_streams_are_splitmix_outputs_and_distinct():
    key = rng.run_key(7)
    x = np.uint64(key)
    words = []
    for _ in range(12):
        x, out = rng.splitmix64_next(np.uint64(x))
        words.append(int(out))
    for b in range(3):
        assert [int(w) for w in rng.block_state(key, b)] == words[4 * b: 4 * b + 4]
    a, b = np.empty(100), np.empty(100)
    rng.fill_normals(key, 0, a)
    rng.fill_normals(key, 1, b)
    assert not np.array_equal(a, b)
    rng.fill_normals(rng.run_key(8), 0, b)
    assert not np.array_equal(a, b)


def test_ziggurat_layers_have_equal_area():
    # Rebuild the abscissae from the tables: x_i = w_i 2^53, every layer must have area v.
    x = np.append(rng.ZIG_W * 2.0**53, 0.0)
    f = np.exp(-0.5 * x * x)
    r = rng.ZIG_R
    v = r * math.exp(-0.5 * r * r) + math.sqrt(math.pi / 2) * math.erfc(r / math.sqrt(2))
    areas = x[1:-1] * (f[2:] - f[1:-1])
    np.testing.assert_allclose(areas, v, rtol=1e-9)
    assert abs(x[255] * (1.0 - f[255]) - v) < 1e-9  # the top layer closes at f(0) = 1


def test_normals_match_standard_normal():
    n = 2_000_000
    z = np.empty(n)
    rng.fill_normals(rng.run_key(2024), 3, z)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 5 / math.sqrt(n)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / n)
    assert abs(stats.skew(z)) < 5 * math.sqrt(6 / n)
    assert abs(stats.kurtosis(z)) < 5 * math.sqrt(24 / n)
    # The tail beyond the ziggurat's base (|z| > 3.654) is sampled by a separate path.
    p_tail = 2 * stats.norm.sf(rng.ZIG_R)
    k = np.sum(np.abs(z) > rng.ZIG_R)
    assert abs(k - n * p_tail) < 5 * math.sqrt(n * p_tail)
    tail = np.abs(z[np.abs(z) > rng.ZIG_R])
    cond = stats.truncnorm(rng.ZIG_R, np.inf)
    assert stats.kstest(tail, cond.cdf).pvalue > 1e-3


def test_uniforms_and_exponentials():
    @__import__("numba").njit
    def draw(s, n):
        u = np.empty(n)
        uo = np.empty(n)
        e = np.empty(n)
        for i in range(n):
            s, u[i] = rng.next_double(s)
            s, uo[i] = rng.next_double_open(s)
            s, e[i] = rng.next_exponential(s)
        return u, uo, e

    state = tuple(np.uint64(w) for w in rng.block_state(rng.run_key(1), 0))
    u, uo, e = draw(state, 500_000)
    assert u.min() >= 0.0 and u.max() < 1.0 and uo.min() > 0.0 and uo.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    assert stats.kstest(e, "expon").pvalue > 1e-3


def test_open_uniform_ranks_split_the_draws_exactly():
    """open_uniform_rank(a) is the least rank whose uniform exceeds a (or reaches it): the integer
    comparisons of the Bernoulli counting loops count exactly what comparing the doubles counts."""
    top = 1 << 53
    thresholds = [0.0, 1e-300, rng.open_uniform(0), rng.open_uniform(1), 0.5, 1.0 / 3.0, 0.7310585786300049,
                  rng.open_uniform(top - 1), np.nextafter(1.0, 0.0), 1.0, 2.0, -1.0]
    for a in thresholds:
        for strict in (True, False):
            k = rng.open_uniform_rank(a, strict)
            assert 0 <= k <= top

            def passes(j, a=a, strict=strict):
                u = rng.open_uniform(j)
                return u > a if strict else u >= a

            if k < top:
                assert passes(k)
            if k > 0:
                assert not passes(k - 1)
    # a threshold equal to a draw: >= takes that draw, > starts after it
    j = 123456789
    assert rng.open_uniform_rank(rng.open_uniform(j), False) == j
    assert rng.open_uniform_rank(rng.open_uniform(j), True) == j + 1
    # the rank stream is the uniform stream
    s = rng.block_state(rng.run_key(3), 0)
    _, k = rng.next_open_rank(s)
    _, u = rng.next_double_open(s)
    assert rng.open_uniform(k) == u


@numba.njit
def _scalar_lanes(wide, steps):
    """Each lane of a wide stream stepped on its own by next_double_open: ``out[step, lane]``."""
    width = wide.shape[1]
    out = np.empty((steps, width))
    for lane in range(width):
        s = (wide[0, lane], wide[1, lane], wide[2, lane], wide[3, lane])
        for step in range(steps):
            s, out[step, lane] = rng.next_double_open(s)
    return out


_FILLS = {}


def _fill(width):
    if width not in _FILLS:
        intrinsic = wide_stream.wide_intrinsic(width)

        @numba.njit
        def fill(wide, out, steps):
            intrinsic(wide, out, steps)

        _FILLS[width] = fill
    return _FILLS[width]


@pytest.mark.parametrize("width", [4, wide_stream.WIDE])
def test_wide_stream_lanes_are_xoshiro_streams_bit_for_bit(width):
    first = np.array([rng.block_state(np.uint64(99), lane) for lane in range(width)], dtype=np.uint64).T.copy()
    wide = first.copy()
    out = np.full(7 * width * 3 + 5, -1.0)
    fill = _fill(width)
    fill(wide, out[:7 * width], 7)  # two calls continue one sequence; the rest of the buffer is untouched
    fill(wide, out[7 * width:], 14)
    expected = _scalar_lanes(first, 21)
    assert np.array_equal(out[:21 * width].reshape(21, width), expected)
    assert np.all(out[21 * width:] == -1.0)
    again = first.copy()
    fill(again, np.empty(21 * width), 21)
    assert np.array_equal(again, wide)  # the state advanced by exactly the steps drawn


def test_wide_state_is_keyed_by_one_draw_of_the_block_stream():
    s = tuple(np.uint64(w) for w in rng.block_state(rng.run_key(5), 3))  # Python ints above 2^63 would not pass
    after, wide = wide_stream.wide_state(s)
    s2, key = rng.next_u64(s)
    assert tuple(int(v) for v in after) == tuple(int(v) for v in s2)
    for lane in range(wide_stream.WIDE):
        assert [int(w) for w in wide[:, lane]] == [int(w) for w in rng.block_state(key, lane)]
    out = np.empty(wide_stream.WIDE * 4000)
    _fill(wide_stream.WIDE)(wide, out, 4000)
    assert 0.0 < out.min() and out.max() < 1.0
    assert stats.kstest(out, "uniform").pvalue > 1e-4
