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
