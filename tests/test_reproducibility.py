import numba
import numpy as np
import pytest

import mcgrad

CASES = [
    (mcgrad.Normal(1.0, 2.0), "score", {}),
    (mcgrad.Normal([0.5, -1.0], [1.0, 0.3]), "grep", {"transform": 2}),
    (mcgrad.Normal(0.2, 0.7), "measure_valued", {}),
    (mcgrad.Gamma(2.5, 1.5), "rsvi", {}),
    (mcgrad.Gamma(2.5, 1.5), "rsvi", {"boost": 0}),  # rounds of 256 samples, lane power sums
    (mcgrad.Gamma([0.5, 4.0], 2.0), "implicit", {"boost": 2}),
    (mcgrad.Gamma(3.0), "implicit", {}),
    (mcgrad.Dirichlet([0.7, 2.0, 3.0]), "implicit", {}),
    (mcgrad.Dirichlet([0.7, 2.0, 3.0]), "grep", {}),
    (mcgrad.Beta(2.0, 0.5), "score", {}),
    (mcgrad.Bernoulli(logits=0.3), "rebar", {}),
    (mcgrad.Bernoulli(probs=[0.2, 0.7]), "disarm", {}),
    (mcgrad.Categorical(logits=[[0.1, 0.5, -1.0], [0.0, 2.0, 1.0]]), "gumbel_softmax", {"temperature": 0.3}),
    (mcgrad.Categorical(logits=[0.1, 0.5, -1.0]), "score", {}),
    (mcgrad.Categorical(logits=[0.1, 0.5, -1.0]), "rebar", {"eta": 0.7}),  # batches of 160 samples
    (mcgrad.Categorical(logits=np.linspace(-1.0, 1.0, 40)), "straight_through", {}),  # 12: batches off the lanes
]


def _same(a, b):
    for name in ("mean", "var", "stderr", "var_stderr"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.n == b.n


@pytest.mark.parametrize("dist,estimator,opts", CASES)
def test_bitwise_identical_across_thread_counts(dist, estimator, opts):
    n = 1_000_003  # a partial last block too
    one = mcgrad.estimate(dist, mcgrad.cos(1.3), estimator, n, seed=42, threads=1, **opts)
    many = mcgrad.estimate(dist, mcgrad.cos(1.3), estimator, n, seed=42, threads=numba.config.NUMBA_NUM_THREADS,
                           **opts)
    _same(one, many)


@pytest.mark.parametrize("dist,estimator,opts", CASES)
def test_split_runs_merge_bitwise(dist, estimator, opts):
    n, bs = 700_001, 4096  # 171 blocks
    whole = mcgrad.estimate(dist, "square", estimator, n, seed=9, block_size=bs, **opts)
    cuts = [0, 1, 37, 64, 100, 171]
    parts = [mcgrad.estimate(dist, "square", estimator, n, seed=9, block_size=bs, blocks=(a, b), **opts)
             for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    _same(whole, merged)
    assert merged.blocks == (0, 171)


def test_chunking_does_not_change_results(monkeypatch):
    from mcgrad import engine

    dist = mcgrad.Normal(0.3, 1.1)
    ref = mcgrad.estimate(dist, "square", "pathwise", 2_000_000, seed=5, block_size=1000)
    monkeypatch.setattr(engine, "CHUNK_BLOCKS", 7)
    _same(ref, mcgrad.estimate(dist, "square", "pathwise", 2_000_000, seed=5, block_size=1000))


def test_seed_and_block_size_are_the_key():
    dist = mcgrad.Normal(0.0, 1.0)
    a = mcgrad.estimate(dist, "square", "score", 100_000, seed=1)
    b = mcgrad.estimate(dist, "square", "score", 100_000, seed=2)
    c = mcgrad.estimate(dist, "square", "score", 100_000, seed=1, block_size=1000)
    assert not np.array_equal(a.mean, b.mean)
    assert not np.array_equal(a.mean, c.mean)
    big = mcgrad.estimate(dist, "square", "score", 100_000, seed=2**64 - 1)
    assert np.all(np.isfinite(big.mean))


def test_merge_refuses_other_runs():
    dist = mcgrad.Normal(0.0, 1.0)
    a = mcgrad.estimate(dist, "square", "score", 200_000, seed=1, blocks=(0, 2))
    b = mcgrad.estimate(dist, "square", "score", 200_000, seed=2, blocks=(2, 4))
    with pytest.raises(ValueError, match="same run"):
        a.merge(b)


def test_single_sample_block_range_merges_without_warning():
    import warnings

    dist = mcgrad.Normal(0.5, 1.0)
    n, bs = 3 * 4096 + 1, 4096
    whole = mcgrad.estimate(dist, "square", "score", n, seed=3, block_size=bs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        head = mcgrad.estimate(dist, "square", "score", n, seed=3, block_size=bs, blocks=(0, 3))
        tail = mcgrad.estimate(dist, "square", "score", n, seed=3, block_size=bs, blocks=(3, 4))
    assert tail.n == 1
    _same(whole, head.merge(tail))
