import subprocess
import sys

SCRIPT = """
import resource, mcgrad
r = mcgrad.estimate(mcgrad.Normal(0.5, 1.0), "square", "pathwise", n={n}, seed=1)
assert r.n == {n}
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def _peak_kib(n):
    out = subprocess.run([sys.executable, "-c", SCRIPT.format(n=n)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def test_memory_does_not_grow_with_n():
    small = _peak_kib(10**5)
    huge = _peak_kib(10**9)  # a billion samples: a few seconds on 2 cores
    assert huge - small < 20 * 1024, (small, huge)


BATCH_SCRIPT = """
import resource, numpy as np, mcgrad
f = mcgrad.batch_objective(lambda x: (x * x).sum(axis=1), lambda x: 2.0 * x, name="square")
r = mcgrad.estimate(mcgrad.Normal([0.5, 1.0], 1.0), f, "pathwise", n={n}, seed=1)
assert r.n == {n}
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_batch_objective_memory_does_not_grow_with_n():
    """Tapes hold a bounded group of blocks: past the first full group, peak memory is flat in n."""
    def peak(n):
        out = subprocess.run([sys.executable, "-c", BATCH_SCRIPT.format(n=n)], capture_output=True, text=True,
                             check=True)
        return int(out.stdout.strip())

    one_group, many = peak(1 << 22), peak(1 << 24)
    assert many - one_group < 20 * 1024, (one_group, many)
