"""Dask: block ranges on a LocalCluster of two worker processes give bitwise the local results."""

import json

import numba
import numpy as np
import pytest

import mcgrad

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@numba.njit
def wave(x):
    return np.sin(3.0 * x) + x * x


@numba.njit
def dwave(x):
    return 3.0 * np.cos(3.0 * x) + 2.0 * x


def same(a, b):
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("mean", "var", "stderr", "var_stderr"))


@pytest.mark.parametrize("dist,f,name,opts", [
    (mcgrad.Normal([0.5, 1.0], [1.0, 2.0]), "cos", "pathwise", {}),
    (mcgrad.Gamma(2.5, 2.0), "square", "rsvi", {"boost": 0}),
    (mcgrad.Bernoulli([0.3, -0.2]), mcgrad.toy(0.45), "rebar", {"eta": 1.0}),
    (mcgrad.Normal(0.7, 0.8), "cos", "score_baseline", {}),
    (mcgrad.Normal(0.3, 0.9), mcgrad.user_objective(wave, dwave), "pathwise", {}),
])
def test_cluster_result_is_bitwise_the_local_one(client, dist, f, name, opts):
    kw = dict(n=700_000, seed=6, block_size=50_000, **opts)
    local = mcgrad.estimate(dist, f, name, **kw)
    remote = mcgrad.estimate(dist, f, name, client=client, **kw)
    assert same(remote, local) and remote.n == local.n and remote.blocks == local.blocks
    assert remote.diagnostics.keys() == local.diagnostics.keys()
    if "acceptance_rate" in local.diagnostics:
        assert remote.diagnostics["acceptance_rate"] == pytest.approx(local.diagnostics["acceptance_rate"], rel=1e-12)


def test_compare_and_sweep_on_the_cluster(client):
    dist = mcgrad.Normal(0.5, 1.0)
    local = mcgrad.compare(dist, "cos", ["score", "pathwise"], n=200_000, block_size=40_000)
    remote = mcgrad.compare(dist, "cos", ["score", "pathwise"], n=200_000, block_size=40_000, client=client)
    for column in ("mean", "var", "var_stderr"):
        assert np.array_equal(local[column].to_numpy(), remote[column].to_numpy())
    grid = {"loc": [0.0, 1.0], "scale": [0.5, 2.0]}
    here = mcgrad.sweep(mcgrad.Normal, grid, "cos", ["pathwise"], n=120_000, block_size=40_000)
    there = mcgrad.sweep(mcgrad.Normal, grid, "cos", ["pathwise"], n=120_000, block_size=40_000, client=client)
    assert np.array_equal(here["mean"].to_numpy(), there["mean"].to_numpy())
    assert np.array_equal(here["var"].to_numpy(), there["var"].to_numpy())


def test_client_errors(client, tmp_path):
    with pytest.raises(TypeError, match="client must be a dask.distributed.Client"):
        mcgrad.estimate(mcgrad.Normal(0.0, 1.0), client="tcp://nowhere:1")
    with pytest.raises(ValueError, match="checkpoint and client cannot be combined"):
        mcgrad.estimate(mcgrad.Normal(0.0, 1.0), client=client, checkpoint=tmp_path / "c.npz")


def test_cli_runs_on_a_scheduler(client, capsys):
    from mcgrad.cli import main

    args = ["estimate", "--loc", "1", "-n", "300000", "--format", "json"]
    main(args)
    local = capsys.readouterr().out
    main(args + ["--scheduler", client.scheduler.address])
    remote = capsys.readouterr().out
    def moments(text):
        return [(c["mean"], c["var"]) for c in json.loads(text)["results"][0]["components"]]

    assert moments(local) == moments(remote)


def _batch_objective():
    """A NumPy batch objective built from closures (pickled by value, as a user's notebook functions are)."""
    shift = 0.25

    def values(points):
        return np.sin(points - shift).sum(axis=1)

    def gradients(points):
        return np.cos(points - shift)

    return mcgrad.batch_objective(values, gradients, name="sin", version=1, batch_size=3000)


@pytest.mark.parametrize("dist,name", [(mcgrad.Normal([0.5, 1.0], [1.0, 2.0]), "pathwise"),
                                       (mcgrad.Bernoulli([0.3, -0.2]), "rebar")])
def test_batch_objectives_on_the_cluster_are_bitwise_the_local_ones(client, dist, name):
    objective = _batch_objective()
    kw = dict(n=300_000, seed=4, block_size=50_000)
    local = mcgrad.estimate(dist, objective, name, **kw)
    remote = mcgrad.estimate(dist, objective, name, client=client, **kw)
    assert same(remote, local) and remote.n == local.n
