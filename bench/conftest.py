import time

import numba


def best_rate(func, n, repeats=5):
    """Samples per second of ``func()`` processing n samples: best of ``repeats`` after one warm-up."""
    func()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return n / best


def record(benchmark, n, baseline_rate=None, raw_rate=None):
    """Put samples/s, the NumPy ratio and the fraction of the raw normal rate into extra_info."""
    rate = n / benchmark.stats.stats.min
    benchmark.extra_info["threads"] = numba.get_num_threads()
    benchmark.extra_info["samples_per_second"] = rate
    if baseline_rate is not None:
        benchmark.extra_info["numpy_samples_per_second"] = baseline_rate
        benchmark.extra_info["speedup_vs_numpy"] = rate / baseline_rate
    if raw_rate is not None:
        benchmark.extra_info["fraction_of_raw_normal_rate"] = rate / raw_rate
    return rate
