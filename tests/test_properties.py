"""Property: every call of the public API and of the ``mcgrad`` command ends in a sound result or a clear refusal.

Random distributions (parameters, shapes), objectives, estimators, options, seeds, sample counts, block sizes and
block ranges are drawn valid, or valid but for one deliberate fault: a zero, negative, NaN, infinite or huge
parameter, probabilities outside (0, 1), a wrong shape or type, n <= 1 or n = 2**63, an unknown estimator or one
of another family, an unknown or wrongly typed option, a temperature outside [1e-3, 1e3], a bad objective name,
parameter or domain.  Then

* a call of :func:`mcgrad.estimate` or :func:`mcgrad.compare` without a fault returns one mean, var, stderr and
  var_stderr per gradient component, of the expected count, all finite -- or, where the numbers overflow,
  non-finite values that mcgrad reports with a RuntimeWarning (and counts in ``Estimate.nonfinite``): never a
  silent NaN; ``exact``, when given, has one value per component, never an unreported NaN.  The one refusal of
  a valid call allowed is a documented limit (:data:`LIMITS`: score_delta where f overflows at the mean);
* a call with a fault raises ValueError or TypeError whose message names the faulty argument, never another
  exception;
* ``mcgrad estimate`` / ``mcgrad compare`` (``mcgrad.cli.main``, in process) on random argument lists exits with
  status 0, or with status 2 and exactly one error line on stderr (after argparse's usage for a malformed command
  line), never a traceback;
* no call hangs: one that runs for :data:`HANG_SECONDS` aborts the process, printing every thread's stack.

Valid calls draw at most 5000 samples of built-in objectives, whose kernels the rest of the suite compiles;
faulty ones cost nothing, as mcgrad refuses them before compiling.  Examples are derandomised (reproducible runs),
and the calls that once failed the property run first, as explicit examples.
"""

from __future__ import annotations

import contextlib
import faulthandler
import io
import math
import re
import sys
import warnings
from dataclasses import dataclass, field, replace
from fractions import Fraction

import numpy as np
from conftest import RELAX_CONTROL, relax_control_value
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

import mcgrad
from mcgrad import cli, engine
from mcgrad.objectives import BUILTINS

PROPERTY = settings(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
MAX_N = 5000
NAN, INF = math.nan, math.inf
HUGE_INT = 10**400  # a Python int beyond the float64 range
HANG_SECONDS = 300  # far above any call here, even one that compiles its kernel from an empty cache

CLASSES = {"normal": mcgrad.Normal, "multivariate_normal": mcgrad.MultivariateNormal, "student_t": mcgrad.StudentT,
           "von_mises": mcgrad.VonMises, "gamma": mcgrad.Gamma,
           "beta": mcgrad.Beta, "dirichlet": mcgrad.Dirichlet,
           "bernoulli": mcgrad.Bernoulli, "categorical": mcgrad.Categorical}
GAMMA_BUILT = ("gamma", "beta", "dirichlet")
REAL_OBJECTIVES = ("square", "quadratic", "cos", "gaussian_bump", "linear", "identity", "toy")
MOMENT_ORDER = {"square": 2, "quadratic": 2, "toy": 2, "linear": 1, "identity": 1}  # f grows like |x|^order


def names_of(family: str) -> list[str]:
    """The estimators the registry declares for ``family``."""
    return sorted(name for name, specs in mcgrad.ESTIMATORS.items() if family in specs)


def spec_of(family: str, estimator):
    """The declaration of ``estimator`` for ``family``, or None when there is none."""
    return mcgrad.ESTIMATORS.get(estimator, {}).get(family) if isinstance(estimator, str) else None


@dataclass(frozen=True)
class Builtin:
    """A built-in objective made at call time, so a bad parameter is refused inside the checked call."""

    name: str
    args: tuple = ()

    def make(self):
        return getattr(mcgrad, self.name)(*self.args)


@dataclass(frozen=True)
class Call:
    """One ``estimate`` call and what must come of it.

    ``faults`` holds regular expressions, one of which the error message must match; empty for a valid call,
    which must succeed with ``width`` gradient components over ``samples`` samples.
    """

    family: str
    params: dict
    objective: object
    estimator: object
    options: dict
    n: object
    width: int
    kwargs: dict = field(default_factory=dict)
    faults: tuple = ()

    @property
    def samples(self) -> int:
        """The samples of the run (of its block range, when it has one)."""
        if "blocks" not in self.kwargs:
            return self.n
        size = self.kwargs.get("block_size", engine.DEFAULT_BLOCK_SIZE)
        first, end = self.kwargs["blocks"]
        return min(end * size, self.n) - first * size

    def fault(self, pattern: str, **changes) -> Call:
        return replace(self, faults=(pattern,), **changes)


def named(argument: str) -> str:
    """A pattern for an error naming ``argument``: the whole word, or quoted; a one-letter name only as the
    subject of the message ('a must be', 'a and b must'), so that 'a' does not match 'must be a number'."""
    word = re.escape(argument)
    subject = rf"{word} (must|and)\b" if len(argument) == 1 else rf"{word}(?![\w(])"
    return rf"(?<![\w.]){subject}|'{word}'"


# ----------------------------------------------------------------------------------------------- valid problems

def ordinary_or_extreme(ordinary, extremes):
    """Mostly ``ordinary`` values, one time in eight one at the edge of float64."""
    return st.one_of(*[ordinary] * 7, st.sampled_from(extremes))


REALS = ordinary_or_extreme(st.floats(-10, 10), [0.0, -0.0, 1e-300, -1e300, 1e300, 1.7e308])
SCALES = ordinary_or_extreme(st.floats(1e-3, 1e3), [2.2250738585072014e-308, 1e-300, 1e300, 1.7e308])
CONCENTRATIONS = ordinary_or_extreme(st.floats(1e-3, 10), [1e-3, 0.999, 1e6])
DEGREES = ordinary_or_extreme(st.floats(0.1, 50), [0.1, 1.0, 2.0, 1e6])
CIRCULAR_CONCENTRATIONS = ordinary_or_extreme(st.floats(1e-6, 100), [1e-6, 1e7])
LOGITS = ordinary_or_extreme(st.floats(-50, 50), [-1e308, 1e308, -745.0, 710.0])
PROBABILITIES = st.floats(0, 1, exclude_min=True, exclude_max=True)
PARAMETERS = ordinary_or_extreme(st.floats(-5, 5), [0.0, 1e300, -1e300])


def vector(elements, size: int, scalar_ok: bool = True):
    """``size`` values as a list, or as one float when ``size`` is 1 and ``scalar_ok``."""
    values = st.lists(elements, min_size=size, max_size=size)
    return st.one_of(values.map(lambda v: v[0]), values) if size == 1 and scalar_ok else values


@st.composite
def normal_problem(draw):
    d = draw(st.integers(1, 3))
    return {"loc": draw(vector(REALS, d)), "scale": draw(vector(SCALES, d))}, 2 * d


@st.composite
def multivariate_normal_problem(draw):
    d = draw(st.integers(1, 3))
    tril = np.zeros((d, d))
    for i in range(d):
        tril[i, i] = draw(SCALES)
        for j in range(i):
            tril[i, j] = draw(REALS)
    loc = draw(vector(REALS, d, scalar_ok=False))
    return {"loc": loc, "scale_tril": tril.tolist()}, d + d * (d + 1) // 2


@st.composite
def student_t_problem(draw):
    d = draw(st.integers(1, 3))
    return {"df": draw(vector(DEGREES, d)), "loc": draw(vector(REALS, d)), "scale": draw(vector(SCALES, d))}, 3 * d


@st.composite
def von_mises_problem(draw):
    d = draw(st.integers(1, 3))
    return {"loc": draw(vector(REALS, d)), "concentration": draw(vector(CIRCULAR_CONCENTRATIONS, d))}, 2 * d


@st.composite
def gamma_problem(draw):
    d = draw(st.integers(1, 3))
    return {"concentration": draw(vector(CONCENTRATIONS, d)), "rate": draw(vector(SCALES, d))}, 2 * d


@st.composite
def beta_problem(draw):
    return {"a": draw(CONCENTRATIONS), "b": draw(CONCENTRATIONS)}, 2


@st.composite
def dirichlet_problem(draw):
    k = draw(st.integers(2, 4))
    return {"concentration": draw(vector(CONCENTRATIONS, k))}, k


@st.composite
def bernoulli_problem(draw):
    d = draw(st.integers(1, 4))
    if draw(st.booleans()):
        return {"logits": draw(vector(LOGITS, d))}, d
    return {"probs": draw(vector(PROBABILITIES, d))}, d


@st.composite
def categorical_problem(draw):
    d, k = draw(st.integers(1, 3)), draw(st.integers(2, 4))
    name = draw(st.sampled_from(["logits", "probs"]))
    if name == "logits":
        rows = [draw(vector(LOGITS, k, scalar_ok=False)) for _ in range(d)]
    else:
        weights = [np.array(draw(vector(st.floats(1e-6, 1.0), k, scalar_ok=False))) for _ in range(d)]
        rows = [list(w / w.sum()) for w in weights]
    flat = d == 1 and draw(st.booleans())  # one categorical given as a (K,) vector
    return {name: rows[0] if flat else rows}, k if flat else d * k


PROBLEMS = {"normal": normal_problem(), "multivariate_normal": multivariate_normal_problem(),
            "student_t": student_t_problem(), "von_mises": von_mises_problem(),
            "gamma": gamma_problem(), "beta": beta_problem(),
            "dirichlet": dirichlet_problem(), "bernoulli": bernoulli_problem(), "categorical": categorical_problem()}


def classes_of(family: str, params: dict) -> int:
    """K of a Dirichlet or Categorical (1 for Beta's x), for objectives that index a component or class."""
    if family == "dirichlet":
        return len(params["concentration"])
    if family == "categorical":
        value = next(iter(params.values()))
        return len(value[0]) if isinstance(value[0], list) else len(value)
    return 1


@st.composite
def objective_for(draw, family: str, params: dict):
    """A built-in objective defined on ``family``'s support, by name or with a random parameter."""
    choices = list(REAL_OBJECTIVES)
    if family == "student_t":  # E|x|^r is finite for r < df only: the built-ins that grow are refused below
        df = min(np.ravel(params["df"]))
        choices = [name for name in choices if MOMENT_ORDER.get(name, 0) < df]
    if family in GAMMA_BUILT:
        choices += ["log"] if family == "gamma" else ["log", "component", "log_component"]
    if family == "categorical":
        choices += ["one_hot_quadratic"]
    name = draw(st.sampled_from(choices))
    if name in ("identity", "log") or draw(st.booleans()):
        return name
    if name in ("component", "log_component", "one_hot_quadratic"):
        return Builtin(name, (draw(st.integers(0, classes_of(family, params) - 1)),))
    value = draw(PARAMETERS)
    return Builtin(name, (abs(value) if name == "gaussian_bump" else value,))


VALID_OPTIONS = {
    "boost": st.one_of(st.integers(0, 3), st.just(64)),
    "temperature": ordinary_or_extreme(st.floats(1e-3, 1e3), [1e-3, 1e3]),
    "eta": st.floats(-10, 10),
    "transform": st.sampled_from([1, 2, np.int64(2)]),
    "baseline": st.one_of(st.just("optimal"), st.floats(-10, 10)),
    "pilot": st.one_of(st.none(), st.integers(2, 20_000)),
    "samples": st.integers(2, 16),
    "gap": ordinary_or_extreme(st.floats(0.0, 100.0), [0.0, 100.0]),
    "coefficient": st.one_of(st.just("estimated"), st.floats(-10, 10)),
    "control": st.just(RELAX_CONTROL),
}


def concentrations(params: dict) -> list[float]:
    """The shapes of the Gamma draws a problem makes (StudentT's mixing Gamma has shape df / 2)."""
    return ([float(v) for key in ("concentration", "a", "b") if key in params for v in np.ravel(params[key])]
            + [0.5 * float(v) for v in np.ravel(params.get("df", []))])


@st.composite
def options_for(draw, family: str, estimator: str, params: dict):
    """Valid options of ``estimator``: each declared one given or left at its default (relax needs control)."""
    spec = spec_of(family, estimator)
    options = {}
    classes = classes_of(family, params)
    fitted = {"k": st.integers(1, classes - 1),  # sum_and_sample: below K
              "samples": st.integers(2, min(8, classes))} if family == "categorical" else {}
    for option in spec.declared:
        if option.name == "control" or draw(st.booleans()):
            options[option.name] = draw(fitted[option.name] if option.name in fitted else VALID_OPTIONS[option.name])
    if options.get("boost") == 0 and min(concentrations(params)) < 1:  # Marsaglia-Tsang needs shape >= 1
        options["boost"] = 1
    return options


@st.composite
def run_arguments(draw, n: int):
    """seed, block_size, threads and a block range: each given or left at its default."""
    kwargs = {"progress": False}
    if draw(st.booleans()):
        kwargs["seed"] = draw(st.integers(0, 2**64 - 1))  # not None: a fresh seed would make runs irreproducible
    if draw(st.booleans()):
        kwargs["block_size"] = draw(st.integers(1, 2**20))
    if draw(st.booleans()):
        kwargs["threads"] = 1
    if draw(st.integers(0, 3)) == 0:
        total = -(-n // kwargs.get("block_size", engine.DEFAULT_BLOCK_SIZE))
        first = draw(st.integers(0, total - 1))
        kwargs["blocks"] = (first, draw(st.integers(first + 1, total)))
    return kwargs


def fits(estimator: str, params: dict) -> bool:
    """Whether ``estimator`` applies to the distribution of ``params``: unordered_set takes one categorical."""
    if estimator != "unordered_set":
        return True
    value = next(iter(params.values()))
    return not isinstance(value[0], list) or len(value) == 1


@st.composite
def valid_calls(draw):
    family = draw(st.sampled_from(sorted(CLASSES)))
    params, width = draw(PROBLEMS[family])
    estimator = draw(st.sampled_from([name for name in names_of(family) if fits(name, params)]))
    n = draw(st.integers(2, MAX_N))
    return Call(family, params, draw(objective_for(family, params)), estimator,
                draw(options_for(family, estimator, params)), n, width, draw(run_arguments(n)))


# ------------------------------------------------------------------------------------------------------- faults

BAD_REALS = [NAN, INF, -INF, HUGE_INT, "abc", None, True, [], [[1.0]], 1 + 2j, [1.0, NAN]]
BAD_POSITIVES = BAD_REALS + [0.0, -0.0, -1.0, [1.0, -2.0], 5e-324]
BAD_CONCENTRATIONS = BAD_POSITIVES + [1e-4, 2e6]
BAD_PARAMETERS = {
    "normal": {"loc": BAD_REALS, "scale": BAD_POSITIVES},
    "multivariate_normal": {"loc": BAD_REALS + [[0.0, 1.0, 2.0, 3.0]],
                            "scale_tril": [NAN, "abc", None, [[1.0, 2.0], [0.0, 1.0]], [[0.0]], [[-1.0]], [[INF]],
                                           [[5e-324]], [[1.0, 0.0], [0.5]], np.eye(5), HUGE_INT, True]},
    "student_t": {"df": BAD_POSITIVES + [0.05, 2e6], "loc": BAD_REALS, "scale": BAD_POSITIVES},
    "von_mises": {"loc": BAD_REALS, "concentration": BAD_POSITIVES + [1e-7, 2e7]},
    "gamma": {"concentration": BAD_CONCENTRATIONS, "rate": BAD_POSITIVES},
    "beta": {"a": BAD_CONCENTRATIONS + [[1.0, 2.0]], "b": BAD_CONCENTRATIONS + [[1.0, 2.0]]},
    "dirichlet": {"concentration": BAD_CONCENTRATIONS + [2.0, [1.0], [[1.0, 2.0]]]},
    "bernoulli": {"logits": BAD_REALS + [[[0.0]]],
                  "probs": BAD_REALS + [0.0, 1.0, -0.1, 1.5, [0.5, 1.0], [[0.5]]]},
    "categorical": {"logits": BAD_REALS + [[1.0], [[0.0, 1.0], [0.0]], np.zeros((2, 2, 2)), [0.0, NAN]],
                    "probs": [[0.5, 0.6], [1.0], [0.0, 1.0], [1.5, -0.5], [[0.5, 0.5], [0.2, 0.7]], [0.5, NAN],
                              "abc", None, HUGE_INT]},
}


@st.composite
def bad_parameter(draw, call: Call) -> Call:
    """One distribution parameter replaced by a bad value (discrete families: the logits or the probs)."""
    name = draw(st.sampled_from(sorted(BAD_PARAMETERS[call.family])))
    value = draw(st.sampled_from(BAD_PARAMETERS[call.family][name]))
    if call.family in ("bernoulli", "categorical"):
        return call.fault(named(name), params={name: value})
    return call.fault(named(name), params={**call.params, name: value})


@st.composite
def mismatched_lengths(draw, call: Call) -> Call:
    """Two parameter vectors of different lengths, or both or neither of logits and probs."""
    if call.family == "normal":
        return call.fault(named("loc"), params={"loc": [0.0, 1.0], "scale": [1.0, 2.0, 3.0]})
    if call.family == "gamma":
        return call.fault(named("concentration"), params={"concentration": [1.0, 2.0], "rate": [1.0, 2.0, 3.0]})
    if call.family in ("bernoulli", "categorical"):
        both = {"logits": [0.0, 1.0], "probs": [0.5, 0.5]}
        return call.fault(r"logits= or probs=", params=draw(st.sampled_from([both, {}])))
    return draw(bad_parameter(call))


BAD_COUNTS = [0, 1, -5, 2**63, 2**64, 1e19, 2.5, NAN, INF, "100", None, True, Fraction(5, 2),
              Fraction(HUGE_INT, 3), HUGE_INT, np.uint64(2**63), np.float64(1.5)]
BAD_RUN_ARGUMENTS = {
    "seed": [-1, 2**64, 1.5, "0", True, NAN, np.float64(3.0)],
    "block_size": [0, -1, 2**63, 1.5, "x", NAN, None, True],
    "threads": [0, -1, 10**6, 1.5, "2"],
    "blocks": [(3, 2), (0, 10**9), (0, INF), (NAN, 1), "ab", (0, 1, 2), 5, (-1, 1), (0, HUGE_INT)],
}


@st.composite
def bad_count(draw, call: Call) -> Call:
    return call.fault(named("n"), n=draw(st.sampled_from(BAD_COUNTS)), kwargs={"progress": False})


@st.composite
def bad_run_argument(draw, call: Call) -> Call:
    key = draw(st.sampled_from(sorted(BAD_RUN_ARGUMENTS)))
    value = draw(st.sampled_from(BAD_RUN_ARGUMENTS[key]))
    return call.fault(named(key), kwargs={"progress": False, key: value})


@st.composite
def bad_estimator(draw, call: Call) -> Call:
    """An unknown name, a name of another family's estimator, or no string at all (None is not a fault: it
    selects the family's default)."""
    foreign = sorted(set(mcgrad.ESTIMATORS) - set(names_of(call.family)))
    estimator = draw(st.sampled_from(["nope", "", "Score", "score ", "reinforce", 3, ["score"], b"score"]
                                     + foreign))
    return call.fault(r"\bestimator\b", estimator=estimator, options={})


BAD_OPTION_VALUES = {
    "boost": [-1, 65, 1.0, "1", None, True, HUGE_INT],
    "temperature": [0.0, -1.0, 1e-4, 1e4, NAN, INF, "0.5", None, True, HUGE_INT],
    "eta": [NAN, INF, -INF, "1", None, True, HUGE_INT],
    "transform": [0, 3, 1.5, "1", None, True],
    "baseline": [NAN, INF, "opt", None, True, HUGE_INT],
    "pilot": [0, 1, -5, 1.5, "10", True, 2**63, HUGE_INT],
    "samples": [0, -1, 4097, 2.0, "4", None, True],  # bad for every estimator with samples (gumbel_rao takes 1)
    "k": [0, -1, 1025, 2.5, "1", None, True],
    "gap": [-1.0, 101.0, NAN, INF, "1", None, True],
    "coefficient": [NAN, INF, "est", None, True],
    "control": [None, 3, "cv", mcgrad.square()],
}
UNKNOWN_OPTIONS = sorted(BAD_OPTION_VALUES) + ["foo", "Transform", "k", "lr"]


@st.composite
def bad_option(draw, call: Call) -> Call:
    """A declared option with a bad value, or an option the estimator does not declare."""
    declared = [o.name for o in spec_of(call.family, call.estimator).declared]
    if declared and draw(st.booleans()):
        key = draw(st.sampled_from(declared))
        value = draw(st.sampled_from(BAD_OPTION_VALUES[key]))
    else:
        key, value = draw(st.sampled_from([k for k in UNKNOWN_OPTIONS if k not in declared])), 1.0
    return call.fault(named(key), options={**call.options, key: value})


@st.composite
def too_small_boost(draw, call: Call) -> Call:
    """boost=0 with a concentration below 1 (Marsaglia-Tsang needs shape >= 1)."""
    if call.family not in GAMMA_BUILT:
        return draw(bad_option(call))
    params = {"gamma": {"concentration": 0.5}, "beta": {"a": 0.5, "b": 2.0},
              "dirichlet": {"concentration": [0.5, 2.0]}}[call.family]
    estimator = draw(st.sampled_from([n for n in names_of(call.family) if n != "exact"]))
    return call.fault(named("boost"), params=params, estimator=estimator, options={"boost": 0}, objective="square")


BAD_OBJECTIVE_PARAMETERS = [
    (Builtin("square", (NAN,)), "c"), (Builtin("square", (HUGE_INT,)), "c"), (Builtin("cos", ("1",)), "k"),
    (Builtin("quadratic", (None,)), "k"), (Builtin("gaussian_bump", (-1.0,)), "k"),
    (Builtin("linear", (INF,)), "a"), (Builtin("toy", (1j,)), "t"), (Builtin("component", (-1,)), "component index i"),
    (Builtin("log_component", (1.5,)), "component index i"), (Builtin("one_hot_quadratic", (-1,)), "target"),
    (Builtin("one_hot_quadratic", (HUGE_INT,)), "target"), (Builtin("component", (INF,)), "component index i"),
]
OFF_DOMAIN = {  # objectives a family's support does not fit
    "normal": ["log", "component", "log_component", "one_hot_quadratic"],
    "multivariate_normal": ["log", "component", "log_component", "one_hot_quadratic"],
    "student_t": ["log", "component", "log_component", "one_hot_quadratic"],
    "von_mises": ["log", "component", "log_component", "one_hot_quadratic"],
    "gamma": ["component", "one_hot_quadratic"],
    "beta": [Builtin("component", (1,)), Builtin("log_component", (2,)), "one_hot_quadratic"],
    "dirichlet": [Builtin("log_component", (4,)), Builtin("component", (5,)), "one_hot_quadratic"],
    "bernoulli": ["log", "component", "one_hot_quadratic"],
    "categorical": ["log", "log_component", Builtin("one_hot_quadratic", (4,))],
}


@st.composite
def bad_objective(draw, call: Call) -> Call:
    """An unknown name, not an objective at all, a bad parameter, or an objective off the support."""
    kind = draw(st.sampled_from(["name", "type", "parameter", "domain"]))
    if kind == "name":
        return call.fault(r"\bobjective\b", objective=draw(st.sampled_from(["cube", "", "Square", "x**2"])))
    if kind == "type":
        return call.fault(r"\bf must", objective=draw(st.sampled_from([3, None, 1.5, ["square"], b"square"])))
    if kind == "parameter":
        objective, argument = draw(st.sampled_from(BAD_OBJECTIVE_PARAMETERS))
        return call.fault(named(argument), objective=objective)
    objective = draw(st.sampled_from(OFF_DOMAIN[call.family]))
    return call.fault(r"\bobjective\b|component index|target class", objective=objective)


NO_DERIVATIVE = mcgrad.user_objective(relax_control_value, name="no_derivative")  # compiled once, never run


@st.composite
def missing_derivative(draw, call: Call) -> Call:
    """An estimator that needs f' on an objective without one."""
    needing = [name for name in names_of(call.family) if spec_of(call.family, name).needs_derivative]
    estimator = draw(st.sampled_from(needing))
    return call.fault(r"\bderivative\b", objective=NO_DERIVATIVE, estimator=estimator, options={})


FAULTS = (bad_parameter, mismatched_lengths, bad_count, bad_run_argument, bad_estimator, bad_option,
          too_small_boost, bad_objective, missing_derivative)


@st.composite
def calls(draw):
    """A valid call, or (two times in three) one with a single fault."""
    call = draw(valid_calls())
    if draw(st.integers(0, 2)) == 0:
        event("valid call")
        return call
    fault = draw(st.sampled_from(FAULTS))
    event(f"fault: {fault.__name__}")
    return draw(fault(call))


# ------------------------------------------------------------------------------------------------------ checks

@contextlib.contextmanager
def watchdog(seconds: float = HANG_SECONDS):
    """Abort the process, printing every thread's stack, if the body runs for ``seconds``: a hang fails the run
    instead of stalling it."""
    faulthandler.dump_traceback_later(seconds, exit=True, file=sys.__stderr__)  # not a redirected sys.stderr
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def run(call: Call):
    """Build the distribution and objective and call ``estimate``, all inside the caller's checks."""
    dist = CLASSES[call.family](**call.params)
    f = call.objective.make() if isinstance(call.objective, Builtin) else call.objective
    return mcgrad.estimate(dist, f, call.estimator, call.n, **call.kwargs, **call.options)


def reported(caught) -> bool:
    """Whether mcgrad warned that values were not finite (NumPy's own overflow warnings do not count)."""
    return any(issubclass(w.category, RuntimeWarning) and re.search(r"NaN or infinite|is not finite", str(w.message))
               for w in caught)


LIMITS = (r"the delta method needs f, f' and f'' finite at the mean; f=.* at loc=",)
"""Refusals of valid arguments at the edge of the float range, naming what overflowed (score_delta expands f at
the mean: f(1e300) = inf has no Taylor polynomial)."""


def assert_refused(error: BaseException, faults: tuple) -> None:
    """A ValueError or TypeError that names a faulty argument (a valid call: one of the :data:`LIMITS`)."""
    assert isinstance(error, ValueError | TypeError), f"{type(error).__name__} instead of ValueError/TypeError: {error}"
    if not faults:
        assert any(re.search(p, str(error)) for p in LIMITS), f"a valid call failed: {error!r}"
        event("valid call refused at a limit")
        return
    assert any(re.search(p, str(error)) for p in faults), f"{str(error)!r} does not name the argument {faults}"


def assert_sound(result, width: int, samples: int, caught) -> None:
    """One value per component in every array, finite or reported; ``exact`` never an unreported NaN."""
    assert len(result.components) == width
    for name in ("mean", "var", "stderr", "var_stderr"):
        assert np.shape(getattr(result, name)) == (width,), name
    assert result.n == samples and 0 <= result.nonfinite <= samples
    values = [result.mean]
    if samples >= 2:  # one sample has a mean but no variance
        values += [result.var, result.stderr, result.var_stderr]
    finite = all(np.all(np.isfinite(v)) for v in values)
    event("finite result" if finite else "non-finite result")
    if result.nonfinite or not finite:
        assert reported(caught), f"non-finite values without a warning: {result!r}, nonfinite={result.nonfinite}"
    if result.exact is not None:  # +-inf where the true gradient is beyond the float range; NaN never unreported
        assert np.shape(result.exact) == (width,)
        assert not np.any(np.isnan(result.exact)) or reported(caught), f"exact is NaN: {result!r}"
    if samples >= 2 and np.all(np.isfinite(result.var)):
        assert np.all(result.var >= 0) and np.all(np.isfinite(result.stderr))


NORMAL = {"loc": 0.5, "scale": 1.0}
ESTIMATE_REGRESSIONS = [  # calls that once failed the property: each is run before the random ones
    Call("normal", {"loc": HUGE_INT, "scale": 1.0}, "square", "score", {}, 100, 2, faults=(named("loc"),)),
    Call("gamma", {"concentration": 2.0, "rate": [HUGE_INT]}, "square", "rsvi", {}, 100, 2, faults=(named("rate"),)),
    Call("bernoulli", {"logits": [0.0, HUGE_INT]}, "toy", "score", {}, 100, 2, faults=(named("logits"),)),
    Call("normal", NORMAL, Builtin("square", (HUGE_INT,)), "score", {}, 100, 2, faults=(named("c"),)),
    Call("normal", NORMAL, "square", "score", {}, Fraction(HUGE_INT, 3), 2, faults=(named("n"),)),
    Call("normal", NORMAL, "square", "score", {}, 100, 2, {"blocks": (0, INF)}, faults=(named("blocks"),)),
    Call("normal", NORMAL, "square", "score_baseline", {"pilot": 2**70}, 100, 2, faults=(named("pilot"),)),
    Call("bernoulli", {"logits": 0.0}, "toy", "rebar", {"temperature": HUGE_INT}, 100, 1,
         faults=(named("temperature"),)),
    Call("categorical", {"logits": [0.0, 1.0]}, Builtin("one_hot_quadratic", (-1,)), "score", {}, 100, 2,
         faults=(named("target"),)),
    Call("normal", NORMAL, Builtin("gaussian_bump", (1e300,)), "pathwise", {}, 100, 2),  # exact was NaN, unreported
]


def with_examples(name: str, cases: list):
    """Decorate a property with ``cases`` as explicit examples of its argument ``name``."""
    def decorate(test):
        for case in reversed(cases):
            test = example(**{name: case})(test)
        return test

    return decorate


@settings(PROPERTY, max_examples=400)
@with_examples("call", ESTIMATE_REGRESSIONS)
@given(call=calls())
def test_estimate_gives_a_sound_result_or_names_the_faulty_argument(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with watchdog():
                result = run(call)
        except Exception as error:  # whatever it is, it is checked
            assert_refused(error, call.faults)
            return
    assert not call.faults, f"a call with a fault was run: {call}"
    assert_sound(result, call.width, call.samples, caught)


# ------------------------------------------------------------------------------------------------------ compare

@st.composite
def entries_for(draw, family: str, params: dict):
    """compare's ``estimators``: valid entries (names, or (name, options) pairs), and the patterns of the faults
    among them (an entry of the wrong form, an unknown name, an unknown option, or no entry at all)."""
    entries, faults = [], []
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from([name for name in names_of(family) if fits(name, params)]))
        options = draw(options_for(family, name, params))
        kind = draw(st.sampled_from(["plain", "plain", "plain", "form", "name", "option"]))
        if kind == "form":
            entries.append(draw(st.sampled_from([3, None, (name,), (name, 2), [name, options]])))
            faults.append(r"\bestimators entries\b")
        elif kind == "name":
            entries.append(draw(st.sampled_from(["nope", "", 3])))
            faults.append(r"\bestimators?\b")
        elif kind == "option":
            entries.append((name, {**options, "foo": 1}))
            faults.append(named("foo"))
        else:
            entries.append((name, options) if options or draw(st.booleans()) else name)
    return entries, tuple(faults) if entries else (r"\bestimators must\b",)


@settings(PROPERTY, max_examples=60)
@given(data=st.data())
def test_compare_gives_one_row_per_estimator_and_component_or_names_the_fault(data):
    family = data.draw(st.sampled_from(sorted(CLASSES)))
    params, width = data.draw(PROBLEMS[family])
    f = data.draw(objective_for(family, params))
    entries, faults = data.draw(entries_for(family, params))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with watchdog():
                frame = mcgrad.compare(CLASSES[family](**params), f.make() if isinstance(f, Builtin) else f,
                                       entries, n=data.draw(st.integers(2, MAX_N)), progress=False)
        except Exception as error:  # whatever it is, it is checked
            assert_refused(error, faults)
            return
    assert not faults, f"compare ran faulty entries {entries}"
    assert len(frame) == width * len(entries)
    values = frame[["mean", "stderr", "var", "var_stderr"]].to_numpy()
    assert np.all(np.isfinite(values)) or reported(caught), f"non-finite values without a warning:\n{frame}"
    assert "exact" not in frame or not frame["exact"].isna().any() or reported(caught), f"exact is NaN:\n{frame}"


# ---------------------------------------------------------------------------------------------------------- CLI

def vector_text(values: list[str], size: int):
    """``size`` of ``values``, comma-separated."""
    return st.lists(st.sampled_from(values), min_size=size, max_size=size).map(",".join)


MVN_TRILS = {1: ["1", "0.5", "1e-3"], 2: ["1,0;0.5,2", "0.3,0;-4,1e3"],
             3: ["1,0,0;0,1,0;0,0,1", "2,0,0;1,1,0;-1,3,0.5"]}
CLI_PROBLEMS = {  # flags of a valid problem per family: parameter flags with values of D = 1 to 3
    "multivariate_normal": st.integers(1, 3).flatmap(lambda d: st.tuples(
        st.just("--loc"), vector_text(["0", "1", "-2.5", "1e3"], d),
        st.just("--scale-tril"), st.sampled_from(MVN_TRILS[d]))),
    "normal": st.integers(1, 3).flatmap(lambda d: st.tuples(
        st.just("--loc"), vector_text(["0", "1", "-2.5", "1e3"], d),
        st.just("--scale"), vector_text(["1", "0.5", "2", "1e-3"], d))),
    "student_t": st.integers(1, 3).flatmap(lambda d: st.tuples(
        st.just("--df"), vector_text(["5", "0.1", "2.5", "1e6"], d),
        st.just("--loc"), vector_text(["0", "1", "-2.5"], d),
        st.just("--scale"), vector_text(["1", "0.5", "1e-3"], d))),
    "von_mises": st.integers(1, 3).flatmap(lambda d: st.tuples(
        st.just("--loc"), vector_text(["0", "1", "-2.5", "1e3"], d),
        st.just("--concentration"), vector_text(["1", "1e-6", "30", "1e7"], d))),
    "gamma": st.integers(1, 3).flatmap(lambda d: st.tuples(
        st.just("--concentration"), vector_text(["2", "0.5", "1e-3", "1e6"], d),
        st.just("--rate"), vector_text(["1", "3", "0.25"], d))),
    "beta": st.tuples(st.just("--concentration"), vector_text(["2", "0.5", "1"], 2)),
    "dirichlet": st.integers(2, 4).flatmap(lambda k: st.tuples(
        st.just("--concentration"), vector_text(["1", "2", "0.5", "1e-3"], k))),
    "bernoulli": st.one_of(st.tuples(st.just("--logits"), st.sampled_from(["0", "0.3,-0.2", "-50,50,0"])),
                           st.tuples(st.just("--probs"), st.sampled_from(["0.5", "0.2,0.7", "1e-9"]))),
    "categorical": st.one_of(st.tuples(st.just("--logits"), st.sampled_from(["0,1,2", "0,1;1,0", "-50,50"])),
                             st.tuples(st.just("--probs"), st.sampled_from(["0.2,0.8", "0.2,0.8;0.5,0.5"]))),
}
CLI_OBJECTIVES = {  # (objective, --param) pairs valid on every problem of the family above
    "multivariate_normal": [("square", "1"), ("cos", "2"), ("linear", "-1"), ("quadratic", "3")],
    "normal": [("square", "1"), ("cos", "2"), ("gaussian_bump", "0.5"), ("linear", "-1"), ("identity", None),
               ("toy", "0.45"), ("quadratic", "3")],
    "student_t": [("cos", "2"), ("gaussian_bump", "0.5")],  # bounded: defined for every df (x^2 needs df > 2)
    "von_mises": [("cos", "1"), ("cos", "2.5"), ("linear", "-1"), ("square", "0"), ("gaussian_bump", "0.5")],
    "gamma": [("log", None), ("square", "0"), ("linear", "2"), ("identity", None)],
    "beta": [("component", "0"), ("log_component", "0"), ("square", "1")],
    "dirichlet": [("component", "1"), ("log_component", "0"), ("cos", "1")],
    "bernoulli": [("toy", "0.499"), ("linear", "1"), ("square", "0")],
    "categorical": [("one_hot_quadratic", "1"), ("toy", "0.45"), ("linear", "1")],
}
RUN_FLAGS = {"--seed": ["0", "7", "18446744073709551615"], "--threads": ["1"], "--format": ["table", "csv", "json"]}
CLI_OPTIONS = {"transform": "2", "boost": "2", "temperature": "0.3", "eta": "0.5", "baseline": "optimal",
               "pilot": "100", "samples": "3", "coefficient": "estimated", "k": "1", "gap": "0.5"}


@st.composite
def cli_estimator(draw, family: str) -> tuple[str, dict]:
    """An estimator of ``family`` that the command line can run on every problem of CLI_PROBLEMS (not relax: its
    control needs Python; not unordered_set: it takes D = 1 and K >= samples) and some of its options."""
    name = draw(st.sampled_from([n for n in names_of(family) if n not in ("relax", "unordered_set")]))
    declared = [o.name for o in spec_of(family, name).declared]
    chosen = draw(st.lists(st.sampled_from(declared), unique=True)) if declared else []
    return name, {key: CLI_OPTIONS[key] for key in chosen}


@st.composite
def valid_command_lines(draw):
    """``estimate`` or ``compare`` of a valid problem with at most 5000 samples."""
    command = draw(st.sampled_from(["estimate", "compare"]))
    family = draw(st.sampled_from(sorted(CLASSES)))
    problem = draw(CLI_PROBLEMS[family])  # flag, value, ...: joined as --flag=value (a value may start with '-')
    argv = [command, "-n", draw(st.sampled_from(["2", "100", "1e3", "5000"])), "--dist", family,
            *(f"{flag}={value}" for flag, value in zip(problem[::2], problem[1::2], strict=True))]
    objective, param = draw(st.sampled_from(CLI_OBJECTIVES[family]))
    argv += ["--objective", objective] + (["--param", param] if param is not None else [])
    if command == "estimate":
        name, options = draw(cli_estimator(family))
        argv += ["--estimator", name] + [token for key, value in options.items() for token in (f"--{key}", value)]
    else:
        chosen = draw(st.lists(cli_estimator(family), min_size=1, max_size=3))
        argv += ["--estimators", ",".join(
            name + (":" + ";".join(f"{k}={v}" for k, v in opts.items()) if opts else "") for name, opts in chosen)]
    for flag in draw(st.lists(st.sampled_from(sorted(RUN_FLAGS)), max_size=2, unique=True)):
        argv += [flag, draw(st.sampled_from(RUN_FLAGS[flag]))]
    return argv


NUMBERS = ["0", "1", "2", "-1", "0.5", "1e-3", "1e6", "1e7", "nan", "inf", "-inf", "1e400", "5e-324", "1e300", "abc",
           ""]
NUMBER_LISTS = st.lists(st.sampled_from(NUMBERS), min_size=1, max_size=3).map(",".join)
MATRICES = st.one_of(NUMBER_LISTS, st.lists(NUMBER_LISTS, min_size=1, max_size=3).map(";".join),
                     st.sampled_from(["0.2,0.8", "0.2,0.8;0.5,0.5", "0.5,0.6", "0,1;1", ";",
                                      ";".join(["0.5,0.6"] * 30)]))
OPTION_WORDS = ["1", "2", "0", "-1", "0.5", "1e-4", "1e4", "nan", "inf", "none", "optimal", "estimated", "abc", "",
                "1e400", "99999999999999999999999", "9223372036854775808", "4097", "64", "65"]
SETTINGS_WORDS = st.lists(st.builds("{}={}".format, st.sampled_from(sorted(CLI_OPTIONS) + ["foo", ""]),
                                    st.sampled_from(OPTION_WORDS)), max_size=2).map(";".join)
ESTIMATOR_WORDS = sorted(mcgrad.ESTIMATORS) + ["nope", ""]
ESTIMATOR_LISTS = st.lists(st.builds(lambda name, opts: f"{name}:{opts}" if opts else name,
                                     st.sampled_from(ESTIMATOR_WORDS), SETTINGS_WORDS),
                           min_size=1, max_size=3).map(",".join)
NOISE = {  # any flag with any value, most of them wrong
    "-n": st.sampled_from(["0", "1", "-5", "2.5", "1e19", "9223372036854775808", "nan", "inf", "abc", ""]),
    "--dist": st.sampled_from(sorted(CLASSES) + ["poisson"]),
    "--loc": NUMBER_LISTS, "--scale": NUMBER_LISTS, "--concentration": NUMBER_LISTS, "--rate": NUMBER_LISTS,
    "--logits": MATRICES, "--probs": MATRICES,
    "--objective": st.sampled_from(sorted(BUILTINS) + ["cube"]),
    "--param": st.sampled_from(NUMBERS),
    "--seed": st.sampled_from(["-1", "1.5", "18446744073709551616", "abc"]),
    "--threads": st.sampled_from(["0", "-1", "1000000", "x"]),
    "--format": st.sampled_from(["xml"]),
    "--estimator": st.sampled_from(ESTIMATOR_WORDS),
    "--estimators": ESTIMATOR_LISTS,
    "--option": SETTINGS_WORDS,
    **{f"--{key}": st.sampled_from(OPTION_WORDS) for key in CLI_OPTIONS},
    "--checkpoint": st.just("no-such-folder/run.npz"),
    "--bogus": st.just("1"),
}


@st.composite
def command_lines(draw) -> tuple[list[str], bool]:
    """``(argv, valid)``: a valid command line (one time in three), or one with one or two flags added at random
    (some of them flags of the other command, or of no command) and now and then a stray token."""
    argv = draw(valid_command_lines())
    if draw(st.integers(0, 2)) == 0:
        return argv, True
    for flag in draw(st.lists(st.sampled_from(sorted(NOISE)), min_size=1, max_size=2, unique=True)):
        argv += [flag, draw(NOISE[flag])]
    if draw(st.integers(0, 9)) == 0:
        argv.append(draw(st.sampled_from(["--no-progress", "stray"])))
    return argv, False


def run_command(argv: list[str]) -> tuple[object, str, str]:
    """``mcgrad.cli.main(argv)`` in process: its exit status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    notice = engine.compile_notice  # main sets it; leave the process as it was
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings(), watchdog():
            warnings.simplefilter("ignore")
            status = cli.main(argv)
    except SystemExit as stop:
        status = stop.code
    finally:
        engine.compile_notice = notice
    return status, out.getvalue(), err.getvalue()


def assert_one_error_line(err: str) -> None:
    """The last line says 'mcgrad[ COMMAND]: error: ...'; any line before it is argparse's usage."""
    lines = err.splitlines()
    assert lines, "status 2 with nothing on stderr"
    assert re.match(r"mcgrad( \w+)?: error: \S", lines[-1]), lines[-1]
    assert sum(": error: " in line for line in lines) == 1, err
    assert len(lines) == 1 or lines[0].startswith("usage: "), err


CLI_REGRESSIONS = [  # (argv, valid) that once failed the property
    (["estimate", "--dist", "categorical", "--probs", ";".join(["0.5,0.6"] * 30), "-n", "100"], False),
    (["estimate", "--estimator", "score_baseline", "--pilot", "18446744073709551615", "-n", "100"], False),
    (["compare", "--estimators", "score_baseline:pilot=10000000000000000000000", "-n", "100"], False),
]


@settings(PROPERTY, max_examples=200)
@with_examples("command", CLI_REGRESSIONS)
@given(command=command_lines())
def test_cli_succeeds_or_exits_2_with_one_error_line(command):
    argv, valid = command
    status, out, err = run_command(argv)
    assert "Traceback" not in err
    event(f"{'valid' if valid else 'random'} command line: status {status}")
    assert status == 0 or not valid, f"a valid command line failed: {err}"
    if status == 0:
        assert out.strip(), "status 0 but nothing printed"
    else:
        assert status == 2, f"status {status!r}; stderr: {err}"
        assert_one_error_line(err)
