"""Score-function variance reduction: baselines, the delta-method control variate, the pilot pass and the
variance reduction factor against plain ``score`` on the same draws.

Formulas are in :mod:`mcgrad.kernels.score_vr`.  Coefficients that are "optimal" or "estimated" are solved
on a pilot pass over an independent stream (same seed, a different stream key), never on the draws they are
applied to, so the reduced estimator stays exactly unbiased; the pilot's samples and seconds are reported.
"""

from __future__ import annotations

import numpy as np

from . import engine, families
from .accumulator import Accumulator
from .kernels import driver, score_vr
from .kernels.objectives import USER
from .kernels.rng import run_key

PILOT_STREAM = np.uint64(0x6A09E667F3BCC909)  # xor-ed into the run key: the pilot's independent stream
PILOT_MIN = 1 << 16
PILOT_MAX = 1 << 24


def default_pilot(n: int) -> int:
    """Pilot samples when none are given: n / 100, at least 65,536 and at most 16,777,216, and never more than the
    run itself (a pilot of 65,536 samples for a run of 1,000 cost 65 times the run)."""
    return int(min(max(PILOT_MIN, n // 100), PILOT_MAX, n))


def delta_expansion(dist, objective) -> tuple[np.ndarray, np.ndarray]:
    """The delta method's control for a Normal: Taylor coefficients and the control's exact gradient.

    Returns ``taylor = [f(mu), grad f(mu), diag H(mu)]`` and ``m = [grad f(mu), H(mu) sigma]`` (the
    gradient of E[h] w.r.t. (mu, sigma) at the current parameters).  H's diagonal is a central difference
    of grad f with step 1e-4 max(1, |mu_d|): any fixed coefficients give an unbiased estimator, because m
    is the exact gradient of the same polynomial.
    """
    loc = np.ascontiguousarray(dist.loc, dtype=float)
    dim = loc.size
    steps = 1e-4 * np.maximum(1.0, np.abs(loc))
    shifts = np.diag(steps)
    points = np.concatenate([loc[None, :], loc + shifts, loc - shifts])  # mu, then mu +- step e_d
    values, grads = engine.values_and_gradients(objective, points)
    value, grad = values[0], grads[0]
    hess = (np.diagonal(grads[1:dim + 1]) - np.diagonal(grads[dim + 1:])) / (2.0 * steps)
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

    def __init__(self, dist, objective, spec, options: dict, seed: int, block_size: int, n: int,
                 chain: np.ndarray | None = None):
        family = families.module(dist.family)
        self.width = len(dist.components)
        self.group = int(options.get("samples", 1)) if spec.name == "rloo" else 1
        self.params = family.params(dist)
        self.chain = family.extra(dist) if chain is None else chain  # d parameter-as-given / d logit
        self.options = np.array([self.group, int(options.get("boost", 0))], dtype=float)
        self.kernel_key = (family.score_family(dist), family.first_only(dist), int(objective.code == USER))
        self.objective = objective
        self.inputs = engine.input_size(dist)
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

    def extra(self, baseline: np.ndarray, coefficient: np.ndarray) -> np.ndarray:
        """The block function's ``extra``: baselines, coefficients, control mean, chain factor, Taylor coefficients."""
        return np.concatenate([baseline, coefficient, self.control_mean, self.chain, self.taylor])

    def block(self, mode: int):
        """The compiled variance-reduced score block function of this family (both modes: ``chosen`` selects)."""
        family, first_only, user_path = self.kernel_key
        return engine.compiled(("score", family, first_only, user_path),
                               lambda: score_vr.block(family, first_only, user_path), driver.BLOCK_SIGNATURE,
                               "variance-reduced score block function")

    def chosen(self, mode: int) -> int:
        """The block function's ``chosen`` value: the pass, PILOT or MAIN."""
        return mode

    def _pilot(self, seed: int, block_size: int):
        """The pilot pass: second moments of the score and control terms on an independent stream."""
        launch = self._launch(score_vr.PILOT, np.zeros(self.width), np.zeros(self.width), self.pilot_samples,
                              run_key(seed) ^ PILOT_STREAM)
        return engine.run_blocks(launch, score_vr.PILOT_TERMS * self.width,
                                 (0, engine.block_count(self.pilot_samples, block_size)))

    @property
    def main_width(self) -> int:
        """Components of the main pass: reduced, plain score, their sum and difference, then f (pair rows of the
        reduced estimator's components follow when the covariance is streamed)."""
        return score_vr.MAIN_TERMS * self.width + 1

    def launch(self):
        """The engine's ``launch(first_block, rows, counters)`` of the main pass."""
        return self._launch(score_vr.MAIN, self.baseline, self.coefficient, self.n, run_key(self.seed))

    def _launch(self, mode, baseline, coefficient, n, key):
        return engine.kernel_launcher(self.block(mode), engine.no_setup(), self.params,
                                      self.extra(baseline, coefficient), self.options, self.chosen(mode),
                                      self.objective, None, key, self.block_size, n, inputs=self.inputs,
                                      needs=(True, False))

    def split(self, acc: Accumulator) -> tuple[Accumulator, Accumulator]:
        """The reduced estimator's accumulator (with its pair rows, if any) and the reference one (plain score, sum,
        difference)."""
        w = self.width
        return (acc.select([*range(w), *range(self.main_width, acc.width)]),
                acc.select([*range(w, 2 * w), *range(2 * w, 4 * w)]))
