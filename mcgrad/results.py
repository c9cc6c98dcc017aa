"""Results: the Estimate a run returns, its merge, save and load, and the variance-reduction ratio."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from . import storage
from .accumulator import Accumulator

if TYPE_CHECKING:
    import pandas


Z95 = 1.959963984540054
ROUNDING = 1e-20  # Var(reduced) / Var(plain) below this is rounding: the interval becomes (1e20, inf)
ROUNDING_FLOOR = (1024 * np.finfo(float).eps) ** 2  # a variance below this times the scale^2 is rounding noise


def rounding_zeros(var: np.ndarray, mean: np.ndarray, reference_var: np.ndarray | None = None) -> np.ndarray:
    """Where a variance is rounding noise of an estimator whose true variance is 0 (a control that cancels all
    of it, a linear objective): ``var <= (1024 eps)^2 (mean^2 + reference_var)``.

    Notes
    -----
    Per-sample values computed through a few dozen roundings of terms of size ``s`` scatter by about
    ``eps s``; ``s^2`` is at most ``mean^2`` plus the variance of the uncontrolled terms (plain score on the
    same draws, where a reference was run).  A relative spread below ``1024 eps`` (2.3e-13) is that scatter, not
    a variance a double can resolve, and is reported as exactly 0 (so tables do not print 1e-32 and log-scale
    plots do not stretch to it).
    """
    scale = mean * mean if reference_var is None else mean * mean + reference_var
    with np.errstate(invalid="ignore", over="ignore"):
        return var <= ROUNDING_FLOOR * scale


def polarised_fourth(m4_sum, m4_diff, m4_a, m4_b):
    """``sum a^2 b^2`` of centred a, b from fourth central moment sums: of a + b, a - b, a and b.

    Notes
    -----
    (a + b)^4 + (a - b)^4 = 2 a^4 + 12 a^2 b^2 + 2 b^4, so sum a^2 b^2 = (M4(a + b) + M4(a - b) - 2 M4(a)
    - 2 M4(b)) / 12; the second-order twin, sum a b = (M2(a + b) - M2(a - b)) / 4, gives the covariance.
    """
    return (m4_sum + m4_diff - 2.0 * m4_a - 2.0 * m4_b) / 12.0


def variance_ratio(reference: Accumulator, reduced: Accumulator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Var(plain score) / Var(reduced) per component on the same draws, with a 95% interval.

    Notes
    -----
    With a, b the centred plain and reduced values, log R = log Var a - log Var b has delta-method variance
    [E a^4 / Va^2 + E b^4 / Vb^2 - 2 E a^2 b^2 / (Va Vb)] / n, and E a^2 b^2 comes from the fourth central
    moments of a + b and a - b: (E(a+b)^4 + E(a-b)^4 - 2 E a^4 - 2 E b^4) / 12.  The interval is
    exp(log R -+ 1.96 se).  Where Var(reduced) <= 1e-20 Var(plain) the reduced estimator is constant up to
    rounding and the interval is (1e20, inf).
    """
    ref = reference.total()
    w = ref.shape[0] // 3  # plain score, sum, difference; ``reduced`` may carry pair rows after its w components
    red = reduced.total()[:w]
    n = red[:, 0]
    va, vb = ref[:w, 2] / n, red[:, 2] / n
    m4a, m4b = ref[:w, 4] / n, red[:, 4] / n
    cross = polarised_fourth(ref[w:2 * w, 4] / n, ref[2 * w:, 4] / n, m4a, m4b)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ratio = va / vb
        var_log = (m4a / va**2 + m4b / vb**2 - 2.0 * cross / (va * vb)) / n
        half = Z95 * np.sqrt(np.maximum(var_log, 0.0))
        low, high = ratio * np.exp(-half), ratio * np.exp(half)
    # A control that removes the variance down to rounding (e.g. the delta method on a quadratic f):
    # the polarised fourth moments are rounding noise too, so only a lower bound is reported.
    exact = (vb <= ROUNDING * va) & (va > 0.0)
    return ratio, np.where(exact, 1.0 / ROUNDING, low), np.where(exact, math.inf, high)


def options_key(options: dict, exact_objects: bool = False) -> dict:
    """Options compared exactly: floats as hex strings; objectives (relax's control) by name, or by their
    exact identity with ``exact_objects``."""
    out = {}
    for key, value in options.items():
        if isinstance(value, np.generic):  # a NumPy scalar given as an option: its Python value
            value = value.item()
        if isinstance(value, float):
            out[key] = value.hex()
        elif hasattr(value, "identity") and hasattr(value, "name"):
            out[key] = value.identity if exact_objects else value.name
        else:
            out[key] = value
    return out


def _merge_diagnostics(a, b) -> dict:
    """Diagnostics of two adjacent ranges: acceptance rates combined through their proposal counts; the
    rest (the pilot pass, the draws per sample) belong to the run and are the same in both."""
    out = dict(a.diagnostics)
    key = "acceptance_rate"
    if key in a.diagnostics and key in b.diagnostics:
        # acceptance = draws / proposals: combine the proposal counts, not the rates
        proposals = a.n / a.diagnostics[key] + b.n / b.diagnostics[key]
        out[key] = (a.n + b.n) / proposals
    return out


@dataclass
class Estimate:
    """Mean and variance of one estimator's per-sample gradient, per component.

    Attributes
    ----------
    estimator : str
        Table label of the estimator (with options, e.g. ``grep[transform=2]``).
    components : list of str
        Gradient component names, e.g. ``['loc', 'scale']``.
    mean, var : numpy.ndarray
        Sample mean and unbiased sample variance of the per-sample estimator; a variance at the rounding level
        of the values (:func:`rounding_zeros`) is exactly 0.
    stderr : numpy.ndarray
        Standard error of the mean, ``sqrt(var / n)``.
    var_stderr : numpy.ndarray
        Standard error of ``var``: ``sqrt((m4 - (n - 3) / (n - 1) var^2) / n)`` with m4 the
        fourth central sample moment.
    n : int
        Number of samples.
    exact : numpy.ndarray or None
        Exact gradient when the objective's closed form is known.
    diagnostics : dict
        Estimator diagnostics, e.g. ``acceptance_rate`` of the Marsaglia-Tsang sampler
        (accepted draws / proposals, a proposal with v <= 0 counting as rejected), and for the
        variance-reduced score estimators ``pilot_samples``, ``pilot_seconds`` and ``draws_per_sample``.
    reference : Accumulator or None
        Variance-reduced score estimators only: plain ``score`` on the same draws (with the sum and
        difference of the two estimators), from which :attr:`variance_reduction` is computed.
    fitted : dict
        Variance-reduced score estimators only: the ``baseline`` and control ``coefficient`` used, per
        component.
    objective_identity : str or None
        What tells the objective apart exactly (a built-in's code and parameter, a digest of a user function's
        code, a batch function's name and version); results of different objectives that share a name do
        not merge.  None when unknown (a host function without a version, a file written before it existed).
    """

    estimator: str
    family: str
    objective: str
    components: list[str]
    parameters: dict[str, np.ndarray]
    seed: int
    block_size: int
    accumulator: Accumulator = field(repr=False)
    seconds: float
    biased: bool = False
    nonfinite: int = 0
    exact: np.ndarray | None = None
    options: dict = field(default_factory=dict)
    n_total: int = 0
    diagnostics: dict = field(default_factory=dict)
    reference: Accumulator | None = field(default=None, repr=False)
    fitted: dict = field(default_factory=dict)
    objective_identity: str | None = None

    def __post_init__(self):
        self._summary = self.accumulator.total()  # the components' rows, then the covariance's pair rows if any
        summary = self._summary[:len(self.components)]
        n = summary[:, 0]
        self.n = int(n[0]) if n.size else 0
        self.mean = summary[:, 1].copy()
        with np.errstate(invalid="ignore", divide="ignore"):
            self.var = summary[:, 2] / (n - 1)
            self.stderr = np.sqrt(self.var / n)
            m4 = summary[:, 4] / n
            self.var_stderr = np.sqrt(np.maximum(m4 - (n - 3) / (n - 1) * self.var**2, 0.0) / n)
            reference = None
            if self.reference is not None:
                plain = self.reference.total()[:len(self.components)]
                reference = plain[:, 2] / (plain[:, 0] - 1)
        self._zeros = zeros = rounding_zeros(self.var, self.mean, reference)
        if zeros.any():
            self.var, self.stderr, self.var_stderr = (np.where(zeros, 0.0, a) for a in
                                                       (self.var, self.stderr, self.var_stderr))

    @property
    def blocks(self) -> tuple[int, int]:
        """The block range ``[first, end)`` this result covers."""
        return self.accumulator.first_block, self.accumulator.end_block

    @property
    def samples_per_second(self) -> float:
        return self.n / self.seconds if self.seconds > 0 else math.inf

    def _reduction(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """``(ratio, low, high)`` of the variance reduction, or None without a reference."""
        return None if self.reference is None else variance_ratio(self.reference, self.accumulator)

    @property
    def variance_reduction(self) -> np.ndarray | None:
        """Var(plain score) / Var(this estimator) per component, on the same draws (None without a reference)."""
        reduction = self._reduction()
        return None if reduction is None else reduction[0]

    @property
    def variance_reduction_interval(self) -> tuple[np.ndarray, np.ndarray] | None:
        """95% interval of :attr:`variance_reduction` (delta method on the log ratio)."""
        reduction = self._reduction()
        return None if reduction is None else reduction[1:]

    @property
    def seconds_per_sample(self) -> float:
        """Wall-clock cost of one sample: ``seconds / n`` (compiling excluded)."""
        return self.seconds / self.n if self.n else math.nan

    @property
    def evaluations_per_sample(self) -> float | None:
        """f-evaluations per sample: counted for batch objectives, else the estimator's declared count."""
        value = self.diagnostics.get("evaluations_per_sample")
        return None if value is None else float(value)

    @property
    def snr(self) -> np.ndarray:
        """Signal-to-noise ratio per component, ``|mean| / sqrt(var)`` (Rainforth et al. 2018).

        Notes
        -----
        Where ``var`` is 0 it is ``inf`` for a non-zero mean and 0 for a zero mean.
        """
        magnitude = np.abs(self.mean)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = magnitude / np.sqrt(self.var)
        return np.where(self.var == 0.0, np.where(magnitude == 0.0, 0.0, math.inf), ratio)

    @property
    def trace(self) -> float:
        """Total variance ``sum_i var_i``, the trace of the gradient's covariance (what SGD's noise scales with)."""
        return float(np.sum(self.var))

    def _pair_moments(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(C, Q)`` with ``C[i, j] = sum y_i y_j`` and ``Q[i, j] = sum y_i^2 y_j^2`` over the samples, y = g - mean
        (W x W); None when the covariance was not streamed and W > 1."""
        w = len(self.components)
        own, pairs = self._summary[:w], self._summary[w:]
        if w == 1:
            return own[:, 2:3].copy(), own[:, 4:5].copy()
        if pairs.shape[0] != w * (w - 1):
            return None
        half = w * (w - 1) // 2
        plus, minus = pairs[:half], pairs[half:]
        i, j = np.triu_indices(w, 1)
        comoment = np.diag(own[:, 2])
        comoment[i, j] = comoment[j, i] = (plus[:, 2] - minus[:, 2]) / 4.0
        fourth = np.diag(own[:, 4])
        fourth[i, j] = fourth[j, i] = polarised_fourth(plus[:, 4], minus[:, 4], own[i, 4], own[j, 4])
        return comoment, fourth

    @property
    def covariance(self) -> np.ndarray | None:
        """Sample covariance matrix of the per-sample gradient (W x W, unbiased), when streamed
        (``estimate(..., covariance=True)``; a one-component result always has it: ``[[var]]``).

        Notes
        -----
        The pair rows hold the central moments of g_i + g_j and g_i - g_j, from which, by polarisation,
        ``sum (g_i - mean_i)(g_j - mean_j) = (M2(g_i + g_j) - M2(g_i - g_j)) / 4``.  They are merged across
        blocks like the components, so the matrix is as reproducible as ``var``.
        """
        moments = self._pair_moments()
        if moments is None:
            return None
        with np.errstate(invalid="ignore", divide="ignore"):
            cov = moments[0] / (self.n - 1)
        zeros = self._zeros
        return np.where(zeros[:, None] | zeros[None, :], 0.0, cov)  # consistent with ``var``

    @property
    def correlation(self) -> np.ndarray | None:
        """Correlation matrix of the gradient's components (0 off the diagonal where a variance is 0)."""
        cov = self.covariance
        if cov is None:
            return None
        sd = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = cov / np.outer(sd, sd)
        out = np.where(np.outer(sd, sd) > 0.0, out, 0.0)
        np.fill_diagonal(out, 1.0)
        return out

    @property
    def trace_stderr(self) -> float | None:
        """Standard error of :attr:`trace` (needs the streamed covariance when there are several components).

        Notes
        -----
        With q = ||g - mean||^2, the trace is the sample variance of ``g`` summed over components, and its
        standard error is ``sqrt((E q^2 - (n - 3) / (n - 1) trace^2) / n)`` -- the one-component formula of
        ``var_stderr`` -- where ``E q^2 = sum_ij E[y_i^2 y_j^2]`` and, by polarisation,
        ``sum y_i^2 y_j^2 = (M4(g_i + g_j) + M4(g_i - g_j) - 2 M4(g_i) - 2 M4(g_j)) / 12``.
        """
        moments = self._pair_moments()
        if moments is None:
            return None
        n = self.n
        q2 = float(np.sum(moments[1])) / n
        with np.errstate(invalid="ignore", over="ignore"):
            return math.sqrt(max(q2 - (n - 3) / (n - 1) * self.trace**2, 0.0) / n)

    def _per_cost(self, cost: float | None) -> np.ndarray | None:
        if cost is None or not cost > 0.0:
            return None
        with np.errstate(divide="ignore", over="ignore"):
            return np.where(self.var == 0.0, math.inf, 1.0 / (self.var * cost))

    @property
    def efficiency(self) -> np.ndarray | None:
        """Work-normalised precision per component, ``1 / (var * seconds_per_sample)``.

        Notes
        -----
        The variance of a mean over the samples one second buys is ``var * seconds_per_sample``: an
        estimator twice as efficient reaches a given standard error in half the time.  Timing-dependent:
        compare efficiencies measured on one machine.  None when no time was measured.
        """
        return self._per_cost(self.seconds_per_sample)

    @property
    def efficiency_per_evaluation(self) -> np.ndarray | None:
        """``1 / (var * evaluations_per_sample)``: precision per f-evaluation, the cost measure when f dominates
        (independent of the machine).  None when the count is unknown."""
        return self._per_cost(self.evaluations_per_sample)

    @property
    def mse(self) -> np.ndarray | None:
        """Mean squared error of a one-sample gradient per component, ``bias^2 + var``, where the exact gradient
        is known.

        Notes
        -----
        Estimated without bias as ``(mean - exact)^2 + var (1 - 1/n)``: the squared error of the mean has
        expectation ``bias^2 + var / n``.  For a batch of m samples the MSE is ``bias^2 + var / m``:
        :meth:`mse_of_batch`.
        """
        return self.mse_of_batch(1)

    def mse_of_batch(self, m: int) -> np.ndarray | None:
        """``bias^2 + var / m``: mean squared error of the average of ``m`` independent samples (see :attr:`mse`)."""
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)) or m < 1:
            raise ValueError(f"m must be a positive integer (samples per batch), got {m!r}")
        if self.exact is None:
            return None
        return (self.mean - self.exact) ** 2 + self.var * (1.0 / m - 1.0 / self.n)

    @property
    def bias(self) -> np.ndarray | None:
        """``mean - exact`` where the exact gradient is known."""
        return None if self.exact is None else self.mean - self.exact

    @property
    def z(self) -> np.ndarray | None:
        """``(mean - exact) / stderr``: how many standard errors the mean is from the truth."""
        if self.exact is None:
            return None
        diff = self.mean - self.exact
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(diff == 0.0, 0.0, diff / self.stderr)

    def merge(self, other: Estimate) -> Estimate:
        """Combine with the result of the adjacent block range of the same run (bitwise exact)."""
        mine = (self.estimator, self.family, self.objective, self.seed, self.block_size, self.n_total)
        theirs = (other.estimator, other.family, other.objective, other.seed, other.block_size, other.n_total)
        if mine != theirs or options_key(self.options) != options_key(other.options) or (
                self.parameters.keys() != other.parameters.keys()) or any(
                not np.array_equal(self.parameters[k], other.parameters[k]) for k in self.parameters):
            raise ValueError("can only merge block ranges of the same run (estimator, parameters, objective, "
                             "seed, block_size and n must match)")
        if self.accumulator.width != other.accumulator.width:
            streamed = "this one" if self.accumulator.width > other.accumulator.width else "the other"
            raise ValueError(f"can only merge block ranges of the same run: {streamed} streamed the covariance "
                             "(covariance=True) and the other did not")
        if None not in (self.objective_identity, other.objective_identity) and (
                self.objective_identity != other.objective_identity):
            raise ValueError(f"can only merge block ranges of the same run: the objectives share the name "
                             f"{self.objective!r} but not their code (an edited function, or another version)")
        return Estimate(
            self.estimator, self.family, self.objective, self.components, self.parameters, self.seed,
            self.block_size, self.accumulator.merge(other.accumulator), self.seconds + other.seconds,
            self.biased, self.nonfinite + other.nonfinite, self.exact, self.options, self.n_total,
            _merge_diagnostics(self, other),
            None if self.reference is None else self.reference.merge(other.reference), self.fitted,
            self.objective_identity or other.objective_identity,
        )

    def columns(self) -> dict[str, np.ndarray | list | float | str]:
        """The columns of :meth:`to_frame` (arrays per component, scalars shared by every row)."""
        cols: dict = {
            "estimator": self.estimator,
            "component": list(self.components),
            "mean": self.mean,
            "stderr": self.stderr,
            "var": self.var,
            "var_stderr": self.var_stderr,
        }
        if self.exact is not None:
            cols.update(exact=self.exact, bias=self.bias, z=self.z, mse=self.mse)
        cols.update(snr=self.snr)
        efficiency, per_evaluation = self.efficiency, self.efficiency_per_evaluation
        if efficiency is not None:
            cols.update(efficiency=efficiency)
        if per_evaluation is not None:
            cols.update(efficiency_per_evaluation=per_evaluation)
        cols.update(n=self.n, biased=self.biased)
        if self.reference is not None:
            ratio, low, high = self._reduction()
            cols.update(baseline=self.fitted["baseline"], coefficient=self.fitted["coefficient"],
                        variance_reduction=ratio, vr_low=low, vr_high=high)
        cols.update(self.diagnostics)
        cols.update(seconds=self.seconds, samples_per_second=self.samples_per_second)
        return cols

    def save(self, path) -> None:
        """Write this result, accumulator state included (floats bit for bit), to ``path`` (``.npz``);
        :func:`mcgrad.load` reads it back, and the loaded result merges like this one."""
        storage.save_estimate(self, path)

    def to_frame(self) -> pandas.DataFrame:
        """One row per gradient component."""
        import pandas as pd  # imported on use: pandas adds ~30 MB to every process

        return pd.DataFrame({k: np.broadcast_to(v, len(self.components)) if np.ndim(v) == 0 else v
                             for k, v in self.columns().items()})

    def to_dict(self) -> dict:
        """Plain-Python form used by the JSON output (see docs/guide.md, "JSON output")."""
        comps = []
        reduction = self._reduction()
        for i, name in enumerate(self.components):
            row = {
                "name": name,
                "mean": float(self.mean[i]),
                "stderr": float(self.stderr[i]),
                "var": float(self.var[i]),
                "var_stderr": float(self.var_stderr[i]),
                "exact": None if self.exact is None else float(self.exact[i]),
                "bias": None if self.exact is None else float(self.bias[i]),
                "z": None if self.exact is None else float(self.z[i]),
                "mse": None if self.exact is None else float(self.mse[i]),
                "snr": float(self.snr[i]),
                "efficiency": None if self.efficiency is None else float(self.efficiency[i]),
                "efficiency_per_evaluation": (None if self.efficiency_per_evaluation is None
                                              else float(self.efficiency_per_evaluation[i])),
            }
            if reduction is not None:
                ratio, low, high = reduction
                row.update(baseline=float(self.fitted["baseline"][i]),
                           coefficient=float(self.fitted["coefficient"][i]),
                           variance_reduction=float(ratio[i]),
                           variance_reduction_interval=[float(low[i]), float(high[i])])
            comps.append(row)
        return {
            "estimator": self.estimator,
            "family": self.family,
            "objective": self.objective,
            "parameters": {k: v.tolist() for k, v in self.parameters.items()},
            "n": self.n,
            "seed": self.seed,
            "block_size": self.block_size,
            "biased": self.biased,
            "nonfinite": self.nonfinite,
            "diagnostics": dict(self.diagnostics),
            "seconds": self.seconds,
            "samples_per_second": self.samples_per_second,
            "seconds_per_sample": self.seconds_per_sample,
            "evaluations_per_sample": self.evaluations_per_sample,
            "trace": self.trace,
            "trace_stderr": self.trace_stderr,
            "covariance": None if self.covariance is None else self.covariance.tolist(),
            "components": comps,
        }

    def __repr__(self) -> str:
        lines = [f"Estimate({self.estimator} on {self.family}, f={self.objective}, n={self.n:,})"]
        for i, name in enumerate(self.components):
            lines.append(
                f"  {name:>10}: mean {self.mean[i]: .6g} ± {self.stderr[i]:.2g}   var {self.var[i]:.6g} ± "
                f"{self.var_stderr[i]:.2g}" + ("" if self.exact is None else f"   exact {self.exact[i]: .6g}")
            )
        return "\n".join(lines)


COMPACT_COLUMNS = ("estimator", "component", "mean", "stderr", "var", "var_stderr", "exact", "z", "var_ratio",
                   "efficiency_ratio")


def compact(frame: pandas.DataFrame) -> pandas.DataFrame:
    """The columns a printed comparison shows (:data:`COMPACT_COLUMNS`, those the frame has)."""
    import pandas as pd

    return pd.DataFrame(frame[[c for c in COMPACT_COLUMNS if c in frame.columns]])


@functools.cache
def _comparison_class():
    import pandas as pd

    class Comparison(pd.DataFrame):
        """A :func:`mcgrad.compare` frame: prints compactly (:func:`compact`) and names the columns it leaves out;
        ``to_string()``, ``to_csv()`` and every selection or operation (plain frames) show everything."""

        @property
        def _constructor(self):
            return pd.DataFrame

        def _hidden_note(self) -> str:
            hidden = [c for c in self.columns if c not in COMPACT_COLUMNS]
            return (f"[{len(hidden)} more columns: {', '.join(map(str, hidden))}; .to_string() prints all]"
                    if hidden else "")

        def __repr__(self) -> str:
            with pd.option_context("display.width", 200, "display.max_columns", 20):
                text = repr(compact(self))
            note = self._hidden_note()
            return f"{text}\n{note}" if note else text

        def _repr_html_(self) -> str:
            note = self._hidden_note()
            return compact(self)._repr_html_() + (f"<p>{note}</p>" if note else "")

    return Comparison


def comparison(frame: pandas.DataFrame) -> pandas.DataFrame:
    """``frame`` (all its columns) as a frame that prints compactly: see :func:`compact`."""
    return _comparison_class()(frame)


def check_reference(names: list[str], reference) -> None:
    """Refuse, before any run, a ``reference`` that cannot name one of the estimators ``names``."""
    if not isinstance(reference, str):
        raise TypeError(f"reference must be the name or label of a compared estimator, got {reference!r}")
    if reference.split("[")[0] not in names:  # a label is checked once the runs have made theirs
        raise ValueError(f"reference must be one of the compared estimators ({', '.join(map(repr, names))}), "
                         f"got {reference!r}")


def reference_result(results: list[Estimate], names: list[str], reference: str) -> Estimate:
    """The compared result that ``reference`` names: by table label, else by estimator name if only one has it."""
    labels = [r.estimator for r in results]
    if reference in labels:
        return results[labels.index(reference)]
    matches = [r for r, name in zip(results, names, strict=True) if name == reference]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValueError(f"reference={reference!r} names {len(matches)} compared estimators; give one of their labels: "
                         + ", ".join(repr(r.estimator) for r in matches))
    raise ValueError(f"reference must be one of the compared estimators ({', '.join(map(repr, labels))}), "
                     f"got {reference!r}")


def add_ratios(frame: pandas.DataFrame, base: Estimate) -> None:
    """``var_ratio`` and the efficiency ratios of every row against ``base``, component by component."""
    index = {name: i for i, name in enumerate(base.components)}
    rows = frame["component"].map(index).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["var_ratio"] = frame["var"].to_numpy() / base.var[rows]
        for column, values in (("efficiency", base.efficiency),
                               ("efficiency_per_evaluation", base.efficiency_per_evaluation)):
            if values is not None and column in frame:
                frame[f"{column}_ratio"] = frame[column].to_numpy() / values[rows]


def merge(results) -> Estimate:
    """One result from the results of block ranges of the same run, given in any order.

    The ranges must tile a contiguous range of blocks (gaps and overlaps are errors); they are merged in
    block order, so the result is bitwise the one a single call over the whole range gives.
    """
    items = sorted(results, key=lambda r: r.blocks)
    if not items:
        raise ValueError("merge needs at least one result")
    out = items[0]
    for item in items[1:]:
        if item.blocks[0] != out.blocks[1]:
            kind = "overlap" if item.blocks[0] < out.blocks[1] else "gap"
            raise ValueError(f"block ranges must tile a contiguous range: {kind} between [{out.blocks[0]}, "
                             f"{out.blocks[1]}) and [{item.blocks[0]}, {item.blocks[1]})")
        out = out.merge(item)
    return out


def load_estimate(path) -> Estimate:
    """Read a result written by :meth:`Estimate.save`; it merges with adjacent ranges like the original."""
    return Estimate(**storage.read_estimate(path))
