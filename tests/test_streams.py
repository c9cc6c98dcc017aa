"""The public streams and samplers, called from a user's own @njit code, against SciPy's distributions."""

import numba
import numpy as np
import pytest
from scipy import stats

import mcgrad
from mcgrad import streams


@numba.njit
def draw(kind, seed, block, alpha, out):
    """A user's njit sampler built on mcgrad's streams (kind: 0 normal, 1 exponential, 2 Gumbel, 3 Gamma)."""
    s = streams.block_state(streams.stream_key(np.uint64(seed)), block)
    for i in range(out.shape[0]):
        if kind == 0:
            s, out[i] = streams.next_normal(s)
        elif kind == 1:
            s, out[i] = streams.next_exponential(s)
        elif kind == 2:
            s, out[i] = streams.next_gumbel(s)
        else:
            s, out[i] = streams.next_gamma(s, alpha)


@pytest.mark.parametrize("kind,law", [(0, stats.norm), (1, stats.expon), (2, stats.gumbel_r),
                                      (3, stats.gamma(2.5)), (3, stats.gamma(0.4))])
def test_user_njit_code_draws_the_right_law(kind, law):
    alpha = law.args[0] if getattr(law, "args", ()) else 0.0
    out = np.empty(200_000)
    draw(kind, 7, 3, alpha, out)
    assert np.all(np.isfinite(out))
    assert stats.kstest(out, law.cdf).pvalue > 1e-3


def test_block_streams_are_the_kernels_streams():
    """Block b of a seed, drawn from user code, is the stream mcgrad's Normal kernels use for that block."""
    ours = np.empty(1000)
    draw(0, 11, 2, 0.0, ours)
    theirs = np.empty(1000)
    streams.fill_normals(streams.run_key(11), 2, theirs)
    assert np.array_equal(ours, theirs)
    # and the score estimator's first block sees exactly these eps: g_loc = f(x) eps / sigma with f = x
    eps = np.empty(4096)
    streams.fill_normals(streams.run_key(11), 0, eps)
    r = mcgrad.estimate(mcgrad.Normal(0.0, 1.0), mcgrad.linear(1.0), "score", 4096, seed=11)
    np.testing.assert_allclose(r.mean[0], np.mean(eps * eps), rtol=1e-12)


def test_gamma_helpers_match_the_gamma_kernels_draws():
    d, c = streams.mt_constants(2.5, 0)
    assert d == pytest.approx(2.5 - 1 / 3) and c == pytest.approx(1 / np.sqrt(9 * d))
    out = np.empty(500)
    streams.fill_gamma(streams.run_key(5), 1, 2.5, 0, out)
    ours = np.empty(500)
    draw(3, 5, 1, 2.5, ours)
    assert np.array_equal(ours, out)


def test_public_names_are_listed_once():
    assert sorted(mcgrad.__all__) == sorted(set(mcgrad.__all__))
    for name in mcgrad.__all__ + ["streams"]:
        assert hasattr(mcgrad, name)
    for name in streams.__all__:
        assert hasattr(streams, name)
