"""Shared timing helpers of the benchmarks, and the machine description every recorded run carries.

``pytest bench/ --benchmark-only --benchmark-json=bench/records/NAME.json`` records a run: pytest-benchmark
writes each benchmark's statistics and ``extra_info`` (filled by :func:`record`), and the machine block gets
the CPU model, cores, threads, threading layer and package versions (:func:`machine.describe`).
``python bench/tables.py bench/records/NAME.json`` prints the benchmark table of docs/performance.md from such a record.
"""

import time

import numba
from machine import describe

from mcgrad import engine


def best_rate(func, n, repeats=5):
    """Samples per second of ``func()`` processing n samples: best of ``repeats`` after one warm-up."""
    func()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return n / best


def thread_scaling(run, n, repeats=3):
    """``(one thread, all threads)`` samples/s of ``run()`` (n samples), best of ``repeats``, interleaved so
    that a drift in machine speed touches both alike."""
    many = numba.config.NUMBA_NUM_THREADS
    best = {1: float("inf"), many: float("inf")}
    for threads in best:
        with engine.threads(threads):
            run()
    for _ in range(repeats):
        for threads in best:
            with engine.threads(threads):
                t0 = time.perf_counter()
                run()
                best[threads] = min(best[threads], time.perf_counter() - t0)
    return n / best[1], n / best[many]


def record(benchmark, n, baseline_rate=None, raw=None, label=None, scaling=None):
    """Put samples/s and its comparisons into ``extra_info``.

    ``baseline_rate``: the NumPy implementation's samples/s (same run); ``raw``: ``(name, samples/s)`` of the
    family's raw sampling measured next to the kernel; ``scaling``: ``(one thread, all threads)`` samples/s
    from :func:`thread_scaling`; ``label``: the kernel as the benchmark table names it.
    """
    rate = n / benchmark.stats.stats.min
    info = benchmark.extra_info
    info["label"] = label or benchmark.name
    info["threads"] = numba.get_num_threads()
    info["samples_per_second"] = rate
    if baseline_rate is not None:
        info["numpy_samples_per_second"] = baseline_rate
        info["speedup_vs_numpy"] = rate / baseline_rate
    if raw is not None:
        info["raw_reference"], info["raw_samples_per_second"] = raw
        info["fraction_of_raw"] = rate / raw[1]
    if scaling is not None:
        one, many = scaling
        info["one_thread_samples_per_second"] = one
        info["all_threads_samples_per_second"] = many
        info["thread_scaling"] = many / one
    return rate


def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["mcgrad"] = describe()
