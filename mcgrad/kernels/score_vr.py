"""Score-function estimators with baselines and control variates, for every family.

Every sample gives the objective value f = f(x), the score s_j = d log p(x) / d theta_j of each gradient
component j and, for the Normal delta-method control, the value h(x) of the second-order Taylor
polynomial of f around the mean:

    h(x) = a_0 + sum_d [a_d (x_d - mu_d) + (1/2) H_d (x_d - mu_d)^2].

With a baseline b_j, a control coefficient beta_j and the control's exact expected gradient
m_j = d E[h] / d theta_j, the reduced estimator is

    g_j = (f - b_j) s_j - beta_j (h s_j - m_j),

unbiased for any b_j and beta_j fixed before the run (E[s_j] = 0, E[h s_j] = m_j).  The leave-one-out
baseline (RLOO, Kool et al. 2019) works on groups of K draws:

    g_j = (1 / (K - 1)) sum_k (f_k - fbar) s_kj,   fbar = (1/K) sum_k f_k,

each draw's baseline being the mean of the other K - 1 values of f.

Modes of :func:`block`:

* ``PILOT``: the 5 W components ``[s_j^2, s_j c_j, c_j^2, y_j s_j, y_j c_j]`` (y_j = f s_j, c_j = h s_j - m_j),
  whose means are the second moments from which the optimal baseline and coefficient are solved;
* ``MAIN``: the 4 W + 1 components ``[g0_j, g_j, g0_j + g_j, g0_j - g_j, f]`` where g0_j is plain score on
  the same draws (averaged over the group for RLOO) and f the objective (the group's mean for RLOO).
  The sum and difference give, by polarisation, the joint fourth moment E[a^2 b^2] of the centred pair
  that the variance-ratio interval needs; the mean of f feeds moving-average baselines in SGD runs.

Families (``family``): Normal (a = loc, b = scale), MultivariateNormal (a = the packed [loc, L] row),
Gamma (a = concentration, b = rate), Dirichlet (a = concentration; ``first_only`` for Beta, whose objective
sees x_0), Bernoulli and Categorical (``logits`` of shape (D, K), K = 1 for Bernoulli; ``b`` = the chain
factor d logit / d parameter).
A sample draws from the block's stream exactly as the family's plain ``score`` kernel does for
Normal, MultivariateNormal, Gamma, Dirichlet and Bernoulli (D normals, D Marsaglia-Tsang draws, D uniforms in
order);
a Categorical draws one uniform per variable and inverts its CDF.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import literally, types

from ._jit import jit
from .discrete import sigmoid_pair
from .gamma import gamma_constants, gamma_draw, log_h, log_normaliser
from .moments import accumulate_sample, block_row, sample_sums
from .multivariate_normal import dimension, tril_inverse, unpack
from .objectives import USER, USER_FUNCTION, evaluate_log_space, evaluate_vector
from .rng import next_double, next_double_open, next_normal
from .special import digamma

NORMAL = 0
GAMMA = 1
DIRICHLET = 2
BERNOULLI = 3
CATEGORICAL = 4
MULTIVARIATE_NORMAL = 5

PILOT = 0
MAIN = 1
PILOT_TERMS = 5
MAIN_TERMS = 4

@jit
def _normal(s, loc, scale, x, score):
    dim = loc.shape[0]
    for d in range(dim):
        s, e = next_normal(s)
        x[d] = loc[d] + scale[d] * e
        score[d] = e / scale[d]
        score[dim + d] = (e * e - 1.0) / scale[d]
    return s


@jit
def _multivariate_normal(s, loc, tril, inv, eps, x, score):
    """x = loc + L eps; score: w = L^-T eps for loc, w_i eps_j - [i = j] / L_ii for L_ij (i >= j, row by row)."""
    dim = loc.shape[0]
    for d in range(dim):
        s, eps[d] = next_normal(s)
    c = dim
    for i in range(dim):
        total = loc[i]
        w = 0.0
        for k in range(i + 1):
            total += tril[i, k] * eps[k]
        for k in range(i, dim):
            w += inv[k, i] * eps[k]
        x[i] = total
        score[i] = w
        for k in range(i + 1):
            score[c] = w * eps[k] - (1.0 / tril[i, i] if k == i else 0.0)
            c += 1
    return s


@jit
def _gamma(s, alpha, rate, boost, d, c, psi, x, log_x, score):
    dim = alpha.shape[0]
    proposals = 0
    for k in range(dim):
        s, unit, _, _, v, log_sum, _, tries = gamma_draw(s, alpha[k], boost, d[k], c[k])
        proposals += tries
        x[k] = unit / rate[k]
        log_unit = log_h(d[k], v) + log_sum
        log_x[k] = log_unit - math.log(rate[k])  # finite when z underflows
        score[k] = log_unit - psi[k]  # log(rate z) - psi(alpha)
        score[dim + k] = alpha[k] / rate[k] - x[k]
    return s, proposals


@jit
def objective_at(code, p, user, classes, x, grad):
    """f(x), writing grad f(x) into ``grad``, for Python callers (the delta method's expansion point, the
    outcomes of a small discrete support); ``classes`` groups a flat Categorical outcome as in the kernels."""
    if code == USER:
        return evaluate_vector(1, code, p, user, classes, x, grad)
    return evaluate_vector(0, code, p, user, classes, x, grad)


OBJECTIVE_AT_SIGNATURE = types.float64(types.int64, types.float64, USER_FUNCTION, types.int64, types.float64[::1],
                                       types.float64[::1])


@jit
def _dirichlet(s, alpha, boost, d, c, psi, psi0, x, log_x, score):
    dim = alpha.shape[0]
    proposals = 0
    total = 0.0
    for k in range(dim):
        s, unit, _, _, v, log_sum, _, tries = gamma_draw(s, alpha[k], boost, d[k], c[k])
        proposals += tries
        x[k] = unit
        score[k] = log_h(d[k], v) + log_sum  # log G_k, finite when G_k underflows
        total += unit
    log_total = log_normaliser(score, total)
    for k in range(dim):
        log_x[k] = score[k] - log_total
        x[k] = x[k] / total if total > 0.0 else math.exp(log_x[k])
        score[k] = log_x[k] + psi0 - psi[k]
    return s, proposals


@jit
def _bernoulli(s, theta, theta_bar, factor, x, score):
    for d in range(theta.shape[0]):
        s, u = next_double_open(s)
        one = u > theta_bar[d]
        x[d] = 1.0 if one else 0.0
        score[d] = (theta_bar[d] if one else -theta[d]) * factor[d]
    return s


@jit
def _categorical(s, theta, factor, x, score):
    dim, classes = theta.shape
    for d in range(dim):
        s, u = next_double(s)
        pick = classes - 1
        cumulative = 0.0
        for k in range(classes - 1):
            cumulative += theta[d, k]
            if u < cumulative:
                pick = k
                break
        for k in range(classes):
            i = d * classes + k
            x[i] = 1.0 if k == pick else 0.0
            score[i] = (x[i] - theta[d, k]) * factor[i]
    return s


@jit
def _softmax_rows(logits):
    theta = np.empty_like(logits)
    for d in range(logits.shape[0]):
        top = logits[d].max()
        total = 0.0
        for k in range(logits.shape[1]):
            theta[d, k] = math.exp(logits[d, k] - top)
            total += theta[d, k]
        for k in range(logits.shape[1]):
            theta[d, k] /= total
    return theta


@jit
def _taylor(loc, taylor, x):
    """The delta-method control h(x): the quadratic Taylor polynomial of f around the mean."""
    dim = loc.shape[0]
    h = taylor[0]
    for d in range(dim):
        e = x[d] - loc[d]
        h += e * (taylor[1 + d] + 0.5 * taylor[1 + dim + d] * e)
    return h


@jit
def _pilot_terms(f, h, score, m, out):
    width = score.shape[0]
    for j in range(width):
        sj = score[j]
        y = f * sj
        cj = h * sj - m[j]
        out[j] = sj * sj
        out[width + j] = sj * cj
        out[2 * width + j] = cj * cj
        out[3 * width + j] = y * sj
        out[4 * width + j] = y * cj


@jit
def _main_terms(f, h, score, baseline, beta, m, out):
    width = score.shape[0]
    for j in range(width):
        plain = f * score[j]
        g = plain - baseline[j] * score[j] - beta[j] * (h * score[j] - m[j])
        out[j] = g
        out[width + j] = plain
        out[2 * width + j] = plain + g
        out[3 * width + j] = plain - g


@jit
def _loo_terms(fs, scores, out):
    """RLOO over a group of K draws, with plain score averaged over the same group."""
    group, width = scores.shape
    fbar = 0.0
    for k in range(group):
        fbar += fs[k]
    fbar /= group
    for j in range(width):
        plain = 0.0
        g = 0.0
        for k in range(group):
            plain += fs[k] * scores[k, j]
            g += (fs[k] - fbar) * scores[k, j]
        plain /= group
        g /= group - 1
        out[j] = g
        out[width + j] = plain
        out[2 * width + j] = plain + g
        out[3 * width + j] = plain - g


@jit
def _block(family, user_path, mode, group, boost, first_only, a_shared, b_shared, logits_shared, code, p, user,
           baseline_shared, beta_shared, m_shared, taylor_shared, s, m, row, count_nonfinite):
    """One block of ``m`` estimates (each of ``group`` draws); returns ``(non-finite samples, proposals)``."""
    literally(family)
    literally(user_path)
    a = a_shared.copy()
    b = b_shared.copy()
    baseline = baseline_shared.copy()
    beta = beta_shared.copy()
    mean_grad = m_shared.copy()
    taylor = taylor_shared.copy()
    width = baseline.shape[0]
    if family == CATEGORICAL or family == BERNOULLI:
        logits = logits_shared.copy()
        size = logits.shape[0] * logits.shape[1]
    else:
        logits = np.empty((1, 1))
        size = dimension(a.shape[0]) if family == MULTIVARIATE_NORMAL else a.shape[0]
    if family == MULTIVARIATE_NORMAL:
        loc, tril = unpack(a)
        inv = tril_inverse(tril)
    else:
        loc, tril, inv = np.empty(1), np.empty((1, 1)), np.empty((1, 1))
    eps = np.empty(size)
    n_eval = 1 if first_only else size
    x = np.empty(size)
    log_x = np.empty(size)  # Gamma and Dirichlet: log x, finite where x underflows
    grad = np.empty(size)
    score = np.empty(width)
    fs = np.empty(group)
    scores = np.empty((group, width))
    out, acc, shift = sample_sums(width * PILOT_TERMS if mode == PILOT else width * MAIN_TERMS + 1, row.shape[0])
    if family == GAMMA or family == DIRICHLET:
        d_mt, c_mt, _, psi, _, _ = gamma_constants(a, boost)
        psi0 = digamma(a.sum())
    else:
        d_mt = c_mt = psi = np.empty(1)
        psi0 = 0.0
    theta = _softmax_rows(logits) if family == CATEGORICAL else np.empty((1, 1))
    theta_1 = np.empty(size)
    theta_bar = np.empty(size)
    if family == BERNOULLI:
        for d in range(size):
            theta_1[d] = sigmoid_pair(logits[d, 0])[0]
            theta_bar[d] = sigmoid_pair(-logits[d, 0])[0]
    bad = 0
    proposals = 0
    for i in range(m):
        for k in range(group):
            if family == NORMAL:
                s = _normal(s, a, b, x, score)
            elif family == MULTIVARIATE_NORMAL:
                s = _multivariate_normal(s, loc, tril, inv, eps, x, score)
            elif family == GAMMA:
                s, tries = _gamma(s, a, b, boost, d_mt, c_mt, psi, x, log_x, score)
                proposals += tries
            elif family == DIRICHLET:
                s, tries = _dirichlet(s, a, boost, d_mt, c_mt, psi, psi0, x, log_x, score)
                proposals += tries
            elif family == BERNOULLI:
                s = _bernoulli(s, theta_1, theta_bar, b, x, score)
            else:
                s = _categorical(s, theta, b, x, score)
            classes = logits.shape[1] if family == CATEGORICAL else 1
            if family == GAMMA or family == DIRICHLET:
                f = evaluate_log_space(user_path, code, p, user, x[:n_eval], log_x[:n_eval], grad[:n_eval])
            else:
                f = evaluate_vector(user_path, code, p, user, classes, x[:n_eval], grad[:n_eval])
            h = _taylor(a, taylor, x) if family == NORMAL and taylor.shape[0] > 0 else 0.0
            if mode == PILOT:
                _pilot_terms(f, h, score, mean_grad, out)
            elif group == 1:
                _main_terms(f, h, score, baseline, beta, mean_grad, out)
                out[width * MAIN_TERMS] = f
            else:
                fs[k] = f
                scores[k] = score
        if mode == MAIN and group > 1:
            _loo_terms(fs, scores, out)
            out[width * MAIN_TERMS] = fs.sum() / group
        bad += accumulate_sample(acc, shift, out, i == 0, count_nonfinite)
    block_row(acc.T, shift, m, row)
    return bad, proposals


EXTRA_BLOCKS = 4  # extra = [baseline, coefficient, control mean, chain factor] (W each), then the Taylor coefficients


def block(family: int, first_only: bool, user_path: int):
    """The block function (:data:`~mcgrad.kernels.driver.BLOCK_SIGNATURE`) of the variance-reduced score
    estimators of one family (``first_only`` for Beta), for a user objective (``user_path`` 1) or a built-in (0).
    The mode, ``PILOT`` or ``MAIN``, comes as a value (``chosen``): one compile serves both passes, where a
    compile per mode cost about 12 s on a cold cache.  (The family stays a compile-time constant: as a value it
    made the main pass 20-35% slower, measured on Normal, Gamma and Categorical.)

    ``params`` as the family's plain block functions; ``options`` = [group size K, boost]; ``extra`` =
    [baseline b, coefficient beta, control mean m, chain factor] (W components each, W = params.size) followed
    by the delta method's Taylor coefficients (none for other controls).
    """
    return _family_block(family, first_only, user_path)


@functools.cache
def _family_block(family: int, first_only: bool, user_path: int):
    @jit
    def score_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, counting):
        group = int(options[0])
        boost = int(options[1])
        w = params.size
        baseline = extra[:w]
        beta = extra[w:2 * w]
        mean_grad = extra[2 * w:3 * w]
        chain = extra[3 * w:4 * w]
        taylor = extra[4 * w:]
        if family == NORMAL or family == GAMMA:
            a, b, logits = params[0], params[1], params[:1, :1]
        elif family == DIRICHLET or family == MULTIVARIATE_NORMAL:
            a, b, logits = params[0], chain, params[:1, :1]
        else:
            a, b, logits = chain, chain, params
        return _block(family, user_path, chosen, group, boost, first_only, a, b, logits, code, p, user, baseline,
                      beta, mean_grad, taylor, s, m, row, counting)

    return score_block
