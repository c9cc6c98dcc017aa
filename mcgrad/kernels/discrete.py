"""Bernoulli and Categorical: Gumbel draws, the Concrete relaxation, conditional resampling, estimators.

Gradients are taken with respect to the logits (the API multiplies by d logits / d probs when
the user gave probabilities).  Notation of docs/estimators.md, temperature lam, weight eta:

Bernoulli (logit l, theta = sigmoid(l)), per coordinate, u and v uniform on (0, 1):
    b = [u > 1 - theta],  z = l + log(u / (1 - u)) (logistic, so b = [z > 0]),  soft = sigmoid(z / lam);
    conditional resample given b: v' = (1 - theta) v (b = 0) or (1 - theta) + theta v (b = 1),
    z~ = l + logit(v'), dz~/dl = theta v / v' (b = 1) or (1 - theta)(1 - v) / (1 - v') (b = 0).
Categorical (theta = softmax(l), per categorical variable), G_k Gumbel, e~_k exponential:
    z_k = log theta_k + G_k,  b = argmax z,  soft = softmax(z / lam);
    z~_b = -log e~_b,  z~_i = -log(w_i) with w_i = e~_i / theta_i + e~_b (i != b),
    dz~_i/dl_j = r_i (delta_ij - theta_j), r_i = e~_i / (theta_i w_i), r_b = 0;  dz_k/dl_j = delta_kj - theta_j.
Estimators (d log p(b)/dl = b - theta, or [b = j] - theta_j):
    score:            f(b) d log p(b)/dl
    gumbel_softmax:   grad_l f(soft)                      (biased)
    straight_through: f'(b) d soft/dl                     (biased)
    relax:            [f(b) - c(z~)] d log p(b)/dl + grad_l c(z) - grad_l c(z~)     (user c)
    rebar:            relax with c(z) = eta f(soft(z))
    arm (Bernoulli):  (f(b) - f(b2)) (u - 1/2),  b2 = [u < theta]
    disarm:           1/2 (f(b2) - f(b)) (-1)^b [b != b2] sigmoid(|l|)
    arms:             n antithetic draws from a Dirichlet copula (mcgrad.kernels.arms)
Stream use: Bernoulli draws D uniforms u per sample (then D uniforms v for rebar and relax), so
score, gumbel_softmax, straight_through, arm and disarm see the same u.  The Categorical kernels
live in :mod:`mcgrad.kernels.categorical` (batched, class-major); this module holds Bernoulli's,
the shared estimator codes and argument list, and exact enumeration for both families.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import literally, types

from . import arms
from ._jit import jit
from .elementary import exp_nonpositive, log_positive
from .moments import (
    ROUND,
    accumulate_sample,
    add_powers,
    add_round,
    block_row,
    lane_sums,
    lanes_row,
    sample_sums,
)
from .objectives import (
    SQUARE,
    USER,
    USER_FUNCTION,
    coordinate_term,
    evaluate_1d,
    evaluate_vector,
)
from .rng import next_double_open, next_open_rank, open_uniform_rank
from .tape import MIN_ADDRESS

SCORE = 0
GUMBEL_SOFTMAX = 1
STRAIGHT_THROUGH = 2
REBAR = 3
RELAX = 4
ARM = 5
DISARM = 6
REINMAX = 7  # Categorical only
GUMBEL_RAO = 8  # Categorical only
SUM_AND_SAMPLE = 9  # Categorical only
GAPPED_STRAIGHT_THROUGH = 10  # Categorical only
UNORDERED_SET = 11  # Categorical, D = 1
ARMS = 12  # Bernoulli: mcgrad.kernels.arms
CARMS = 13  # Categorical: mcgrad.kernels.carms

@jit(inline=True)
def sigmoid_pair(x):
    """``(sigmoid(x), sigmoid(x) * sigmoid(-x))`` without overflow for any x."""
    e = exp_nonpositive(-abs(x))
    inv = 1.0 / (1.0 + e)
    s = inv if x >= 0.0 else e * inv
    return s, e * inv * inv


@jit
def bernoulli_resample(logit, theta, theta_bar, b, v):
    """The conditional resample ``z~ | b`` and ``dz~/dlogit`` at fixed (b, v), cancellation-free."""
    if b:
        vp = theta_bar + theta * v
        q = theta * (1.0 - v)  # 1 - v'
        return logit + math.log(vp / q), theta * v / vp
    vp = theta_bar * v
    q = theta + theta_bar * (1.0 - v)
    return logit + math.log(vp / q), theta_bar * (1.0 - v) / q


@jit(inline=True)
def _add_sample(sums, shift, bad, g, first, count_nonfinite):
    """One scalar sample into the register-resident power sums: ``(sums, shift, non-finite count)``."""
    if first:
        shift = g
    bad += 1 if count_nonfinite and not math.isfinite(g) else 0
    return add_powers(sums[0], sums[1], sums[2], sums[3], g - shift), shift, bad


@jit
def _finish(sums, shift, m, row):
    acc = np.array([[sums[0], sums[1], sums[2], sums[3]]])
    block_row(acc, np.array([shift]), m, row)


@jit
def _block_bernoulli_1d(estimator, user_path, logit, factor, code, p, user1, s, m, row, count_nonfinite):
    """Scalar loop of score, arm and disarm on one Bernoulli (D = 1), compiled per estimator.

    f takes two values on the outcomes, so f(0) and f(1) are evaluated once per block.  Returns
    the non-finite count.
    """
    literally(estimator)
    literally(user_path)
    theta, _ = sigmoid_pair(logit)
    theta_bar, _ = sigmoid_pair(-logit)
    sig_abs, _ = sigmoid_pair(abs(logit))
    f0 = evaluate_1d(user_path, code, p, user1, 0.0)[0]
    f1 = evaluate_1d(user_path, code, p, user1, 1.0)[0]
    if estimator == SCORE:  # g = f(b) dlog p(b)/dlogit: one value per outcome
        return _counted_block(s, m, theta_bar, theta_bar, f0 * -theta, f1 * theta_bar, f0 * -theta, factor, row,
                              count_nonfinite)
    if estimator == DISARM:  # g = 0 where b = b2, else one value per (b, b2)
        return _counted_block(s, m, theta_bar, theta, 0.5 * (f1 - f0) * sig_abs * 1.0,
                              0.5 * (f0 - f1) * sig_abs * -1.0, 0.0, factor, row, count_nonfinite)
    # arm: g = (f(b) - f(b2)) (u - 1/2), in rounds: ROUND uniforms drawn, then g and the 16-lane power sums as
    # vector loops, f(b) - f(b2) looked up by b + 2 b2 (measured: 1.25x the scalar loop)
    difference = np.array([f0 - f0, f1 - f0, f0 - f1, f1 - f1])
    gap = f1 - f0
    gap_finite = math.isfinite(gap)
    work = np.empty((2, ROUND))
    us, g = work[0], work[1:2]
    lanes, shift = lane_sums(1)
    bad = 0
    done = 0
    while done < m:
        count = min(ROUND, m - done)
        for t in range(count):
            s, us[t] = next_double_open(s)
        if gap_finite:  # (f1 - f0)(b - b2): the same values, and a loop the compiler vectorises (selects, not
            for t in range(count):  # conversions of the comparisons: 1.3x the loop)
                u = us[t]
                g[0, t] = ((gap if u > theta_bar else 0.0) - (gap if u < theta else 0.0)) * (u - 0.5) * factor
        else:  # f1 - f0 not finite: (f1 - f0) * 0 would be NaN where f(b) - f(b2) = f - f
            for t in range(count):
                u = us[t]
                g[0, t] = difference[np.int64(u > theta_bar) + 2 * np.int64(u < theta)] * (u - 0.5) * factor
        bad += add_round(lanes, shift, g, count, done, count_nonfinite)
        done += count
    lanes_row(lanes, shift, m, row)
    return bad


@jit
def _counted_block(s, m, upper, lower, below, above, between, factor, row, count_nonfinite):
    """A block of an estimator whose sample takes one of three values by where its uniform u falls: ``below``
    for u < ``lower`` (and u <= ``upper``), ``above`` for u > ``upper`` (and u >= ``lower``), ``between``
    otherwise.  Returns the non-finite count.

    Notes
    -----
    Only the counts of the three cases are kept per sample (integer adds, no branch), and the block's power
    sums follow exactly: S_k = sum_j n_j (v_j factor - c)^k, c the first sample's value.  Score on one
    Bernoulli is the case lower = upper = 1 - theta (``between`` is u = 1 - theta, where b = 0); DisARM
    has lower = theta, upper = 1 - theta, below / above the two values where b != b2 and 0 between.
    Against summing each sample's powers this made Bernoulli score about as fast as drawing its uniforms.
    Each case is one comparison of the uniform's integer rank (:func:`~mcgrad.kernels.rng.open_uniform_rank`)
    against a threshold that folds both conditions: u > upper and u >= lower from the larger of the two
    least ranks, u <= upper and u < lower below the smaller.  No uniform is formed as a double, which made
    the loop faster than drawing the uniforms themselves.
    """
    above_from = max(open_uniform_rank(upper, True), open_uniform_rank(lower, False))  # k >= it: above
    below_to = min(open_uniform_rank(upper, True), open_uniform_rank(lower, False))  # k < it: below
    s, first = next_open_rank(s)
    n_above = np.int64(first >= above_from)
    n_below = np.int64(first < below_to)
    for _ in range(1, m):
        s, k = next_open_rank(s)
        n_above += np.int64(k >= above_from)
        n_below += np.int64(k < below_to)
    counts = (n_below, n_above, m - n_below - n_above)
    values = (below * factor, above * factor, between * factor)
    if first >= above_from:
        shift = values[1]
    elif first < below_to:
        shift = values[0]
    else:
        shift = values[2]
    sums = (0.0, 0.0, 0.0, 0.0)
    bad = 0
    for j in range(3):
        if counts[j] == 0:
            continue
        d = values[j] - shift
        d2 = d * d
        n = float(counts[j])
        sums = (sums[0] + n * d, sums[1] + n * d2, sums[2] + n * d2 * d, sums[3] + n * d2 * d2)
        if count_nonfinite and not math.isfinite(values[j]):
            bad += counts[j]
    _finish(sums, shift, m, row)
    return bad


_MIN_NORMAL = 2.2250738585072014e-308
_CHUNK_SAMPLES = 64  # relaxed Bernoulli samples whose logs and exps run as one vectorised loop


@jit
def _block_bernoulli_1d_relaxed(estimator, user_path, logit, factor, lam, eta, code, p, user1, cv1, s, m, row,
                                count_nonfinite):
    """gumbel_softmax, straight_through, rebar and relax on one Bernoulli (D = 1).

    Samples go in batches: the uniforms (u, then v for rebar and relax, sample by sample as in the
    other loops) are drawn first, then one branch-free loop computes z, sigmoid(z / lam) and the
    conditional resample for the whole batch, so its logs and exps vectorise; the objective and
    the power sums follow sample by sample.  Returns the non-finite count.
    """
    literally(user_path)
    theta, _ = sigmoid_pair(logit)
    theta_bar, _ = sigmoid_pair(-logit)
    f0, df0 = evaluate_1d(user_path, code, p, user1, 0.0)
    f1, df1 = evaluate_1d(user_path, code, p, user1, 1.0)
    inv_lam = 1.0 / lam
    resample = estimator == REBAR or estimator == RELAX
    work = np.empty((10, _CHUNK_SAMPLES))
    u, v, z, soft, dsoft, ratio, zt, dzt, soft_t, dsoft_t = (work[0], work[1], work[2], work[3], work[4], work[5],
                                                             work[6], work[7], work[8], work[9])
    shift = 0.0
    sums = (0.0, 0.0, 0.0, 0.0)
    bad = 0
    for start in range(0, m, _CHUNK_SAMPLES):
        count = min(_CHUNK_SAMPLES, m - start)
        for q in range(count):
            s, u[q] = next_double_open(s)
            if resample:
                s, v[q] = next_double_open(s)
        for q in range(count):  # branch-free, vectorised
            z[q] = logit + log_positive(u[q] / (1.0 - u[q]))
            soft[q], dsoft[q] = sigmoid_pair(z[q] * inv_lam)
        if resample:
            for q in range(count):  # z~ | b (see bernoulli_resample), both branches computed and selected
                b = u[q] > theta_bar
                w = v[q]
                vp = theta_bar + theta * w if b else theta_bar * w
                one_minus_vp = theta * (1.0 - w) if b else theta + theta_bar * (1.0 - w)
                ratio[q] = vp / one_minus_vp
                dzt[q] = theta * w / vp if b else theta_bar * (1.0 - w) / one_minus_vp
                zt[q] = logit + log_positive(ratio[q])
                soft_t[q], dsoft_t[q] = sigmoid_pair(zt[q] * inv_lam)
        for q in range(count):
            b = u[q] > theta_bar
            if estimator == GUMBEL_SOFTMAX:
                g = evaluate_1d(user_path, code, p, user1, soft[q])[1] * dsoft[q] * inv_lam
            elif estimator == STRAIGHT_THROUGH:
                g = (df1 if b else df0) * dsoft[q] * inv_lam
            else:
                if not (ratio[q] >= _MIN_NORMAL and ratio[q] < math.inf):  # logits beyond the logs' range
                    zt[q], dzt[q] = bernoulli_resample(logit, theta, theta_bar, b, v[q])
                    soft_t[q], dsoft_t[q] = sigmoid_pair(zt[q] * inv_lam)
                if estimator == REBAR:
                    dc = eta * evaluate_1d(user_path, code, p, user1, soft[q])[1] * dsoft[q] * inv_lam
                    ft, dft = evaluate_1d(user_path, code, p, user1, soft_t[q])
                    ct = eta * ft
                    dct = eta * dft * dsoft_t[q] * inv_lam
                else:  # relax: the user's control c scaled by eta
                    dc = eta * cv1(USER, 0.0, z[q])[1]
                    ct, dct = cv1(USER, 0.0, zt[q])
                    ct *= eta
                    dct *= eta
                g = ((f1 if b else f0) - ct) * (theta_bar if b else -theta) + dc - dct * dzt[q]
            sums, shift, bad = _add_sample(sums, shift, bad, g * factor, start + q == 0, count_nonfinite)
    _finish(sums, shift, m, row)
    return bad


@jit
def _block_bernoulli(estimator, user_path, logits, factor, lam, eta, code, p, user, cv, s, m, row, count_nonfinite):
    """Array loop for D independent Bernoullis, every estimator; returns the non-finite count.

    Written out like :func:`_block_categorical`, so no work array crosses a call except into a
    user function.
    """
    literally(user_path)
    dim = logits.shape[0]
    per_dim = np.empty((4, dim))
    logit, theta, theta_bar, sig_abs = per_dim[0], per_dim[1], per_dim[2], per_dim[3]
    for d in range(dim):
        logit[d] = logits[d, 0]
        theta[d] = sigmoid_pair(logit[d])[0]
        theta_bar[d] = sigmoid_pair(-logit[d])[0]
        sig_abs[d] = sigmoid_pair(abs(logit[d]))[0]
    inv_lam = 1.0 / lam
    square_constant = p if code == SQUARE else 0.0
    work = np.empty((10, dim))
    u, bx, b2x, z, soft, dsoft, zt, dzt, dc, grad = (work[0], work[1], work[2], work[3], work[4], work[5],
                                                     work[6], work[7], work[8], work[9])
    g, acc, shift = sample_sums(dim, row.shape[0])
    bad = 0
    for i in range(m):
        for d in range(dim):
            s, u[d] = next_double_open(s)
            bx[d] = 1.0 if u[d] > theta_bar[d] else 0.0
        fb = 0.0
        if estimator != GUMBEL_SOFTMAX:  # f and grad f at b
            if user_path:
                fb = user(code, p, bx, grad)
            else:
                for d in range(dim):
                    t, dt = coordinate_term(code, p, 1, d, bx[d])
                    fb += t
                    grad[d] = dt
                fb += square_constant
        if estimator == SCORE:
            for d in range(dim):
                g[d] = fb * (theta_bar[d] if bx[d] > 0.0 else -theta[d])
        elif estimator == ARM or estimator == DISARM:
            for d in range(dim):
                b2x[d] = 1.0 if u[d] < theta[d] else 0.0
            if user_path:
                fb2 = user(code, p, b2x, dc)
            else:
                fb2 = 0.0
                for d in range(dim):
                    fb2 += coordinate_term(code, p, 1, d, b2x[d])[0]
                fb2 += square_constant
            for d in range(dim):
                if estimator == ARM:
                    g[d] = (fb - fb2) * (u[d] - 0.5)
                elif bx[d] == b2x[d]:
                    g[d] = 0.0
                else:
                    g[d] = 0.5 * (fb2 - fb) * sig_abs[d] * (-1.0 if bx[d] > 0.0 else 1.0)
        else:
            for d in range(dim):
                z[d] = logit[d] + log_positive(u[d] / (1.0 - u[d]))
                soft[d], dsoft[d] = sigmoid_pair(z[d] * inv_lam)
            if estimator == STRAIGHT_THROUGH:
                for d in range(dim):
                    g[d] = grad[d] * dsoft[d] * inv_lam
            else:
                ct = 0.0
                if estimator == REBAR or estimator == RELAX:
                    for d in range(dim):
                        s, v = next_double_open(s)
                        zt[d], dzt[d] = bernoulli_resample(logit[d], theta[d], theta_bar[d], bx[d] > 0.0, v)
                if estimator == RELAX:  # the user's control c scaled by eta
                    cv(USER, 0.0, z, dc)
                    ct = eta * cv(USER, 0.0, zt, grad)
                    for d in range(dim):
                        dc[d] *= eta
                        grad[d] *= eta
                else:  # gumbel_softmax: grad f(soft(z)); rebar: also eta f(soft(z~)) and its gradient
                    for rep in range(2 if estimator == REBAR else 1):
                        if rep == 1:
                            for d in range(dim):
                                soft[d], dsoft[d] = sigmoid_pair(zt[d] * inv_lam)
                        if user_path:
                            fs = user(code, p, soft, grad)
                        else:
                            fs = 0.0
                            for d in range(dim):
                                t, dt = coordinate_term(code, p, 1, d, soft[d])
                                fs += t
                                grad[d] = dt
                            fs += square_constant
                        scale = 1.0 if estimator == GUMBEL_SOFTMAX else eta
                        for d in range(dim):
                            if rep == 0:
                                dc[d] = scale * grad[d] * dsoft[d] * inv_lam
                            else:
                                grad[d] *= eta * dsoft[d] * inv_lam
                        if rep == 1:
                            ct = eta * fs
                for d in range(dim):
                    if estimator == GUMBEL_SOFTMAX:
                        g[d] = dc[d]
                    else:
                        g[d] = (fb - ct) * (theta_bar[d] if bx[d] > 0.0 else -theta[d]) + dc[d] - grad[d] * dzt[d]
        for d in range(dim):
            g[d] *= factor[d]
        bad += accumulate_sample(acc, shift, g, i == 0, count_nonfinite)
    block_row(acc.T, shift, m, row)
    return bad


@jit
def log_softmax(logits, out):
    """``out[d, k] = log softmax(logits[d])_k`` by log-sum-exp."""
    for d in range(logits.shape[0]):
        mx = logits[d, 0]
        for k in range(logits.shape[1]):
            mx = max(mx, logits[d, k])
        total = 0.0
        for k in range(logits.shape[1]):
            total += math.exp(logits[d, k] - mx)
        lse = mx + math.log(total)
        for k in range(logits.shape[1]):
            out[d, k] = logits[d, k] - lse


@jit
def complements(theta):
    """``out[d, k] = sum_{j != k} theta[d, j]``: 1 - theta[d, k] without cancellation when theta[d, k] ~ 1.

    O(K) per row: with m the largest class and S = sum_{j != m} theta_j (no cancellation), out[m] = S and
    out[k] = theta_m + (S - theta_k) for k != m, whose rounding error is at most about eps S <= eps theta_m,
    relative to a result >= theta_m.
    """
    out = np.zeros_like(theta)
    for d in range(theta.shape[0]):
        m = 0
        for k in range(theta.shape[1]):
            if theta[d, k] > theta[d, m]:
                m = k
        rest = 0.0
        for j in range(theta.shape[1]):
            if j != m:
                rest += theta[d, j]
        for k in range(theta.shape[1]):
            out[d, k] = rest if k == m else theta[d, m] + (rest - theta[d, k])
    return out


@jit
def relaxation(options, estimator):
    """``(temperature, eta)`` from a discrete estimator's options: ``[temperature, eta]`` as far as it takes them
    (defaults 1 and 0), relax's ``[eta]`` (the scale of its control); gumbel_rao's ``[temperature, samples]``
    gives its number of conditional draws in the second place, sum_and_sample's ``[k]`` its summed classes and
    unordered_set's ``[samples]`` the size of its set."""
    if estimator == RELAX or estimator == SUM_AND_SAMPLE or estimator == UNORDERED_SET:
        return 1.0, options[0]
    lam = options[0] if options.shape[0] > 0 else 1.0
    eta = options[1] if options.shape[0] > 1 else 0.0
    return lam, eta


def block(estimator: int, user_path: int, scalar: bool):
    """The block function (:data:`~mcgrad.kernels.driver.BLOCK_SIGNATURE`) of one Bernoulli estimator, for a
    user objective (``user_path`` 1) or a built-in (0), and for D = 1 (``scalar``: the scalar loops) or any D.

    ``params`` = the logits, shape (D, 1); ``extra`` = the chain factor d logit / d parameter per
    component; ``options`` = [temperature, eta] as far as the estimator takes them; ``cv`` the control
    variate of relax.  The loop is chosen here, in Python, so each block function compiles only its own.
    """
    if estimator == ARMS:  # its own loop, any D
        return arms.block(user_path)
    if not scalar:
        return _shared_block(user_path, False)
    if estimator in (SCORE, ARM, DISARM):  # scalar loops specialised per estimator

        @jit
        def bernoulli_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, counting):
            return _block_bernoulli_1d(estimator, user_path, params[0, 0], extra[0], code, p, user1, s, m, row,
                                       counting), 0

        return bernoulli_block
    return _shared_block(user_path, True)


@functools.cache
def _shared_block(user_path: int, relaxed_scalar: bool):
    """The block functions shared by several Bernoulli estimators (``chosen`` picks the estimator): the any-D
    loop, and the D = 1 loop of the relaxed estimators."""
    if relaxed_scalar:

        @jit
        def bernoulli_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row,
                            counting):
            lam, eta = relaxation(options, chosen)
            return _block_bernoulli_1d_relaxed(chosen, user_path, params[0, 0], extra[0], lam, eta, code, p, user1,
                                               cv1, s, m, row, counting), 0

    else:

        @jit
        def bernoulli_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row,
                            counting):
            lam, eta = relaxation(options, chosen)
            return _block_bernoulli(chosen, user_path, params, extra, lam, eta, code, p, user, cv, s, m, row,
                                    counting), 0

    return bernoulli_block


@jit
def _enumerate(user_path, categorical, logits, code, p, user, out):
    """Exact gradient of E[f] w.r.t. the logits by summing over the whole support into ``out``.

    d E[f]/d l = sum_b p(b) f(b) d log p(b)/d l, outcomes in lexicographic order.
    """
    literally(user_path)
    dim = logits.shape[0]
    classes = logits.shape[1] if categorical else 2
    log_theta = np.empty((dim, classes))
    if categorical:
        log_softmax(logits, log_theta)
    else:
        for d in range(dim):
            pair = np.array([[0.0, logits[d, 0]]])
            log_softmax(pair, log_theta[d:d + 1])
    theta = np.exp(log_theta)
    rest = complements(theta)
    width = dim * classes if categorical else dim
    x = np.zeros(width)
    grad = np.empty(width)
    digits = np.zeros(dim, np.int64)
    out[:] = 0.0
    total = classes ** dim
    for _ in range(total):
        log_p = 0.0
        x[:] = 0.0
        for d in range(dim):
            log_p += log_theta[d, digits[d]]
            if categorical:
                x[d * classes + digits[d]] = 1.0
            else:
                x[d] = float(digits[d])
        weight = math.exp(log_p)
        fb = evaluate_vector(user_path, code, p, user, classes if categorical else 1, x, grad)
        for d in range(dim):
            if categorical:
                for k in range(classes):
                    out[d * classes + k] += weight * fb * (rest[d, k] if digits[d] == k else -theta[d, k])
            else:
                out[d] += weight * fb * (rest[d, 1] if digits[d] == 1 else -theta[d, 1])
        for d in range(dim - 1, -1, -1):
            digits[d] += 1
            if digits[d] < classes:
                break
            digits[d] = 0


ENUMERATE_SIGNATURE = types.void(types.boolean, types.float64[:, ::1], types.int64, types.float64,
                                    USER_FUNCTION, types.float64[::1])


@jit
def enumerate_gradient(categorical, logits, code, p, user, out):
    """:func:`_enumerate` for built-in objectives and user functions alike (one cached compilation); a code
    at or above :data:`~mcgrad.kernels.tape.MIN_ADDRESS` is a tape's address (a batch objective)."""
    if code == USER or code >= MIN_ADDRESS:
        _enumerate(1, categorical, logits, code, p, user, out)
    else:
        _enumerate(0, categorical, logits, code, p, user, out)
