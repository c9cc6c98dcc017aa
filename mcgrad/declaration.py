"""What an estimator declaration holds, and the option checks declarations share.

Each family module (:mod:`mcgrad.families`) declares its estimators with :class:`EstimatorSpec`;
:mod:`mcgrad.estimators` collects the declarations into the registry, from which validation, kernel
dispatch, the CLI's options, sweeps, optimisation runs and the estimator table of docs/estimators.md are derived.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ._validate import MAX_COUNT, short_number

SAMPLING = "sampling"  # a block function per (family, estimator) run by the one driver
VARIANCE_REDUCED = "variance_reduced"  # score with baselines / controls: pilot pass + reduced main pass
EXACT = "exact"  # enumeration of the support: no sampling


@dataclass(frozen=True)
class Option:
    """One estimator option.

    Attributes
    ----------
    name : str
        Keyword in the API and ``--option name=value`` on the command line.
    default : object
        Value when the option is not given.
    check : callable
        ``check(key, estimator, value) -> value``: the validated value, or a ``ValueError`` / ``TypeError``
        naming the option and what is allowed.
    allowed : str
        What is allowed, in words (for ``--help`` and the docs).
    kernel : bool
        Whether the value goes into the kernel's numeric options vector (in declaration order).
    """

    name: str
    default: object
    check: Callable
    allowed: str
    kernel: bool = True


@dataclass(frozen=True)
class EstimatorSpec:
    """One (family, estimator) declaration: everything the rest of mcgrad knows about it.

    Attributes
    ----------
    name : str
        Name used in the API, the CLI and tables.
    family : str
        The distribution family it applies to.
    summary : str
        One line for tables and ``--help``.
    biased : bool
        Whether the estimator's mean differs from the gradient.
    needs_derivative : bool
        Whether f' must be known.
    needs_value : bool
        Whether the per-sample terms use f's values (False: f' alone, so a batch objective is asked for
        gradients only).
    kind : str
        ``"sampling"``, ``"variance_reduced"`` or ``"exact"``.
    block : callable or None
        ``block(code, user_path, scalar) -> numba dispatcher``: the family kernel module's maker of block
        functions (sampling estimators), for a user objective (``user_path`` 1) or a built-in (0) and for the
        family's D = 1 loops (``scalar``) or any D; called on first use.
    code : int
        The estimator's code in its family's kernel module (passed to ``block`` and to the block function).
    setup : callable or None
        ``setup() -> numba dispatcher``: derives tables from the parameters once per launch (None: nothing).
    declared : tuple of Option
        The options, in kernel order.
    draws : str
        The random variates one sample draws, in words.
    evaluations : int or str
        f-evaluations per sample (each at a D-dimensional point), or the name of the option that gives it.
    extra_evaluations : int
        Added to the option's value when ``evaluations`` names one (sum_and_sample: k summed + 1 sampled).
    per_coordinate : bool
        Whether ``evaluations`` counts per coordinate (D times as many per sample).
    coordinate_evaluations : int
        Further evaluations per coordinate when D > 1 (VonMises score: f at each coordinate's two window edges).
    """

    name: str
    family: str
    summary: str
    biased: bool = False
    needs_derivative: bool = False
    needs_value: bool = True
    kind: str = SAMPLING
    block: Callable | None = None
    code: int = 0
    setup: Callable | None = None
    declared: tuple[Option, ...] = ()
    draws: str = ""
    evaluations: int | str = 1
    extra_evaluations: int = 0
    per_coordinate: bool = False
    coordinate_evaluations: int = 0

    @property
    def options(self) -> dict:
        """Option defaults by name."""
        return {o.name: o.default for o in self.declared}

    def evaluations_per_sample(self, options: dict, dim: int = 1) -> int:
        """f-evaluations per sample under ``options`` on a distribution of ``dim`` coordinates."""
        count = (int(options[self.evaluations]) + self.extra_evaluations if isinstance(self.evaluations, str)
                 else self.evaluations)
        count = count * dim if self.per_coordinate else count
        return count + (self.coordinate_evaluations * dim if dim > 1 else 0)

    def kernel_options(self, options: dict):
        """The numeric options vector the block function reads (declaration order)."""
        return np.array([float(options[o.name]) for o in self.declared if o.kernel], dtype=float)


def _finite_real(value) -> bool:
    """Whether ``value`` is a real number (not a bool) with a finite float value (a huge int has none)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


TEMPERATURES = (1e-3, 1e3)  # the tested range: below it the relaxed gradient is a spike no sample hits
TEMPERATURE_RANGE = f"[{short_number(TEMPERATURES[0])}, {short_number(TEMPERATURES[1])}]"


def temperature_check(key: str, name: str, value) -> float:
    low, high = TEMPERATURES
    if not _finite_real(value) or value <= 0:
        raise ValueError(f"{key} for estimator {name!r} must be a finite number > 0, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{key} for estimator {name!r} must be in {TEMPERATURE_RANGE}, got {value!r}: below "
                         f"{low:g} the relaxation's gradient is a spike of width ~{key} that no sample hits "
                         "(the mean comes out 0 +- 0)")
    return float(value)


def finite_check(key: str, name: str, value, allowed: str = "a finite real number") -> float:
    if not _finite_real(value):
        raise ValueError(f"{key} for estimator {name!r} must be {allowed}, got {value!r}")
    return float(value)


def number_check(low: float, high: float):
    """A check accepting real numbers in [low, high]."""

    def check(key: str, name: str, value):
        if not _finite_real(value) or not low <= value <= high:
            raise ValueError(f"{key} for estimator {name!r} must be a number in [{low:g}, {high:g}], got {value!r}")
        return float(value)

    return check


def choice_check(choices: tuple):
    """A check accepting exactly the values in ``choices``."""

    def check(key: str, name: str, value):
        if isinstance(value, bool) or value not in choices:
            raise ValueError(f"{key} for estimator {name!r} must be one of {list(choices)}, got {value!r}")
        return choices[choices.index(value)]  # the declared value: a NumPy integer becomes a plain int

    return check


def integer_check(low: int, high: int):
    """A check accepting integers in [low, high]."""

    def check(key: str, name: str, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
            raise ValueError(f"{key} for estimator {name!r} must be an integer in [{low}, {high}], got {value!r}")
        return int(value)

    return check


def number_or(word: str):
    """A check taking a finite number or the string ``word`` (which selects a fitted value)."""

    def check(key: str, name: str, value):
        return value if value == word else finite_check(key, name, value, f"a finite number or {word!r}")

    return check


def pilot_check(key: str, name: str, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 2 <= value <= MAX_COUNT:
        raise ValueError(f"{key} for estimator {name!r} must be an integer in [2, 2**62] (pilot samples) or None, "
                         f"got {value!r}")
    return int(value)


def control_check(key: str, name: str, value):
    """A user objective (anything with a compiled ``adapter``) with a derivative."""
    if value is None:
        raise TypeError(f"estimator {name!r} needs {key}=mcgrad.user_objective(c, grad_c): a control variate c(z) "
                        "with its derivative, both @numba.njit")
    if getattr(value, "adapter", None) is None or getattr(value, "has_derivative", False) is not True:
        raise TypeError(f"{key} for estimator {name!r} must be mcgrad.user_objective(c, grad_c) with a derivative, "
                        f"got {value!r}")
    return value


TUNED = "tuned"  # an option value asking for the variance-minimising value, chosen on a pilot pass


def or_tuned(check):
    """``check``, also accepting :data:`TUNED`."""

    def checked(key: str, name: str, value):
        return value if isinstance(value, str) and value == TUNED else check(key, name, value)

    return checked


BOOST = Option("boost", 1, integer_check(0, 64), "an integer in [0, 64] (shape augmentations)")
TEMPERATURE = Option("temperature", 0.5, temperature_check, f"a number in {TEMPERATURE_RANGE}")
ETA = Option("eta", 1.0, or_tuned(finite_check), "a finite real number, or 'tuned' (pilot pass)")
UNIT_TEMPERATURE = Option("temperature", 1.0, temperature_check, f"a number in {TEMPERATURE_RANGE}")
GAP = Option("gap", 1.0, number_check(0.0, 100.0), "a number in [0, 100] (logits between the outcome and the rest)")
REBAR_TEMPERATURE = Option("temperature", 0.5, or_tuned(temperature_check),
                           f"a number in {TEMPERATURE_RANGE}, or 'tuned' (pilot pass)")
TRANSFORM = Option("transform", 1, choice_check((1, 2)), "1 or 2")
CONTROL = Option("control", None, control_check, "mcgrad.user_objective(c, grad_c)", kernel=False)
BASELINE = Option("baseline", "optimal", number_or("optimal"), "a finite number or 'optimal'", kernel=False)
PILOT = Option("pilot", None, pilot_check,
               "an integer in [2, 2**62] or None (n/100 clamped to [65536, 2**24], at most n)", kernel=False)
CONDITIONAL_DRAWS = Option("samples", 10, integer_check(1, 1000),
                           "an integer in [1, 1000] (conditional Gumbel draws per sample)")
SUMMED = Option("k", 1, integer_check(1, 1024),
                "an integer in [1, K - 1] (the most probable classes summed exactly)")
SET_SIZE = Option("samples", 4, integer_check(2, 8),
                  "an integer in [2, 8], at most K (distinct classes drawn without replacement)")
ANTITHETIC = Option("samples", 4, integer_check(2, 64),
                    "an integer in [2, 64] (antithetic draws per sample, joined by a Dirichlet copula)")
GROUP = Option("samples", 4, integer_check(2, 4096), "an integer in [2, 4096] (draws per group)")
# estimated by default: at the README's N(0.7, 0.8^2), f = cos(1.5 x), a fixed coefficient 1 made score_delta 8x and 22x
# worse than plain score (the expansion is poor there), the estimated one 0.70x and 0.90x
COEFFICIENT = Option("coefficient", "estimated", number_or("estimated"), "a finite number or 'estimated'",
                     kernel=False)


def variance_reduced(family: str, boost: bool) -> list[EstimatorSpec]:
    """The score-function variance-reduced estimators of a family (score_delta: Normal only)."""
    extra = (BOOST,) if boost else ()
    specs = [
        EstimatorSpec("score_baseline", family,
                      "score function with a baseline: (f - b) grad log p; b constant or optimal (pilot pass)",
                      kind=VARIANCE_REDUCED, declared=(BASELINE, PILOT, *extra), draws="as score",
                      evaluations=1),
        EstimatorSpec("rloo", family, "leave-one-out baseline over K draws (RLOO, Kool et al. 2019)",
                      kind=VARIANCE_REDUCED, declared=(GROUP, *extra), draws="K times score's",
                      evaluations="samples"),
    ]
    if family == "normal":
        specs.append(EstimatorSpec(
            "score_delta", family,
            "score function with the delta-method control variate (second-order Taylor expansion of f)",
            needs_derivative=True, kind=VARIANCE_REDUCED,
            declared=(COEFFICIENT, Option("baseline", 0.0, number_or("optimal"), "a finite number or 'optimal'",
                                          kernel=False), PILOT),
            draws="as score", evaluations=1))
    return specs
