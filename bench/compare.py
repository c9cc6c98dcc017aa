"""Compare the kernels of two commits on this machine, old and new timed interleaved in one process.

    python bench/compare.py OLD [NEW] [--cases normal,gamma] [--n 10000000] [--repeats 5] [--threshold 0.05]

OLD and NEW are git revisions; NEW defaults to the working tree.  Each side's ``mcgrad`` package is exported
to a temporary folder under its own name (``mcgrad_old``, ``mcgrad_new``: the package imports itself only
relatively), so both load in one process with their own kernel caches.  Every case is compiled on both sides
first; then each repeat times every case on both sides, alternating which side goes first, and the best time
of each side counts.  A case whose new time exceeds the old by more than ``--threshold`` is flagged SLOWER and
the exit status is 1.  The last column says whether the two sides returned the same bits.
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from machine import cpu_model

ROOT = Path(__file__).resolve().parent.parent
LOGITS = np.linspace(-1.0, 1.0, 10)

# name -> (family group, builder(m) -> (dist, objective, estimator, options), samples per n)
CASES = {
    "Normal score (x²)": ("normal", lambda m: (m.Normal(1.0, 1.0), m.square(), "score", {}), 1.0),
    "Normal pathwise (x²)": ("normal", lambda m: (m.Normal(1.0, 1.0), m.square(), "pathwise", {}), 1.0),
    "Normal grep 2 (x²)": ("normal", lambda m: (m.Normal(1.0, 1.0), m.square(), "grep", {"transform": 2}), 1.0),
    "Normal pathwise (cos 2x)": ("normal", lambda m: (m.Normal(1.0, 1.0), m.cos(2.0), "pathwise", {}), 0.2),
    "Normal measure_valued (x²)": ("normal", lambda m: (m.Normal(1.0, 1.0), m.square(), "measure_valued", {}), 0.2),
    "Normal pathwise D = 3 (cos)": ("normal", lambda m: (m.Normal([0.5, 1.0, 2.0], 1.0), m.cos(1.0), "pathwise",
                                                        {}), 0.3),
    "Gamma rsvi B = 0 (z²)": ("gamma", lambda m: (m.Gamma(2.5), m.square(), "rsvi", {"boost": 0}), 0.5),
    "Gamma rsvi B = 1 (z²)": ("gamma", lambda m: (m.Gamma(2.5), m.square(), "rsvi", {"boost": 1}), 0.2),
    "Gamma implicit (log z)": ("gamma", lambda m: (m.Gamma(2.5), m.log(), "implicit", {}), 0.2),
    "Gamma grep (z²)": ("gamma", lambda m: (m.Gamma(2.5), m.square(), "grep", {"boost": 0}), 0.5),
    "Dirichlet rsvi (x_0)": ("gamma", lambda m: (m.Dirichlet([2.5, 1.0, 4.0]), m.component(0), "rsvi", {}), 0.1),
    "StudentT(12) score (x²)": ("student_t", lambda m: (m.StudentT(12.0, 0.3, 1.2), m.square(), "score",
                                                       {"boost": 0}), 0.3),
    "StudentT(12) implicit (x²)": ("student_t", lambda m: (m.StudentT(12.0, 0.3, 1.2), m.square(), "implicit",
                                                          {"boost": 0}), 0.3),
    "StudentT(12) rsvi (x²)": ("student_t", lambda m: (m.StudentT(12.0, 0.3, 1.2), m.square(), "rsvi",
                                                      {"boost": 0}), 0.3),
    "VonMises(2) score (cos 2x)": ("von_mises", lambda m: (m.VonMises(0.3, 2.0), m.cos(2.0), "score", {}), 0.1),
    "VonMises(2) implicit (cos 2x)": ("von_mises", lambda m: (m.VonMises(0.3, 2.0), m.cos(2.0), "implicit", {}),
                                      0.1),
    "Bernoulli score (toy)": ("discrete", lambda m: (m.Bernoulli(logits=0.3), m.toy(0.45), "score", {}), 1.0),
    "Bernoulli arm (toy)": ("discrete", lambda m: (m.Bernoulli(logits=0.3), m.toy(0.45), "arm", {}), 1.0),
    "Bernoulli disarm (toy)": ("discrete", lambda m: (m.Bernoulli(logits=0.3), m.toy(0.45), "disarm", {}), 1.0),
    "Bernoulli rebar (toy)": ("discrete", lambda m: (m.Bernoulli(logits=0.3), m.toy(0.45), "rebar", {}), 0.3),
    "Categorical K = 10 score": ("discrete", lambda m: (m.Categorical(logits=LOGITS), m.toy(0.45), "score", {}),
                                 0.1),
    "Categorical K = 10 gumbel_softmax": ("discrete", lambda m: (m.Categorical(logits=LOGITS), m.toy(0.45),
                                                                  "gumbel_softmax", {}), 0.05),
    "Categorical K = 10 straight_through": ("discrete", lambda m: (m.Categorical(logits=LOGITS), m.toy(0.45),
                                                                    "straight_through", {}), 0.05),
    "Categorical K = 10 gumbel_rao": ("discrete", lambda m: (m.Categorical(logits=LOGITS), m.toy(0.45),
                                                              "gumbel_rao", {}), 0.05),
    "Categorical K = 10 rebar": ("discrete", lambda m: (m.Categorical(logits=LOGITS), m.toy(0.45), "rebar", {}),
                                 0.03),
}


def export(revision: str | None, name: str, into: Path) -> None:
    """The ``mcgrad`` package of ``revision`` (None: the working tree) as ``into/name``."""
    target = into / name
    if revision is None:
        shutil.copytree(ROOT / "mcgrad", target, ignore=shutil.ignore_patterns("__pycache__"))
        return
    archive = subprocess.run(["git", "archive", revision, "mcgrad"], cwd=ROOT, capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"compare: cannot export {revision!r}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    (into / "mcgrad").rename(target)


def _runner(module, case: str, n: int):
    _, build, share = CASES[case]
    dist, objective, estimator, options = build(module)
    count = max(1, int(n * share))
    return count, lambda: module.estimate(dist, objective, estimator, count, seed=0, **options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="git revision of the reference")
    parser.add_argument("new", nargs="?", default=None, help="git revision to compare (default: working tree)")
    groups = ", ".join(dict.fromkeys(group for group, _, _ in CASES.values()))
    parser.add_argument("--cases", default="", help=f"comma-separated groups ({groups}) or names")
    parser.add_argument("--n", type=float, default=1e7, help="samples per run of the fastest cases")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threshold", type=float, default=0.05, help="flag a new/old time above 1 + this")
    args = parser.parse_args(argv)
    wanted = [w.strip() for w in args.cases.split(",") if w.strip()]
    cases = [c for c, (group, _, _) in CASES.items() if not wanted or group in wanted or c in wanted]
    if not cases:
        parser.error(f"--cases matches nothing; groups: {groups}; names: {', '.join(CASES)}")
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as folder:
        export(args.old, "mcgrad_old", Path(folder))
        export(args.new, "mcgrad_new", Path(folder))
        sys.path.insert(0, folder)
        sides = {side: importlib.import_module(f"mcgrad_{side}") for side in ("old", "new")}
        runs = {(case, side): _runner(module, case, int(args.n)) for case in cases for side, module in sides.items()}
        same = {}
        for case in cases:  # compile both sides, and compare their bits
            means = [np.asarray(runs[case, side][1]().mean) for side in sides]
            same[case] = np.array_equal(means[0], means[1])
        best = {key: float("inf") for key in runs}
        for repeat in range(args.repeats):
            for case in cases:
                order = ("old", "new") if repeat % 2 == 0 else ("new", "old")
                for side in order:
                    t0 = time.perf_counter()
                    runs[case, side][1]()
                    best[case, side] = min(best[case, side], time.perf_counter() - t0)
    print(f"{cpu_model()}; old {args.old}, new {args.new or 'working tree'}; best of {args.repeats}, interleaved")
    print(f"{'kernel':36s} {'old M/s':>9s} {'new M/s':>9s} {'new/old time':>13s}  same bits")
    slower = []
    for case in cases:
        count = runs[case, "old"][0]
        old, new = best[case, "old"], best[case, "new"]
        flag = "  SLOWER" if new > old * (1.0 + args.threshold) else ""
        if flag:
            slower.append(case)
        print(f"{case:36s} {count / old / 1e6:9.1f} {count / new / 1e6:9.1f} {new / old:13.3f}  "
              f"{'yes' if same[case] else 'no'}{flag}")
    if slower:
        print(f"{len(slower)} kernel(s) more than {args.threshold:.0%} slower: {', '.join(slower)}")
    return 1 if slower else 0


if __name__ == "__main__":
    sys.exit(main())
