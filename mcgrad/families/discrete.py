"""Bernoulli and Categorical (gradients w.r.t. the logits): kernel arguments and estimator declarations."""

from __future__ import annotations

import numpy as np

from ..declaration import CONTROL, ETA, EXACT, TEMPERATURE, EstimatorSpec, variance_reduced
from ..kernels import categorical, discrete, score_vr
from .common import first_only as first_only

FAMILIES = ("bernoulli", "categorical")


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


def _declarations(family: str, kernel) -> list[EstimatorSpec]:
    draws = "D uniforms" if family == "bernoulli" else "D K uniforms (Gumbels); score: D uniforms"
    resample = "twice score's (u, then v for the conditional resample)"
    specs = [
        EstimatorSpec("score", family, "score function (REINFORCE): f(b) grad log p(b)",
                      block=kernel, code=discrete.SCORE, draws=draws),
        EstimatorSpec("gumbel_softmax", family, "Gumbel-softmax / Concrete: grad of f at the relaxed sample (biased)",
                      biased=True, needs_derivative=True, block=kernel, code=discrete.GUMBEL_SOFTMAX,
                      declared=(TEMPERATURE,), draws=draws),
        EstimatorSpec("straight_through", family,
                      "straight-through Gumbel: f'(b) times the relaxation's Jacobian (biased)", biased=True,
                      needs_derivative=True, block=kernel, code=discrete.STRAIGHT_THROUGH,
                      declared=(TEMPERATURE,), draws=draws),
        EstimatorSpec("rebar", family, "REBAR (Tucker et al. 2017): control variate eta f(relaxed z)",
                      needs_derivative=True, block=kernel, code=discrete.REBAR,
                      declared=(TEMPERATURE, ETA), draws=resample, evaluations=3),
        EstimatorSpec("relax", family, "RELAX (Grathwohl et al. 2018): a user control variate c(z)",
                      block=kernel, code=discrete.RELAX, declared=(CONTROL,), draws=resample),
    ]
    if family == "bernoulli":
        specs += [
            EstimatorSpec("arm", family, "ARM (Yin & Zhou 2019): antithetic augment-REINFORCE-merge",
                          block=kernel, code=discrete.ARM, draws=draws, evaluations=2),
            EstimatorSpec("disarm", family, "DisARM (Dong et al. 2020): ARM with the uniform integrated out",
                          block=kernel, code=discrete.DISARM, draws=draws, evaluations=2),
        ]
    specs.append(EstimatorSpec("exact", family, "exact gradient by enumerating the support (zero variance)",
                               kind=EXACT, draws="none", evaluations=0))
    return specs + variance_reduced(family, boost=False)


DECLARATIONS = [*_declarations("bernoulli", discrete.block),
                *_declarations("categorical", lambda code, user_path, scalar: categorical.block(code, user_path))]
