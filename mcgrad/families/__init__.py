"""One module per distribution family: how its parameters reach the kernels, and its estimators' declarations.

Each module defines, for the families it serves (``FAMILIES``):

* ``params(dist)`` -- the parameter rows the block functions take (``params.ravel()`` is in
  gradient-component order) and ``extra(dist)`` -- the per-component chain factor (ones unless the
  user gave probabilities);
* ``sgd_components(dist)`` and ``floors(dist, floor, rate_floor, boost)`` for optimisation runs (the
  names of the parameters iterated, which are ``params(dist)``, and the projection floor of each);
* ``scalar(dist)`` -- whether the D = 1 (scalar) loops apply;
* ``score_family(dist)`` -- the family's code in the variance-reduced score kernel, and ``first_only(dist)``;
* ``DECLARATIONS`` -- one :class:`~mcgrad.declaration.EstimatorSpec` per (family, estimator).
"""

from __future__ import annotations

from types import ModuleType

from . import dirichlet, discrete, gamma, normal

MODULES: dict[str, ModuleType] = {family: module for module in (normal, gamma, dirichlet, discrete)
                                  for family in module.FAMILIES}


def module(family: str) -> ModuleType:
    """The module that serves ``family``."""
    return MODULES[family]
