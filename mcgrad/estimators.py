"""The estimator registry: name -> kernel, families, bias, options.

Every estimator is a per-sample quantity g_hat whose mean is the gradient (unless ``biased``);
mcgrad reports its mean and variance.  Formulas are in each kernel module's docstring.
"""

from __future__ import annotations

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
        Allowed values of each option.
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


REGISTRY: dict[str, EstimatorSpec] = {
    "score": EstimatorSpec(
        "score", ("normal",), 0, False, False, "score function (REINFORCE): f(x) grad log p(x)"
    ),
    "pathwise": EstimatorSpec(
        "pathwise", ("normal",), 1, True, False, "reparameterisation: f'(x) dx/dtheta"
    ),
    "grep": EstimatorSpec(
        "grep", ("normal",), 2, True, False,
        "generalised reparameterisation (Ruiz et al. 2016), transform 1 or 2",
        options={"transform": 1}, choices={"transform": (1, 2)},
    ),
    "measure_valued": EstimatorSpec(
        "measure_valued", ("normal",), 3, False, False,
        "coupled measure-valued derivative (Weibull / double-sided Maxwell)",
    ),
}


def lookup(name, family: str) -> EstimatorSpec:
    """The spec of ``name`` for ``family``; errors name what is allowed."""
    if not isinstance(name, str):
        raise TypeError(f"estimator must be a string, got {type(name).__name__}")
    if name not in REGISTRY:
        raise ValueError(f"unknown estimator {name!r}; known estimators are {sorted(REGISTRY)}")
    spec = REGISTRY[name]
    if family not in spec.families:
        fits = sorted(n for n, s in REGISTRY.items() if family in s.families)
        raise ValueError(f"estimator {name!r} does not apply to the {family} family; use one of {fits}")
    return spec


def resolve_options(spec: EstimatorSpec, options: dict) -> dict:
    """Defaults merged with ``options``; unknown options and values outside ``choices`` are errors."""
    unknown = set(options) - set(spec.options)
    if unknown:
        allowed = sorted(spec.options) or "none"
        raise TypeError(f"estimator {spec.name!r} got unknown option(s) {sorted(unknown)}; allowed: {allowed}")
    out = dict(spec.options)
    out.update(options)
    for key, allowed in spec.choices.items():
        if out[key] not in allowed:
            raise ValueError(f"{key} for estimator {spec.name!r} must be one of {list(allowed)}, got {out[key]!r}")
    return out


def label(name: str, options: dict) -> str:
    """Table label, e.g. ``grep[transform=2]``."""
    if not options:
        return name
    return name + "[" + ",".join(f"{k}={v}" for k, v in options.items()) + "]"
