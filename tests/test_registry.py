"""The registry is the one source of truth: the estimator table of docs/estimators.md, the CLI flags, the dispatch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import mcgrad
from mcgrad import cli, estimators, families
from mcgrad.cli import main

TABLE_PAGE = Path(__file__).resolve().parents[1] / "docs" / "estimators.md"


def test_readme_table_is_the_registry_table():
    text = TABLE_PAGE.read_text(encoding="utf-8")
    match = re.search(r"<!-- estimator table:[^\n]*-->\n(.*?)<!-- end of estimator table -->", text, re.S)
    assert match, "docs/estimators.md lost its generated estimator table"
    assert match.group(1) == estimators.markdown_table(), \
        "docs/estimators.md's estimator table is stale: paste mcgrad.estimators.markdown_table() between its markers"


def test_every_declaration_is_reachable_and_complete():
    for spec in estimators.declarations():
        assert estimators.lookup(spec.name, spec.family) is spec
        assert spec.kind in (estimators.SAMPLING, estimators.VARIANCE_REDUCED, estimators.EXACT)
        if spec.kind == estimators.SAMPLING:
            assert spec.block is not None, f"{spec.family}/{spec.name} declares no block function"
        assert spec.summary and spec.draws, f"{spec.family}/{spec.name}"
        assert spec.evaluations_per_sample(spec.options) >= 0


def test_unknown_and_misfit_estimators_name_what_is_allowed():
    with pytest.raises(ValueError, match="unknown estimator 'nope'"):
        estimators.lookup("nope", "normal")
    with pytest.raises(ValueError, match=r"does not apply to the normal family; use one of \[.*'pathwise'"):
        estimators.lookup("rsvi", "normal")


def test_cli_flags_come_from_the_declared_options():
    parser = cli.build_parser()
    estimate = next(a for a in parser._subparsers._group_actions[0].choices.items() if a[0] == "estimate")[1]
    flags = {s for action in estimate._actions for s in action.option_strings}
    declared = {o.name for spec in estimators.declarations() for o in spec.declared if o.name != "control"}
    assert {f"--{name}" for name in declared} <= flags


def test_a_new_declaration_needs_no_other_edit(monkeypatch):
    """Declaring an estimator (here: pathwise again under a new name) makes it usable end to end."""
    from mcgrad.declaration import EstimatorSpec
    from mcgrad.kernels import normal as kernels

    spec = EstimatorSpec("pathwise_copy", "normal", "test copy of pathwise", needs_derivative=True,
                         block=kernels.block, code=kernels.PATHWISE, draws="D normals")
    monkeypatch.setitem(estimators.REGISTRY, "pathwise_copy", {"normal": spec})
    a = mcgrad.estimate(mcgrad.Normal(0.5, 1.5), "square", "pathwise_copy", 4096, seed=3)
    b = mcgrad.estimate(mcgrad.Normal(0.5, 1.5), "square", "pathwise", 4096, seed=3)
    assert a.estimator == "pathwise_copy" and (a.mean == b.mean).all() and (a.var == b.var).all()


def test_every_family_has_one_default_estimator_for_every_entry_point(capsys):
    # one declared default per family, a sampling estimator of it, taken by estimate, optimise and the CLI alike
    for family in families.MODULES:
        spec = estimators.lookup(estimators.default(family), family)
        assert spec.kind == estimators.SAMPLING
        assert estimators.default_pair(family)[0] == "score"
    dist = mcgrad.Gamma(2.5)
    assert mcgrad.estimate(dist, "square", n=2_000).estimator.startswith("rsvi")
    assert mcgrad.optimise(dist, "square", steps=2).estimator.startswith("rsvi")
    assert [label.split("[")[0] for label in mcgrad.compare(dist, "square", n=2_000).estimator.unique()] == [
        "score", "rsvi"]
    assert mcgrad.estimate(mcgrad.Normal(0.0, 1.0), n=2_000).estimator == "pathwise"
    for command in ("estimate", "optimise"):
        assert main([command, "--dist", "bernoulli", "--format", "json", "-n" if command == "estimate" else
                     "--steps", "2000" if command == "estimate" else "2"]) == 0
        assert '"estimator": "score"' in capsys.readouterr().out
