"""Categorical kernels: Gumbel-max sampling, the Concrete relaxation and every estimator, batch by batch.

D independent categoricals of K classes, theta = softmax(l) per variable (notation of
:mod:`mcgrad.kernels.discrete`).  A block is processed in batches of C samples.  Every quantity of
a batch sits in a class-major array ``a[k, d C + j]`` (row = class k, column = variable d of sample
j), so each step is one loop over a contiguous row that the compiler vectorises: the logarithms of
the Gumbel draws, the running argmax, the softmax exponentials and normalisation, built-in
objectives and their gradients, the softmax backward pass and the power sums.  Only the stream
draws (serial by nature) and user functions (called once per sample with the sample's D K vector)
go sample by sample.

Stream use per batch, in this order: ``score``, ``reinmax``, ``gapped_straight_through``, ``gumbel_rao`` and
``sum_and_sample`` draw one uniform per variable and sample (inverse CDF), ``sum_and_sample`` then one more
per variable and sample for its draw from the classes it does not sum; the other estimators draw C D K
uniforms for the Gumbels, then ``rebar`` and ``relax`` draw C D K more for the exponentials of the
conditional resample; each group in sample-major, then variable, then class order.  ``gumbel_rao`` keys a
wide stream (:mod:`mcgrad.kernels.wide_stream`) with the first draw of each block, before any other, and fills
from it, per batch and conditional draw, the C' K uniforms of its conditional exponentials (C' = D C, whole
batches even when the last one is short) in class-major order, ``WIDE`` lanes at a time.  So
gumbel_softmax, straight_through, rebar and relax see the same Gumbels, and score, reinmax,
gapped_straight_through, gumbel_rao and sum_and_sample the same outcomes.  C = max(1, 2048 // (D K)),
rounded down to a multiple of ``LANES`` when at least that.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import literally, prange

from . import carms
from ._jit import jit
from .discrete import (
    CARMS,
    GAPPED_STRAIGHT_THROUGH,
    GUMBEL_RAO,
    GUMBEL_SOFTMAX,
    REBAR,
    REINMAX,
    RELAX,
    SCORE,
    STRAIGHT_THROUGH,
    SUM_AND_SAMPLE,
    UNORDERED_SET,
    complements,
    log_softmax,
    relaxation,
)
from .elementary import exp_nonpositive, log_positive
from .moments import LANES, add_lanes, lane_sums, lanes_row
from .objectives import USER, batch_objective, batch_user
from .rng import block_state, next_double_open
from .wide_stream import WIDE, fill_open_uniforms, wide_state

_BATCH_ENTRIES = 2048  # C D K per batch: long vector loops whose work arrays stay in the first cache levels


@jit
def batch_samples(width):
    """C, the samples per batch for a D K = ``width`` outcome."""
    chunk = max(1, _BATCH_ENTRIES // width)
    return chunk - chunk % LANES if chunk >= LANES else chunk


@jit
def _tables(logits, factor, chunk):
    """Per-block constants repeated over a batch's columns: log theta, theta, 1 - theta (as a sum of
    the other classes, exact when theta ~ 1), 1 / theta, the chain factor, and the per-variable CDF."""
    dim, classes = logits.shape
    log_theta = np.empty((dim, classes))
    log_softmax(logits, log_theta)
    theta = np.exp(log_theta)
    rest = complements(theta)
    cdf = np.empty((dim, classes))
    for d in range(dim):
        total = 0.0
        for k in range(classes):
            total += theta[d, k]
            cdf[d, k] = total
    cols = dim * chunk
    tables = np.empty((5, classes, cols))
    for k in range(classes):
        for d in range(dim):
            for j in range(chunk):
                col = d * chunk + j
                tables[0, k, col] = log_theta[d, k]
                tables[1, k, col] = theta[d, k]
                tables[2, k, col] = rest[d, k]
                tables[3, k, col] = 1.0 / theta[d, k]
                tables[4, k, col] = factor[d * classes + k]
    return tables, cdf


@jit
def _draw_uniforms(s, u, chunk, count):
    """``u[k, d C + j]`` for samples j < count, drawn sample by sample, variable by variable, class by class."""
    classes = u.shape[0]
    dim = u.shape[1] // chunk
    for j in range(count):
        for d in range(dim):
            col = d * chunk + j
            for k in range(classes):
                s, u[k, col] = next_double_open(s)
    return s


@jit
def _draw_inverse_cdf(s, cdf, chunk, count, best):
    """Score's outcomes: ``best[d C + j]`` by inverse CDF from one uniform per variable and sample."""
    dim, classes = cdf.shape
    for j in range(count):
        for d in range(dim):
            s, u = next_double_open(s)
            u *= cdf[d, classes - 1]
            k = 0
            for i in range(classes - 1):  # the first k with u < cdf[k], counted without a branch
                k += u >= cdf[d, i]
            best[d * chunk + j] = k
    return s


@jit
def _gumbel_perturb(z, log_theta):
    """Uniforms to perturbed logits in place: z = log theta + G, G = -log(-log u)."""
    for k in range(z.shape[0]):
        zk = z[k]
        lk = log_theta[k]
        for col in range(zk.shape[0]):
            zk[col] = lk[col] - log_positive(-log_positive(zk[col]))


@jit
def _argmax(z, best, top):
    """``best[col] = argmax_k z[k, col]`` (the first on ties) and ``top[col]`` its value."""
    z0 = z[0]
    for col in range(z.shape[1]):
        top[col] = z0[col]
        best[col] = 0
    for k in range(1, z.shape[0]):
        zk = z[k]
        for col in range(z.shape[1]):
            up = zk[col] > top[col]
            top[col] = zk[col] if up else top[col]
            best[col] = k if up else best[col]


@jit
def _one_hot(best, out):
    """``out[k, col] = [best[col] = k]``."""
    for k in range(out.shape[0]):
        ok = out[k]
        for col in range(out.shape[1]):
            ok[col] = 1.0 if best[col] == k else 0.0


@jit
def _softmax(z, top, inv_lam, out, total):
    """``out[:, col] = softmax(z[:, col] / lam)``, shifted by ``top[col] = max_k z[k, col]``."""
    total[:] = 0.0
    for k in range(z.shape[0]):
        zk = z[k]
        ok = out[k]
        for col in range(z.shape[1]):
            e = exp_nonpositive((zk[col] - top[col]) * inv_lam)
            ok[col] = e
            total[col] += e
    for col in range(z.shape[1]):
        total[col] = 1.0 / total[col]
    for k in range(z.shape[0]):
        ok = out[k]
        for col in range(z.shape[1]):
            ok[col] *= total[col]


@jit
def _softmax_backward(soft, grad, scale, out, dot, add=False):
    """``out = scale J^T grad`` per column (``add``: ``out += ...``), J = d softmax(z / lam) / dz:
    ``out_k = scale soft_k (grad_k - sum_i grad_i soft_i)`` (``scale`` includes 1 / lam)."""
    dot[:] = 0.0
    for k in range(soft.shape[0]):
        sk = soft[k]
        gk = grad[k]
        for col in range(soft.shape[1]):
            dot[col] += gk[col] * sk[col]
    for k in range(soft.shape[0]):
        sk = soft[k]
        gk = grad[k]
        ok = out[k]
        if add:
            for col in range(soft.shape[1]):
                ok[col] += scale * sk[col] * (gk[col] - dot[col])
        else:
            for col in range(soft.shape[1]):
                ok[col] = scale * sk[col] * (gk[col] - dot[col])


@jit
def _reinmax_backward(pi1, theta, grad, out, dot, dot0):
    """ReinMax's ``out = (2 J(pi1) - J(theta) / 2)^T grad`` per column, J(pi) = diag(pi) - pi pi^T:
    ``out_k = 2 pi1_k (grad_k - <pi1, grad>) - theta_k (grad_k - <theta, grad>) / 2``."""
    dot[:] = 0.0
    dot0[:] = 0.0
    for k in range(pi1.shape[0]):
        for col in range(pi1.shape[1]):
            dot[col] += grad[k, col] * pi1[k, col]
            dot0[col] += grad[k, col] * theta[k, col]
    for k in range(pi1.shape[0]):
        for col in range(pi1.shape[1]):
            gk = grad[k, col]
            out[k, col] = 2.0 * pi1[k, col] * (gk - dot[col]) - 0.5 * theta[k, col] * (gk - dot0[col])


@jit
def _gapped(log_theta, best, peak, gap, z):
    """Gapped straight-through's deterministic perturbation of the logits given the outcome, in place of the
    Gumbels: ``z[b] = peak`` (the largest log theta of the variable) and ``z[k] = min(log theta_k, peak - gap)``."""
    for k in range(z.shape[0]):
        lk = log_theta[k]
        zk = z[k]
        for col in range(z.shape[1]):
            zk[col] = peak[col] if best[col] == k else min(lk[col], peak[col] - gap)


@jit
def _tempered(logits, inv_lam, chunk):
    """softmax(l / lam) per variable, repeated over a batch's columns like :func:`_tables`."""
    dim, classes = logits.shape
    scaled = np.empty((dim, classes))
    log_softmax(logits * inv_lam, scaled)
    out = np.empty((classes, dim * chunk))
    for k in range(classes):
        for d in range(dim):
            value = math.exp(scaled[d, k])
            for j in range(chunk):
                out[k, d * chunk + j] = value
    return out


@jit
def _ranked(logits, summed):
    """sum_and_sample's per-variable tables: ``order[d]`` the classes by decreasing theta (the first on ties),
    ``theta`` itself, and ``cdf[d, i]`` (i >= summed) the running mass of order[d, summed], ..., order[d, i]:
    the inverse-CDF table of the classes not summed, whose total ``cdf[d, K - 1]`` is 1 - theta(summed) formed
    as a sum of their own masses (no cancellation when the summed classes hold almost all of it)."""
    dim, classes = logits.shape
    log_theta = np.empty((dim, classes))
    log_softmax(logits, log_theta)
    theta = np.exp(log_theta)
    order = np.empty((dim, classes), np.int64)
    cdf = np.zeros((dim, classes))
    for d in range(dim):
        order[d] = np.argsort(-log_theta[d], kind="mergesort")
        total = 0.0
        for i in range(summed, classes):
            total += theta[d, order[d, i]]
            cdf[d, i] = total
    return order, theta, cdf


@jit
def _draw_unsummed(s, order, cdf, summed, chunk, count, other):
    """``other[d C + j]``: a class of variable d drawn from theta restricted to the classes after the first
    ``summed`` of ``order[d]`` (inverse CDF, one uniform per variable and sample)."""
    dim, classes = cdf.shape
    for j in range(count):
        for d in range(dim):
            s, u = next_double_open(s)
            u *= cdf[d, classes - 1]
            i = summed
            while i < classes - 1 and u >= cdf[d, i]:
                i += 1
            other[d * chunk + j] = order[d, i]
    return s


@jit
def _sum_and_sample(user_path, user, code, p, summed, onehot, order, theta_dk, cdf, other, theta, x, grad, g,
                    per_column, chunk, count, f, xv, gv):
    """sum_and_sample's gradient into ``g``, variable by variable given the other variables' outcomes in
    ``onehot``: ``g_d = sum_{c in C_d} theta_c f(c, b_-d) grad log theta_c + (1 - theta(C_d)) f(b'_d, b_-d)
    grad log theta_(b'_d)``, C_d = ``order[d, :summed]``, b'_d = ``other`` drawn outside C_d
    (:func:`_draw_unsummed`); grad_l log theta_c = e_c - theta.  One objective evaluation per class slot."""
    classes = onehot.shape[0]
    dim = onehot.shape[1] // chunk
    g[:] = 0.0
    for d in range(dim):
        for slot in range(summed + 1):
            x[:] = onehot
            for j in range(chunk):
                col = d * chunk + j
                for i in range(classes):
                    x[i, col] = 0.0
                x[order[d, slot] if slot < summed else other[col], col] = 1.0
            batch_objective(user_path, user, code, p, classes, x, grad, per_column, chunk, count, f, xv, gv)
            for j in range(count):
                col = d * chunk + j
                c = order[d, slot] if slot < summed else other[col]
                wf = (theta_dk[d, c] if slot < summed else cdf[d, classes - 1]) * f[j]
                for i in range(classes):
                    g[i, col] -= theta[i, col] * wf
                g[c, col] += wf


@jit
def _top_classes(z, col, size, chosen):
    """``chosen[:size]`` = the classes of the ``size`` largest ``z[:, col]`` in decreasing order (the first on
    ties): the Gumbel-top-k sample without replacement."""
    for i in range(size):
        best = -1
        for k in range(z.shape[0]):
            taken = False
            for h in range(i):
                taken = taken or chosen[h] == k
            if not taken and (best < 0 or z[k, col] > z[best, col]):
                best = k
        chosen[i] = best


@jit
def _set_probability(q, outside, mass, excluded, table):
    """p^(D minus A)(T): the probability that |T| draws without replacement from the distribution with the classes
    of A removed give the set T, with A = ``excluded`` and T = the other members of the sample (bit masks over
    its members, whose probabilities are ``q``).  ``mass[V]`` = sum of q over V, ``outside`` = the mass of the
    classes not in the sample, so the mass left after drawing V is ``outside + mass[~V]``, a sum of positive
    terms.  Dynamic programming over the subsets U of T: F(U) = sum_(i in U) F(U - i) q_i / left(A + U - i)."""
    size = q.shape[0]
    full = (1 << size) - 1
    table[0] = 1.0
    for u in range(1, full + 1):
        if u & excluded:
            continue
        total = 0.0
        for i in range(size):
            if u & (1 << i):
                before = u ^ (1 << i)
                total += table[before] * q[i] / (outside + mass[full ^ (excluded | before)])
        table[u] = total
    return table[full ^ excluded]


@jit
def _unordered_set(theta, fs, chosen, size, g, count, q, mass, table, leave_one, weight, live, pairs):
    """The unordered set estimator with its built-in baseline (Kool et al. 2020) per sample j < count of one
    categorical: S = ``chosen[:, j]`` (:func:`_top_classes`), f(s) = ``fs[i, j]`` for its i-th member,
    g = sum_(s in S) p(s) R(S, s) (f(s) - b(S, s)) (e_s - theta) with R(S, s) = p^(D - s)(S - s) / p(S) and
    b(S, s) = p(s) f(s) + sum_(s' != s) p(s') f(s') p^(D - s - s')(S - s - s') / p^(D - s)(S - s).

    Members whose probability underflowed to 0 (logits ~745 below the largest) carry no gradient and are left
    out of S (``live`` holds the others): the Gumbel-top-k takes them only when fewer than k classes have
    mass, and the estimator on the classes with mass is then the exact gradient."""
    classes = theta.shape[0]
    for j in range(count):
        outside = 0.0
        for k in range(classes):
            member = False
            for i in range(size):
                member = member or chosen[i, j] == k
            outside += 0.0 if member else theta[k, j]
        n = 0
        for i in range(size):
            if theta[chosen[i, j], j] > 0.0:
                live[n] = i
                q[n] = theta[chosen[i, j], j]
                n += 1
        full = (1 << n) - 1
        qn = q[:n]
        for v in range(full + 1):
            total = 0.0
            for i in range(n):
                if v & (1 << i):
                    total += qn[i]
            mass[v] = total
        whole = _set_probability(qn, outside, mass, 0, table)
        for i in range(n):
            leave_one[i] = _set_probability(qn, outside, mass, 1 << i, table)
            for h in range(i):  # leave-two-out, symmetric in (i, h)
                pairs[i, h] = _set_probability(qn, outside, mass, (1 << i) | (1 << h), table)
                pairs[h, i] = pairs[i, h]
        total = 0.0
        for i in range(n):
            baseline = qn[i] * fs[live[i], j]
            for h in range(n):
                if h != i:
                    baseline += qn[h] * fs[live[h], j] * pairs[i, h] / leave_one[i]
            weight[i] = qn[i] * leave_one[i] / whole * (fs[live[i], j] - baseline)
            total += weight[i]
        for k in range(classes):
            g[k, j] = -theta[k, j] * total
        for i in range(n):
            g[chosen[live[i], j], j] += weight[i]


@jit
def _conditional_resample(e, best, log_theta, inv_theta, zt, r, e_b):
    """z~ | b from exponentials ``e`` in place of the Gumbels (the construction in docs/estimators.md, Categorical).

    z~_b = -log e_b and z~_k = -log w_k with w_k = e_k / theta_k + e_b; ``r[k, col] = (e_k / theta_k) / w_k``
    (0 for k = b) is the factor of dz~_k/dl.  Where e_k / theta_k overflows (theta_k below about 1e-307, a
    logit ~707 below the largest, or underflowed to 0) both are formed in log space from a = log e_k -
    log theta_k and c = log e_b: z~_k = -(a + log1p(e^(c - a))), r_k = 1 / (1 + e^(c - a)), finite like z_k.
    """
    for col in range(e.shape[1]):
        e_b[col] = e[best[col], col]
    for k in range(e.shape[0]):
        ek = e[k]
        ik = inv_theta[k]
        zk = zt[k]
        rk = r[k]
        for col in range(e.shape[1]):
            ratio = ek[col] * ik[col]
            outcome = best[col] == k
            w = e_b[col] if outcome else ratio + e_b[col]
            zk[col] = -log_positive(w)
            rk[col] = 0.0 if outcome else ratio / w
    for k in range(e.shape[0]):
        ek = e[k]
        ik = inv_theta[k]
        for col in range(e.shape[1]):
            if best[col] != k and not (ek[col] * ik[col] < math.inf):
                tail = math.exp(math.log(e_b[col]) - (math.log(ek[col]) - log_theta[k, col]))
                zt[k, col] = -(math.log(ek[col]) - log_theta[k, col] + math.log1p(tail))
                r[k, col] = 1.0 / (1.0 + tail)


@jit
def _gumbel_rao(wide, uniforms, draws, best, inv_theta, inv_lam, grad, soft, g, e_b, total, dot):
    """Gumbel-Rao's gradient of a batch: ``g = (1 / draws) sum_s J_s^T grad`` per column, J_s the Jacobian of
    soft~ = softmax(z~ / lam) at the s-th conditional resample z~ | b (:func:`_conditional_resample`).

    Each draw fills ``uniforms`` from the wide stream ``wide`` (:mod:`mcgrad.kernels.wide_stream`), in the
    class-major order of ``g``; they become the exponentials e = -log u in place.  soft~ is formed without z~:
    with the largest z~_b = -log e_b subtracted, exp((z~_k - z~_b) / lam) = q_k^(1/lam) with
    q_k = e_b / (e_k / theta_k + e_b) in (0, 1] (1 for k = b), a square at lam = 1/2 and q_k itself at lam = 1 (no
    logarithm or exponential); other temperatures take exp(log(q_k) / lam).  Where e_k / theta_k overflows,
    q_k = 0, the limit.  One pass forms q_k, their sum and <grad, q>, a second adds
    ``soft~_k (grad_k - <grad, soft~>) / (lam draws)`` (:func:`_softmax_backward`) with soft~_k = q_k / sum q.
    One call per batch: a call that takes arrays costs atomic reference counts, more than a draw's arithmetic.
    """
    classes, cols = g.shape
    e = uniforms[:classes * cols].reshape((classes, cols))
    scale = inv_lam / draws
    g[:] = 0.0
    for _ in range(draws):
        fill_open_uniforms(wide, uniforms, uniforms.shape[0] // WIDE)
        for k in range(classes):
            ek = e[k]
            for col in range(cols):
                ek[col] = -log_positive(ek[col])
        for col in range(cols):
            e_b[col] = e[best[col], col]
            total[col] = 0.0
            dot[col] = 0.0
        for k in range(classes):
            ek = e[k]
            ik = inv_theta[k]
            sk = soft[k]
            gk = grad[k]
            if inv_lam == 2.0 or inv_lam == 1.0:
                for col in range(cols):
                    q = 1.0 if best[col] == k else e_b[col] / (ek[col] * ik[col] + e_b[col])
                    q = q * q if inv_lam == 2.0 else q
                    sk[col] = q
                    total[col] += q
                    dot[col] += gk[col] * q
            else:
                for col in range(cols):
                    q = 1.0 if best[col] == k else e_b[col] / (ek[col] * ik[col] + e_b[col])
                    sk[col] = math.exp(math.log(q) * inv_lam) if q > 0.0 else 0.0
                for col in range(cols):
                    total[col] += sk[col]
                    dot[col] += gk[col] * sk[col]
        for col in range(cols):
            inverse = 1.0 / total[col]
            total[col] = scale * inverse
            dot[col] *= inverse
        for k in range(classes):
            sk = soft[k]
            gk = grad[k]
            ok = g[k]
            for col in range(cols):
                ok[col] += total[col] * sk[col] * (gk[col] - dot[col])


@jit
def _exponentials(e):
    """Uniforms to standard exponentials in place: e = -log u."""
    for k in range(e.shape[0]):
        ek = e[k]
        for col in range(ek.shape[0]):
            ek[col] = -log_positive(ek[col])


@jit
def _per_column(values, chunk, out):
    """Spread per-sample ``values[j]`` over the batch's columns: ``out[d C + j] = values[j]``."""
    dim = out.shape[0] // chunk
    for d in range(dim):
        for j in range(chunk):
            out[d * chunk + j] = values[j]


@jit
def _score_terms(weight, best, theta, rest, g):
    """``g[k, col] = weight[col] d log p(b)/dl_k``: rest = 1 - theta for the outcome class, -theta otherwise."""
    for k in range(g.shape[0]):
        gk = g[k]
        tk = theta[k]
        rk = rest[k]
        for col in range(g.shape[1]):
            gk[col] = weight[col] * (rk[col] if best[col] == k else -tk[col])


@jit
def _add_control_gradients(dcz, dct, r, theta, g, sum_z, sum_t):
    """``g += grad_l c(z) - grad_l c(z~)`` from ``dcz = dc/dz(z)``, ``dct = dc/dz(z~)``:
    dz_k/dl_j = delta_kj - theta_j and dz~_k/dl_j = r_k (delta_kj - theta_j)."""
    sum_z[:] = 0.0
    sum_t[:] = 0.0
    for k in range(g.shape[0]):
        zk = dcz[k]
        tk = dct[k]
        rk = r[k]
        for col in range(g.shape[1]):
            sum_z[col] += zk[col]
            sum_t[col] += tk[col] * rk[col]
    for k in range(g.shape[0]):
        gk = g[k]
        zk = dcz[k]
        tk = dct[k]
        rk = r[k]
        thk = theta[k]
        for col in range(g.shape[1]):
            gk[col] += zk[col] - thk[col] * sum_z[col] - tk[col] * rk[col] + thk[col] * sum_t[col]


@jit
def _accumulate(acc, shift, g, factor, chunk, count, start):
    """Add the batch's samples (block indices start .. start + count - 1) to the per-lane power sums.

    Component c = d K + k of sample j is ``factor[k, d C + j] g[k, d C + j]``.  ``acc[c, q, lane]``
    holds sum (g_c - shift_c)^(q+1) over the block's samples whose index is ``lane`` mod LANES
    (:func:`~mcgrad.kernels.moments.add_lanes`); :func:`~mcgrad.kernels.moments.lanes_row` combines
    the lanes.
    """
    for k in range(g.shape[0]):
        gk = g[k]
        fk = factor[k]
        for col in range(g.shape[1]):
            gk[col] *= fk[col]
    add_lanes(acc, shift, g, chunk, count, start)


@jit
def _count_nonfinite(g, chunk, count):
    """Samples of the batch with a NaN or infinite component."""
    dim = g.shape[1] // chunk
    bad = 0
    for j in range(count):
        finite = True
        for d in range(dim):
            for k in range(g.shape[0]):
                finite = finite and math.isfinite(g[k, d * chunk + j])
        bad += 0 if finite else 1
    return bad


@jit
def _block(estimator, user_path, logits, factor, lam, eta, code, p, user, cv, s, m, row, count_nonfinite):
    """One block of m samples of D categoricals; writes its central summaries into ``row``."""
    literally(user_path)
    dim, classes = logits.shape
    width = dim * classes
    chunk = batch_samples(width)
    cols = dim * chunk
    tables, cdf = _tables(logits, factor, chunk)
    log_theta = tables[0]
    theta = tables[1]
    rest = tables[2]
    inv_theta = tables[3]
    chain = tables[4]
    inv_lam = 1.0 / lam
    resample = estimator == REBAR or estimator == RELAX
    draws = int(eta) if estimator == GUMBEL_RAO else 0  # gumbel_rao: conditional Gumbel draws per sample
    tempered = _tempered(logits, inv_lam, chunk if estimator == REINMAX else 0)  # reinmax: softmax(l / lam)
    summed = int(eta) if estimator == SUM_AND_SAMPLE else 0
    order, theta_dk, unsummed_cdf = _ranked(logits, summed)
    other = np.zeros(cols if estimator == SUM_AND_SAMPLE else 0, np.int64)
    drawn = int(eta) if estimator == UNORDERED_SET else 0  # unordered_set: the size of the set
    chosen = np.zeros((drawn, cols), np.int64)
    fs = np.zeros((drawn, chunk))
    subsets = np.zeros((2, 1 << drawn))  # the members' subset masses, the set probabilities' table
    members = np.zeros((3, drawn))  # q, leave-one-out probabilities, weights
    live = np.zeros(drawn, np.int64)
    pairs = np.zeros((drawn, drawn))  # leave-two-out set probabilities
    peak = np.empty(cols)  # gapped_straight_through: the largest log theta of each column's variable
    for col in range(cols):
        peak[col] = np.max(log_theta[:, col])
    z = np.full((classes, cols), 0.5)  # perturbed logits z = log theta + G
    dense = np.empty((3, classes, cols))
    soft, onehot, grad = dense[0], dense[1], dense[2]
    g = np.zeros((classes, cols))
    spare = cols if resample else 0
    resampled = np.full((5, classes, spare), 0.5)  # zt: exponentials, then z~
    zt, e, r, dcz, dct = resampled[0], resampled[1], resampled[2], resampled[3], resampled[4]
    best = np.zeros(cols, np.int64)
    per_column = np.empty((3, cols))
    top, column, column2 = per_column[0], per_column[1], per_column[2]
    fb = np.zeros(chunk)
    ct = np.zeros(chunk)
    xv = np.empty(width)
    gv = np.empty(width)
    acc, shift = lane_sums(row.shape[0])
    wide = np.zeros((4, WIDE), np.uint64)
    if draws > 0:  # gumbel_rao's conditional exponentials come from a wide stream keyed by the block's first draw
        s, wide = wide_state(s)
    uniforms = np.empty(-(-classes * cols // WIDE) * WIDE if draws > 0 else 0)  # whole steps of the wide stream
    bad = 0
    for start in range(0, m, chunk):
        count = min(chunk, m - start)
        if (estimator == SCORE or estimator == REINMAX or estimator == GUMBEL_RAO or estimator == SUM_AND_SAMPLE
                or estimator == GAPPED_STRAIGHT_THROUGH):
            s = _draw_inverse_cdf(s, cdf, chunk, count, best)  # b alone
        else:
            s = _draw_uniforms(s, z, chunk, count)
            if resample:
                s = _draw_uniforms(s, e, chunk, count)
                _exponentials(e)
            _gumbel_perturb(z, log_theta)
            _argmax(z, best, top)
            _softmax(z, top, inv_lam, soft, column)
        if estimator == SUM_AND_SAMPLE:
            s = _draw_unsummed(s, order, unsummed_cdf, summed, chunk, count, other)
            _one_hot(best, onehot)
            _sum_and_sample(user_path, user, code, p, summed, onehot, order, theta_dk, unsummed_cdf, other, theta,
                            soft, grad, g, column, chunk, count, fb, xv, gv)
        elif estimator == UNORDERED_SET:  # f at each member of the Gumbel-top-k set, then the weights
            for j in range(count):
                _top_classes(z, j, drawn, chosen[:, j])
            for i in range(drawn):
                _one_hot(chosen[i], onehot)
                batch_objective(user_path, user, code, p, classes, onehot, grad, column, chunk, count, fs[i], xv, gv)
            _unordered_set(theta, fs, chosen, drawn, g, count, members[0], subsets[0], subsets[1], members[1],
                           members[2], live, pairs)
        elif estimator != GUMBEL_SOFTMAX:  # f (and grad f) at the one-hot outcome
            _one_hot(best, onehot)
            batch_objective(user_path, user, code, p, classes, onehot, grad, column, chunk, count, fb, xv, gv)
        if estimator == STRAIGHT_THROUGH:
            _softmax_backward(soft, grad, inv_lam, g, column)
        elif estimator == GAPPED_STRAIGHT_THROUGH:  # straight-through at the gapped logits
            _gapped(log_theta, best, peak, eta, z)
            _softmax(z, peak, inv_lam, soft, column)
            _softmax_backward(soft, grad, inv_lam, g, column)
        elif estimator == GUMBEL_RAO:  # straight-through averaged over z~ | b
            _gumbel_rao(wide, uniforms, draws, best, inv_theta, inv_lam, grad, soft, g, top, column, column2)
        elif estimator == REINMAX:  # pi1 = (D + softmax(l / lam)) / 2
            for k in range(classes):
                for col in range(cols):
                    soft[k, col] = 0.5 * (onehot[k, col] + tempered[k, col])
            _reinmax_backward(soft, theta, grad, g, column, column2)
        elif estimator == GUMBEL_SOFTMAX or estimator == REBAR:  # grad f at soft(z)
            batch_objective(user_path, user, code, p, classes, soft, grad, column, chunk, count, column2, xv, gv)
            if estimator == GUMBEL_SOFTMAX:
                _softmax_backward(soft, grad, inv_lam, g, column)
            else:
                _softmax_backward(soft, grad, eta * inv_lam, dcz, column)
        if resample:
            _conditional_resample(e, best, log_theta, inv_theta, zt, r, column)
            if estimator == REBAR:  # c(z~) = eta f(soft(z~)); the max of z~ is z~_b
                for col in range(cols):
                    top[col] = zt[best[col], col]
                _softmax(zt, top, inv_lam, soft, column)
                batch_objective(user_path, user, code, p, classes, soft, grad, column, chunk, count, ct, xv, gv)
                for j in range(count):
                    ct[j] *= eta
                _softmax_backward(soft, grad, eta * inv_lam, dct, column)
            else:  # relax: the user's control c scaled by eta
                batch_user(cv, USER, 0.0, z, dcz, chunk, count, column2, xv, gv)
                batch_user(cv, USER, 0.0, zt, dct, chunk, count, ct, xv, gv)
                for j in range(count):
                    ct[j] *= eta
                dcz *= eta
                dct *= eta
        if estimator == SCORE or resample:
            if resample:
                for j in range(count):
                    fb[j] -= ct[j]
            _per_column(fb, chunk, column)
            _score_terms(column, best, theta, rest, g)
            if resample:
                _add_control_gradients(dcz, dct, r, theta, g, column, column2)
        _accumulate(acc, shift, g, chain, chunk, count, start)
        if count_nonfinite:
            bad += _count_nonfinite(g, chunk, count)
    lanes_row(acc, shift, m, row)
    return bad


def block(estimator: int, user_path: int):
    """The block function (:data:`~mcgrad.kernels.driver.BLOCK_SIGNATURE`) of a Categorical estimator for a
    user objective (``user_path`` 1) or a built-in (0); arguments as :func:`mcgrad.kernels.discrete.block`
    with logits of shape (D, K).  The batches take the estimator as a value (``chosen``): one block
    function, one compile, for every Categorical estimator but CARMS, which has its own loop
    (:mod:`mcgrad.kernels.carms`)."""
    if estimator == CARMS:
        return carms.block(user_path)
    return _shared_block(user_path)


@functools.cache
def _shared_block(user_path: int):
    @jit
    def categorical_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row,
                          counting):
        lam, eta = relaxation(options, chosen)
        return _block(chosen, user_path, params, extra, lam, eta, code, p, user, cv, s, m, row, counting), 0

    return categorical_block


@jit(parallel=True)
def sum_gumbel_max_blocks(key, log_theta, block_size, n, out):
    """Sum the Gumbel-max class indices argmax_k(log theta_k + G_k) of every block into ``out[b]``:
    the throughput probe of categorical sampling by the Gumbel-max trick (same batches and draws
    as the estimators)."""
    classes = log_theta.shape[0]
    chunk = batch_samples(classes)
    for j in prange(out.shape[0]):
        s = block_state(key, j)
        m = min(block_size, n - j * block_size)
        table = np.empty((classes, chunk))
        for k in range(classes):
            table[k, :] = log_theta[k]
        z = np.full((classes, chunk), 0.5)
        best = np.zeros(chunk, np.int64)
        top = np.empty(chunk)
        total = 0
        for start in range(0, m, chunk):
            count = min(chunk, m - start)
            s = _draw_uniforms(s, z, chunk, count)
            _gumbel_perturb(z, table)
            _argmax(z, best, top)
            for i in range(count):
                total += best[i]
        out[j] = total
