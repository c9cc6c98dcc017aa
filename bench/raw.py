"""Raw sampling rates: each family's draws alone, the ceiling its estimators are measured against.

Every probe runs the same block streams and the same parallel loop over blocks as an ``estimate`` and only
sums what it draws, so an estimator's rate divided by its family's raw rate is the share of the time left
to the draws: 1 means the gradient and the power sums cost nothing beside them.

* Normal: ziggurat normals (``mcgrad.kernels.rng.sum_normals_blocks``);
* Bernoulli: open uniforms, one per sample (:func:`sum_uniforms_blocks`, the draw of the D = 1 loops);
* Categorical: the K Gumbels of a Gumbel-max draw, with its argmax (``sum_gumbel_max_blocks``);
* Gamma: Marsaglia-Tsang with B boosts (``sum_gamma_blocks``; B = 0 and B = 1 are separate references).
"""

from __future__ import annotations

import numba
import numpy as np

from mcgrad import engine
from mcgrad.kernels import categorical, rng
from mcgrad.kernels import gamma as gk

BLOCK = engine.DEFAULT_BLOCK_SIZE


@numba.njit(parallel=True, cache=True)
def sum_uniforms_blocks(key, block_size, n, out):
    """Sum the open uniforms of every block of an n-sample run into ``out[b]``."""
    for b in numba.prange(out.shape[0]):
        s = rng.block_state(key, b)
        total = 0.0
        for _ in range(min(block_size, n - b * block_size)):
            s, u = rng.next_double_open(s)
            total += u
        out[b] = total


def _blocks(n: int, dtype=np.float64) -> np.ndarray:
    return np.empty(-(-n // BLOCK), dtype)


def normals(n: int):
    """A callable drawing n normals in blocks."""
    out, key = _blocks(n), rng.run_key(0)
    return lambda: rng.sum_normals_blocks(key, BLOCK, n, out)


def uniforms(n: int):
    """A callable drawing n open uniforms in blocks."""
    out, key = _blocks(n), rng.run_key(0)
    return lambda: sum_uniforms_blocks(key, BLOCK, n, out)


def gumbel_max(logits: np.ndarray, n: int):
    """A callable drawing n Gumbel-max samples of K = len(logits) classes (K Gumbels each) in blocks."""
    log_theta = np.asarray(logits, float) - np.logaddexp.reduce(logits)
    out, key = _blocks(n, np.int64), rng.run_key(0)
    return lambda: categorical.sum_gumbel_max_blocks(key, log_theta, BLOCK, n, out)


def gammas(alpha: float, boost: int, n: int):
    """A callable drawing n Gamma(alpha, 1) samples with ``boost`` shape augmentations in blocks."""
    out, key = _blocks(n), rng.run_key(0)
    return lambda: gk.sum_gamma_blocks(key, alpha, boost, BLOCK, n, out)
