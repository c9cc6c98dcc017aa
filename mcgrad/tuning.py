"""Tuned controls: REBAR's eta and temperature, and the scale eta of RELAX's control, chosen to minimise the
gradient's total variance on a pilot pass.

REBAR's and RELAX's per-sample gradients are linear in eta, g(eta) = A + eta B, with B the control's zero-mean
correction.
On common random numbers (the draws do not depend on eta) the pilot's variances at eta = 0, 1 and -1 give
exactly Var B = (V(1) + V(-1) - 2 V(0)) / 2 and Cov(A, B) = (V(1) - V(-1)) / 4 per component, so the trace
of the covariance is the quadratic sum_j V_j(0) + 2 eta Cov_j + eta^2 Var B_j, least at
eta* = -sum_j Cov_j / sum_j Var B_j.  A tuned temperature is the one of :data:`TEMPERATURE_GRID` whose best
trace is least.  The pilot draws from its own stream, so the run that uses the tuned values stays unbiased.
"""

from __future__ import annotations

import math
import time

import numpy as np

from . import engine
from .declaration import TUNED
from .variance_reduction import default_pilot

TEMPERATURE_GRID = (0.1, 0.2, 0.5, 1.0, 2.0)
PILOT_SEED = 0xBB67AE8584CAA73B  # xor-ed into the seed: the pilot's independent stream
TUNABLE = ("temperature", "eta")


def wanted(options: dict) -> bool:
    """Whether any option asks to be tuned."""
    return any(isinstance(options.get(k), str) and options[k] == TUNED for k in TUNABLE)


def _variance(dist, objective, spec, options: dict, seed: int, block_size: int, n: int) -> np.ndarray:
    launch = engine.launcher(dist, objective, spec, options, seed, block_size, n)
    acc, _, _ = engine.run_blocks(launch, engine.width_of(dist), (0, engine.block_count(n, block_size)))
    total = acc.total()
    return total[:, 2] / (total[:, 0] - 1.0)


def tune(dist, objective, spec, options: dict, seed: int, block_size: int, n: int) -> tuple[dict, dict]:
    """``(options, diagnostics)``: the options with every ``'tuned'`` value replaced by the pilot's choice, and
    ``tuned_eta``, ``tuned_temperature`` (REBAR), ``pilot_samples``, ``pilot_seconds``, ``pilot_trace`` (the trace the
    pilot measured at the chosen values)."""
    pilot = default_pilot(n)
    pilot_seed = (seed ^ PILOT_SEED) & ((1 << 64) - 1)
    temperatures = TEMPERATURE_GRID if options.get("temperature") == TUNED else (options.get("temperature"),)
    best = None
    t0 = time.perf_counter()
    for temperature in temperatures:
        fixed = options if temperature is None else {**options, "temperature": temperature}  # relax: None
        at = {eta: _variance(dist, objective, spec, {**fixed, "eta": eta}, pilot_seed, block_size, pilot)
              for eta in (0.0, 1.0, -1.0)}
        var_b = (at[1.0] + at[-1.0] - 2.0 * at[0.0]) / 2.0
        cov = (at[1.0] - at[-1.0]) / 4.0
        if options["eta"] == TUNED:
            eta = -float(cov.sum()) / float(var_b.sum()) if var_b.sum() > 0.0 else 0.0
            eta = eta if math.isfinite(eta) else 0.0
        else:
            eta = options["eta"]
        trace = max(float(np.sum(at[0.0] + 2.0 * eta * cov + eta * eta * var_b)), 0.0)  # >= 0 up to rounding
        if best is None or trace < best[0]:
            best = (trace, temperature, eta)
    trace, temperature, eta = best
    chosen = {"eta": eta} if temperature is None else {"temperature": temperature, "eta": eta}
    diagnostics = {**{f"tuned_{k}": v for k, v in chosen.items()}, "pilot_samples": pilot,
                   "pilot_seconds": time.perf_counter() - t0, "pilot_trace": trace}
    return {**options, **chosen}, diagnostics
