"""The ``mcgrad`` command: ``demo``, ``estimate``, ``compare``, ``optimise`` and ``plot``.

``--format json`` prints one object ``{"schema": "mcgrad.results/1", "results": [...]}``; each
result has the keys of :meth:`mcgrad.Estimate.to_dict` (see docs/guide.md, "JSON output").  ``optimise``
prints ``{"schema": "mcgrad.trajectory/1", "trajectory": ...}`` (:meth:`mcgrad.Trajectory.to_dict`).
An estimator's options follow its name after a colon in every subcommand (``grep:transform=2``,
``rebar:temperature=0.3;eta=0.5``); the ``--NAME`` flags and ``--option KEY=VALUE`` are shorthands.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
import time

import numpy as np
import pandas as pd

from . import __version__, api, engine, estimators, families, optimisation
from .families import Bernoulli, Beta, Categorical, Dirichlet, Gamma, MultivariateNormal, Normal, StudentT, VonMises
from .objectives import BUILTINS
from .results import add_ratios, check_reference, compact, reference_result

JSON_SCHEMA = "mcgrad.results/1"
TRAJECTORY_SCHEMA = "mcgrad.trajectory/1"
DEMO_POINTS = ((1.0, 1.0, 0.0), (2.0, 0.5, 1.0), (-0.5, 2.0, 3.0))
DEMO_ESTIMATORS = (("score", {}), ("pathwise", {}), ("grep", {"transform": 1}), ("grep", {"transform": 2}))
DEMO_GAMMA_ALPHAS = (0.5, 1.0, 2.5, 10.0)
DEMO_TOY_TS = (0.45, 0.499)
DEMO_TOY_ESTIMATORS = (("exact", {}), ("score", {}), ("arm", {}), ("disarm", {}), ("rebar", {"eta": 1.0}),
                       ("gumbel_softmax", {"temperature": 0.5}), ("gumbel_softmax", {"temperature": 0.1}),
                       ("straight_through", {"temperature": 0.5}))
DEMO_GAMMA_ESTIMATORS = (("rsvi", 0), ("rsvi_rep_only", 0), ("rsvi", 1), ("rsvi_rep_only", 1), ("rsvi", 4),
                         ("rsvi_rep_only", 4), ("implicit", 1), ("grep", 1), ("score", 1))


def _floats(text: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers, got {text!r}") from None


def _count(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2 such as 1000000 or 1e7, got {text!r}") from None
    if not value.is_integer() or value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2 such as 1000000 or 1e7, got {text!r}")
    return int(value)


def _matrix(text: str) -> list:
    """``0.1,0.5`` -> [0.1, 0.5]; rows separated by ``;`` -> [[...], [...]] (D categoricals)."""
    rows = [_floats(row) for row in text.split(";")]
    return rows if len(rows) > 1 else rows[0]


def _option_value(value: str):
    if value.lower() == "none":  # options whose default is None (pilot) can be given back as None
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def _estimator_entry(text: str) -> tuple[str, dict]:
    """``rebar:temperature=0.3;eta=0.5`` -> ("rebar", {"temperature": 0.3, "eta": 0.5}): the one grammar of an
    estimator with options, in every subcommand."""
    name, _, rest = text.strip().partition(":")
    opts = {}
    for pair in filter(None, rest.split(";")):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"estimator options must be KEY=VALUE, got {pair!r} in {text!r}")
        opts[key.strip()] = _option_value(value.strip())
    return name, opts


def _estimator_list(text: str) -> list[tuple[str, dict]]:
    """``score,grep:transform=2,rebar:temperature=0.3;eta=0.5`` -> [(name, options), ...]."""
    return [_estimator_entry(item) for item in text.split(",")]


def _add_run_options(p: argparse.ArgumentParser, n_default: int) -> None:
    p.add_argument("-n", "--n", type=_count, default=n_default, help="number of samples (e.g. 1e7)")
    p.add_argument("--seed", type=int, default=0, help="seed in [0, 2**64)")
    p.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                   help="never draw a progress bar (by default runs over 2 s draw one when stderr is a terminal)")


def _add_problem_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dist", choices=tuple(families.MODULES),
                   default="normal", help="distribution family")
    p.add_argument("--loc", type=_floats, default=[0.0],
                   help="Normal, MultivariateNormal, StudentT or VonMises locations (comma list for D > 1)")
    p.add_argument("--scale", type=_floats, default=[1.0], help="Normal standard deviations, StudentT scales")
    p.add_argument("--df", type=_floats, default=[5.0], help="StudentT degrees of freedom")
    p.add_argument("--scale-tril", type=_matrix, default=None,
                   help="MultivariateNormal's lower-triangular L, rows separated by ';' (default: the identity)")
    p.add_argument("--concentration", type=_floats, default=None,
                   help="Gamma shapes (comma list for D > 1; default 2), Beta 'a,b', Dirichlet concentrations or "
                        "VonMises concentrations (default 1)")
    p.add_argument("--rate", type=_floats, default=[1.0], help="Gamma rates")
    p.add_argument("--logits", type=_matrix, default=None,
                   help="Bernoulli log-odds (comma list for D > 1) or Categorical logits (rows separated by ';')")
    p.add_argument("--probs", type=_matrix, default=None, help="probabilities instead of --logits")
    p.add_argument("--objective", choices=sorted(BUILTINS), default=None,
                   help="built-in f (default: square; toy for Bernoulli and Categorical)")
    p.add_argument("--param", type=float, default=None,
                   help="the objective's parameter: c for square, k for quadratic/cos/gaussian_bump, a for linear, "
                        "t for toy, the index i for component/log_component, the target class for "
                        "one_hot_quadratic (identity and log take none)")


def _add_estimator_options(p: argparse.ArgumentParser, specs, own: tuple[str, ...] = ()) -> None:
    """One ``--NAME`` flag per option the registry declares for ``specs`` (``control`` needs Python: API only),
    except the names in ``own``, the subcommand's flags of another meaning (optimise's ``--samples``): those
    options go after the estimator's name (``--estimator gumbel_rao:samples=20``)."""
    takers: dict[str, dict[str, list[str]]] = {}  # option name -> what it allows -> the estimators taking it so
    for spec in specs:
        for option in spec.declared:
            if option.name != "control" and option.name not in own:
                names = takers.setdefault(option.name, {}).setdefault(option.allowed, [])
                if spec.name not in names:
                    names.append(spec.name)
    for name, allowed in takers.items():
        p.add_argument(f"--{name}", dest=f"option_{name}", type=_option_value, default=None, metavar="VALUE",
                       help="; ".join(f"{text} for {', '.join(names)}" for text, names in allowed.items()))


def _estimator_options(args) -> dict:
    """The options given after the estimator's name (``--estimator grep:transform=2``), with the registry's
    ``--NAME`` flags and with ``--option KEY=VALUE``; an option given two ways must agree."""
    opts = dict(args.estimator[1]) if isinstance(args.estimator, tuple) else {}
    for key, value in ((k[len("option_"):], v) for k, v in vars(args).items() if k.startswith("option_")):
        if value is None:
            continue
        if key in opts and opts[key] != value:
            raise ValueError(f"option {key!r} given twice with different values: {opts[key]!r} and {value!r}")
        opts[key] = value
    for pair in getattr(args, "option", []):
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option must be KEY=VALUE, got {pair!r}")
        opts[key] = _option_value(value)
    return opts


def _resume_notice(path: str, done: int, total: int) -> None:
    print(f"mcgrad: resuming from {path} at {done:,} of {total:,} samples", file=sys.stderr, flush=True)


def _compile_notice(what: str) -> None:
    print(f"mcgrad: compiling the {what} (first use; later runs load it from the cache)...",
          file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcgrad", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mcgrad {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser = functools.partial(sub.add_parser, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    demo = sub.add_parser("demo", help="the Gaussian table (f = x^2 + c), the Gamma table (f = log z), the "
                                       "toy table (Bernoulli, f = (b - t)^2) and the SGD table (scale collapse)")
    demo.add_argument("--table", choices=("gaussian", "gamma", "toy", "optimisation", "all"), default="all")
    demo.add_argument("--gamma-n", type=_count, default=1_000_000, help="samples per Gamma row")
    _add_run_options(demo, 10_000_000)
    est = sub.add_parser("estimate", help="one estimator's mean and variance")
    _add_problem_options(est)
    est.add_argument("--estimator", type=_estimator_entry, default=None, metavar="NAME[:KEY=VALUE;...]",
                     help=f"one of {sorted(estimators.REGISTRY)} (each family's: see docs/estimators.md), options "
                          "after a colon as in compare, e.g. grep:transform=2 (default: the family's own, "
                          f"{estimators.defaults_text()}; the same in optimise)")
    _add_estimator_options(est, estimators.declarations())
    est.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                     help="any estimator option, repeatable (e.g. --option baseline=optimal, "
                          "--option samples=8 for rloo)")
    est.add_argument("--checkpoint", default=None, metavar="FILE",
                     help="save progress to FILE every second; run the same command again to resume from it")
    _add_run_options(est, 1_000_000)
    cmp_ = sub.add_parser("compare", help="several estimators side by side")
    _add_problem_options(cmp_)
    cmp_.add_argument("--estimators", type=_estimator_list, default=None,
                      help="comma list; options after a colon, e.g. score,grep:transform=2 (default: score and the "
                           "family's default estimator)")
    cmp_.add_argument("--checkpoint", default=None, metavar="FILE",
                      help="save each estimator's progress to FILE.I-NAME every second (FILE itself for one); "
                           "run the same command again to resume")
    cmp_.add_argument("--reference", default=None, metavar="ESTIMATOR",
                      help="one of --estimators (name or label): adds var_ratio and efficiency_ratio against it")
    _add_run_options(cmp_, 1_000_000)
    for p in (est, cmp_):
        p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run on a Dask cluster (needs the dask extra), e.g. tcp://host:8786")
        p.add_argument("--wide", action="store_true",
                       help="table format: every column (by default mean, stderr, var, var_stderr, exact, z and the "
                            "ratios; csv and json always have all)")
        p.add_argument("--covariance", action="store_true",
                       help="also stream the covariance of the gradient's components (printed as correlations, with "
                            "the trace and its standard error; in JSON as the matrix)")
    opt = sub.add_parser("optimise", help="SGD on a distribution's parameters with one estimator; prints the "
                                          "trajectory")
    _add_problem_options(opt)
    opt.add_argument("--estimator", type=_estimator_entry, default=None, metavar="NAME[:KEY=VALUE;...]",
                     help="any sampling estimator of the family, options after a colon (default: the family's "
                          f"own, {estimators.defaults_text()}; the same in estimate)")
    _add_estimator_options(opt, [d for d in estimators.declarations() if d.kind == estimators.SAMPLING],
                           own=("samples",))
    opt.add_argument("--baseline", choices=("moving_average",), default=None, help="score only")
    opt.add_argument("--decay", type=float, default=0.9, help="the moving average's decay")
    opt.add_argument("--steps", type=_count, default=2000, help="SGD steps")
    opt.add_argument("--samples", type=int, default=10, help="draws K per step (gumbel_rao's conditional draws: "
                                                             "--estimator gumbel_rao:samples=S)")
    opt.add_argument("--learning-rate", "--lr", dest="lr", type=float, default=0.01, help="learning rate")
    opt.add_argument("--every", type=int, default=100, help="print every this many steps (table format)")
    opt.add_argument("--seed", type=int, default=0, help="seed in [0, 2**64)")
    opt.add_argument("--format", choices=("table", "csv", "json"), default="table")
    plot = sub.add_parser("plot", help="figures (needs the plot extra): variance against k as in Mohamed et al. "
                                       "2020, or the SGD scale-collapse study")
    plot.add_argument("figure", choices=("variance", "optimisation"))
    plot.add_argument("--out", required=True, help="output file, .png or .svg")
    plot.add_argument("-n", "--n", type=_count, default=1_000_000, help="samples per point (variance figure)")
    plot.add_argument("--seed", type=int, default=0, help="seed in [0, 2**64)")
    return parser


def _dist(args):
    def one(values):
        return values if len(values) > 1 else values[0]

    if args.dist == "gamma":
        return Gamma(one(args.concentration or [2.0]), one(args.rate))
    if args.dist == "beta":
        values = args.concentration or [2.0, 2.0]
        if len(values) != 2:
            raise ValueError(f"--concentration for beta must be 'a,b' (two values), got {len(values)}")
        return Beta(*values)
    if args.dist == "dirichlet":
        return Dirichlet(args.concentration or [1.0, 1.0, 1.0])
    if args.dist in ("bernoulli", "categorical"):
        family = Bernoulli if args.dist == "bernoulli" else Categorical
        if args.logits is None and args.probs is None:
            return family(logits=0.0 if family is Bernoulli else [0.0, 0.0, 0.0])
        return family(logits=args.logits, probs=args.probs)
    if args.dist == "multivariate_normal":
        tril = args.scale_tril
        if tril is None:
            tril = np.eye(len(args.loc))
        elif len(tril) == 1 and not isinstance(tril[0], list):  # one value: D = 1
            tril = [tril]
        return MultivariateNormal(args.loc, tril)
    if args.dist == "von_mises":
        return VonMises(one(args.loc), one(args.concentration or [1.0]))
    if args.dist == "student_t":
        return StudentT(one(args.df), one(args.loc), one(args.scale))
    return Normal(one(args.loc), one(args.scale))


def _objective(args):
    name = args.objective or ("toy" if args.dist in ("bernoulli", "categorical") else "square")
    make = BUILTINS[name]
    if args.param is None:
        return make()
    if name in ("identity", "log"):
        raise ValueError(f"objective {name!r} takes no --param")
    if name in ("component", "log_component", "one_hot_quadratic"):
        return make(int(args.param) if float(args.param).is_integer() else args.param)
    return make(args.param)


def _strict_json(value):
    """``value`` with every NaN or infinite float as None: strict JSON parsers reject NaN and Infinity."""
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict_json(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _emit(results, frame: pd.DataFrame, fmt: str, title: str | None = None) -> None:
    if fmt == "json":
        payload = {"schema": JSON_SCHEMA, "results": [r.to_dict() for r in results]}
        print(json.dumps(_strict_json(payload), indent=2, allow_nan=False))
    elif fmt == "csv":
        print(frame.to_csv(index=False), end="")
    else:
        if title:
            print(title)
        with pd.option_context("display.width", 200, "display.max_columns", 30):
            print(frame.to_string(index=False, float_format=lambda v: f"{v:.6g}"))


@contextlib.contextmanager
def _client(address):
    """A dask.distributed Client connected to ``address`` for the duration (None without an address)."""
    if address is None:
        yield None
        return
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("--scheduler needs dask.distributed: pip install 'mcgrad[dask]'") from None
    try:
        client = Client(address, timeout=30)
    except OSError as exc:
        raise ValueError(f"could not reach the Dask scheduler at {address!r}: {exc}") from None
    with client:
        yield client


def _checkpoint_paths(path: str | None, entries) -> list[str | None]:
    """One checkpoint file per estimator: ``path`` itself for one, ``STEM.I-NAME.SUFFIX`` for several."""
    if path is None or len(entries) == 1:
        return [path] * len(entries)
    stem, suffix = os.path.splitext(path)
    return [f"{stem}.{i}-{name}{suffix or '.npz'}" for i, (name, _) in enumerate(entries)]


def _run_estimators(args, entries):
    dist, objective = _dist(args), _objective(args)
    reference = getattr(args, "reference", None)
    if reference is not None:
        check_reference([name for name, _ in entries], reference)
    checkpoints = _checkpoint_paths(getattr(args, "checkpoint", None), entries)
    with _client(args.scheduler) as client:
        extra = {} if client is None else {"client": client}
        results = [api.estimate(dist, objective, name, args.n, args.seed, threads=args.threads,
                                progress=args.progress, covariance=args.covariance, checkpoint=path, **extra, **opts)
                   for (name, opts), path in zip(entries, checkpoints, strict=True)]
    frame = pd.concat([r.to_frame() for r in results], ignore_index=True)
    if reference is not None:
        add_ratios(frame, reference_result(results, [name for name, _ in entries], reference))
    title = f"{dist!r}, f = {objective.name}, n = {args.n:,}, seed = {args.seed}"
    _emit(results, frame if args.wide or args.format != "table" else compact(frame), args.format, title)
    if args.covariance and args.format == "table":
        for r in results:
            print(f"\n{r.estimator}: trace {r.trace:.6g} ± {r.trace_stderr:.2g}; correlations")
            corr = pd.DataFrame(r.correlation, index=r.components, columns=r.components)
            print(corr.to_string(float_format=lambda v: f"{v:.3f}"))


def _gaussian_table(args):
    """The Gaussian example: measured vs exact mean and variance for f = x^2 + c."""
    rows, results = [], []
    for mu, sigma, c in DEMO_POINTS:
        for name, opts in DEMO_ESTIMATORS:
            r = api.estimate(Normal(mu, sigma), BUILTINS["square"](c), name, args.n, args.seed,
                             threads=args.threads, progress=args.progress, **opts)
            results.append(r)
            exact_var = families.normal.square_variance(name, mu, sigma, c, opts.get("transform", 1))
            for i, comp in enumerate(r.components):
                rows.append({
                    "mu": mu, "sigma": sigma, "c": c, "estimator": r.estimator, "grad": comp,
                    "mean": r.mean[i], "exact_mean": r.exact[i], "mean_z": r.z[i],
                    "var": r.var[i], "exact_var": exact_var[i],
                    "var_z": (r.var[i] - exact_var[i]) / r.var_stderr[i],
                })
    title = (f"Gaussian example: N(mu, sigma^2), f(x) = x^2 + c, n = {args.n:,} samples per row, "
             f"seed {args.seed} (z = standard errors from the exact value)")
    return results, pd.DataFrame(rows), title


def _bias_columns(r) -> dict:
    """A one-component estimate's mean against the exact gradient: mean, exact, bias, bias_z, var."""
    return {"mean": r.mean[0], "exact": r.exact[0], "bias": r.bias[0], "bias_z": r.z[0], "var": r.var[0]}


def _gamma_table(args):
    """Gamma(alpha, 1), f = log z: d/dalpha by every estimator; rsvi_rep_only's bias is E[g_cor]."""
    rows, results = [], []
    for alpha in DEMO_GAMMA_ALPHAS:
        for name, boost in DEMO_GAMMA_ESTIMATORS:
            if alpha + boost < 1:
                continue
            r = api.estimate(Gamma(alpha), BUILTINS["log"](), name, args.gamma_n, args.seed,
                             threads=args.threads, progress=args.progress, boost=boost)
            results.append(r)
            rows.append({"alpha": alpha, "estimator": name, "boost": boost, **_bias_columns(r),
                         "acceptance": r.diagnostics.get("acceptance_rate", np.nan)})
    title = (f"Gamma example: Gamma(alpha, 1), f(z) = log z, d/dalpha (exact: trigamma(alpha)), "
             f"n = {args.gamma_n:,} per row. rsvi_rep_only drops g_cor: its bias is what g_cor carries, "
             f"large without boosting and fading as the boost B grows")
    return results, pd.DataFrame(rows), title


def _toy_table(args):
    """The REBAR/RELAX toy: Bernoulli(sigmoid(l)), f(b) = (b - t)^2, d/dl by every estimator with its bias."""
    rows, results = [], []
    for t in DEMO_TOY_TS:
        for name, opts in DEMO_TOY_ESTIMATORS:
            r = api.estimate(Bernoulli(logits=0.0), BUILTINS["toy"](t), name, args.n, args.seed,
                             threads=args.threads, progress=args.progress, **opts)
            results.append(r)
            rows.append({"t": t, "estimator": r.estimator, "biased": r.biased, **_bias_columns(r)})
    title = (f"Toy example: b ~ Bernoulli(sigmoid(l)) at l = 0, f(b) = (b - t)^2, d/dl (exact (1 - 2t) / 4), "
             f"n = {args.n:,} per row.  gumbel_softmax and straight_through are biased (bias_z = bias in "
             f"standard errors); the others are unbiased, with very different variances")
    return results, pd.DataFrame(rows), title


def _optimisation_table(args):
    """The scale-collapse study: SGD on E[x^2 + 1] from (1, 1) with four estimators."""
    trajectories = optimisation.scale_collapse_study(seed=args.seed)
    frame = optimisation.summary(trajectories)
    steps = trajectories[0].settings
    title = (f"SGD example: minimise E[x^2 + 1] over (mu, sigma) from (1, 1), {steps['steps']} steps of "
             f"K = {steps['samples']} samples, learning rate {steps['learning_rate']:g}; the optimum is "
             f"E = 1 at (0, 0).  score and grep[transform=1] never settle (their sigma-gradient variance "
             f"grows like 1/sigma^2); pathwise and grep[transform=2] converge.  Medians over the last 10% of steps")
    return [], frame, title


def optimise(args) -> None:
    """Run one SGD trajectory and print it."""
    opts = _estimator_options(args)
    name = args.estimator[0] if args.estimator is not None else estimators.default(args.dist)
    tr = optimisation.optimise(_dist(args), _objective(args), (name, opts), args.steps, args.samples,
                               args.lr, args.seed, baseline=args.baseline, decay=args.decay)
    if args.format == "json":
        payload = {"schema": TRAJECTORY_SCHEMA, "trajectory": tr.to_dict()}
        print(json.dumps(_strict_json(payload), indent=2, allow_nan=False))
        return
    frame = tr.to_frame()
    if args.format == "csv":
        print(frame.to_csv(index=False), end="")
        return
    every = max(1, args.every)
    shown = frame[(frame["step"] % every == 0) | (frame["step"] == tr.steps)]
    _emit([], shown, "table", f"SGD with {tr.estimator}, f = {tr.objective}, K = {args.samples}, "
                              f"learning rate {args.lr:g}, seed {args.seed} ({tr.seconds:.3f} s)")


def plot(args) -> None:
    """Draw one of the figures and say where it went."""
    from . import plots

    if args.figure == "variance":
        path, frame = plots.mohamed_variance_figure(args.out, n=args.n, seed=args.seed)
        print(f"wrote {path}: {len(frame)} (f, k, estimator, component) variances")
    else:
        path, runs = plots.scale_collapse_figure(args.out, seed=args.seed)
        print(f"wrote {path}: {len(runs)} SGD runs of {runs[0].steps} steps")


def demo(args) -> None:
    """Print the demo tables (Gaussian, Gamma and toy)."""
    t0 = time.perf_counter()
    tables = []
    if args.table in ("gaussian", "all"):
        tables.append(_gaussian_table(args))
    if args.table in ("gamma", "all"):
        tables.append(_gamma_table(args))
    if args.table in ("toy", "all"):
        tables.append(_toy_table(args))
    if args.table in ("optimisation", "all"):
        tables.append(_optimisation_table(args))
    if args.format == "json":
        _emit([r for results, _, _ in tables for r in results], pd.DataFrame(), "json")
        return
    for i, (results, frame, title) in enumerate(tables):
        if i and args.format == "table":
            print()
        _emit(results, frame, args.format, title)
    if args.format == "table":
        total = sum(r.n for results, _, _ in tables for r in results)
        print(f"\n{total:,} samples in {time.perf_counter() - t0:.1f} s including compilation")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    engine.compile_notice = _compile_notice
    api.resume_notice = _resume_notice
    try:
        if args.command == "demo":
            demo(args)
        elif args.command == "optimise":
            optimise(args)
        elif args.command == "plot":
            plot(args)
        elif args.command == "estimate":
            name = args.estimator[0] if args.estimator is not None else estimators.default(args.dist)
            _run_estimators(args, [(name, _estimator_options(args))])
        else:
            chosen = args.estimators or [(name, {}) for name in estimators.default_pair(args.dist)]
            _run_estimators(args, chosen)
    except (ValueError, TypeError, ImportError) as exc:
        one_line = " ".join(str(exc).split())  # a message holding a wrapped NumPy array spans several lines
        parser.exit(2, f"mcgrad {args.command}: error: {one_line}\n")
    except api.Interrupted as stop:
        hint = "; run the same command again to resume" if stop.checkpoint is not None else ""
        parser.exit(130, f"mcgrad {args.command}: {stop}{hint}\n")
    except KeyboardInterrupt as stop:  # before any block finished: a pilot pass, a compile
        parser.exit(130, f"mcgrad {args.command}: {str(stop) or 'interrupted'}; nothing was finished\n")
    except BrokenPipeError:  # the reader went away (| head): no traceback, nothing more to write
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
