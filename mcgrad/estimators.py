"""The estimator registry: every (family, estimator) declaration, collected from the family modules.

Every estimator is a per-sample quantity g_hat whose mean is the gradient (unless ``biased``); mcgrad
reports its mean and variance.  Declarations live in :mod:`mcgrad.families` (one module per family);
formulas are in ``docs/estimators.md``.  Everything else -- validation, kernel dispatch, the CLI's options,
sweeps, optimisation runs, variance reduction and the estimator table of docs/estimators.md -- reads this registry.
"""

from __future__ import annotations

from .declaration import EXACT, SAMPLING, VARIANCE_REDUCED, EstimatorSpec, Option
from .families import MODULES

__all__ = ["EXACT", "REGISTRY", "SAMPLING", "VARIANCE_REDUCED", "EstimatorSpec", "Option", "declarations",
           "check_fit", "default", "default_pair", "label", "lookup", "resolve_options"]


def _collect() -> dict[str, dict[str, EstimatorSpec]]:
    registry: dict[str, dict[str, EstimatorSpec]] = {}
    for module in dict.fromkeys(MODULES.values()):
        for spec in module.DECLARATIONS:
            specs = registry.setdefault(spec.name, {})
            if spec.family in specs:
                raise RuntimeError(f"estimator {spec.name!r} is declared twice for the {spec.family} family")
            specs[spec.family] = spec
    return registry


REGISTRY: dict[str, dict[str, EstimatorSpec]] = _collect()


def declarations() -> list[EstimatorSpec]:
    """Every (family, estimator) declaration, in registry order."""
    return [spec for specs in REGISTRY.values() for spec in specs.values()]


def names(family: str, kinds: tuple[str, ...] = (SAMPLING, VARIANCE_REDUCED, EXACT)) -> list[str]:
    """The estimators of ``family`` of the given kinds, sorted."""
    return sorted(name for name, specs in REGISTRY.items() if family in specs and specs[family].kind in kinds)


def default(family: str) -> str:
    """The estimator a run of ``family`` takes when none is named (``estimate``, ``optimise``, the CLI)."""
    return MODULES[family].DEFAULT_ESTIMATORS[family]


def default_pair(family: str) -> tuple[str, ...]:
    """What ``compare`` and ``sweep`` run when no estimators are named: score and the family's default."""
    return tuple(dict.fromkeys(("score", default(family))))


def defaults_text() -> str:
    """The families' defaults in words, for help texts: ``pathwise for normal, rsvi for gamma, ...``."""
    by_name: dict[str, list[str]] = {}
    for family in MODULES:
        by_name.setdefault(default(family), []).append(family)
    return ", ".join(f"{name} for {', '.join(fams)}" for name, fams in by_name.items())


def lookup(name, family: str) -> EstimatorSpec:
    """The spec of ``name`` for ``family``; errors name what is allowed."""
    if not isinstance(name, str):
        raise TypeError(f"estimator must be a string, got {type(name).__name__}")
    if name not in REGISTRY:
        raise ValueError(f"unknown estimator {name!r}; known estimators are {sorted(REGISTRY)}")
    if family not in REGISTRY[name]:
        raise ValueError(f"estimator {name!r} does not apply to the {family} family; use one of {names(family)}")
    return REGISTRY[name][family]


def resolve_options(spec: EstimatorSpec, options: dict) -> dict:
    """Defaults merged with ``options``, each checked by its declaration; unknown options are errors."""
    unknown = set(options) - set(spec.options)
    if unknown:
        allowed = sorted(spec.options) or "none"
        raise TypeError(f"estimator {spec.name!r} got unknown option(s) {sorted(unknown)}; allowed: {allowed}")
    out = dict(spec.options)
    out.update(options)
    for option in spec.declared:
        out[option.name] = option.check(option.name, spec.name, out[option.name])
    return out


CARMS_MAX_CLASSES = 32  # setup: about 0.3 s per variable at K = 32, n = 64; 5 s at K = 64


def check_fit(spec: EstimatorSpec, options: dict, dist) -> None:
    """Options checked against the distribution: sum_and_sample's ``k`` below its number of classes K (some are
    left to sample); unordered_set on one categorical (D = 1) with ``samples`` at most K."""
    if "k" in options and options["k"] >= dist.classes:
        raise ValueError(f"k must be below the number of classes K = {dist.classes} (the classes not summed are "
                         f"sampled), got k={options['k']}")
    if spec.name == "carms" and dist.classes > CARMS_MAX_CLASSES:
        raise ValueError(f"estimator 'carms' takes at most K = {CARMS_MAX_CLASSES} classes (its setup computes the "
                         f"joint law of every pair of classes along K(K-1)/2 orders: O(K^4)), got K = {dist.classes}")
    if spec.name == "unordered_set":
        if dist.dim != 1:
            raise ValueError(f"estimator 'unordered_set' samples one categorical without replacement (D = 1), got "
                             f"D = {dist.dim}")
        if options["samples"] > dist.classes:
            raise ValueError(f"samples for estimator 'unordered_set' must be at most the number of classes K = "
                             f"{dist.classes} (drawn without replacement), got {options['samples']}")


def label(name: str, options: dict) -> str:
    """Table label, e.g. ``grep[transform=2]``."""
    if not options:
        return name
    shown = (f"{k}={v:g}" if isinstance(v, float) else f"{k}={getattr(v, 'name', v)}" for k, v in options.items()
             if v is not None)
    return name + "[" + ",".join(shown) + "]"


def family_title(family: str) -> str:
    """The family's name as the tables print it, its class's (``"normal"`` -> ``"Normal"``)."""
    return next(cls.__name__ for cls in MODULES[family].CLASSES if cls.family == family)


def markdown_table() -> str:
    """The estimator table of docs/estimators.md, generated from the registry (one row per family and estimator)."""

    def options(spec):
        return ", ".join(f"`{o.name}={o.default!r}`" for o in spec.declared) or "—"

    lines = ["| family | estimator | options (defaults) | biased | needs f′ | f-evaluations per sample | what it is |",
             "|---|---|---|---|---|---|---|"]
    for family in MODULES:
        title = family_title(family)
        for i, spec in enumerate(spec for spec in declarations() if spec.family == family):
            evaluations = f"`{spec.evaluations}`" if isinstance(spec.evaluations, str) else spec.evaluations
            evaluations = f"{evaluations} + {spec.extra_evaluations}" if spec.extra_evaluations else evaluations
            evaluations = f"{evaluations} per coordinate" if spec.per_coordinate else evaluations
            if spec.coordinate_evaluations:
                evaluations = f"{evaluations} (+ {spec.coordinate_evaluations} per coordinate when D > 1)"
            lines.append(f"| {title if i == 0 else ''} | `{spec.name}` | {options(spec)} | "
                         f"{'**yes**' if spec.biased else 'no'} | {'yes' if spec.needs_derivative else 'no'} | "
                         f"{evaluations} | {spec.summary} |")
    return "\n".join(lines) + "\n"
