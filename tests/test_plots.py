"""Figures: files of the asked format, built from sweeps and SGD runs (matplotlib is in the test extra)."""

import pytest

import mcgrad
from mcgrad import plots
from mcgrad.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def test_variance_plot_from_a_sweep(tmp_path):
    frame = mcgrad.sweep(mcgrad.Normal, {"loc": 1.0, "scale": [0.5, 1.0, 2.0]}, "square", ["score", "pathwise"],
                         n=20_000)
    path = plots.plot_variance(frame, "scale", tmp_path / "v.png", title="x")
    assert open(path, "rb").read(8) == PNG


def test_mohamed_figure_and_its_frame(tmp_path):
    path, frame = plots.mohamed_variance_figure(tmp_path / "m.svg", ks=[0.5, 2.0], n=20_000)
    text = open(path).read()
    assert "<svg" in text
    assert len(frame) == 3 * 2 * 3 * 2  # objectives x k x estimators x components
    assert set(frame["f"]) == {"(x - k)^2", "exp(-k x^2)", "cos(k x)"}


def test_scale_collapse_figure(tmp_path):
    path, runs = plots.scale_collapse_figure(tmp_path / "sgd.png")
    assert open(path, "rb").read(8) == PNG and len(runs) == 4


def test_bad_paths_and_frames(tmp_path):
    with pytest.raises(ValueError, match=r"must end in one of \['.png', '.svg'\]"):
        plots.scale_collapse_figure(tmp_path / "sgd.jpg")
    frame = mcgrad.compare(mcgrad.Normal(0.0, 1.0), "square", ["score"], n=1000)
    with pytest.raises(ValueError, match="frame has no column 'scale'"):
        plots.plot_variance(frame, "scale", tmp_path / "v.png")


def test_plot_command(tmp_path, capsys):
    main(["plot", "optimisation", "--out", str(tmp_path / "o.svg")])
    assert "wrote" in capsys.readouterr().out and (tmp_path / "o.svg").exists()
    with pytest.raises(SystemExit):
        main(["plot", "variance", "--out", str(tmp_path / "o.gif")])


def _capture(monkeypatch):
    figures = []
    real = plots._save
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig) or real(fig, path))
    return figures


def test_an_option_sweep_plots_one_line_per_estimator_and_bias_and_mse(tmp_path, monkeypatch):
    import numpy as np

    figures = _capture(monkeypatch)
    toy = mcgrad.Bernoulli(logits=0.3)
    frame = mcgrad.temperature_sweep(toy, mcgrad.toy(0.45), [0.1, 0.3, 1.0, 3.0],
                                     ["gumbel_softmax", "straight_through"], n=20_000)
    for statistic in ("var", "bias", "mse"):
        plots.plot_variance(frame, "temperature", tmp_path / f"{statistic}.png", statistic=statistic)
        (ax,) = figures[-1].axes
        handles, labels = ax.get_legend_handles_labels()
        assert labels == ["gumbel_softmax", "straight_through"], "one series per estimator, not per temperature"
        for handle, label in zip(handles, labels, strict=True):
            line = handle.lines[0]  # an errorbar container: the data line, then the bars
            rows = frame[frame.estimator.str.startswith(label + "[")].sort_values("temperature")
            expected = np.abs(rows[statistic]) if statistic == "bias" else rows[statistic]
            np.testing.assert_array_equal(line.get_ydata(), expected.to_numpy())
            np.testing.assert_array_equal(line.get_xdata(), [0.1, 0.3, 1.0, 3.0])
    with pytest.raises(ValueError, match="statistic must be one of"):
        plots.plot_variance(frame, "temperature", tmp_path / "x.png", statistic="kurtosis")
    assert plots.series_label("rebar[temperature=0.5,eta=1]", "temperature") == "rebar[eta=1]"


def test_trajectories_are_measured_against_the_known_optimum(tmp_path, monkeypatch):
    import numpy as np

    figures = _capture(monkeypatch)
    path, runs = plots.scale_collapse_figure(tmp_path / "sgd.png")
    loss_axis = figures[-1].axes[1]
    assert loss_axis.get_ylabel() == "E[f] - min E[f]"
    for line, run in zip(loss_axis.get_lines(), runs, strict=True):
        gap = run.expected_loss - 1.0  # E[x^2 + 1] >= 1
        np.testing.assert_allclose(line.get_ydata(), np.maximum(gap, np.finfo(float).eps), rtol=0, atol=0)
