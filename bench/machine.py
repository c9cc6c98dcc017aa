"""What a benchmark figure depends on besides the code: CPU, cores, threads, threading layer, versions, commit."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what ``platform`` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def commit() -> str | None:
    """The repository's HEAD commit, with ``+changes`` when the working tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def threading_layer() -> str:
    """Numba's threading layer (running a tiny parallel kernel first, which is what selects it)."""
    from mcgrad.kernels import rng

    rng.sum_normals_blocks(rng.run_key(0), 16, 16, np.empty(1))
    return numba.threading_layer()


def describe() -> dict:
    """The machine and software a recorded run comes from."""
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "numba_threads": numba.config.NUMBA_NUM_THREADS,
        "threading_layer": threading_layer(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "commit": commit(),
    }


def summary(info: dict) -> str:
    """One line naming the machine of a :func:`describe` block."""
    return (f"{info['cpu_model']}, {info['logical_cpus']} logical CPUs, {info['numba_threads']} threads "
            f"({info['threading_layer']}), numba {info['numba']}, numpy {info['numpy']}, "
            f"commit {_short(info.get('commit'))}")


def _short(commit: str | None) -> str:
    if commit is None:
        return "unknown"
    head, _, changes = commit.partition("+")
    return head[:12] + (f" +{changes}" if changes else "")
