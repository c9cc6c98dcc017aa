"""Distributions: validated parameters and the names of their gradient components (no sampling code)."""

from __future__ import annotations

import numpy as np

from ._validate import positive_array, real_array


def _broadcast_pair(names: tuple[str, str], a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Broadcast two parameter arrays to a common length D (a length-1 array broadcasts)."""
    if a.size == b.size:
        return a, b
    if a.size == 1:
        return np.full(b.size, a[0]), b
    if b.size == 1:
        return a, np.full(a.size, b[0])
    raise ValueError(f"{names[0]} and {names[1]} must have the same length or one must be scalar, "
                     f"got {a.size} and {b.size}")


class _Family:
    """Shared behaviour: parameter arrays by name, component names, repr."""

    family = ""

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    @property
    def dim(self) -> int:
        """Number of dimensions D."""
        return next(iter(self.parameters.values())).size

    @property
    def components(self) -> list[str]:
        """Names of the gradient components, e.g. ``['loc', 'scale']`` or ``['loc[0]', ...]``."""
        names = []
        for pname, values in self.parameters.items():
            if values.size == 1:
                names.append(pname)
            else:
                names.extend(f"{pname}[{i}]" for i in range(values.size))
        return names

    def __repr__(self) -> str:
        def fmt(a):
            return f"{a[0]:g}" if a.size == 1 else np.array2string(a, separator=", ")

        inner = ", ".join(f"{k}={fmt(v)}" for k, v in self.parameters.items())
        return f"{type(self).__name__}({inner})"


class Normal(_Family):
    """Diagonal Gaussian N(loc, diag(scale**2)) in D >= 1 dimensions.

    Parameters
    ----------
    loc : float or array_like
        Means; a scalar or a 1-D array of length D.
    scale : float or array_like
        Standard deviations (> 0); a scalar, or a 1-D array of length D. Scalars broadcast.

    Notes
    -----
    Gradients are taken with respect to every ``loc`` and every ``scale`` component, in
    the order ``loc[0..D-1], scale[0..D-1]``.
    """

    family = "normal"
    support = "real"

    def __init__(self, loc=0.0, scale=1.0):
        self.loc, self.scale = _broadcast_pair(("loc", "scale"), real_array("loc", loc), positive_array("scale", scale))

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"loc": self.loc, "scale": self.scale}


class Gamma(_Family):
    """D independent Gamma(concentration, rate) variables, density z^(a-1) b^a e^(-b z) / Gamma(a).

    Parameters
    ----------
    concentration : float or array_like
        Shapes a > 0 (scalar or 1-D array of length D).  Below 1 the sampler needs shape
        augmentation (``boost >= 1``, the default).
    rate : float or array_like, default 1.0
        Rates b > 0; scalars broadcast.

    Notes
    -----
    Gradients are taken with respect to every concentration and every rate, in the order
    ``concentration[0..D-1], rate[0..D-1]``.
    """

    family = "gamma"
    support = "positive"

    def __init__(self, concentration, rate=1.0):
        self.concentration, self.rate = _broadcast_pair(
            ("concentration", "rate"), positive_array("concentration", concentration), positive_array("rate", rate)
        )

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"concentration": self.concentration, "rate": self.rate}


class Dirichlet(_Family):
    """Dirichlet(concentration) on the simplex of K >= 2 components.

    Parameters
    ----------
    concentration : array_like
        K > 1 concentrations, each > 0.

    Notes
    -----
    Sampled as x = G / sum(G) with independent G_k ~ Gamma(concentration_k, 1); gradients are
    taken with respect to every concentration.
    """

    family = "dirichlet"
    support = "simplex"

    def __init__(self, concentration):
        self.concentration = positive_array("concentration", concentration)
        if self.concentration.size < 2:
            raise ValueError(f"concentration must have at least 2 components, got {self.concentration.size}")

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"concentration": self.concentration}


class Beta(_Family):
    """Beta(a, b) on (0, 1): x = G_a / (G_a + G_b).  Gradients with respect to a and b.

    Parameters
    ----------
    a, b : float
        Concentrations (> 0).
    """

    family = "beta"
    support = "simplex"

    def __init__(self, a, b):
        a_arr = positive_array("a", a)
        b_arr = positive_array("b", b)
        if a_arr.size != 1 or b_arr.size != 1:
            raise ValueError("a and b must be scalars (use Dirichlet for more components)")
        self.a = a_arr
        self.b = b_arr
        self.concentration = np.concatenate([a_arr, b_arr])

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        """Parameter arrays by name."""
        return {"a": self.a, "b": self.b}

    @property
    def dim(self) -> int:
        return 1

    @property
    def components(self) -> list[str]:
        return ["a", "b"]


def _logits_or_probs(logits, probs, categorical: bool) -> tuple[str, np.ndarray]:
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
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf), got {value!r}")
    if categorical:
        if arr.ndim not in (1, 2) or arr.shape[-1] < 2:
            raise ValueError(f"{name} must have shape (K,) or (D, K) with K >= 2 classes, got shape {arr.shape}")
    elif arr.ndim > 1:
        raise ValueError(f"{name} must be a scalar or a 1-D array, got shape {arr.shape}")
    if name == "probs":
        if categorical and np.any((arr <= 0.0) | (arr > 1.0)):
            raise ValueError(f"probs must lie in (0, 1] (a class of probability 0 has no gradient), got {value!r}")
        if not categorical and np.any((arr <= 0.0) | (arr >= 1.0)):
            raise ValueError(f"probs must lie in the open interval (0, 1), got {value!r}")
        if categorical and np.any(np.abs(arr.sum(axis=-1) - 1.0) > 1e-6):
            raise ValueError(f"probs must sum to 1 over the classes (within 1e-6), got sums {arr.sum(axis=-1)}")
    return name, arr


class Bernoulli(_Family):
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
        self.parameterization, arr = _logits_or_probs(logits, probs, categorical=False)
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


class Categorical(_Family):
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
        self.parameterization, arr = _logits_or_probs(logits, probs, categorical=True)
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
