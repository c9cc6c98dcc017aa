import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import two_pass_variance

from mcgrad.accumulator import Accumulator
from mcgrad.kernels import moments
from mcgrad.kernels.lanes import lane_groups_intrinsic


def _rows(x, block_size):
    x = np.ascontiguousarray(x.reshape(len(x), -1))
    nb = -(-len(x) // block_size)
    rows = np.empty((nb, x.shape[1], moments.ROW))
    moments.array_block_rows(x, block_size, rows)
    return rows


@pytest.mark.parametrize("batches", [[256, 256, 100], [12] * 50 + [7], [1, 15, 33, 64, 3, 500]])
def test_lane_sums_match_numpy_central_moments(batches):
    """add_lanes over batches of any size (aligned to the lanes or not), then lanes_row."""
    x = np.random.default_rng(1).gamma(2.0, size=sum(batches)) * 3.0 + 7.0
    sums = np.zeros((1, 4, moments.LANES))
    shift = np.array([x[0]])
    start = 0
    for size in batches:
        moments.add_lanes(sums, shift, x[start:start + size].reshape(1, size), size, size, start)
        start += size
    row = np.empty((1, moments.ROW))
    moments.lanes_row(sums, shift, len(x), row)
    centred = x - x.mean()
    assert row[0, 0] == len(x)
    np.testing.assert_allclose(row[0, 1], x.mean(), rtol=1e-13)
    for k in (2, 3, 4):
        np.testing.assert_allclose(row[0, k], (centred**k).sum(), rtol=1e-10)


def test_block_rows_match_numpy_central_moments():
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, size=(10_000, 3)) * np.array([1.0, 10.0, 0.1]) + np.array([0.0, 5.0, -3.0])
    rows = _rows(x, 4096)
    acc = Accumulator(3)
    acc.push_rows(rows)
    total = acc.total()
    centred = x - x.mean(axis=0)
    np.testing.assert_allclose(total[:, 0], len(x))
    np.testing.assert_allclose(total[:, 1], x.mean(axis=0), rtol=1e-13)
    for k in (2, 3, 4):
        np.testing.assert_allclose(total[:, k], (centred**k).sum(axis=0), rtol=1e-10)


def test_large_mean_small_spread_variance_accuracy():
    # 1e8 samples of 1e4 + 1e-3 z: naive E[x^2] - E[x]^2 loses every digit; the shifted,
    # merged sums must keep the variance to 1e-12 relative.
    block, per_chunk, chunks = 1 << 16, 96 * (1 << 16), 16  # ~1.0e8 samples

    def data():
        gen = np.random.default_rng(123)
        for _ in range(chunks):
            yield 1e4 + 1e-3 * gen.standard_normal(per_chunk)

    acc = Accumulator(1)
    for c in data():
        acc.push_rows(_rows(c, block))
    n, mean, m2 = acc.total()[0, :3]
    assert n == chunks * per_chunk
    ref_mean, ref_var = two_pass_variance(data)
    assert abs(mean - ref_mean) <= 1e-15 * abs(ref_mean) * 10
    assert abs(m2 / (n - 1) - ref_var) <= 1e-12 * ref_var


@pytest.mark.parametrize("splits", [[0, 7, 20], [0, 1, 2, 3, 20], [0, 13, 14, 20], [0, 5, 6, 7, 8, 16, 20]])
def test_split_and_merged_ranges_are_bitwise_identical(splits):
    rng = np.random.default_rng(5)
    rows = _rows(rng.standard_normal((20 * 257, 2)) * 3 + 1, 257)
    whole = Accumulator(2)
    whole.push_rows(rows)
    pieces = []
    for a, b in zip(splits[:-1], splits[1:], strict=True):
        part = Accumulator(2, a)
        part.push_rows(rows[a:b])
        pieces.append(part)
    merged = pieces[0]
    for p in pieces[1:]:
        merged = merged.merge(p)
    assert merged.count == whole.count
    assert np.array_equal(merged.total(), whole.total())
    # merging in a different grouping (right-assoc) reaches the same nodes too
    right = pieces[-1]
    for p in reversed(pieces[:-1]):
        right = p.merge(right)
    assert np.array_equal(right.total(), whole.total())


def test_merge_refuses_non_adjacent_ranges():
    a = Accumulator(1, 0)
    a.push_rows(np.array([[[10.0, 0.0, 1.0, 0.0, 1.0]]]))
    b = Accumulator(1, 2)
    b.push_rows(np.array([[[10.0, 0.0, 1.0, 0.0, 1.0]]]))
    with pytest.raises(ValueError, match="adjacent"):
        a.merge(b)


def test_state_stays_logarithmic():
    acc = Accumulator(1)
    row = np.array([[[1.0, 0.5, 0.0, 0.0, 0.0]]])
    for _ in range(5000):
        acc.push_rows(row)
    assert acc.count == bin(5000).count("1")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=6), st.integers(0, 2**32 - 1))
def test_any_split_merges_bitwise(sizes, seed):
    rng = np.random.default_rng(seed)
    total = sum(sizes)
    rows = _rows(rng.standard_normal((total * 33, 1)) * rng.uniform(0.1, 10) + rng.uniform(-50, 50), 33)
    whole = Accumulator(1)
    whole.push_rows(rows)
    merged, start = None, 0
    for size in sizes:
        part = Accumulator(1, start)
        part.push_rows(rows[start:start + size])
        merged = part if merged is None else merged.merge(part)
        start += size
    assert np.array_equal(merged.total(), whole.total())


@numba.njit
def _scalar_lane_sums(sums, values, row, first, groups, shift):
    """The loop :func:`mcgrad.kernels.lanes.add_lane_groups` replaces, written out with add_powers."""
    for g in range(groups):
        for lane in range(moments.LANES):
            v = values[row, first + g * moments.LANES + lane] - shift
            sums[1, 0, lane], sums[1, 1, lane], sums[1, 2, lane], sums[1, 3, lane] = moments.add_powers(
                sums[1, 0, lane], sums[1, 1, lane], sums[1, 2, lane], sums[1, 3, lane], v)


def _vector_lane_sums(width):
    """The lane intrinsic at ``width`` doubles per vector, on component 1."""
    add = lane_groups_intrinsic(width)

    @numba.njit
    def run(sums, values, row, first, groups, shift):
        add(sums, 1, values, row, first, groups, shift)

    return run


_VECTOR_LANE_SUMS = {width: _vector_lane_sums(width) for width in (4, 8)}


@pytest.mark.parametrize("width", [4, 8])
@pytest.mark.parametrize("groups,first,row", [(0, 0, 0), (1, 0, 1), (3, 5, 2), (16, 16, 0), (7, 1, 1)])
def test_vector_lane_sums_are_the_scalar_loops_bit_for_bit(groups, first, row, width):
    """The LLVM-IR loop keeps each lane's sums in registers; its sums must be the scalar loop's exactly,
    non-finite and huge values included, and it must not touch anything outside its groups."""
    rng = np.random.default_rng(groups * 31 + first)
    values = rng.standard_normal((3, 16 * 17 + 7)) * np.exp(rng.uniform(-30, 30, (3, 16 * 17 + 7)))
    values[0, 20] = np.nan
    values[1, 40] = np.inf
    values[2, 33] = -1e300
    start = rng.standard_normal((3, 4, moments.LANES))  # the sums of component 1 only may change
    expected, got = start.copy(), start.copy()
    shift = values[row, first]
    _scalar_lane_sums(expected, values, row, first, groups, shift)
    _VECTOR_LANE_SUMS[width](got, values, row, first, groups, shift)
    assert expected.tobytes() == got.tobytes()
    if groups == 0:
        assert got.tobytes() == start.tobytes()
