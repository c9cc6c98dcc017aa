"""Bernoulli and Categorical (gradients w.r.t. the logits): the distributions, their kernel arguments and their
estimators' declarations.  Their exact gradients come from enumerating the support."""

from __future__ import annotations

import numpy as np

from .._validate import short_number
from ..declaration import (
    ANTITHETIC,
    CONDITIONAL_DRAWS,
    CONTROL,
    ETA,
    EXACT,
    GAP,
    REBAR_TEMPERATURE,
    SET_SIZE,
    SUMMED,
    TEMPERATURE,
    UNIT_TEMPERATURE,
    EstimatorSpec,
    variance_reduced,
)
from ..kernels import carms, categorical, discrete, score_vr
from .common import *  # noqa: F403 -- the defaults this module does not override
from .common import Distribution

FAMILIES = ("bernoulli", "categorical")
DEFAULT_ESTIMATORS = {"bernoulli": "score", "categorical": "score"}
PROBS_TOLERANCE = 1e-6  # how far a Categorical's probs may sum from 1
RANGES = {"bernoulli": [("logits", "finite reals"), ("probs", "the open interval (0, 1)")],
          "categorical": [("logits", "finite reals, shape (K,) or (D, K), K >= 2"),
                          ("probs", "(0, 1], summing to 1 over the K classes "
                                    f"(within {short_number(PROBS_TOLERANCE)})")]}


def _logits_or_probs(logits, probs, onehot: bool) -> tuple[str, np.ndarray]:
    """Validate exactly one of ``logits`` / ``probs``; return the name given and the float64 array."""
    if (logits is None) == (probs is None):
        raise TypeError("give exactly one of logits= or probs=")
    name, value = ("logits", logits) if probs is None else ("probs", probs)
    if isinstance(value, bool):
        raise TypeError(f"{name} must be real numbers, got {value!r}")
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be real numbers, got {value!r}") from None
    except OverflowError:  # a Python int beyond the float64 range
        raise ValueError(f"{name} must be finite (no NaN or inf), got {value!r}") from None
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {value!r}")
    if onehot:
        if arr.ndim not in (1, 2) or arr.shape[-1] < 2:
            raise ValueError(f"{name} must have shape (K,) or (D, K) with K >= 2 classes, got shape {arr.shape}")
    elif arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array, got shape {arr.shape}")
    if name == "probs":
        if onehot and np.any((arr <= 0.0) | (arr > 1.0)):
            raise ValueError(f"probs must lie in (0, 1] (a class of probability 0 has no gradient), got {value!r}")
        if not onehot and np.any((arr <= 0.0) | (arr >= 1.0)):
            raise ValueError(f"probs must lie in the open interval (0, 1), got {value!r}")
        if onehot and np.any(np.abs(arr.sum(axis=-1) - 1.0) > PROBS_TOLERANCE):
            raise ValueError(f"probs must sum to 1 over the classes (within {PROBS_TOLERANCE:g}), "
                             f"got sums {arr.sum(axis=-1)}")
    return name, arr


class Bernoulli(Distribution):
    """D independent Bernoulli variables b_d with P(b_d = 1) = theta_d = sigmoid(logits_d).

    Parameters
    ----------
    logits : float or array_like, optional
        Log-odds l_d (finite); give either ``logits`` or ``probs``.
    probs : float or array_like, optional
        Probabilities theta_d in the open interval (0, 1).

    Notes
    -----
    Gradients are taken with respect to the parameterisation given: d/dlogits, or
    d/dprobs = d/dlogits / (theta (1 - theta)).  Relaxed estimators evaluate f on x in [0, 1]^D.
    """

    family = "bernoulli"
    support = "binary"
    classes = 1

    def __init__(self, logits=None, probs=None):
        self.parameterization, arr = _logits_or_probs(logits, probs, onehot=False)
        arr = np.atleast_1d(arr)
        if self.parameterization == "logits":
            self.logits = arr
            self.probs = np.exp(-np.logaddexp(0.0, -arr))  # sigmoid without overflow
        else:
            self.probs = arr
            self.logits = np.log(arr) - np.log1p(-arr)

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """The parameter array given, by name."""
        return {self.parameterization: getattr(self, self.parameterization)}

    @property
    def size(self) -> int:
        """Length of the outcome vector x that f sees (D)."""
        return self.logits.size

    def chain_factor(self) -> np.ndarray:
        """d logits / d parameter per gradient component (1 for logits)."""
        if self.parameterization == "logits":
            return np.ones(self.logits.size)
        theta, theta_bar = _sigmoid(self.logits), _sigmoid(-self.logits)
        return 1.0 / (theta * theta_bar)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))


class Categorical(Distribution):
    """Categorical variables over K classes: one (logits of shape (K,)) or D independent ones ((D, K)).

    Parameters
    ----------
    logits : array_like, optional
        Unnormalised log-probabilities l (finite); theta = softmax(l) over the last axis.
    probs : array_like, optional
        Probabilities in (0, 1], each row summing to 1.

    Notes
    -----
    Gradients are taken with respect to the parameterisation given.  For probs the family is
    softmax(log probs), so d/dprobs_k = d/dlogits_k / probs_k.  f sees the outcome as the flat
    D K vector of one-hot rows (relaxed estimators: rows on the simplex).
    """

    family = "categorical"
    support = "onehot"

    def __init__(self, logits=None, probs=None):
        self.parameterization, arr = _logits_or_probs(logits, probs, onehot=True)
        self._flat = arr.ndim == 1
        arr2 = np.atleast_2d(arr)
        if self.parameterization == "logits":
            self.logits = arr2
            shifted = arr2 - arr2.max(axis=1, keepdims=True)
            self.probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        else:
            self.probs = arr2
            self.logits = np.log(arr2)

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """The parameter array given (shape (K,) or (D, K)), by name."""
        value = getattr(self, self.parameterization)
        return {self.parameterization: value[0] if self._flat else value}

    @property
    def dim(self) -> int:
        """Number of categorical variables D."""
        return self.logits.shape[0]

    @property
    def classes(self) -> int:
        """Number of classes K."""
        return self.logits.shape[1]

    @property
    def size(self) -> int:
        """Length of the outcome vector x that f sees (D K)."""
        return self.logits.size

    @property
    def components(self) -> list[str]:
        name = self.parameterization
        if self._flat:
            return [f"{name}[{k}]" for k in range(self.classes)]
        return [f"{name}[{d},{k}]" for d in range(self.dim) for k in range(self.classes)]

    def chain_factor(self) -> np.ndarray:
        """d logits / d parameter per gradient component (1 for logits, 1/probs for probs)."""
        if self.parameterization == "logits":
            return np.ones(self.logits.size)
        return (1.0 / self.probs).ravel()


CLASSES = (Bernoulli, Categorical)


def params(dist) -> np.ndarray:
    """The logits, shape (D, K) (Bernoulli: K = 1)."""
    return np.ascontiguousarray(dist.logits.reshape(dist.dim, -1), dtype=float)


def extra(dist) -> np.ndarray:
    """d logit / d parameter per component (ones when the user gave logits)."""
    return np.ascontiguousarray(dist.chain_factor(), dtype=float)


def sgd_components(dist) -> list[str]:
    """SGD runs on the logits, whatever parameterisation was given."""
    return type(dist)(logits=dist.logits).components


def scalar(dist) -> bool:
    """One Bernoulli: the scalar loops (Categorical has none)."""
    return dist.family == "bernoulli" and dist.dim == 1


def floors(dist, floor: float, rate_floor: float, boost: int) -> np.ndarray:
    """Logits are free."""
    return np.full(dist.logits.size, -np.inf)


def score_family(dist) -> int:
    return score_vr.CATEGORICAL if dist.family == "categorical" else score_vr.BERNOULLI


def _carms_setup():
    return carms.carms_setup


def _declarations(family: str, kernel) -> list[EstimatorSpec]:
    draws = "D uniforms" if family == "bernoulli" else "D K uniforms (Gumbels); score: D uniforms"
    resample = "twice score's (u, then v for the conditional resample)"
    specs = [
        EstimatorSpec("score", family, "score function (REINFORCE): f(b) grad log p(b)",
                      block=kernel, code=discrete.SCORE, draws=draws),
        EstimatorSpec("gumbel_softmax", family, "Gumbel-softmax / Concrete: grad of f at the relaxed sample (biased)",
                      biased=True, needs_derivative=True, needs_value=False, block=kernel,
                      code=discrete.GUMBEL_SOFTMAX,
                      declared=(TEMPERATURE,), draws=draws),
        EstimatorSpec("straight_through", family,
                      "straight-through Gumbel: f'(b) times the relaxation's Jacobian (biased)", biased=True,
                      needs_derivative=True, needs_value=False, block=kernel, code=discrete.STRAIGHT_THROUGH,
                      declared=(TEMPERATURE,), draws=draws),
        EstimatorSpec("rebar", family, "REBAR (Tucker et al. 2017): control variate eta f(relaxed z)",
                      needs_derivative=True, block=kernel, code=discrete.REBAR,
                      declared=(REBAR_TEMPERATURE, ETA), draws=resample, evaluations=3),
        EstimatorSpec("relax", family, "RELAX (Grathwohl et al. 2018): a user control variate eta c(z)",
                      block=kernel, code=discrete.RELAX, declared=(CONTROL, ETA), draws=resample),
    ]
    if family == "bernoulli":
        specs += [
            EstimatorSpec("arm", family, "ARM (Yin & Zhou 2019): antithetic augment-REINFORCE-merge",
                          block=kernel, code=discrete.ARM, draws=draws, evaluations=2),
            EstimatorSpec("disarm", family, "DisARM (Dong et al. 2020): ARM with the uniform integrated out",
                          block=kernel, code=discrete.DISARM, draws=draws, evaluations=2),
            EstimatorSpec("arms", family, "ARMS (Dimitriev & Zhou 2021): REINFORCE leave-one-out over n antithetic "
                          "draws (Dirichlet copula), corrected for their correlation; n = 2 is DisARM",
                          block=kernel, code=discrete.ARMS, declared=(ANTITHETIC,),
                          draws="n D uniforms (n exponentials per coordinate)", evaluations="samples"),
        ]
    else:
        specs.append(EstimatorSpec("reinmax", family, "ReinMax (Liu et al. 2023): second-order straight-through "
                                   "(biased)", biased=True, needs_derivative=True, needs_value=False, block=kernel,
                                   code=discrete.REINMAX, declared=(UNIT_TEMPERATURE,), draws="D uniforms"))
        specs.append(EstimatorSpec("unordered_set", family, "unordered set estimator (Kool et al. 2020): score over "
                                   "a sample without replacement (Gumbel-top-k) with its built-in baseline; D = 1",
                                   block=kernel, code=discrete.UNORDERED_SET, declared=(SET_SIZE,),
                                   draws="D K uniforms (Gumbels, as gumbel_softmax's)", evaluations="samples"))
        specs.append(EstimatorSpec("gapped_straight_through", family, "gapped straight-through (Fan et al. 2022): "
                                   "straight-through at logits perturbed deterministically given the outcome "
                                   "(biased)", biased=True, needs_derivative=True, needs_value=False, block=kernel,
                                   code=discrete.GAPPED_STRAIGHT_THROUGH, declared=(UNIT_TEMPERATURE, GAP),
                                   draws="D uniforms"))
        specs.append(EstimatorSpec("gumbel_rao", family, "Gumbel-Rao (Paulus et al. 2021): straight-through "
                                   "averaged over Gumbels given the outcome (biased)", biased=True,
                                   needs_derivative=True, needs_value=False, block=kernel, code=discrete.GUMBEL_RAO,
                                   declared=(TEMPERATURE, CONDITIONAL_DRAWS),
                                   draws="D uniforms, then samples x D K (the conditional Gumbels)"))
        specs.append(EstimatorSpec("sum_and_sample", family, "sum-and-sample (Liu et al. 2019): score with the k "
                                   "most probable classes of each variable summed exactly, one drawn from the rest",
                                   block=kernel, code=discrete.SUM_AND_SAMPLE, declared=(SUMMED,),
                                   draws="2 D uniforms (b as score's, then one class outside the summed per "
                                   "variable)", evaluations="k", extra_evaluations=1, per_coordinate=True))
    if family == "categorical":
        specs.append(EstimatorSpec("carms", family, "CARMS (Dimitriev & Zhou 2021): n antithetic draws (Dirichlet "
                                   "copula, inverse CDF along a random order of the classes), each pair reweighted "
                                   "to independent draws by its exact joint law", block=kernel, code=discrete.CARMS,
                                   setup=_carms_setup, declared=(ANTITHETIC,),
                                   draws="per variable 1 + n uniforms (an order of the classes, then n exponentials)",
                                   evaluations="samples"))
    specs.append(EstimatorSpec("exact", family, "exact gradient by enumerating the support (zero variance)",
                               kind=EXACT, draws="none", evaluations=0))
    return specs + variance_reduced(family, boost=False)


DECLARATIONS = [*_declarations("bernoulli", discrete.block),
                *_declarations("categorical", lambda code, user_path, scalar: categorical.block(code, user_path))]

EXACT_GRADIENTS: dict = {}
EXPECTATIONS: dict = {}
"""No closed forms: the engine enumerates the support."""
