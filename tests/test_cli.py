import json
import subprocess
import sys

import pytest

from mcgrad.cli import main


def test_estimate_json_schema(capsys):
    main(["estimate", "--loc", "1", "--scale", "2", "--objective", "square", "--param", "1",
          "--estimator", "grep", "--transform", "2", "-n", "2e5", "--seed", "3", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "mcgrad.results/1"
    (res,) = doc["results"]
    assert res["estimator"] == "grep[transform=2]" and res["n"] == 200_000 and res["seed"] == 3
    assert [c["name"] for c in res["components"]] == ["loc", "scale"]
    for comp, exact in zip(res["components"], [2.0, 4.0], strict=True):
        assert comp["exact"] == exact
        assert abs(comp["mean"] - exact) < 5 * comp["stderr"]
        assert comp["snr"] == abs(comp["mean"]) / comp["var"] ** 0.5
        assert set(comp) == {"name", "mean", "stderr", "var", "var_stderr", "exact", "bias", "z", "mse", "snr",
                             "efficiency", "efficiency_per_evaluation"}
    assert res["trace"] == sum(c["var"] for c in res["components"])
    assert res["covariance"] is None and res["trace_stderr"] is None  # not asked for: two components
    assert res["evaluations_per_sample"] == 1.0 and res["seconds_per_sample"] > 0


def test_compare_csv_and_table(capsys):
    main(["compare", "--loc", "0.5,1", "--scale", "1", "--estimators", "score,pathwise,grep:transform=2",
          "-n", "1e5", "--format", "csv", "--threads", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("estimator,component,mean,stderr,var,var_stderr,exact,bias,z")
    assert len(lines) == 1 + 3 * 4
    main(["compare", "--objective", "cos", "--param", "2", "-n", "1e5"])
    out = capsys.readouterr().out
    assert "cos(k=2)" in out and "pathwise" in out


def test_demo_small(capsys):
    main(["demo", "-n", "200000", "--gamma-n", "20000", "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["results"]) == 12 + 4 * 9 - 2 + 2 * 8  # alpha = 0.5 has no boost-0 rows
    main(["demo", "--table", "gamma", "--gamma-n", "20000"])
    out = capsys.readouterr().out
    assert "rsvi_rep_only" in out and "acceptance" in out


def test_cli_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["estimate", "--scale", "-1"])
    assert e.value.code == 2
    assert "scale must be > 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["estimate", "--estimator", "nope"])
    assert e.value.code == 2
    with pytest.raises(SystemExit) as e:
        main(["estimate", "-n", "0"])
    assert e.value.code == 2


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "mcgrad.cli", "estimate", "-n", "1000", "--format", "csv"],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("estimator,component")


def test_gamma_estimate_from_the_cli(capsys):
    main(["estimate", "--dist", "gamma", "--concentration", "2.5", "--rate", "2", "--objective", "log",
          "--estimator", "rsvi", "--boost", "2", "-n", "2e5", "--format", "json"])
    (res,) = json.loads(capsys.readouterr().out)["results"]
    assert res["estimator"] == "rsvi[boost=2]"
    assert [c["name"] for c in res["components"]] == ["concentration", "rate"]
    assert 0.9 < res["diagnostics"]["acceptance_rate"] <= 1.0
    for comp in res["components"]:
        assert abs(comp["z"]) < 5 or comp["stderr"] == 0
    with pytest.raises(SystemExit) as e:
        main(["estimate", "--dist", "gamma", "--objective", "log", "--param", "2"])
    assert e.value.code == 2
    assert "takes no --param" in capsys.readouterr().err


def test_beta_and_dirichlet_from_the_cli(capsys):
    main(["compare", "--dist", "dirichlet", "--concentration", "1,2,3", "--objective", "log_component", "--param",
          "2", "--estimators", "rsvi,implicit,grep,score", "-n", "2e5", "--format", "json"])
    results = json.loads(capsys.readouterr().out)["results"]
    assert len(results) == 4
    for res in results:
        assert [c["name"] for c in res["components"]] == [f"concentration[{i}]" for i in range(3)]
        assert all(abs(c["z"]) < 5 for c in res["components"])
    with pytest.raises(SystemExit) as e:
        main(["estimate", "--dist", "beta", "--concentration", "1,2,3"])
    assert e.value.code == 2
    assert "'a,b'" in capsys.readouterr().err


def test_demo_toy_table(capsys):
    main(["demo", "--table", "toy", "-n", "200000"])
    out = capsys.readouterr().out
    assert "Toy example" in out and "rebar[temperature=0.5,eta=1]" in out and "gumbel_softmax[temperature=0.1]" in out


def test_discrete_estimate_and_compare(capsys):
    main(["estimate", "--dist", "categorical", "--logits", "0,1,2;0.5,0,0", "--objective", "one_hot_quadratic",
          "--param", "1", "--estimator", "rebar", "--temperature", "0.3", "--eta", "0.8", "-n", "1e5",
          "--format", "json"])
    (res,) = json.loads(capsys.readouterr().out)["results"]
    assert res["estimator"] == "rebar[temperature=0.3,eta=0.8]" and res["family"] == "categorical"
    assert [c["name"] for c in res["components"]][:2] == ["logits[0,0]", "logits[0,1]"]
    assert all(abs(c["z"]) < 5 for c in res["components"])
    main(["compare", "--dist", "bernoulli", "--probs", "0.3,0.6", "--estimators",
          "exact,disarm,gumbel_softmax:temperature=0.2", "-n", "1e5", "--format", "csv"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 + 3 * 2 and "probs[1]" in lines[-1]
    assert main(["estimate", "--dist", "bernoulli", "--estimator", "arm", "-n", "1e4"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["estimate", "--dist", "categorical", "--estimator", "arm", "-n", "1e4"])
    assert "does not apply to the categorical family" in capsys.readouterr().err


def test_optimise_and_the_sgd_demo_table(capsys):
    main(["demo", "--table", "optimisation"])
    out = capsys.readouterr().out
    assert "SGD example" in out and "grep[transform=2]" in out and "pathwise" in out
    main(["optimise", "--loc", "1", "--scale", "1", "--param", "1", "--estimator", "grep", "--transform", "2",
          "--steps", "200", "--format", "csv"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "estimator,step,loc,scale,loss,expected_loss,baseline" and len(lines) == 202
    main(["optimise", "--dist", "bernoulli", "--estimator", "rebar", "--steps", "300", "--lr", "1", "--every", "100"])
    out = capsys.readouterr().out
    assert "SGD with rebar" in out and "logits" in out
    with pytest.raises(SystemExit) as exc:
        main(["optimise", "--dist", "bernoulli", "--estimator", "exact"])
    assert exc.value.code == 2


def test_variance_reduced_estimators_from_the_cli(capsys):
    main(["compare", "--objective", "cos", "--estimators",
          "score_baseline,rloo:samples=3,score_delta:coefficient=estimated", "-n", "1e5", "--format", "csv"])
    out = capsys.readouterr().out
    assert "variance_reduction" in out.splitlines()[0] and "rloo[samples=3]" in out


def test_estimate_takes_any_option(capsys):
    main(["estimate", "--estimator", "score_baseline", "--option", "baseline=0.5", "--option", "pilot=1000",
          "-n", "1e5", "--format", "csv"])
    out = capsys.readouterr().out
    assert "score_baseline[baseline=0.5,pilot=1000]" in out
    with pytest.raises(SystemExit) as exc:
        main(["estimate", "--option", "baseline"])
    assert exc.value.code == 2


def test_option_values_parse_numbers_none_and_words():
    from mcgrad import cli

    assert cli._option_value("8") == 8 and cli._option_value("0.5") == 0.5
    assert cli._option_value("None") is None and cli._option_value("optimal") == "optimal"


def test_version_and_defaults_in_help(capsys):
    import mcgrad

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"mcgrad {mcgrad.__version__}"
    with pytest.raises(SystemExit):
        main(["optimise", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--learning-rate LR, --lr LR learning rate (default: 0.01)" in out and "(default: 2000)" in out


def test_one_grammar_for_estimator_options(capsys):
    main(["estimate", "--estimator", "grep:transform=2", "-n", "1e5", "--format", "csv"])
    by_colon = capsys.readouterr().out
    main(["estimate", "--estimator", "grep", "--transform", "2", "-n", "1e5", "--format", "csv"])
    by_flag = capsys.readouterr().out
    assert by_colon.splitlines()[1].startswith("grep[transform=2],loc,")
    assert [line.split(",")[:6] for line in by_colon.splitlines()] == [line.split(",")[:6] for line in
                                                                        by_flag.splitlines()]
    for argv, message in [(["estimate", "--estimator", "grep:transform=2", "--transform", "1"], "given twice"),
                          (["estimate", "--estimator", "grep:transform"], "KEY=VALUE")]:
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2 and message in capsys.readouterr().err
    main(["optimise", "--estimator", "grep:transform=2", "--steps", "30", "--learning-rate", "0.02",
          "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["schema"] == "mcgrad.trajectory/1"
    tr = doc["trajectory"]
    assert tr["estimator"] == "grep[transform=2]" and tr["settings"]["learning_rate"] == 0.02
    assert len(tr["parameters"]) == 31 and len(tr["loss"]) == 30


def test_compare_checkpoints_one_file_per_estimator(tmp_path, capsys):
    path = tmp_path / "run.npz"
    argv = ["compare", "--estimators", "score,pathwise", "-n", "2e5", "--checkpoint", str(path), "--format", "csv"]
    main(argv)
    first = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.0-score.npz", "run.1-pathwise.npz"]
    main(argv)  # a finished run loads from its checkpoints: the same numbers
    assert [line.split(",")[:6] for line in capsys.readouterr().out.splitlines()] == [
        line.split(",")[:6] for line in first.splitlines()]
    with pytest.raises(SystemExit) as e:
        main(["compare", "--estimators", "score,pathwise", "--loc", "0.1", "-n", "2e5", "--checkpoint", str(path)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "'loc': [0.0]" in err and "'loc': [0.1]" in err  # decimals, not hex floats


def test_a_closed_pipe_is_not_an_error():
    done = subprocess.run(f"{sys.executable} -m mcgrad.cli optimise --steps 3000 --format json | head -n 1",
                          shell=True, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "{" and "Traceback" not in done.stderr and "Error" not in done.stderr
