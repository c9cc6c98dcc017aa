"""The ``mcgrad`` command: ``demo``, ``estimate`` and ``compare``.

``--format json`` prints one object ``{"schema": "mcgrad.results/1", "results": [...]}``; each
result has the keys of :meth:`mcgrad.Estimate.to_dict` (see README, "JSON output").
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from . import api, estimators
from .distributions import Normal
from .exact import normal_square_variance
from .objectives import BUILTINS

JSON_SCHEMA = "mcgrad.results/1"
DEMO_POINTS = ((1.0, 1.0, 0.0), (2.0, 0.5, 1.0), (-0.5, 2.0, 3.0))
DEMO_ESTIMATORS = (("score", {}), ("pathwise", {}), ("grep", {"transform": 1}), ("grep", {"transform": 2}))


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


def _estimator_list(text: str) -> list[tuple[str, dict]]:
    """``score,pathwise,grep:transform=2`` -> [(name, options), ...]."""
    out = []
    for item in text.split(","):
        name, _, rest = item.strip().partition(":")
        opts = {}
        for pair in filter(None, rest.split(";")):
            key, _, value = pair.partition("=")
            opts[key] = int(value) if value.lstrip("-").isdigit() else value
        out.append((name, opts))
    return out


def _add_run_options(p: argparse.ArgumentParser, n_default: int) -> None:
    p.add_argument("-n", "--n", type=_count, default=n_default, help="number of samples (e.g. 1e7)")
    p.add_argument("--seed", type=int, default=0, help="seed in [0, 2**64)")
    p.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")


def _add_problem_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dist", choices=("normal",), default="normal", help="distribution family")
    p.add_argument("--loc", type=_floats, default=[0.0], help="Normal means (comma list for D > 1)")
    p.add_argument("--scale", type=_floats, default=[1.0], help="Normal standard deviations")
    p.add_argument("--objective", choices=sorted(BUILTINS), default="square", help="built-in f")
    p.add_argument("--param", type=float, default=None,
                   help="the objective's parameter: c for square, k for quadratic/cos/gaussian_bump, a for linear")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcgrad", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="the Gaussian table: f = x^2 + c, four estimators vs exact values")
    _add_run_options(demo, 10_000_000)
    est = sub.add_parser("estimate", help="one estimator's mean and variance")
    _add_problem_options(est)
    est.add_argument("--estimator", default="score", help=f"one of {sorted(estimators.REGISTRY)}")
    est.add_argument("--transform", type=int, choices=(1, 2), default=None, help="grep transform")
    _add_run_options(est, 1_000_000)
    cmp_ = sub.add_parser("compare", help="several estimators side by side")
    _add_problem_options(cmp_)
    cmp_.add_argument("--estimators", type=_estimator_list, default=_estimator_list("score,pathwise"),
                      help="comma list; options after a colon, e.g. score,grep:transform=2")
    _add_run_options(cmp_, 1_000_000)
    return parser


def _dist(args) -> Normal:
    return Normal(args.loc if len(args.loc) > 1 else args.loc[0],
                  args.scale if len(args.scale) > 1 else args.scale[0])


def _objective(args):
    make = BUILTINS[args.objective]
    return make() if args.param is None else make(args.param)


def _emit(results, frame: pd.DataFrame, fmt: str, title: str | None = None) -> None:
    if fmt == "json":
        print(json.dumps({"schema": JSON_SCHEMA, "results": [r.to_dict() for r in results]}, indent=2))
    elif fmt == "csv":
        print(frame.to_csv(index=False), end="")
    else:
        if title:
            print(title)
        with pd.option_context("display.width", 200, "display.max_columns", 30):
            print(frame.to_string(index=False, float_format=lambda v: f"{v:.6g}"))


def _run_estimators(args, entries):
    dist, objective = _dist(args), _objective(args)
    results = [api.estimate(dist, objective, name, args.n, args.seed, threads=args.threads, **opts)
               for name, opts in entries]
    frame = pd.concat([r.to_frame() for r in results], ignore_index=True)
    title = f"{dist!r}, f = {objective.name}, n = {args.n:,}, seed = {args.seed}"
    _emit(results, frame, args.format, title)


def demo(args) -> None:
    """Reproduce the Gaussian table: measured vs exact mean and variance for f = x^2 + c."""
    t0 = time.perf_counter()
    rows, results = [], []
    for mu, sigma, c in DEMO_POINTS:
        for name, opts in DEMO_ESTIMATORS:
            r = api.estimate(Normal(mu, sigma), BUILTINS["square"](c), name, args.n, args.seed,
                             threads=args.threads, **opts)
            results.append(r)
            exact_var = normal_square_variance(name, mu, sigma, c, opts.get("transform", 1))
            for i, comp in enumerate(r.components):
                rows.append({
                    "mu": mu, "sigma": sigma, "c": c, "estimator": r.estimator, "grad": comp,
                    "mean": r.mean[i], "exact_mean": r.exact[i], "mean_z": r.z[i],
                    "var": r.var[i], "exact_var": exact_var[i],
                    "var_z": (r.var[i] - exact_var[i]) / r.var_stderr[i],
                })
    frame = pd.DataFrame(rows)
    title = (f"Gaussian example: N(mu, sigma^2), f(x) = x^2 + c, n = {args.n:,} samples per row, "
             f"seed {args.seed} (z = standard errors from the exact value)")
    _emit(results, frame, args.format, title)
    if args.format == "table":
        total = len(results) * args.n
        print(f"\n{total:,} samples in {time.perf_counter() - t0:.1f} s including compilation; "
              f"|z| <= {np.nanmax(np.abs(frame[['mean_z', 'var_z']].to_numpy())):.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            demo(args)
        elif args.command == "estimate":
            opts = {} if args.transform is None else {"transform": args.transform}
            _run_estimators(args, [(args.estimator, opts)])
        else:
            _run_estimators(args, args.estimators)
    except (ValueError, TypeError) as exc:
        parser.exit(2, f"mcgrad {args.command}: error: {exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
