"""Runs that lose nothing: saved results, checkpoints that resume bitwise, Ctrl-C that keeps finished blocks."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import mcgrad
from mcgrad import engine


def same(a, b):
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("mean", "var", "stderr", "var_stderr"))


@pytest.mark.parametrize("dist,f,name,opts", [
    (mcgrad.Normal([0.5, 1.0], [1.0, 2.0]), "cos", "pathwise", {}),
    (mcgrad.Gamma(2.5, 2.0), "square", "rsvi", {"boost": 0}),
    (mcgrad.Normal(0.7, 0.8), "cos", "score_baseline", {}),
])
def test_saved_results_load_exactly_and_still_merge(tmp_path, dist, f, name, opts):
    kw = dict(n=300_000, seed=4, block_size=50_000, **opts)
    whole = mcgrad.estimate(dist, f, name, **kw)
    head = mcgrad.estimate(dist, f, name, blocks=(0, 2), **kw)
    tail = mcgrad.estimate(dist, f, name, blocks=(2, 6), **kw)
    head.save(tmp_path / "head.npz")
    tail.save(tmp_path / "tail.npz")
    loaded = mcgrad.load(tmp_path / "head.npz")
    assert same(loaded, head) and loaded.diagnostics == head.diagnostics and loaded.blocks == (0, 2)
    merged = loaded.merge(mcgrad.load(tmp_path / "tail.npz"))
    assert same(merged, whole)
    if whole.reference is not None:
        assert np.array_equal(merged.variance_reduction, whole.variance_reduction)
    timing = ["seconds", "samples_per_second", "pilot_seconds", "efficiency"]
    assert merged.to_frame().drop(columns=timing, errors="ignore").equals(
        whole.to_frame().drop(columns=timing, errors="ignore"))


def test_checkpoint_resumes_bitwise(tmp_path):
    path = tmp_path / "run.npz"
    kw = dict(n=400_000, seed=8, block_size=40_000)
    dist = mcgrad.Gamma([1.5, 3.0], 1.0)
    part = mcgrad.estimate(dist, "log", "implicit", blocks=(0, 3), checkpoint=path, **kw)  # as if stopped
    assert part.blocks == (0, 3) and path.exists()
    resumed = mcgrad.estimate(dist, "log", "implicit", checkpoint=path, **kw)
    whole = mcgrad.estimate(dist, "log", "implicit", **kw)
    assert same(resumed, whole) and resumed.n == whole.n
    assert resumed.diagnostics["acceptance_rate"] == whole.diagnostics["acceptance_rate"]
    again = mcgrad.estimate(dist, "log", "implicit", checkpoint=path, **kw)  # a finished checkpoint
    assert same(again, whole)


@pytest.mark.parametrize("change,field", [({"seed": 9}, "seed"), ({"n": 500_000}, "n"),
                                          ({"f": "square"}, "objective"), ({"estimator": "rsvi"}, "estimator")])
def test_checkpoint_of_other_settings_is_refused(tmp_path, change, field):
    path = tmp_path / "run.npz"
    kw = dict(dist=mcgrad.Gamma(2.0), f="log", estimator="implicit", n=100_000, seed=8, block_size=40_000)
    mcgrad.estimate(checkpoint=path, **kw)
    with pytest.raises(ValueError, match=f"made with other settings .*{field}: checkpoint"):
        mcgrad.estimate(checkpoint=path, **{**kw, **change})
    (tmp_path / "x.npz").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not an mcgrad checkpoint file"):
        mcgrad.estimate(checkpoint=tmp_path / "x.npz", **kw)
    result = mcgrad.estimate(**kw)
    result.save(tmp_path / "result.npz")
    with pytest.raises(ValueError, match="kind 'estimate'; expected 'mcgrad.state/1', 'checkpoint'"):
        mcgrad.estimate(checkpoint=tmp_path / "result.npz", **kw)


def test_ctrl_c_keeps_the_finished_chunks():
    """SIGINT during a run stops it after the chunk in flight, with every finished block kept."""
    job = mcgrad.api.prepare(mcgrad.Normal(0.0, 1.0), "square", "score", 10 * engine.CHUNK_BLOCKS * 64, 0, 64,
                             None, None, {})
    calls = []

    def launch(first, rows, counters):
        job.launch(first, rows, counters)
        calls.append(first)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(engine.Stopped) as stop:
        engine.run_blocks(launch, job.width, job.blocks)
    acc = stop.value.acc
    assert (acc.first_block, acc.end_block) == (0, 2 * engine.CHUNK_BLOCKS) and len(calls) == 2
    full, _, _ = engine.run_blocks(job.launch, job.width, (0, 2 * engine.CHUNK_BLOCKS))
    assert np.array_equal(acc.total(), full.total())


def _has_finished_blocks(path) -> bool:
    try:
        return mcgrad.load(path).n > 0
    except (ValueError, FileNotFoundError):
        return False


def test_cli_run_killed_midway_resumes_bitwise(tmp_path):
    """Ctrl-C a CLI run, run the same command again, and get exactly the uninterrupted result."""
    n = 1_500_000_000
    mcgrad.estimate(mcgrad.Normal(1.0, 1.0), "square", "score", 1000)  # compiled and cached before the CLI runs
    path = tmp_path / "ck.npz"
    cmd = [sys.executable, "-m", "mcgrad.cli", "estimate", "--estimator", "score", "--loc", "1", "-n", str(n),
           "--checkpoint", str(path), "--format", "json", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not _has_finished_blocks(path) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)  # the file is claimed before the first block runs: wait for saved progress
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "progress saved to" in err and "run the same command again to resume" in err
    partial = mcgrad.load(path)  # the checkpoint's finished blocks, as a result
    assert 0 < partial.n < n and partial.blocks[0] == 0
    finished = mcgrad.estimate(mcgrad.Normal(1.0, 1.0), "square", "score", n, blocks=partial.blocks)
    assert partial.mean.tolist() == finished.mean.tolist() and partial.var.tolist() == finished.var.tolist()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"resuming from {path} at {partial.n:,} of {n:,} samples" in done.stderr
    resumed = json.loads(done.stdout)["results"][0]
    whole = mcgrad.estimate(mcgrad.Normal(1.0, 1.0), "square", "score", n)
    assert resumed["n"] == n
    assert [c["mean"] for c in resumed["components"]] == whole.mean.tolist()
    assert [c["var"] for c in resumed["components"]] == whole.var.tolist()


def test_merge_takes_pieces_in_any_order(tmp_path):
    kw = dict(n=350_000, seed=2, block_size=50_000)
    dist = mcgrad.Bernoulli([0.4, -1.0])
    whole = mcgrad.estimate(dist, "toy", "disarm", **kw)
    pieces = [mcgrad.estimate(dist, "toy", "disarm", blocks=b, **kw) for b in [(4, 7), (0, 1), (1, 4)]]
    for i, piece in enumerate(pieces):
        piece.save(tmp_path / f"{i}.npz")
    merged = mcgrad.merge(mcgrad.load(tmp_path / f"{i}.npz") for i in range(3))
    assert same(merged, whole) and merged.blocks == (0, 7)
    with pytest.raises(ValueError, match="gap between"):
        mcgrad.merge([pieces[0], pieces[1]])
    with pytest.raises(ValueError, match="overlap between"):
        mcgrad.merge([pieces[1], pieces[2], mcgrad.estimate(dist, "toy", "disarm", blocks=(3, 5), **kw)])


def test_ctrl_c_during_the_last_chunk_still_stops():
    job = mcgrad.api.prepare(mcgrad.Normal(0.0, 1.0), "square", "score", 5 * 64, 0, 64, None, None, {})

    def launch(first, rows, counters):
        job.launch(first, rows, counters)
        os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(engine.Stopped) as stop:
        engine.run_blocks(launch, job.width, job.blocks)
    assert stop.value.acc.end_block == 5  # complete, but the interrupt is not swallowed


def test_checkpoints_and_merges_tell_close_options_and_edited_functions_apart(tmp_path):
    import numba

    path = tmp_path / "run.npz"
    kw = dict(n=100_000, seed=1, block_size=40_000)
    dist = mcgrad.Normal(0.5, 1.0)
    mcgrad.estimate(dist, "cos", "score_baseline", baseline=1.0000001, checkpoint=path, **kw)
    with pytest.raises(ValueError, match="options: checkpoint"):
        mcgrad.estimate(dist, "cos", "score_baseline", baseline=1.0000002, checkpoint=path, **kw)
    a = mcgrad.estimate(dist, "cos", "score_baseline", baseline=1.0000001, blocks=(0, 1), **kw)
    b = mcgrad.estimate(dist, "cos", "score_baseline", baseline=1.0000002, blocks=(1, 3), **kw)
    assert a.estimator == b.estimator  # the labels round to 6 digits, the merge check does not
    with pytest.raises(ValueError, match="can only merge block ranges of the same run"):
        a.merge(b)

    def make(k):
        @numba.njit
        def f(x):
            return x * k

        return f

    first, second = mcgrad.user_objective(make(2.0)), mcgrad.user_objective(make(3.0))
    assert first.name == second.name == "f" and first.identity != second.identity
    other = tmp_path / "user.npz"
    mcgrad.estimate(dist, first, "score", checkpoint=other, **kw)
    with pytest.raises(ValueError, match="objective_identity: checkpoint"):
        mcgrad.estimate(dist, second, "score", checkpoint=other, **kw)
    again = mcgrad.estimate(dist, mcgrad.user_objective(make(2.0)), "score", checkpoint=other, **kw)
    assert again.n == kw["n"]  # the same function, wrapped again, is recognised


def test_damaged_files_are_refused_cleanly(tmp_path):
    r = mcgrad.estimate(mcgrad.Normal(0.0, 1.0), "square", "score", 1000)
    r.save(tmp_path / "r.npz")
    data = (tmp_path / "r.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="is not an mcgrad estimate or checkpoint file"):
        mcgrad.load(tmp_path / "cut.npz")
    assert not list(tmp_path.glob("*.tmp*"))
