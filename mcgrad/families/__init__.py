"""One module per distribution family: everything mcgrad knows about it.

Each module defines, for the families it serves (``FAMILIES``):

* the distribution classes (``CLASSES``): validated parameters and the names of the gradient components;

* ``params(dist)`` -- the parameter rows the block functions take (``params.ravel()`` is in
  gradient-component order) and ``extra(dist)`` -- the per-component chain factor (ones unless the
  user gave probabilities);
* ``sgd_components(dist)`` and ``floors(dist, floor, rate_floor, boost)`` for optimisation runs (the
  names of the parameters iterated, which are ``params(dist)``, and the projection floor of each);
* ``scalar(dist)`` -- whether the D = 1 (scalar) loops apply;
* ``score_family(dist)`` -- the family's code in the variance-reduced score kernel, and ``first_only(dist)``;
* ``DEFAULT_ESTIMATORS`` -- family -> the estimator runs take when none is named (the lowest-variance
  unbiased one that needs no more than f and f');
* ``DECLARATIONS`` -- one :class:`~mcgrad.declaration.EstimatorSpec` per (family, estimator);
* ``EXACT_GRADIENTS`` -- built-in objective code -> ``exact(dist, param)``, the closed-form gradient of E[f],
  and ``EXPECTATIONS`` -- code -> ``value(rows, param)``, E[f] itself at each row of parameters (an SGD run's
  iterates); the Normal module also has the closed-form variances of its estimators on the square.
"""

from __future__ import annotations

from types import ModuleType

from . import dirichlet, discrete, gamma, multivariate_normal, normal, student_t, von_mises
from .common import Distribution
from .dirichlet import Beta, Dirichlet
from .discrete import Bernoulli, Categorical
from .gamma import Gamma
from .multivariate_normal import MultivariateNormal
from .normal import Normal
from .student_t import StudentT
from .von_mises import VonMises

_ALL = (normal, multivariate_normal, student_t, von_mises, gamma, dirichlet, discrete)
MODULES: dict[str, ModuleType] = {family: module for module in _ALL for family in module.FAMILIES}
CLASSES: tuple[type[Distribution], ...] = tuple(cls for module in _ALL for cls in module.CLASSES)

__all__ = ["CLASSES", "MODULES", "Bernoulli", "Beta", "Categorical", "Dirichlet", "Distribution", "Gamma",
           "MultivariateNormal", "Normal", "StudentT", "VonMises", "module"]


def module(family: str) -> ModuleType:
    """The module that serves ``family``."""
    return MODULES[family]
