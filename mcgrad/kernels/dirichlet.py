"""Beta and Dirichlet: gradients through independent Gamma draws, x = G / sum(G).

G_k ~ Gamma(alpha_k, 1) are drawn by Marsaglia-Tsang with shape augmentation (see gamma.py);
components are ``concentration[0..K-1]``.  With S = sum G and f' = grad_x f:

* reparameterisation part (rsvi, rsvi_rep_only, implicit, grep): df/dG_j = (f'_j - sum_i x_i f'_i) / S
  times dG_j/dalpha_j (rsvi: through the sampler; implicit: -dP/dalpha / q), carried in log space as
  (e_j - x_j sum_i e_i) dlog G_j/dalpha_j with e_i = x_i f'_i = df/dlog x_i, finite when G_j underflows;
* rsvi adds f(x) * dlog pi(eps_j | alpha_j + B)/dalpha_j (each alpha_k's correction uses eps_k only);
* grep adds f(x) [((alpha_j - 1)/G_j - 1) h_j + (log G_j - psi(alpha_j)) + u_j] per Gamma coordinate;
* score: f(x) (log x_j + psi(alpha_0) - psi(alpha_j)), alpha_0 = sum alpha.

For Beta(a, b) (``first_only``) the objective sees the scalar x = x_0 only.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import literally

from ._jit import jit
from .gamma import (
    GREP,
    IMPLICIT,
    RSVI,
    RSVI_REP_ONLY,
    SCORE,
    gamma_constants,
    gamma_draw,
    grep_terms,
    implicit_dlog_table,
    log_h,
    log_normaliser,
    rsvi_terms,
)
from .moments import accumulate_sample, block_row, sample_sums
from .objectives import evaluate_log_space
from .special import digamma


@jit
def _block(estimator, boost, first_only, user_path, alpha_shared, code, p, user, tables, s, m, row, count_nonfinite):
    """One block; returns ``(non-finite samples, sampler proposals)``."""
    literally(user_path)
    alpha = alpha_shared.copy()
    k_dim = alpha.shape[0]
    alpha0 = alpha.sum()
    psi0 = digamma(alpha0)
    d, c, psi_boosted, psi, psi1, psi2 = gamma_constants(alpha, boost)
    work = np.empty((6, k_dim))
    big, log_big, dlog_big, cor, x, log_x = work[0], work[1], work[2], work[3], work[4], work[5]
    dlog_f = np.zeros(k_dim)
    g, acc, shift = sample_sums(k_dim, row.shape[0])
    bad = 0
    proposals = 0
    n_eval = 1 if first_only else k_dim
    for i in range(m):
        total = 0.0
        for k in range(k_dim):
            s, gk, h, e, v, log_sum, log_sum_sq, tries = gamma_draw(s, alpha[k], boost, d[k], c[k])
            proposals += tries
            big[k] = gk
            log_h_value = log_h(d[k], v)
            log_big[k] = log_h_value + log_sum
            total += gk
            if estimator == RSVI or estimator == RSVI_REP_ONLY:
                dlog_big[k], cor[k] = rsvi_terms(log_h_value, e, v, d[k], c[k], alpha[k], boost, psi_boosted[k],
                                                 log_sum_sq)
        log_total = log_normaliser(log_big, total)
        for k in range(k_dim):
            log_x[k] = log_big[k] - log_total  # finite when G_k underflows
            x[k] = big[k] / total if total > 0.0 else math.exp(log_x[k])
        fx = evaluate_log_space(user_path, code, p, user, x[:n_eval], log_x[:n_eval], dlog_f[:n_eval])
        dlog_f_sum = 0.0
        for k in range(n_eval):
            dlog_f_sum += dlog_f[k]
        for k in range(k_dim):
            if estimator == SCORE:
                g[k] = fx * (log_x[k] + psi0 - psi[k])
                continue
            df_dlog_big = dlog_f[k] - x[k] * dlog_f_sum  # G_k df/dG_k
            if estimator == RSVI:
                g[k] = df_dlog_big * dlog_big[k] + fx * cor[k]
            elif estimator == RSVI_REP_ONLY:
                g[k] = df_dlog_big * dlog_big[k]
            elif estimator == IMPLICIT:
                g[k] = df_dlog_big * implicit_dlog_table(tables, k, alpha[k], big[k], log_big[k])
            elif estimator == GREP:
                dlog_k, cor_k = grep_terms(big[k], log_big[k], alpha[k], psi[k], psi1[k], psi2[k])
                g[k] = df_dlog_big * dlog_k + fx * cor_k
        bad += accumulate_sample(acc, shift, g, i == 0, count_nonfinite)
    block_row(acc.T, shift, m, row)
    return bad, proposals


def block(estimator: int, first_only: bool, user_path: int):
    """The block function (:data:`~mcgrad.kernels.driver.BLOCK_SIGNATURE`) of a Dirichlet estimator
    (``first_only``: Beta, whose objective sees x_0 only) for a user objective (``user_path`` 1) or a built-in.

    ``params`` = [concentration]; ``options`` = [boost]; ``tables`` from
    :func:`~mcgrad.kernels.gamma.implicit_setup` for implicit.  The loop takes the estimator as a value
    (``chosen``): one block function, one compile, for all of a family's estimators.
    """
    return _shared_block(bool(first_only), user_path)


@functools.cache
def _shared_block(first_only: bool, user_path: int):
    @jit
    def dirichlet_block(params, extra, options, tables, chosen, code, p, user, user1, cv, cv1, s, m, row, counting):
        return _block(chosen, int(options[0]), first_only, user_path, params[0], code, p, user, tables, s, m, row,
                      counting)

    return dirichlet_block
