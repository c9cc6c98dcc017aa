"""The estimator registry: name -> family -> kernel code, bias, options.

Every estimator is a per-sample quantity g_hat whose mean is the gradient (unless ``biased``);
mcgrad reports its mean and variance.  Formulas are in each kernel module's docstring.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field


@dataclass(frozen=True)
class EstimatorSpec:
    """One registry entry.

    Attributes
    ----------
    name : str
        Name used in the API, the CLI and tables.
    families : tuple of str
        Distribution families it applies to.
    code : int
        The kernel's estimator code.
    needs_derivative : bool
        Whether f' must be known.
    biased : bool
        Whether the estimator's mean differs from the gradient.
    options : dict
        Allowed options with their default values.
    choices : dict
        Allowed values of each option, or a validator ``(option, estimator, value) -> value``.
    summary : str
        One line for tables and ``--help``.
    """

    name: str
    families: tuple[str, ...]
    code: int
    needs_derivative: bool
    biased: bool
    summary: str
    options: dict = field(default_factory=dict)
    choices: dict = field(default_factory=dict)


_BOOST = {"boost": 1}
_BOOST_CHOICES = {"boost": range(0, 65)}

REGISTRY: dict[str, dict[str, EstimatorSpec]] = {
    "score": {
        "normal": EstimatorSpec("score", ("normal",), 0, False, False,
                                "score function (REINFORCE): f(x) grad log p(x)"),
        "gamma": EstimatorSpec("score", ("gamma",), 0, False, False,
                               "score function (REINFORCE): f(z) grad log p(z)", dict(_BOOST), _BOOST_CHOICES),
    },
    "pathwise": {
        "normal": EstimatorSpec("pathwise", ("normal",), 1, True, False, "reparameterisation: f'(x) dx/dtheta"),
    },
    "grep": {
        "normal": EstimatorSpec(
            "grep", ("normal",), 2, True, False,
            "generalised reparameterisation (Ruiz et al. 2016), transform 1 or 2",
            options={"transform": 1}, choices={"transform": (1, 2)},
        ),
        "gamma": EstimatorSpec("grep", ("gamma",), 4, True, False,
                               "generalised reparameterisation, log-space standardisation", dict(_BOOST),
                               _BOOST_CHOICES),
    },
    "measure_valued": {
        "normal": EstimatorSpec("measure_valued", ("normal",), 3, False, False,
                                "coupled measure-valued derivative (Weibull / double-sided Maxwell)"),
    },
    "rsvi": {
        "gamma": EstimatorSpec("rsvi", ("gamma",), 1, True, False,
                               "rejection-sampler reparameterisation g_rep + g_cor (Naesseth et al. 2017)",
                               dict(_BOOST), _BOOST_CHOICES),
    },
    "rsvi_rep_only": {
        "gamma": EstimatorSpec("rsvi_rep_only", ("gamma",), 2, True, True,
                               "rsvi without the correction term g_cor (biased ablation)", dict(_BOOST),
                               _BOOST_CHOICES),
    },
    "implicit": {
        "gamma": EstimatorSpec("implicit", ("gamma",), 3, True, False,
                               "implicit reparameterisation (Figurnov et al. 2018)", dict(_BOOST), _BOOST_CHOICES),
    },
}




def _temperature(key: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{key} for estimator {name!r} must be a finite number > 0, got {value!r}")
    return float(value)


def _finite(key: str, name: str, value, allowed: str = "a finite real number") -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{key} for estimator {name!r} must be {allowed}, got {value!r}")
    return float(value)


_eta = _finite


def _control(key: str, name: str, value):
    from .objectives import Objective

    if value is None:
        raise TypeError(f"estimator {name!r} needs {key}=mcgrad.user_objective(c, grad_c): a control variate c(z) "
                        "with its derivative, both @numba.njit")
    if not isinstance(value, Objective) or value.adapter is None or not value.has_derivative:
        raise TypeError(f"{key} for estimator {name!r} must be mcgrad.user_objective(c, grad_c) with a derivative, "
                        f"got {value!r}")
    return value


_DISCRETE = ("bernoulli", "categorical")
_TEMPERATURE = {"temperature": 0.5}
_TEMPERATURE_CHECK = {"temperature": _temperature}


def _discrete(name, code, biased, summary, families=_DISCRETE, options=None, choices=None, derivative=False):
    return {fam: EstimatorSpec(name, (fam,), code, derivative, biased, summary, dict(options or {}),
                               dict(choices or {})) for fam in families}


REGISTRY["score"].update(_discrete("score", 0, False, "score function (REINFORCE): f(b) grad log p(b)"))
REGISTRY["gumbel_softmax"] = _discrete("gumbel_softmax", 1, True,
                                       "Gumbel-softmax / Concrete: grad of f at the relaxed sample (biased)",
                                       options=_TEMPERATURE, choices=_TEMPERATURE_CHECK, derivative=True)
REGISTRY["straight_through"] = _discrete("straight_through", 2, True,
                                         "straight-through Gumbel: f'(b) times the relaxation's Jacobian (biased)",
                                         options=_TEMPERATURE, choices=_TEMPERATURE_CHECK, derivative=True)
REGISTRY["rebar"] = _discrete("rebar", 3, False, "REBAR (Tucker et al. 2017): control variate eta f(relaxed z)",
                              options={"temperature": 0.5, "eta": 1.0},
                              choices={"temperature": _temperature, "eta": _eta}, derivative=True)
REGISTRY["relax"] = _discrete("relax", 4, False, "RELAX (Grathwohl et al. 2018): a user control variate c(z)",
                              options={"control": None}, choices={"control": _control})
REGISTRY["arm"] = _discrete("arm", 5, False, "ARM (Yin & Zhou 2019): antithetic augment-REINFORCE-merge",
                            families=("bernoulli",))
REGISTRY["disarm"] = _discrete("disarm", 6, False, "DisARM (Dong et al. 2020): ARM with the uniform integrated out",
                               families=("bernoulli",))
REGISTRY["exact"] = _discrete("exact", 7, False, "exact gradient by enumerating the support (zero variance)")

for _specs in REGISTRY.values():
    if "gamma" in _specs:
        _g = _specs["gamma"]
        for _family in ("beta", "dirichlet"):
            _specs[_family] = EstimatorSpec(_g.name, (_family,), _g.code, _g.needs_derivative, _g.biased,
                                            _g.summary, dict(_g.options), dict(_g.choices))


def _number_or(word: str):
    """A validator taking a finite number or the string ``word`` (which selects a fitted value)."""

    def check(key: str, name: str, value):
        return value if value == word else _finite(key, name, value, f"a finite number or {word!r}")

    return check


_baseline = _number_or("optimal")
_coefficient = _number_or("estimated")


def _pilot(key: str, name: str, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 2:
        raise ValueError(f"{key} for estimator {name!r} must be an integer >= 2 (pilot samples) or None, "
                         f"got {value!r}")
    return int(value)


def _group(key: str, name: str, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 2 <= value <= 4096:
        raise ValueError(f"{key} for estimator {name!r} must be an integer in [2, 4096], got {value!r}")
    return int(value)


_ALL_FAMILIES = ("normal", "gamma", "beta", "dirichlet", "bernoulli", "categorical")
_GAMMA_FAMILIES = ("gamma", "beta", "dirichlet")
VARIANCE_REDUCED = ("score_baseline", "rloo", "score_delta")


def _variance_reduced(name, summary, options, choices, families=_ALL_FAMILIES):
    specs = {}
    for fam in families:
        opts, checks = dict(options), dict(choices)
        if fam in _GAMMA_FAMILIES:
            opts.update(_BOOST)
            checks.update(_BOOST_CHOICES)
        specs[fam] = EstimatorSpec(name, (fam,), 0, name == "score_delta", False, summary, opts, checks)
    return specs


REGISTRY["score_baseline"] = _variance_reduced(
    "score_baseline", "score function with a baseline: (f - b) grad log p; b constant or optimal (pilot pass)",
    {"baseline": "optimal", "pilot": None}, {"baseline": _baseline, "pilot": _pilot})
REGISTRY["rloo"] = _variance_reduced(
    "rloo", "leave-one-out baseline over K draws (RLOO, Kool et al. 2019)", {"samples": 4}, {"samples": _group})
REGISTRY["score_delta"] = _variance_reduced(
    "score_delta", "score function with the delta-method control variate (second-order Taylor expansion of f)",
    {"coefficient": 1.0, "baseline": 0.0, "pilot": None},
    {"coefficient": _coefficient, "baseline": _baseline, "pilot": _pilot},
    families=("normal",))


def lookup(name, family: str) -> EstimatorSpec:
    """The spec of ``name`` for ``family``; errors name what is allowed."""
    if not isinstance(name, str):
        raise TypeError(f"estimator must be a string, got {type(name).__name__}")
    if name not in REGISTRY:
        raise ValueError(f"unknown estimator {name!r}; known estimators are {sorted(REGISTRY)}")
    if family not in REGISTRY[name]:
        fits = sorted(n for n, specs in REGISTRY.items() if family in specs)
        raise ValueError(f"estimator {name!r} does not apply to the {family} family; use one of {fits}")
    return REGISTRY[name][family]


def resolve_options(spec: EstimatorSpec, options: dict) -> dict:
    """Defaults merged with ``options``; unknown options and values outside ``choices`` are errors."""
    unknown = set(options) - set(spec.options)
    if unknown:
        allowed = sorted(spec.options) or "none"
        raise TypeError(f"estimator {spec.name!r} got unknown option(s) {sorted(unknown)}; allowed: {allowed}")
    out = dict(spec.options)
    out.update(options)
    for key, allowed in spec.choices.items():
        value = out[key]
        if callable(allowed):
            out[key] = allowed(key, spec.name, value)
            continue
        if isinstance(value, bool) or value not in allowed:
            shown = f"an integer in [{allowed.start}, {allowed.stop - 1}]" if isinstance(allowed, range) else \
                f"one of {list(allowed)}"
            raise ValueError(f"{key} for estimator {spec.name!r} must be {shown}, got {value!r}")
    return out


def label(name: str, options: dict) -> str:
    """Table label, e.g. ``grep[transform=2]``."""
    if not options:
        return name
    shown = (f"{k}={v:g}" if isinstance(v, float) else f"{k}={getattr(v, 'name', v)}" for k, v in options.items()
             if v is not None)
    return name + "[" + ",".join(shown) + "]"
