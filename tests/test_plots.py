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
