"""Score-function variance reduction: baselines, the delta-method control variate, the pilot pass and the
variance reduction factor against plain ``score`` on the same draws.

Formulas are in :mod:`mcgrad.kernels.score_vr`.  Coefficients that are "optimal" or "estimated" are solved
on a pilot pass over an independent stream (same seed, a different stream key), never on the draws they are
applied to, so the reduced estimator stays exactly unbiased; the pilot's samples and seconds are reported.
"""

from __future__ import annotations

import math

import numpy as np

from . import engine
from .kernels import score_vr
from .kernels._jit import exact_signature
from .kernels.rng import run_key
from .results import Accumulator

PILOT_STREAM = np.uint64(0x6A09E667F3BCC909)  # xor-ed into the run key: the pilot's independent stream
PILOT_MIN = 1 << 16
PILOT_MAX = 1 << 24
Z95 = 1.959963984540054
ROUNDING = 1e-20  # Var(reduced) / Var(plain) below this is rounding: the interval becomes (1e20, inf)


def default_pilot(n: int) -> int:
    """Pilot samples when none are given: n / 100, at least 65,536 and at most 16,777,216."""
    return int(min(max(PILOT_MIN, n // 100), PILOT_MAX))


def _arguments(dist) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """``(a, b, logits, first_only)`` of :data:`score_vr.SIGNATURE` for a distribution."""
    empty = np.zeros(1)
    no_logits = np.zeros((1, 1))
    family = dist.family
    if family == "normal":
        return dist.loc, dist.scale, no_logits, False
    if family == "gamma":
        return dist.concentration, dist.rate, no_logits, False
    if family in ("beta", "dirichlet"):
        return dist.concentration, empty, no_logits, family == "beta"
    return empty, np.ascontiguousarray(dist.chain_factor(), dtype=float), engine.logits_2d(dist), False


def delta_expansion(dist, objective) -> tuple[np.ndarray, np.ndarray]:
    """The delta method's control for a Normal: Taylor coefficients and the control's exact gradient.

    Returns ``taylor = [f(mu), grad f(mu), diag H(mu)]`` and ``m = [grad f(mu), H(mu) sigma]`` (the
    gradient of E[h] w.r.t. (mu, sigma) at the current parameters).  H's diagonal is a central difference
    of grad f with step 1e-4 max(1, |mu_d|): any fixed coefficients give an unbiased estimator, because m
    is the exact gradient of the same polynomial.
    """
    compiled = exact_signature(score_vr.objective_at, score_vr.OBJECTIVE_AT_SIGNATURE)
    user = objective.kernel_functions()[0]
    loc = np.ascontiguousarray(dist.loc, dtype=float)
    dim = loc.size
    grad = np.empty(dim)
    value = compiled(objective.code, objective.param, user, 1, loc.copy(), grad)
    hess = np.empty(dim)
    up, down = np.empty(dim), np.empty(dim)
    for d in range(dim):
        step = 1e-4 * max(1.0, abs(loc[d]))
        point = loc.copy()
        point[d] = loc[d] + step
        compiled(objective.code, objective.param, user, 1, point, up)
        point[d] = loc[d] - step
        compiled(objective.code, objective.param, user, 1, point, down)
        hess[d] = (up[d] - down[d]) / (2.0 * step)
    taylor = np.concatenate([[value], grad, hess])
    if not np.all(np.isfinite(taylor)):
        raise ValueError(f"the delta method needs f, f' and f'' finite at the mean; f={objective.name} gives "
                         f"f={value}, f'={grad}, f''~{hess} at loc={loc}")
    return taylor, np.concatenate([grad, hess * dist.scale])


def solve_coefficients(pilot_means: np.ndarray, width: int, baseline, coefficient) -> tuple[np.ndarray, np.ndarray]:
    """Baselines b_j and control coefficients beta_j: fixed values, or least squares on the pilot's moments.

    With y = f s_j, X1 = s_j and X2 = h s_j - m_j (both mean zero), Var g = E[(y - b X1 - beta X2)^2] -
    grad^2 is minimised by the normal equations of the free coefficients.
    """
    s11, s12, s22, y1, y2 = (pilot_means[q * width:(q + 1) * width] for q in range(score_vr.PILOT_TERMS))
    free_b = baseline == "optimal"
    free_beta = coefficient == "estimated"
    b = np.zeros(width) if free_b else np.full(width, float(baseline))
    beta = np.zeros(width) if free_beta else np.full(width, float(coefficient))
    with np.errstate(invalid="ignore", divide="ignore"):
        if free_b and free_beta:
            det = s11 * s22 - s12 * s12
            ok = det > 1e-12 * np.abs(s11 * s22)
            b = np.where(ok, (y1 * s22 - y2 * s12) / det, y1 / s11)
            beta = np.where(ok, (y2 * s11 - y1 * s12) / det, 0.0)
        elif free_b:
            b = (y1 - beta * s12) / s11
        elif free_beta:
            beta = (y2 - b * s12) / s22
    return np.where(np.isfinite(b), b, 0.0), np.where(np.isfinite(beta), beta, 0.0)


class Plan:
    """Everything a variance-reduced score run needs: its kernel arguments, fitted coefficients, pilot cost."""

    def __init__(self, dist, objective, spec, options: dict, seed: int, block_size: int, n: int):
        self.width = len(dist.components)
        self.group = int(options.get("samples", 1)) if spec.name == "rloo" else 1
        self.boost = int(options.get("boost", 0))
        self.args = _arguments(dist)
        self.objective = objective
        self.kernel = exact_signature(score_vr.KERNELS[dist.family], score_vr.SIGNATURE)
        self.block_size = block_size
        self.seed = seed
        self.n = n
        baseline = options.get("baseline", 0.0)
        coefficient = options.get("coefficient", 0.0) if spec.name == "score_delta" else 0.0
        if spec.name == "score_delta":
            self.taylor, self.control_mean = delta_expansion(dist, objective)
        else:
            self.taylor, self.control_mean = np.zeros(0), np.zeros(self.width)
        if spec.name == "rloo":
            baseline = 0.0
        self.pilot_samples = 0
        self.pilot_seconds = 0.0
        if baseline == "optimal" or coefficient == "estimated":
            self.pilot_samples = options.get("pilot") or default_pilot(n)
            try:
                acc, _, self.pilot_seconds = self._pilot(seed, block_size)
            except engine.Stopped:
                raise KeyboardInterrupt("interrupted during the pilot pass") from None
            pilot_means = acc.total()[:, 1]
            self.baseline, self.coefficient = solve_coefficients(pilot_means, self.width, baseline, coefficient)
        else:
            self.baseline = np.full(self.width, float(baseline))
            self.coefficient = np.full(self.width, float(coefficient))

    def _pilot(self, seed: int, block_size: int):
        """The pilot pass: second moments of the score and control terms on an independent stream."""
        launch = self._launch(score_vr.PILOT, np.zeros(self.width), np.zeros(self.width), self.pilot_samples,
                              run_key(seed) ^ PILOT_STREAM)
        return engine.run_blocks(launch, score_vr.PILOT_TERMS * self.width,
                                 (0, engine.block_count(self.pilot_samples, block_size)))

    @property
    def main_width(self) -> int:
        """Components of the main pass: plain score, reduced, their sum and difference, then f."""
        return score_vr.MAIN_TERMS * self.width + 1

    def launch(self):
        """The engine's ``launch(first_block, rows, counters)`` of the main pass."""
        return self._launch(score_vr.MAIN, self.baseline, self.coefficient, self.n, run_key(self.seed))

    def _launch(self, mode, baseline, coefficient, n, key):
        a, b, logits, first_only = self.args
        user = self.objective.kernel_functions()[0]
        head = (mode, self.group, self.boost, first_only, a, b, logits, self.objective.code, self.objective.param,
                user, np.ascontiguousarray(baseline), np.ascontiguousarray(coefficient), self.control_mean,
                self.taylor)
        kernel, block_size = self.kernel, self.block_size

        def launch(first_block, rows, counters):
            kernel(*head, np.uint64(key), first_block, block_size, n, rows, counters)

        return launch

    def split(self, acc: Accumulator) -> tuple[Accumulator, Accumulator]:
        """The reduced estimator's accumulator and the reference one (plain score, sum, difference)."""
        w = self.width
        return acc.select(range(w, 2 * w)), acc.select([*range(w), *range(2 * w, 4 * w)])


def variance_ratio(reference: Accumulator, reduced: Accumulator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Var(plain score) / Var(reduced) per component on the same draws, with a 95% interval.

    Notes
    -----
    With a, b the centred plain and reduced values, log R = log Var a - log Var b has delta-method variance
    [E a^4 / Va^2 + E b^4 / Vb^2 - 2 E a^2 b^2 / (Va Vb)] / n, and E a^2 b^2 comes from the fourth central
    moments of a + b and a - b: (E(a+b)^4 + E(a-b)^4 - 2 E a^4 - 2 E b^4) / 12.  The interval is
    exp(log R -+ 1.96 se).  Where Var(reduced) <= 1e-20 Var(plain) the reduced estimator is constant up to
    rounding and the interval is (1e20, inf).
    """
    ref = reference.total()
    red = reduced.total()
    w = red.shape[0]
    n = red[:, 0]
    va, vb = ref[:w, 2] / n, red[:, 2] / n
    m4a, m4b = ref[:w, 4] / n, red[:, 4] / n
    m4_sum, m4_diff = ref[w:2 * w, 4] / n, ref[2 * w:, 4] / n
    cross = (m4_sum + m4_diff - 2.0 * m4a - 2.0 * m4b) / 12.0
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = va / vb
        var_log = (m4a / va**2 + m4b / vb**2 - 2.0 * cross / (va * vb)) / n
        half = Z95 * np.sqrt(np.maximum(var_log, 0.0))
        low, high = ratio * np.exp(-half), ratio * np.exp(half)
    # A control that removes the variance down to rounding (e.g. the delta method on a quadratic f):
    # the polarised fourth moments are rounding noise too, so only a lower bound is reported.
    exact = (vb <= ROUNDING * va) & (va > 0.0)
    return ratio, np.where(exact, 1.0 / ROUNDING, low), np.where(exact, math.inf, high)
