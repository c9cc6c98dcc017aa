"""The on-disk kernel cache follows the code: any edit under ``mcgrad/kernels/`` invalidates it.

Numba alone stamps a cache entry with its own file only, so a kernel that inlines a helper from
another module would keep loading stale machine code after the helper changed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from mcgrad.kernels import _jit, rng

KERNELS = Path(_jit.__file__).resolve().parent

# Written into the copy's kernels/: ``probe`` (in _probe.py) inlines ``offset`` and calls ``scale``,
# both from _probe_helpers.py, so editing only the helpers' file must change its result.
PROBE_HELPERS = """\
from ._jit import jit

OFFSET = 1.0


@jit(inline=True)
def offset(x):
    return x + OFFSET


@jit
def scale(x):
    return 2.0 * x
"""

PROBE = """\
from ._jit import jit
from ._probe_helpers import offset, scale


@jit
def probe(x):
    return scale(offset(x))
"""

# Imports the kernels without mcgrad/__init__ (the copy's __init__ is empty): fast and isolated.
RUN = textwrap.dedent(
    """\
    import json

    import numpy as np

    from mcgrad.kernels import _probe, rng

    value = _probe.probe(1.0)
    rng.block_state(np.uint64(7), 3)
    print(json.dumps({
        "value": value,
        "probe_hits": sum(_probe.probe.stats.cache_hits.values()),
        "rng_hits": sum(rng.block_state.stats.cache_hits.values()),
        "cache_path": _probe.probe._cache.cache_path,
    }))
    """
)


def _copy_kernels(root: Path) -> Path:
    """A package ``mcgrad`` under ``root`` with an empty ``__init__`` and a copy of the kernels."""
    kernels = root / "mcgrad" / "kernels"
    shutil.copytree(KERNELS, kernels, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (root / "mcgrad" / "__init__.py").write_text("")
    (kernels / "_probe_helpers.py").write_text(PROBE_HELPERS)
    (kernels / "_probe.py").write_text(PROBE)
    return kernels


def _run(root: Path, **env_extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    env.update(PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1", **env_extra)
    done = subprocess.run([sys.executable, "-c", RUN], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_edit_to_another_kernel_file_invalidates_the_cache(tmp_path):
    kernels = _copy_kernels(tmp_path)
    xdg = tmp_path / "xdg"  # user-wide cache dir: must stay unused while __pycache__ is writable

    first = _run(tmp_path, XDG_CACHE_HOME=str(xdg))
    assert first["value"] == 4.0
    assert first["probe_hits"] == 0 and first["rng_hits"] == 0
    digest = _jit._source_digest(kernels)
    assert Path(first["cache_path"]) == kernels / "__pycache__" / digest[:16]

    second = _run(tmp_path, XDG_CACHE_HOME=str(xdg))
    assert second == {**first, "probe_hits": 1, "rng_hits": 1}, "unchanged code must load from the cache"

    # change only the helpers' file: the inlined constant must be recompiled into probe
    helpers = kernels / "_probe_helpers.py"
    helpers.write_text(helpers.read_text().replace("OFFSET = 1.0", "OFFSET = 2.0"))
    third = _run(tmp_path, XDG_CACHE_HOME=str(xdg))
    assert third["value"] == 6.0, "stale machine code loaded from the cache"
    assert third["probe_hits"] == 0
    assert third["rng_hits"] == 0, "a kernel in an unchanged file must be invalidated too"
    assert third["cache_path"] != first["cache_path"]

    fourth = _run(tmp_path, XDG_CACHE_HOME=str(xdg))
    assert fourth == {**third, "probe_hits": 1, "rng_hits": 1}

    # a comment anywhere in the package is a change too
    with open(kernels / "elementary.py", "a") as f:
        f.write("# touched by test_kernel_cache\n")
    fifth = _run(tmp_path, XDG_CACHE_HOME=str(xdg))
    assert fifth["value"] == 6.0 and fifth["probe_hits"] == 0 and fifth["rng_hits"] == 0
    assert not xdg.exists()


def test_user_cache_dir_and_unwritable_package_dir(tmp_path):
    kernels = _copy_kernels(tmp_path)
    digest16 = _jit._source_digest(kernels)[:16]

    # NUMBA_CACHE_DIR set by the user is honoured, with the digest sub-directory
    user_dir = tmp_path / "numba_cache"
    first = _run(tmp_path, NUMBA_CACHE_DIR=str(user_dir))
    path = Path(first["cache_path"])
    assert path.name == digest16 and path.parent.parent == user_dir
    assert any(path.glob("_probe.probe-*.nbi"))
    assert not (kernels / "__pycache__").exists()
    assert _run(tmp_path, NUMBA_CACHE_DIR=str(user_dir))["probe_hits"] == 1

    # __pycache__ unusable (a plain file; works as root too): fall back to the user-wide directory
    (kernels / "__pycache__").write_text("")
    xdg = tmp_path / "xdg"
    first = _run(tmp_path, XDG_CACHE_HOME=str(xdg))
    path = Path(first["cache_path"])
    assert path.name == digest16 and path.is_relative_to(xdg)
    assert first["value"] == 4.0 and first["probe_hits"] == 0
    assert _run(tmp_path, XDG_CACHE_HOME=str(xdg))["probe_hits"] == 1


def test_digest_follows_contents(tmp_path):
    kernels = tmp_path / "kernels"
    shutil.copytree(KERNELS, kernels, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    digest = _jit._source_digest(kernels)
    assert digest == _jit._source_digest(KERNELS), "the copy has the same files, hence the same digest"

    (kernels / "__pycache__").mkdir()
    (kernels / "__pycache__" / "x.py").write_text("ignored")
    (kernels / "notes.txt").write_text("not source")
    assert _jit._source_digest(kernels) == digest

    moments = kernels / "moments.py"
    original = moments.read_bytes()
    moments.write_bytes(original + b"\n")
    changed = _jit._source_digest(kernels)
    assert changed != digest
    moments.write_bytes(original)
    assert _jit._source_digest(kernels) == digest, "same contents (new mtime): same digest"

    (kernels / "new_module.py").write_text("")
    assert _jit._source_digest(kernels) not in (digest, changed)


def test_locator_only_takes_kernels():
    def outside(x):  # a user function: left to numba's own locators
        return x

    assert _jit.KernelCacheLocator.from_function(outside, __file__) is None
    assert _jit.KernelCacheLocator.from_function(outside, "<string>") is None

    from numba.core import caching

    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl
    assert impl._locator_classes[0] is _jit.KernelCacheLocator
    assert impl._locator_classes.count(_jit.KernelCacheLocator) == 1

    locator = rng.block_state._cache._impl.locator
    assert isinstance(locator, _jit._FALLBACKS)
    assert locator.get_source_stamp() == _jit.kernels_digest()
    assert Path(rng.block_state._cache.cache_path).name == _jit.kernels_digest()[:16]


def test_kernels_round_every_operation_as_written():
    """No contraction or reciprocal rewriting: the optimiser must not be able to change a rounding.

    Numba optimises a callee in its own library and again wherever it is linked into a caller; which
    copy runs depends on what was compiled or loaded first, so with those flags a cold compile and a
    cache load gave different bits (the cross-process test below).
    """
    import numba
    import numpy as np

    from mcgrad.kernels.elementary import fma

    njit = numba.njit(**{**_jit.njit_options(), "cache": False})  # compiled here, with the kernels' flags

    @njit
    def multiply_add(a, b, c):
        return a * b + c

    @njit
    def fused(a, b, c):
        return fma(a, b, c)

    @njit
    def divide_all(x, y, out):
        for i in range(x.shape[0]):
            out[i] = x[i] / y

    a, b = 1.0 + 2.0**-30, 1.0 - 2.0**-30  # a b = 1 - 2^-60 exactly, which rounds to 1
    assert multiply_add(a, b, -1.0) == 0.0, "a * b + c was fused into one rounding"
    assert fused(a, b, -1.0) == -(2.0**-60), "fma must round once"

    x = np.random.default_rng(3).uniform(1.0, 2.0, 4096)
    y = 10.0
    assert np.any(x * (1.0 / y) != x / y), "the check needs inputs where the rewrite changes the result"
    out = np.empty_like(x)
    divide_all(x, y, out)
    assert np.array_equal(out, x / y), "x / y was evaluated as x * (1 / y)"


# Runs one Gamma D = 1 estimate with the kernel cache of this process copied into a private
# NUMBA_CACHE_DIR, less the entries named on the command line (those kernels compile afresh and link
# the cached machine code of their callees), and prints the result's bytes.
MIXED_CACHE = textwrap.dedent(
    """\
    import os, shutil, sys

    import mcgrad
    from mcgrad.kernels import gamma

    target = gamma._shared_block(0, True)._cache.cache_path
    shutil.copytree(sys.argv[1], target, dirs_exist_ok=True)
    for name in os.listdir(target):
        if any(name.startswith(prefix + "-") for prefix in sys.argv[2:]):
            os.remove(os.path.join(target, name))
    r = mcgrad.estimate(mcgrad.Gamma(2.5, 2.0), "square", "rsvi", n=700_000, seed=6, block_size=50_000, boost=0)
    print(r.mean.tobytes().hex() + r.var.tobytes().hex())
    """
)


def test_cold_compiled_and_cache_loaded_kernels_agree_bitwise(tmp_path):
    import mcgrad
    from mcgrad.kernels import gamma

    local = mcgrad.estimate(mcgrad.Gamma(2.5, 2.0), "square", "rsvi", n=700_000, seed=6, block_size=50_000, boost=0)
    source = gamma._shared_block(0, True)._cache.cache_path  # written by now
    results = []
    for i, fresh in enumerate([(), ("gamma._shared_block.locals.gamma_block", "gamma._block_1d")]):
        env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
        env["NUMBA_CACHE_DIR"] = str(tmp_path / f"cache{i}")
        done = subprocess.run([sys.executable, "-c", MIXED_CACHE, source, *fresh], env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        results.append(done.stdout.split()[-1])
    assert results[0] == results[1], "a kernel compiled against cached callees rounds differently"
    assert results[0] == local.mean.tobytes().hex() + local.var.tobytes().hex()


def test_racing_saves_never_map_an_overload_to_another_ones_code(tmp_path, monkeypatch):
    """Two processes saving different overloads of one function at once, each from the index it read
    before the other's save: Numba's numbered data files let the index name the other overload's code."""
    from numba.core import caching

    key_a = (("float64",), ("x86_64",), ("code", "closure a"))
    key_b = (("float64",), ("x86_64",), ("code", "closure b"))

    def race(cache_class, folder):
        folder.mkdir()
        files = cache_class(cache_path=str(folder), filename_base="probe-1.py311", source_stamp="stamp")
        real_load_index = files._load_index
        monkeypatch.setattr(files, "_load_index", lambda: {})  # both read the index before either saved
        files.save(key_a, "machine code of a")
        data_of_a = {name for name in os.listdir(folder) if name.endswith(".nbc")}
        files.save(key_b, "machine code of b")
        if cache_class is caching.IndexDataCacheFile:  # a's data written last, into the file both chose
            (name,) = data_of_a
            files._save_data(name, "machine code of a")
        monkeypatch.setattr(files, "_load_index", real_load_index)
        return files.load(key_a), files.load(key_b)

    assert race(caching.IndexDataCacheFile, tmp_path / "numba")[1] == "machine code of a", "the hazard"
    a, b = race(_jit.KeyedCacheFile, tmp_path / "keyed")
    assert a in (None, "machine code of a") and b == "machine code of b"
    assert isinstance(rng.block_state._cache._cache_file, _jit.KeyedCacheFile)
