"""Print the README's benchmark table from a recorded run.

    pytest bench/ --benchmark-only --benchmark-json=bench/records/NAME.json
    python bench/tables.py bench/records/NAME.json

One row per benchmark that has a ``label`` in its ``extra_info`` (see ``conftest.record``), in the order the
run measured them, and a first line naming the machine and commit the record comes from.
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


def markdown(record: dict, name: str) -> str:
    """The table and the line naming where it comes from."""
    info = record["machine_info"].get("mcgrad")
    source = summary(info) if info else "machine not recorded"
    lines = [f"Recorded run `{name}` ({record.get('datetime', '')[:10]}): {source}.", "",
             "| kernel | samples/s | × NumPy (same run) | fraction of raw sampling | 2 threads / 1 thread |",
             "|---|---|---|---|---|"]
    for row in rows(record):
        raw = row.get("fraction_of_raw")
        raw_text = "—" if raw is None else f"{raw:.2f} of {row['raw_reference']}"
        lines.append(f"| {row['label']} | {_rate(row['samples_per_second'])} | {_ratio(row.get('speedup_vs_numpy'))} "
                     f"| {raw_text} | {_ratio(row.get('thread_scaling'))} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("record", type=Path, help="a --benchmark-json file")
    args = parser.parse_args(argv)
    try:
        record = json.loads(args.record.read_text())
    except (OSError, ValueError) as exc:
        print(f"tables: cannot read {args.record}: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(markdown(record, args.record.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
