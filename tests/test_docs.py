"""The documentation stays in step with the code and the repository stands alone.

* every (family, estimator) declaration of the registry has its entry in ``docs/estimators.md``: a ``### name``
  heading inside the family's ``## Family`` section, or inside a section for several families whose entry lists
  the family on its ``**Families:**`` line; each entry states the registry's bias flag and names every option;
* no file of the repository points at mathematics notes or folders outside it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import mcgrad.estimators

ROOT = Path(__file__).resolve().parent.parent
ESTIMATORS_MD = ROOT / "docs" / "estimators.md"

# Built from pieces so that this file does not contain the strings it looks for.
FORBIDDEN = ("MATH" + ".md", "math" + "_md", "/".join(("..", "shared")))


def _sections(text: str) -> dict[str, dict[str, str]]:
    """``{h2 title: {h3 title: the entry's text up to the next heading of level 2 or 3}}``."""
    sections: dict[str, dict[str, str]] = {}
    h2 = h3 = None
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code:
            if h2 is not None and h3 is not None:
                sections[h2][h3] += line + "\n"
            continue
        if line.startswith("## "):
            h2, h3 = line[3:].strip(), None
            sections.setdefault(h2, {})
        elif line.startswith("### ") and h2 is not None:
            h3 = line[4:].strip()
            assert h3 not in sections[h2], f"duplicate heading ### {h3} under ## {h2}"
            sections[h2][h3] = ""
        elif h2 is not None and h3 is not None:
            sections[h2][h3] += line + "\n"
    return sections


def _family_section(sections: dict, family: str) -> str | None:
    """The ``## Family`` section of a family: its title's first word is the family's name."""
    for title in sections:
        words = title.split()
        if words and words[0].lower() == family.replace("_", "").lower():
            return title
    return None


def _families_line(entry: str) -> list[str] | None:
    match = re.search(r"^\* \*\*Families:\*\*\s*(.+)$", entry, re.MULTILINE)
    if match is None:
        return None
    return [w.strip().lower() for w in match.group(1).rstrip(".").split(",")]


def _entry(sections: dict, family: str, name: str) -> str | None:
    """The docs entry of (family, name): under the family's section, or in a section for several families."""
    own = _family_section(sections, family)
    if own is not None and name in sections[own]:
        return sections[own][name]
    for entries in sections.values():
        entry = entries.get(name)
        if entry is not None and family in (_families_line(entry) or []):
            return entry
    return None


@pytest.fixture(scope="module")
def sections():
    assert ESTIMATORS_MD.is_file(), "docs/estimators.md is missing"
    return _sections(ESTIMATORS_MD.read_text(encoding="utf-8"))


DECLARATIONS = [(spec.family, spec.name, spec) for spec in mcgrad.estimators.declarations()]


def test_registry_is_not_empty():
    families = {family for family, _, _ in DECLARATIONS}
    assert {"normal", "gamma", "beta", "dirichlet", "bernoulli", "categorical"} <= families


@pytest.mark.parametrize("family", sorted({family for family, _, _ in DECLARATIONS}))
def test_every_family_has_a_section(sections, family):
    assert _family_section(sections, family) is not None, f"docs/estimators.md has no '## {family.title()}' section"


@pytest.mark.parametrize("family,name,spec", DECLARATIONS, ids=[f"{f}-{n}" for f, n, _ in DECLARATIONS])
def test_every_declaration_has_its_entry(sections, family, name, spec):
    entry = _entry(sections, family, name)
    assert entry is not None, (f"docs/estimators.md has no '### {name}' under '## {family.title()}', nor in a "
                               f"section whose '**Families:**' line lists {family}")
    biased = re.search(r"^\* \*\*Biased:\*\*\s*(yes|no)\b", entry, re.MULTILINE)
    assert biased is not None, f"### {name} ({family}): no '**Biased:** yes/no' line"
    assert (biased.group(1) == "yes") == bool(spec.biased), \
        f"### {name} ({family}): docs say biased {biased.group(1)}, the registry says {spec.biased}"
    for field in ("Formula", "Source", "Options", "Oracle"):
        assert re.search(rf"^\* \*\*{field}\b", entry, re.MULTILINE), f"### {name} ({family}): no **{field}** line"
    for option in spec.options:
        assert f"`{option}`" in entry, f"### {name} ({family}): option `{option}` is not documented"


def test_every_named_test_exists():
    """Each ``tests/<file>.py::<function>`` the page names is defined in that file, and every other test or oracle
    function it names (``test_...`` alone, or a helper of ``tests/reference*.py``) is defined in some test file."""
    text = ESTIMATORS_MD.read_text(encoding="utf-8")
    sources = {path.name: path.read_text(encoding="utf-8") for path in (ROOT / "tests").glob("*.py")}
    qualified = set(re.findall(r"tests/(\w+\.py)::(\w+)", text))
    assert qualified
    for filename, function in sorted(qualified):
        assert filename in sources, f"docs/estimators.md names tests/{filename}, which does not exist"
        assert re.search(rf"^def {function}\(", sources[filename], re.MULTILINE), \
            f"docs/estimators.md names tests/{filename}::{function}, which is not defined there"
    bare = set(re.findall(r"`(test_\w+|\w+_moments|enumerate_\w+|bernoulli_estimator|closed_form_variance)`", text))
    bare |= {function for _, function in qualified}
    defined = set(re.findall(r"^def (\w+)\(", "\n".join(sources.values()), re.MULTILINE))
    missing = sorted(bare - defined)
    assert not missing, f"docs/estimators.md names functions no test file defines: {missing}"


def _repository_files() -> list[Path]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    run = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, check=False)
    if run.returncode != 0:
        pytest.skip("not a git checkout")
    names = {name for name in run.stdout.decode("utf-8", "surrogateescape").split("\0") if name}
    return [ROOT / name for name in sorted(names) if not name.startswith(".ci/") and (ROOT / name).is_file()]


def test_no_file_points_outside_the_repository():
    """The tracked files (and new files not yet added) hold their own mathematics: none refers to notes or
    folders outside the repository."""
    offenders = []
    for path in _repository_files():
        data = path.read_bytes()
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
            lowered = line.lower()
            if any(word.lower() in lowered for word in FORBIDDEN):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "references outside the repository:\n" + "\n".join(offenders)


def test_readme_ranges_table_is_the_enforced_one():
    """The guide's supported ranges come from the constants the checks use, and the bounds hold on both sides."""
    import math

    import mcgrad.ranges
    from mcgrad.declaration import TEMPERATURES
    from mcgrad.families.common import CONCENTRATIONS

    text = (ROOT / "docs" / "guide.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- ranges table:[^\n]*-->\n(.*?)<!-- end of ranges table -->", text, re.S)
    assert match, "docs/guide.md lost its generated ranges table"
    assert match.group(1) == mcgrad.ranges.markdown_table(), \
        "docs/guide.md's ranges table is stale: paste mcgrad.ranges.markdown_table() between its markers"
    for bound, outside in zip(CONCENTRATIONS, (CONCENTRATIONS[0] * 0.999, CONCENTRATIONS[1] * 1.001), strict=True):
        mcgrad.Gamma(bound)
        mcgrad.Dirichlet([bound, 1.0])
        with pytest.raises(ValueError, match=r"concentration must be in \[1e-3, 1e6\]"):
            mcgrad.Gamma(outside)
    dist = mcgrad.Bernoulli(logits=0.3)
    for bound in TEMPERATURES:
        assert math.isfinite(mcgrad.estimate(dist, mcgrad.toy(0.45), "gumbel_softmax", 100, temperature=bound).mean[0])
    for outside in (TEMPERATURES[0] * 0.999, TEMPERATURES[1] * 1.001):
        with pytest.raises(ValueError, match="temperature"):
            mcgrad.estimate(dist, mcgrad.toy(0.45), "gumbel_softmax", 100, temperature=outside)
    with pytest.raises(ValueError, match=r"n must be an integer <= 2\*\*62"):
        mcgrad.estimate(dist, mcgrad.toy(0.45), "score", 2**62 + 1)


def test_readme_benchmark_table_is_printed_from_its_records():
    """The benchmark figures of docs/performance.md are bench/tables.py's output for the records each marker names."""
    import sys

    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    matches = re.findall(r"<!-- bench table: python bench/tables.py ([^\n]*?) -->\n(.*?)<!-- end of bench table -->",
                         text, re.S)
    assert matches, "docs/performance.md lost its recorded benchmark table"
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import tables
    finally:
        sys.path.remove(str(ROOT / "bench"))
    for names, table in matches:  # one table per machine
        paths = [ROOT / p for p in names.split()]
        assert paths and all(p.parent == ROOT / "bench" / "records" and p.exists() for p in paths), names
        records = [(p.name, json.loads(p.read_text())) for p in paths]
        assert table == tables.markdown(records), \
            f"the benchmark table of docs/performance.md from {names} is stale: paste tables.py's output"


def _code_blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


def _fewer_samples(code: str) -> str:
    """The block as written, with its sample counts (n=10**k, n=200_000) cut to 20,000 so the suite stays short."""
    return re.sub(r"\bn=(10\*\*\d+|200_000)", "n=20_000", code)


@pytest.mark.parametrize("page", ["README.md", "docs/statistics.md", "docs/guide.md"])
def test_python_blocks_run_as_written(page, tmp_path, monkeypatch):
    """Every python block of the page runs, in order and in one namespace (later blocks use earlier names); a
    block under ``if __name__ == "__main__"`` (the Dask one, which starts worker processes) only compiles."""
    blocks = _code_blocks(ROOT / page, "python")
    assert blocks or page != "README.md"
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__doc_block__"}
    for number, block in enumerate(blocks):
        code = _fewer_samples(block)
        try:
            exec(compile(code, f"{page} python block {number}", "exec"), namespace)
        except Exception as exc:  # name the block: the traceback's file is the page
            raise AssertionError(f"{page}, python block {number} failed: {exc!r}\n{code}") from exc


def test_readme_shell_commands_run_as_written(tmp_path, monkeypatch, capsys):
    import shlex

    from mcgrad.cli import main

    monkeypatch.chdir(tmp_path)
    commands = [line for block in _code_blocks(ROOT / "README.md", "bash") for line in block.splitlines()
                if line.startswith("mcgrad ")]
    assert len(commands) >= 4
    for line in commands:
        argv = shlex.split(line)[1:]
        if "-n" in argv:
            argv[argv.index("-n") + 1] = "2e4"  # fewer samples, as for the python blocks
        else:
            argv += ["-n", "2e4"]
        assert main(argv) == 0, line
        assert capsys.readouterr().out.strip(), line
