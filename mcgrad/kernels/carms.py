"""CARMS (Dimitriev & Zhou 2021): antithetic multi-sample REINFORCE for D independent categoricals of K classes.

Per variable, n antithetic uniforms come from the Dirichlet copula of :mod:`mcgrad.kernels.arms` (w uniform on the
simplex, u_i = 1 - (1 - w_i)^(n-1)), and each u_i picks a class by the inverse CDF along an order of the classes
drawn uniformly from K(K-1)/2 orders: for a pair a < b, a first, b last, the other classes ascending between (so
every pair of distinct classes can be drawn together, whatever n).  With r(k, c) = theta_k theta_c / P(k, c) for
k != c (0 for k = c), P(k, c) the probability that two of the n draws are k and c (averaged over the orders),

    g = 1 / (n (n - 1)) sum_i sum_{j != i} r(b_i, b_j) (f_i - f_j) (e_{b_i} - theta),

each pair reweighted to the law of two independent draws, is unbiased: E[(e_{b_i} - theta) r (F(b_i) - F(b_j))]
= sum_{k,c} theta_k theta_c (e_k - theta)(F(k) - F(c)) = grad E f, F the conditional mean of f given the variable
(the other variables' draws are independent of this variable's).  P(k, c) is computed exactly once per launch in
the setup: in w-space an interval of u is (s(L), s(R)] with s(R) = 1 - (1 - R)^(1/(n-1)), the pair (w_i, w_j) has
the density m (m - 1) (1 - x - y)^(m-2) on x + y <= 1 (m = n - 1 >= 2; n = 2: w_j = 1 - w_i), and its integral
over a rectangle is taken in y analytically, m B^(m-1) (1 - (1 - beta/B)_+^(m-1)) with B = 1 - x - y0 and the
width beta (formed by expm1/log1p: no cancellation for narrow intervals), then in x by Gauss-Legendre, exact
for these polynomials of degree m - 1 (split where the truncation starts).  Interval widths in w-space are formed
the same way, from the class's probability, never as differences of thresholds.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import literally

from ._jit import jit
from .elementary import log_positive
from .moments import accumulate_sample, block_row, sample_sums
from .objectives import evaluate_vector
from .rng import next_double_open

SAMPLES = 0  # the options vector: [samples]
MAX_SAMPLES = 64


def _legendre_rules(most: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1]: row q holds the q-node rule (exact to degree 2q - 1)."""
    nodes, weights = np.zeros((most + 1, most)), np.zeros((most + 1, most))
    for q in range(1, most + 1):
        nodes[q, :q], weights[q, :q] = np.polynomial.legendre.leggauss(q)
    return nodes, weights


_GL_NODES, _GL_WEIGHTS = _legendre_rules(MAX_SAMPLES // 2)


@jit
def pair_orders(classes):
    """``(K(K-1)/2, K)`` class orders: row p for the p-th pair a < b (lexicographic) puts a first, b last and the
    other classes ascending between."""
    pairs = classes * (classes - 1) // 2
    order = np.empty((pairs, classes), np.int64)
    p = 0
    for a in range(classes):
        for b in range(a + 1, classes):
            order[p, 0] = a
            order[p, classes - 1] = b
            pos = 1
            for k in range(classes):
                if k != a and k != b:
                    order[p, pos] = k
                    pos += 1
            p += 1
    return order


@jit
def _w_intervals(theta_ordered, m):
    """Start and width in w-space of each class's u-interval (L, R] along an order: s(R) = 1 - (1 - R)^(1/m),
    with 1 - R the mass after the class (a sum, no cancellation) and the width
    (1 - L)^(1/m) (1 - (1 - theta/(1 - L))^(1/m)) by expm1/log1p."""
    classes = theta_ordered.shape[0]
    start = np.empty(classes)
    width = np.empty(classes)
    tail = 0.0
    tails = np.empty(classes + 1)  # tails[pos] = mass from pos on = 1 - L
    tails[classes] = 0.0
    for pos in range(classes - 1, -1, -1):
        tail += theta_ordered[pos]
        tails[pos] = tail
    for pos in range(classes):
        before = tails[pos]
        root = math.exp(math.log(before) / m) if before > 0.0 else 0.0
        start[pos] = 1.0 - root
        ratio = theta_ordered[pos] / before if before > 0.0 else 1.0
        width[pos] = root * -math.expm1(math.log1p(-ratio) / m) if ratio < 1.0 else root
    return start, width


@jit
def _strip(x, y0, beta, m):
    """int_{y0}^{y0+beta} m (m-1) (1 - x - y)_+^(m-2) dy = m B^(m-1) (1 - (1 - beta/B)_+^(m-1)), B = 1 - x - y0."""
    big = 1.0 - x - y0
    if big <= 0.0:
        return 0.0
    head = m * math.exp((m - 1.0) * math.log(big))
    if beta >= big:
        return head
    return head * -math.expm1((m - 1.0) * math.log1p(-beta / big))


@jit
def _rectangle(x0, alpha, y0, beta, m, nodes, weights, count):
    """P(w_i in (x0, x0 + alpha], w_j in (y0, y0 + beta]) for m = n - 1 >= 2, by Gauss-Legendre in x over the
    pieces where the strip integral is one polynomial (the truncation sets in at x = 1 - y0 - beta)."""
    end = min(x0 + alpha, 1.0 - y0)
    if end <= x0:
        return 0.0
    kink = 1.0 - y0 - beta
    total = 0.0
    for piece in range(2):
        lo = x0 if piece == 0 else max(x0, kink)
        hi = min(end, kink) if piece == 0 else end
        if hi <= lo:
            continue
        half = 0.5 * (hi - lo)
        mid = 0.5 * (hi + lo)
        for q in range(count):
            total += weights[q] * half * _strip(mid + half * nodes[q], y0, beta, m)
    return total


@jit
def _line(x0, alpha, y0, beta):
    """n = 2: w_j = 1 - w_i, so P = |(x0, x0 + alpha] intersected with [1 - y0 - beta, 1 - y0)|."""
    return max(0.0, min(x0 + alpha, 1.0 - y0) - max(x0, 1.0 - y0 - beta))


@jit
def carms_setup(params, options):
    """Per variable d the row ``[theta (K) | w-thresholds per order (P K) | r (K K)]``, P = K(K-1)/2: theta =
    softmax(logits[d]), the w-value up to which each position of each order reaches (inf for the last), and the
    pair weights r(k, c) = theta_k theta_c / P(k, c) (0 on the diagonal)."""
    dim, classes = params.shape
    samples = int(options[SAMPLES])
    m = samples - 1.0
    pairs = classes * (classes - 1) // 2
    order = pair_orders(classes)
    count = max(1, samples // 2)  # q nodes are exact to degree 2q - 1 >= m - 1 = n - 2
    nodes, weights = _GL_NODES[count], _GL_WEIGHTS[count]
    out = np.zeros((dim, classes + pairs * classes + classes * classes))
    for d in range(dim):
        top = params[d].max()
        theta = np.exp(params[d] - top)
        theta /= theta.sum()
        out[d, :classes] = theta
        joint = np.zeros((classes, classes))
        for p in range(pairs):
            ordered = theta[order[p]]
            start, width = _w_intervals(ordered, m)
            for pos in range(classes):
                out[d, classes + p * classes + pos] = start[pos] + width[pos] if pos < classes - 1 else np.inf
            for i in range(classes):
                for j in range(classes):
                    if i == j:
                        continue
                    if samples == 2:
                        value = _line(start[i], width[i], start[j], width[j])
                    else:
                        value = _rectangle(start[i], width[i], start[j], width[j], m, nodes, weights, count)
                    joint[order[p, i], order[p, j]] += value / pairs
        base = classes + pairs * classes
        for k in range(classes):
            for c in range(classes):
                if k != c and joint[k, c] > 0.0:  # a pair of probability 0 in floating point is never drawn
                    out[d, base + k * classes + c] = theta[k] * theta[c] / joint[k, c]
    return out


@jit
def _block(user_path, logits, factor, samples, code, p, user, tables, s, m, row, count_nonfinite):
    """One block of CARMS with ``samples`` = n draws per variable; returns the non-finite count."""
    literally(user_path)
    dim, classes = logits.shape
    pairs = classes * (classes - 1) // 2
    base = classes + pairs * classes
    order = pair_orders(classes)
    e = np.empty(samples)
    drawn = np.zeros((samples, dim), np.int64)
    x = np.zeros((samples, dim * classes))
    for i in range(samples):
        for d in range(dim):
            x[i, d * classes] = 1.0
    values = np.empty(samples)
    grad = np.empty(dim * classes)
    width = dim * classes
    g, acc, shift = sample_sums(width, row.shape[0])
    inv_pairs_count = 1.0 / (samples * (samples - 1.0))
    bad = 0
    for t in range(m):
        for d in range(dim):
            s, u = next_double_open(s)
            perm = min(int(u * pairs), pairs - 1)
            total = 0.0
            for i in range(samples):
                s, u = next_double_open(s)
                e[i] = -log_positive(u)
                total += e[i]
            cuts = classes + perm * classes
            for i in range(samples):
                w = e[i] / total
                pos = 0
                while w > tables[d, cuts + pos]:
                    pos += 1
                k = order[perm, pos]
                x[i, d * classes + drawn[i, d]] = 0.0
                drawn[i, d] = k
                x[i, d * classes + k] = 1.0
        for i in range(samples):
            values[i] = evaluate_vector(user_path, code, p, user, classes, x[i], grad)
        for c in range(width):
            g[c] = 0.0
        for d in range(dim):
            for i in range(samples):
                k = drawn[i, d]
                weight = 0.0
                for j in range(samples):
                    if j != i:
                        weight += tables[d, base + k * classes + drawn[j, d]] * (values[i] - values[j])
                weight *= inv_pairs_count
                if weight != 0.0:
                    for c in range(classes):
                        g[d * classes + c] -= weight * tables[d, c]
                    g[d * classes + k] += weight
        for c in range(width):
            g[c] *= factor[c]
        bad += accumulate_sample(acc, shift, g, t == 0, count_nonfinite)
    block_row(acc.T, shift, m, row)
    return bad


@functools.cache
def block(user_path: int):
    """The CARMS block function (:data:`~mcgrad.kernels.driver.BLOCK_SIGNATURE`) for a user objective
    (``user_path`` 1) or a built-in (0); ``params`` the logits (D, K), options [samples], ``tables`` from
    :func:`carms_setup`."""

    @jit
    def carms_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, counting):
        return _block(user_path, params, extra, np.int64(options[SAMPLES]), code, p, user, tables, s, m, row,
                      counting), 0

    return carms_block
