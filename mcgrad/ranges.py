"""The supported ranges of every parameter and size: one table (docs/guide.md) built from the values that enforce them.

Each family module declares ``RANGES`` (parameter -> what is accepted); run sizes and options come from the
constants their checks use.  Everything outside is refused before any sampling with a ValueError or TypeError
that names the argument (the CLI prints that one line and exits with status 2).
"""

from __future__ import annotations

from . import _validate, declaration, engine, families, optimisation
from .estimators import family_title


def _power_of_two(value: int) -> str:
    return f"2**{value.bit_length() - 1}"


def rows() -> list[tuple[str, str, str]]:
    """``(scope, parameter, supported)`` for every family parameter, then for run sizes and options."""
    out = []
    for family in families.MODULES:
        for parameter, supported in families.module(family).RANGES.get(family, []):
            out.append((family_title(family), f"`{parameter}`", supported))
    out += [
        ("runs", "`n`, `block_size`, `pilot`", f"integers from 1 to {_power_of_two(_validate.MAX_COUNT)}"),
        ("runs", "`samples` of an `optimise` step", f"integers from 1 to {_power_of_two(optimisation.MAX_SAMPLES)}"),
        ("options", "`temperature`", declaration.TEMPERATURE.allowed),
        ("options", "`boost`", declaration.BOOST.allowed),
        ("discrete", "`exact` (and the automatic exact column)",
         f"at most {_power_of_two(engine.EXACT_MAX_OUTCOMES)} outcomes and "
         f"{_power_of_two(engine.EXACT_MAX_WORK)} outcomes x gradient components"),
        ("batch objectives", "points a block asks f for", f"a tape of at most {engine.TAPE_BLOCK_LIMIT >> 30} GiB "
         "per block (the error names the `block_size` that fits)"),
    ]
    return out


def markdown_table() -> str:
    """The table of supported ranges in docs/guide.md."""
    lines = ["| scope | parameter | supported |", "|---|---|---|"]
    lines += [f"| {scope} | {parameter} | {supported} |" for scope, parameter, supported in rows()]
    return "\n".join(lines) + "\n"
