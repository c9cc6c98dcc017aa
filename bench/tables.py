"""Print the benchmark table of docs/performance.md from a recorded run.

    pytest bench/ --benchmark-only --benchmark-json=bench/records/NAME.json
    python bench/tables.py bench/records/NAME.json [MORE.json ...]

One row per benchmark that has a ``label`` in its ``extra_info`` (see ``conftest.record``), in the order the
runs measured them, after a line per record naming the machine and commit it comes from.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from machine import summary


def _rate(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value / 1e6:.3g} M" if value < 1e9 else f"{value / 1e9:.3g} G"


def _ratio(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}g}"


def rows(record: dict) -> list[dict]:
    """The labelled benchmarks of a pytest-benchmark JSON record, with their ``extra_info``."""
    return [b["extra_info"] for b in record["benchmarks"] if "label" in b.get("extra_info", {})]


def _notes(row: dict) -> str:
    """The comparisons particular to some benchmarks (sweeps, batch objectives, variance reduction)."""
    notes = []
    if "speedup_vs_point_by_point" in row:
        notes.append(f"{_ratio(row['speedup_vs_point_by_point'])} × point-by-point `estimate` calls")
    if "plain_score_samples_per_second" in row:
        notes.append(f"plain `score` on the same f: {_rate(row['plain_score_samples_per_second'])}")
    if "mcgrad_share_of_wall_time" in row:
        notes.append(f"mcgrad's share of the wall time {row['mcgrad_share_of_wall_time']:.1%}")
    if "speedup_vs_jax_loop" in row:
        notes.append(f"{_ratio(row['speedup_vs_jax_loop'])} × a jit + vmap JAX loop")
    return "; ".join(notes)


def markdown(records: list[tuple[str, dict]]) -> str:
    """One table of every labelled benchmark of the records, and a line per record naming where it comes from."""
    lines = []
    for name, record in records:
        info = record["machine_info"].get("mcgrad")
        cpu = record["machine_info"].get("cpu", {})  # pytest-benchmark's: tells apart VMs named alike
        if info and "family" in cpu and "model" in cpu:
            info = dict(info, cpu_model=f"{info['cpu_model']} (family {cpu['family']}, model {cpu['model']})")
        source = summary(info) if info else "machine not recorded"
        lines.append(f"Recorded run `{name}` ({record.get('datetime', '')[:10]}): {source}.")
    lines += ["", "| kernel | samples/s | × NumPy (same run) | fraction of raw sampling | 2 threads / 1 thread "
                  "| notes |", "|---|---|---|---|---|---|"]
    for _, record in records:
        for row in rows(record):
            raw = row.get("fraction_of_raw")
            raw_text = "—" if raw is None else f"{raw:.2f} of {row['raw_reference']}"
            lines.append(f"| {row['label']} | {_rate(row['samples_per_second'])} | "
                         f"{_ratio(row.get('speedup_vs_numpy'))} | {raw_text} | {_ratio(row.get('thread_scaling'))} | "
                         f"{_notes(row)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", type=Path, nargs="+", help="--benchmark-json files, in table order")
    args = parser.parse_args(argv)
    records = []
    for path in args.records:
        try:
            records.append((path.name, json.loads(path.read_text())))
        except (OSError, ValueError) as exc:
            print(f"tables: cannot read {path}: {exc}", file=sys.stderr)
            return 2
    sys.stdout.write(markdown(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
