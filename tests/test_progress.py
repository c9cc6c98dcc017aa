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


def test_long_compiles_are_announced_while_they_run(monkeypatch):
    import time

    import numba
    from numba import types

    @numba.njit
    def tiny(x):
        return x + 1.0

    def slow_make():
        time.sleep(0.3)  # stands in for a long compile
        return tiny

    told = []
    monkeypatch.setattr(engine, "COMPILE_NOTICE_AFTER", 0.05)
    monkeypatch.setattr(engine, "compile_notice", told.append)
    compiled = engine.compiled(("test", "slow"), slow_make, types.float64(types.float64), "tiny test kernel")
    assert compiled(1.0) == 2.0 and told == ["tiny test kernel"]
    monkeypatch.setattr(engine, "COMPILE_NOTICE_AFTER", 5.0)
    engine.compiled(("test", "quick"), lambda: tiny, types.float64(types.float64), "quick one")
    assert told == ["tiny test kernel"], "a quick compile (or a cache load) says nothing"


def test_cli_compile_notice_goes_to_stderr(capsys):
    from mcgrad import cli

    cli._compile_notice("normal pathwise block function")
    assert "compiling the normal pathwise block function" in capsys.readouterr().err
