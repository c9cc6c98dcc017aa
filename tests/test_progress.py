"""Progress bars: drawn in samples after a delay, off in pipes unless asked for, off with the flag."""

import io

import mcgrad
from mcgrad import engine
from mcgrad.cli import main


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bar_counts_the_samples_of_the_block_range():
    out = Terminal()
    update, bar = engine.progress_bar((2, 10), 1000, 9500, None, file=out, delay=0.0)
    for _ in range(4):
        update(2)
    assert bar.n == 9500 - 2000 and bar.total == 7500
    bar.close()
    assert "samples" in out.getvalue()


def test_no_bar_in_a_pipe_or_when_switched_off():
    assert engine.progress_bar((0, 4), 10, 40, None, file=io.StringIO()) == (None, None)
    assert engine.progress_bar((0, 4), 10, 40, False, file=Terminal()) == (None, None)
    update, bar = engine.progress_bar((0, 4), 10, 40, True, file=io.StringIO())
    assert bar is not None
    bar.close()


def test_estimate_and_cli_stay_silent_when_not_on_a_terminal(capsys):
    mcgrad.estimate(mcgrad.Normal(0.0, 1.0), "square", "score", 200_000)
    main(["estimate", "-n", "1e5", "--no-progress"])
    assert capsys.readouterr().err == ""
