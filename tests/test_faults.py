"""Fault tests: runs killed without warning and files written by many writers at once.

* A checkpointed CLI run (``mcgrad estimate ... --checkpoint``) is killed with SIGKILL several times in a row,
  each time at a moment drawn from a seeded generator: during start-up, while sampling, and in the middle of a
  checkpoint write.  After every kill the checkpoint must load (or not exist yet: never a torn file), cover a
  growing prefix of the blocks whose state is bitwise the uninterrupted run's, and the only temporary files
  may be those of writers killed mid-write (nothing removes them later: one stays per such kill, and the
  next run ignores it).  Run again until it finishes, the same command prints exactly (means and variances
  as floats, n) what ``mcgrad.estimate`` computes in one go, and the finished checkpoint gives it again.
* Threads and processes saving different results to one path at the same time never tear it: every load,
  during and after the writes, is exactly one of the written results, and no temporary file is left.

The killed runs go through ``mcgrad.cli.main`` in a small launcher that writes a checkpoint after every
chunk of a few blocks (``api.CHECKPOINT_EVERY = 0``, ``engine.CHUNK_BLOCKS`` small), so that a write is in
progress about a third of the time, and that appends a line to a log before and after each write and when
sampling starts: the last line of a killed process tells where the kill landed.  One run kills itself
instead, part way through writing a checkpoint's bytes, so that a write cut short is always among the cases.
A CLI process takes about 2 s to start with warm caches (importing mcgrad, loading its kernels): seven kills
and a last run keep this file near 25 s on 2 cores.
"""

import collections
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

import numba
import numpy as np
import pytest

import mcgrad
from mcgrad import api, engine, storage

N = 80_000_000  # 1221 blocks of 65536
THREADS = min(2, numba.config.NUMBA_NUM_THREADS)  # the same speed on larger machines: the kills stay mid-run
SMALL_CHUNK = 4  # blocks per chunk in the killed runs (about 2 ms of sampling), each followed by a write
SEED = 20240611

# ``python -c LAUNCHER log chunk_blocks estimate ...``: the CLI, with a checkpoint written after every chunk
# and a line appended to ``log`` at start-up ("boot"), when sampling starts ("run"), and around every write
# of a checkpoint ("write" before, "wrote" after).  With CUT=k:b in the environment, the process kills itself
# with SIGKILL in its k-th checkpoint write once b bytes of the .npz archive are written ("cut").
LAUNCHER = """
import os, signal, sys
log = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

def mark(what):
    os.write(log, f"{what} {os.getpid()}\\n".encode())

mark("boot")
import numpy
from mcgrad import api, cli, engine, storage
api.CHECKPOINT_EVERY = 0.0
engine.CHUNK_BLOCKS = int(sys.argv[2])
write, run_blocks, savez = storage._write, engine.run_blocks, numpy.savez
writes = [0]

def logged_write(*args, **kwargs):
    mark("write")
    writes[0] += 1
    write(*args, **kwargs)
    mark("wrote")

def logged_run_blocks(*args, **kwargs):
    mark("run")
    return run_blocks(*args, **kwargs)

class Cut:
    def __init__(self, file, left):
        self.file, self.left = file, left

    def write(self, data):
        data = memoryview(data).cast("B")
        if len(data) >= self.left:
            self.file.write(data[:self.left])
            self.file.flush()
            mark("cut")
            os.kill(os.getpid(), signal.SIGKILL)
        self.left -= len(data)
        return self.file.write(data)

    def __getattr__(self, name):
        return getattr(self.file, name)

def cut_savez(file, *args, **kwargs):
    k, left = (int(v) for v in os.environ["CUT"].split(":"))
    if writes[0] != k:
        return savez(file, *args, **kwargs)
    if hasattr(file, "write"):
        return savez(Cut(file, left), *args, **kwargs)
    name = os.fspath(file) if os.fspath(file).endswith(".npz") else os.fspath(file) + ".npz"
    with open(name, "wb") as fh:
        return savez(Cut(fh, left), *args, **kwargs)

storage._write, engine.run_blocks = logged_write, logged_run_blocks
if "CUT" in os.environ:
    numpy.savez = cut_savez
sys.exit(cli.main(sys.argv[3:]))
"""

PHASES = {"boot": "start-up", "run": "sampling", "wrote": "sampling", "write": "checkpoint write",
          "cut": "checkpoint write (cut short)"}


class Marks:
    """The lines the launched processes append to the log, read as they come."""

    def __init__(self, path):
        self.path, self.offset, self.partial, self.by_pid = path, 0, b"", collections.defaultdict(list)

    def of(self, pid):
        if self.path.exists():
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = self.partial + fh.read()
            self.offset += len(data) - len(self.partial)
            *lines, self.partial = data.split(b"\n")
            for line in lines:
                what, who = line.decode().split()
                if what == "boot":  # a new process (even one given the pid of an earlier one)
                    self.by_pid[int(who)] = []
                self.by_pid[int(who)].append(what)
        return self.by_pid[pid]


def _wait_for(proc, marks, done, what, timeout=120.0):
    """Poll until ``done(marks of proc)``; fail with its stderr if it exits first (a crash on restart)."""
    deadline = time.monotonic() + timeout
    while not done(marks.of(proc.pid)):
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the CLI exited with status {proc.returncode} before {what}:\n{err}")
        assert time.monotonic() < deadline, f"the CLI did not reach {what} in {timeout} s"
        time.sleep(0.0002)


def _writes_after_run(marks):
    return len(marks) - marks.index("run") - 1 if "run" in marks else -1


def _temporaries(path):
    return sorted(path.parent.glob(path.name + ".tmp*"))


def test_cli_run_killed_many_times_resumes_bitwise(tmp_path, monkeypatch):
    dist = mcgrad.Normal(1.0, 1.0)
    mcgrad.estimate(dist, "square", "score", 1000)  # compiled and cached before the CLI runs: each loads it
    path, log = tmp_path / "ck.npz", tmp_path / "marks.log"
    cmd = [sys.executable, "-c", LAUNCHER, str(log), str(SMALL_CHUNK), "estimate", "--estimator", "score",
           "--loc", "1", "-n", str(N), "--checkpoint", str(path), "--threads", str(THREADS), "--format", "json",
           "--no-progress"]
    job = api.prepare(dist, "square", "score", N, 0, engine.DEFAULT_BLOCK_SIZE, None, None, {})
    stamp = api.fingerprint(job)
    rng = random.Random(SEED)
    # "early": a kill 0.05-1.0 s after the start, mostly in start-up (about 2 s); "timed": once sampling has
    # gone through a few chunks, after a further 0-3 ms (a chunk and its write take about 3 ms); "aimed": once
    # sampling has gone through a few chunks, as soon as the next checkpoint write begins; "cut": the process
    # kills itself in a checkpoint write, after a random number of the file's (3-4 kB) bytes
    plan = ["early", "early", "timed", "timed", "aimed", "aimed", "cut"]
    rng.shuffle(plan)
    plan = [(how, rng.uniform(0.05, 1.0) if how == "early" else rng.uniform(0.0, 0.003), rng.randint(2, 15),
             rng.randint(1, 2500)) for how in plan]

    marks = Marks(log)
    phases, left_temporary = collections.Counter(), {}  # pid of a writer killed mid-write -> it left a file
    snapshots, ends, startups = {}, [0], []
    for how, delay, chunks, cut in plan:
        started = time.monotonic()
        env = dict(os.environ, CUT=f"{chunks}:{cut}") if how == "cut" else None  # its k-th write
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        if how == "early":
            time.sleep(delay)
        elif how != "cut":
            _wait_for(proc, marks, lambda m: "run" in m, "sampling")
            startups.append(time.monotonic() - started)
            # each chunk ends with a write: "write", "wrote"
            _wait_for(proc, marks, lambda m, k=chunks: _writes_after_run(m) >= 2 * k, f"{chunks} chunks")
            if how == "timed":
                time.sleep(delay)
            else:
                while proc.poll() is None and marks.of(proc.pid)[-1] != "write":
                    pass
        if how != "cut":
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, f"the CLI ended with status {proc.returncode} unkilled:\n{err}"
        phase = PHASES[(["boot"] + marks.of(proc.pid))[-1]]  # no mark yet: killed as Python started
        assert (how == "cut") == (phase == PHASES["cut"]), (how, phase)
        phases[phase] += 1

        temporaries = _temporaries(path)
        if phase.startswith("checkpoint write"):
            left_temporary[proc.pid] = any(t.name.startswith(f"{path.name}.tmp{proc.pid}-") for t in temporaries)
        for t in temporaries:  # only a writer killed between creating its file and replacing the checkpoint
            owner = re.fullmatch(re.escape(path.name) + r"\.tmp(\d+)-\d+", t.name)
            assert owner is not None and left_temporary.get(int(owner[1])), f"stray temporary file {t.name}"

        if not path.exists():  # not yet claimed: no run has got through its first write
            assert ends == [0] and not snapshots, "the checkpoint disappeared"
            continue
        acc, totals, _ = storage.load_checkpoint(path, stamp)  # raises on a torn or foreign file
        assert acc.first_block == 0 and acc.end_block >= ends[-1], "a checkpoint went back"
        ends.append(acc.end_block)
        snapshots[acc.end_block] = (acc.total(), totals.copy())

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    resumed = json.loads(done.stdout)["results"][0]
    whole = mcgrad.estimate(dist, "square", "score", N)
    assert resumed["n"] == whole.n == N
    assert [c["mean"] for c in resumed["components"]] == whole.mean.tolist()
    assert [c["var"] for c in resumed["components"]] == whole.var.tolist()
    acc, _, _ = storage.load_checkpoint(path, stamp)
    assert acc.end_block == engine.block_count(N, engine.DEFAULT_BLOCK_SIZE)
    assert np.array_equal(acc.total(), whole.accumulator.total())
    again = mcgrad.estimate(dist, "square", "score", N, checkpoint=path)  # a finished run is not lost
    assert again.mean.tolist() == whole.mean.tolist() and again.var.tolist() == whole.var.tolist()

    # every checkpoint a kill left behind was the uninterrupted run's state after its blocks, bit for bit
    checked = set()

    def compare(acc, totals, seconds):
        if acc.end_block in snapshots:
            state, counters = snapshots[acc.end_block]
            assert np.array_equal(acc.total(), state) and np.array_equal(totals, counters), acc.end_block
            checked.add(acc.end_block)

    monkeypatch.setattr(engine, "CHUNK_BLOCKS", SMALL_CHUNK)
    with engine.threads(THREADS):
        engine.run_blocks(job.launch, job.width, (0, max(ends)), on_chunk=compare)
    assert checked == set(snapshots) - {0}

    # where the outside kills landed depends on the machine's timing; the self-inflicted "cut" kill always
    # lands mid-write, so the outcome does not rest on it
    print(f"kills by phase: {dict(phases)}")
    leftovers = _temporaries(path)
    assert len(leftovers) == sum(left_temporary.values())  # what killed writers left; the last run left none
    complete = sum(_loads(t, stamp) for t in leftovers)
    print(f"\nkills by phase: {dict(phases)}; writers killed mid-write that left a temporary file: "
          f"{len(leftovers)} of {len(left_temporary)} ({complete} of the files complete, the rest cut short); "
          f"blocks checkpointed after each kill: {ends}; seconds from start to sampling: "
          f"{[round(s, 2) for s in startups]}")


def _loads(path, stamp):
    try:
        storage.load_checkpoint(path, stamp)
    except ValueError:
        return False
    return True


WRITER = """
import os, sys, time
import mcgrad
source, target, ready, go, times = sys.argv[1:6]
result = mcgrad.load(source)
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.001)
for _ in range(int(times)):
    result.save(target)
"""


def _identical(a, b):
    return (a.n == b.n and a.seed == b.seed and a.blocks == b.blocks and a.mean.tolist() == b.mean.tolist()
            and a.var.tolist() == b.var.tolist() and np.array_equal(a.accumulator.total(), b.accumulator.total()))


def test_concurrent_saves_to_one_path_never_tear(tmp_path):
    # results of different sizes (more blocks, more nodes): a file mixing two would not load as either
    results = {seed: mcgrad.estimate(mcgrad.Normal(1.0, 1.0), "square", "score", 3_000 + 7_000 * seed, seed=seed,
                                     block_size=1000) for seed in range(6)}
    target = tmp_path / "result.npz"
    results[0].save(target)
    n_threads, n_processes, times = 4, 2, 60
    procs = []
    for k in range(n_processes):
        seed = n_threads + k
        results[seed].save(tmp_path / f"source{k}.npz")
        procs.append(subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path / f"source{k}.npz"), str(target),
                                       str(tmp_path / f"ready{k}"), str(tmp_path / "go"), str(times)],
                                      stderr=subprocess.PIPE, text=True))
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready{k}").exists() for k in range(n_processes)):
        for p in procs:
            assert p.poll() is None, p.communicate()[1]
        assert time.monotonic() < deadline, "the writer processes did not start"
        time.sleep(0.01)

    start = threading.Barrier(n_threads + 1)
    errors = []

    def write(seed):
        try:
            start.wait()
            for _ in range(times):
                results[seed].save(target)
        except BaseException as exc:  # noqa: B036 - reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(seed,)) for seed in range(n_threads)]
    for t in threads:
        t.start()
    (tmp_path / "go").touch()
    start.wait()
    seen = collections.Counter()
    while any(t.is_alive() for t in threads) or any(p.poll() is None for p in procs):
        loaded = mcgrad.load(target)  # never torn, never missing: the replace is atomic
        assert _identical(loaded, results[loaded.seed]), f"a load mixed writes (seed {loaded.seed})"
        seen[loaded.seed] += 1
    for t in threads:
        t.join()
    for p in procs:
        assert p.wait() == 0, p.communicate()[1]
    assert not errors, errors
    final = mcgrad.load(target)
    assert _identical(final, results[final.seed])
    assert not _temporaries(target)
    assert len(seen) > 1, f"the reader saw one writer only: {seen}"  # the loads did overlap the writes
