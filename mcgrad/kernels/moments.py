"""Streaming moments: per-block shifted power sums and their ordered, canonical merge.

Within a block every gradient component keeps the power sums ``S_k = sum (g - c)^k`` for
``k = 1..4`` around the block's first value ``c``; at the end of the block they become the
central summary ``(n, mean, M2, M3, M4)`` with ``M_k = sum (g - mean)^k``.

Blocks are merged with the pairwise formulas of Chan et al. (1979) and Pébay (2008) along a
fixed binary tree over block indices: a run's state is the list of complete, aligned dyadic
nodes ``[a, a + 2^l)`` that cover its blocks (no two adjacent nodes are siblings).  Pushing
blocks one at a time, or merging the states of adjacent block ranges, reaches the same
nodes with the same values, so the merged result is bitwise identical however a run is
split -- over threads, calls, processes or machines -- and the state holds O(log n) nodes.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit
from .lanes import LANES, add_lane_groups

ROW = 5  # n, mean, M2, M3, M4
ROUND = 1024  # samples per round of a D = 1 loop: drawn one by one, then processed by vector loops
NODE_CAPACITY = 130  # two aligned nodes per level at most, 64 levels


@jit(inline=True)
def add_powers(s1, s2, s3, s4, d):
    """Power sums ``(s1 + d, s2 + d^2, s3 + d^3, s4 + d^4)``; scalar form for register-resident loops."""
    d2 = d * d
    return s1 + d, s2 + d2, s3 + d2 * d, s4 + d2 * d2


@jit
def paired_components(extra):
    """W with W (W - 1) = ``extra``: how many leading components a row's ``extra`` pair rows cover (0 for none).

    Notes
    -----
    A run that streams the covariance of W gradient components appends, after its own rows, the values
    g_i + g_j of every pair i < j (in the order (0, 1), (0, 2), ..., (W - 2, W - 1)) and then g_i - g_j
    of the same pairs: W (W - 1) rows summarised like any component.  Their central moments give the
    co-moments by polarisation, sum (y_i y_j) = (M2(g_i + g_j) - M2(g_i - g_j)) / 4, and
    sum y_i^2 y_j^2 = (M4(g_i + g_j) + M4(g_i - g_j) - 2 M4(g_i) - 2 M4(g_j)) / 12 with y = g - mean;
    being linear in g they merge across blocks exactly like the components (see ``mcgrad.results``).
    """
    if extra == 0:
        return 0
    w = int((1.0 + math.sqrt(1.0 + 4.0 * extra)) / 2.0 + 0.5)
    return w if w * (w - 1) == extra else -1


@jit
def sample_sums(width, total):
    """Work arrays of a per-sample loop over ``width`` components whose block row has ``total`` rows (more
    than ``width``: pair rows follow, :func:`paired_components`): ``(g, acc, shift)`` -- one sample's values,
    the block's power sums laid out for :func:`accumulate_sample`, and their shifts."""
    return np.empty(width), np.zeros((4, total)), np.empty(total)


@jit
def lane_sums(total):
    """Work arrays of a batch-wise loop whose block row has ``total`` rows (its components, then any pair rows,
    :func:`paired_components`): ``(acc, shift)`` -- the power sums in ``LANES`` lanes, ``acc[c, power, lane]``, as
    :func:`add_lanes` and :func:`lanes_row` take them, and their shifts."""
    return np.zeros((total, 4, LANES)), np.zeros(total)


@jit(inline=True)
def accumulate_sample(acc, shift, g, first, count_nonfinite):
    """Add one sample's components ``g`` to the block's power sums ``acc[0..3, c]`` (``first``: take it as the shift).

    ``acc`` is laid out (4, components) so the update is one loop over contiguous rows that the
    compiler vectorises; hand ``acc.T`` to :func:`block_row`.  Inlined at IR level and calling only
    scalar functions: a per-component call taking the arrays cost an atomic reference-count update
    per component (the array loops' main cost before).  Returns 1 when ``count_nonfinite`` is set
    and a component is NaN or infinite, else 0.
    """
    if first:
        for c in range(g.shape[0]):
            shift[c] = g[c]
    for c in range(g.shape[0]):
        acc[0, c], acc[1, c], acc[2, c], acc[3, c] = add_powers(acc[0, c], acc[1, c], acc[2, c], acc[3, c],
                                                                g[c] - shift[c])
    # the covariance's pair rows (paired_components): a loop of no iterations when there are none -- a branch to a
    # call here cost 15% of the Normal D = 3 loop even untaken
    base = g.shape[0]
    half = (acc.shape[1] - base) // 2
    w = paired_components(2 * half) if half > 0 else 0
    i = 0
    j = 1
    for q in range(half):
        plus = g[i] + g[j]
        minus = g[i] - g[j]
        if first:
            shift[base + q] = plus
            shift[base + half + q] = minus
        c = base + q
        acc[0, c], acc[1, c], acc[2, c], acc[3, c] = add_powers(acc[0, c], acc[1, c], acc[2, c], acc[3, c],
                                                                plus - shift[c])
        c = base + half + q
        acc[0, c], acc[1, c], acc[2, c], acc[3, c] = add_powers(acc[0, c], acc[1, c], acc[2, c], acc[3, c],
                                                                minus - shift[c])
        j += 1
        if j == w:
            i += 1
            j = i + 1
    if count_nonfinite:
        for c in range(g.shape[0]):
            if not math.isfinite(g[c]):
                return 1
    return 0


@jit
def pair_row(sums0, sums1, shift0, shift1, n, out):
    """:func:`block_row` for two components whose power sums were kept as scalar 4-tuples."""
    acc = np.array([[sums0[0], sums0[1], sums0[2], sums0[3]], [sums1[0], sums1[1], sums1[2], sums1[3]]])
    block_row(acc, np.array([shift0, shift1]), n, out)


@jit(inline=True)
def add_lanes(acc, shift, values, segment, count, start):
    """:func:`add_component_lanes` for the batch's components, then, when ``acc`` has more rows than there are
    components, for their pair rows (:func:`paired_components`) formed from the batch's values."""
    rows = values.shape[0]
    width = rows * (values.shape[1] // segment)
    add_component_lanes(acc, shift, values, segment, count, start)
    if acc.shape[0] == width:
        return
    half = (acc.shape[0] - width) // 2
    w = paired_components(acc.shape[0] - width)
    pairs = np.empty((2 * half, max(count, 1)))
    p = 0
    for a in range(w):
        ra, qa = a % rows, (a // rows) * segment
        for b in range(a + 1, w):
            rb, qb = b % rows, (b // rows) * segment
            for i in range(count):
                x = values[ra, qa + i]
                y = values[rb, qb + i]
                pairs[p, i] = x + y
                pairs[half + p, i] = x - y
            p += 1
    add_component_lanes(acc[width:], shift[width:], pairs, pairs.shape[1], count, start)


@jit(inline=True)
def add_component_lanes(acc, shift, values, segment, count, start):
    """Add a batch -- samples ``start .. start + count - 1`` of a block -- to per-lane power sums.

    ``values[r, q segment + i]`` is component ``c = q R + r`` of the batch's sample i (R rows, one
    segment of ``segment`` columns per group of R components).  ``acc[c, power, lane]`` = sum
    (value - shift_c)^(power+1) over the samples whose block index is ``lane`` mod LANES; the block's
    first sample becomes ``shift[c]``.  When ``start`` is a multiple of LANES the full groups run as
    one loop without carried dependencies (vectorised); other batches go sample by sample.  The lane
    of a sample never depends on how the block was batched; :func:`lanes_row` adds the lanes in order.
    One call per batch: a call per component cost 7-15% of the Categorical kernels in
    reference-count updates (measured).
    """
    rows = values.shape[0]
    grouped = count - count % LANES if start % LANES == 0 else 0  # samples taken group by group
    for q in range(values.shape[1] // segment):
        for r in range(rows):
            c = q * rows + r
            first = q * segment
            if start == 0:
                shift[c] = values[r, first]
            sh = shift[c]
            add_lane_groups(acc, c, values, r, first, grouped // LANES, sh)
            for i in range(grouped, count):
                lane = (start + i) % LANES
                acc[c, 0, lane], acc[c, 1, lane], acc[c, 2, lane], acc[c, 3, lane] = add_powers(
                    acc[c, 0, lane], acc[c, 1, lane], acc[c, 2, lane], acc[c, 3, lane], values[r, first + i] - sh)


@jit(inline=True)
def add_round(acc, shift, values, count, start, count_nonfinite):
    """:func:`add_lanes` for one round of a D = 1 loop: ``values[r, i]`` is component r of the round's sample i
    (i < ``count``; a row is one round, whatever its length), samples ``start ..`` of the block.  Returns, when
    ``count_nonfinite`` is set, how many of the round's samples have a NaN or infinite component (else 0)."""
    add_lanes(acc, shift, values, values.shape[1], count, start)
    bad = 0
    if count_nonfinite:
        for i in range(count):
            finite = True
            for r in range(values.shape[0]):
                finite = finite and math.isfinite(values[r, i])
            bad += 0 if finite else 1
    return bad


@jit
def lanes_row(acc, shift, n, out):
    """:func:`block_row` for power sums kept in ``LANES`` interleaved lanes, ``acc[c, power, lane]``.

    The lanes are added in order 0, 1, ..., LANES - 1, so the result depends only on the block.
    """
    width = acc.shape[0]
    sums = np.zeros((width, 4))
    for c in range(width):
        for q in range(4):
            total = 0.0
            for lane in range(acc.shape[2]):
                total += acc[c, q, lane]
            sums[c, q] = total
    block_row(sums, shift, n, out)


@jit
def block_row(acc, shift, n, out):
    """Turn shifted power sums of ``n`` values into central summaries ``out[c] = (n, mean, M2, M3, M4)``."""
    for c in range(acc.shape[0]):
        s1 = acc[c, 0] / n
        s2 = acc[c, 1]
        s3 = acc[c, 2]
        s4 = acc[c, 3]
        out[c, 0] = n
        out[c, 1] = shift[c] + s1
        out[c, 2] = s2 - n * s1 * s1
        out[c, 3] = s3 - 3.0 * s1 * s2 + 2.0 * n * s1 * s1 * s1
        out[c, 4] = s4 - 4.0 * s1 * s3 + 6.0 * s1 * s1 * s2 - 3.0 * n * s1 * s1 * s1 * s1


@jit
def merge_rows(a, b, out):
    """Pébay's pairwise merge of central summaries, component by component (``out`` may alias ``a``)."""
    for c in range(a.shape[0]):
        na = a[c, 0]
        nb = b[c, 0]
        if nb == 0.0:
            for k in range(ROW):
                out[c, k] = a[c, k]
            continue
        if na == 0.0:
            for k in range(ROW):
                out[c, k] = b[c, k]
            continue
        n = na + nb
        delta = b[c, 1] - a[c, 1]
        d_n = delta / n
        d_n2 = d_n * d_n
        m2a = a[c, 2]
        m2b = b[c, 2]
        m3a = a[c, 3]
        m3b = b[c, 3]
        nab = na * nb
        out[c, 4] = (
            a[c, 4] + b[c, 4]
            + delta * d_n2 * d_n * nab * (na * na - nab + nb * nb)
            + 6.0 * d_n2 * (na * na * m2b + nb * nb * m2a)
            + 4.0 * d_n * (na * m3b - nb * m3a)
        )
        out[c, 3] = m3a + m3b + delta * d_n2 * nab * (na - nb) + 3.0 * d_n * (na * m2b - nb * m2a)
        out[c, 2] = m2a + m2b + delta * d_n * nab
        out[c, 1] = a[c, 1] + d_n * nb
        out[c, 0] = n


@jit
def push_node(starts, levels, values, count, start, level, value):
    """Append the node ``[start, start + 2^level)`` and collapse sibling pairs; return the new count."""
    starts[count] = start
    levels[count] = level
    for c in range(value.shape[0]):  # element by element: an array assignment compiles a shape check that
        for k in range(ROW):  # raises with a formatted message, seconds of cold compile
            values[count, c, k] = value[c, k]
    count += 1
    while count >= 2:
        lvl = levels[count - 1]
        left = starts[count - 2]
        if levels[count - 2] != lvl or left % (np.int64(2) << lvl) != 0:
            break
        if starts[count - 1] != left + (np.int64(1) << lvl):
            break
        merge_rows(values[count - 2], values[count - 1], values[count - 2])
        levels[count - 2] = lvl + 1
        count -= 1
    return count


@jit
def push_blocks(starts, levels, values, count, first_block, rows):
    """Push consecutive block rows ``rows[j]`` (block ``first_block + j``) as leaves; return the count."""
    for j in range(rows.shape[0]):
        count = push_node(starts, levels, values, count, first_block + j, 0, rows[j])
    return count


@jit
def fold_nodes(values, count, out):
    """Merge the first ``count`` nodes left to right into ``out`` (the run's total summary)."""
    for c in range(out.shape[0]):
        for k in range(ROW):
            out[c, k] = values[0, c, k]
    for i in range(1, count):
        merge_rows(out, values[i], out)


@jit
def array_block_rows(x, block_size, rows):
    """Central summaries of consecutive blocks of a 2-D array ``x[sample, component]``.

    The same arithmetic the sampling kernels use, for data that already sits in memory.
    """
    n = x.shape[0]
    g, acc, shift = sample_sums(x.shape[1], rows.shape[1])
    for j in range(rows.shape[0]):
        lo = j * block_size
        hi = min(lo + block_size, n)
        acc[:] = 0.0
        for i in range(lo, hi):
            for c in range(g.shape[0]):
                g[c] = x[i, c]
            accumulate_sample(acc, shift, g, i == lo, False)
        block_row(acc.T, shift, hi - lo, rows[j])
