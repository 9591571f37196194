"""`digitsum-tui` on the command line: quick help, one-line errors with exit 2, a real terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digitsum.config import RunConfig
from tui.app import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--lr", "abc"], "invalid float value"),
        (["--model", "nosuch"], "unknown model 'nosuch'"),
        (["--attach", "/nonexistent/run"], "no such run folder"),
        (["--resume", "/nonexistent/last.pt"], "no such checkpoint file"),
        (["--attach", ".", "--browse"], "not allowed with argument"),
    ],
)
def test_bad_options_print_one_line_and_exit_2(argv, says, capsys):
    with pytest.raises(SystemExit) as stop:
        code = main(argv)
        raise SystemExit(code)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert says in err and err.count("\n") == 1, err


def test_help_is_quick_and_does_not_import_torch():
    probe = "import sys; from tui.app import build_parser; build_parser().format_help(); print('torch' in sys.modules)"
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
    assert time.monotonic() - started < 10
    help_text = subprocess.run(
        [sys.executable, "-m", "tui.app", "--help"], capture_output=True, text=True, cwd=ROOT
    ).stdout
    for option in (
        "--data",
        "--model",
        "--epochs",
        "--batch-size",
        "--lr",
        "--seed",
        "--device",
        "--out",
        "--train-size",
        "--val-size",
        "--resume",
        "--attach",
        "--browse",
    ):
        assert option in help_text


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def _wait_for_pane(session: str, text: str, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pane = _tmux("capture-pane", "-p", "-t", session)
        if text in pane:
            return pane
        time.sleep(0.3)
    raise AssertionError(f"{text!r} never appeared on screen; last screen:\n{pane}")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_real_terminal_pause_resume_quit_through_tmux(tmp_path):
    session = f"digitsum-tui-test-{os.getpid()}"
    status = tmp_path / "status"
    command = (
        f"{sys.executable} -m tui.app --train-size 1024 --val-size 64 --epochs 3 --batch-size 32 "
        f"--device cpu --out {tmp_path / 'checkpoints'}; echo $? > {status}"
    )
    _tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", "-c", str(ROOT), command)
    try:
        _wait_for_pane(session, "TRAINING")
        _tmux("send-keys", "-t", session, "p")
        pane = _wait_for_pane(session, "PAUSED")
        assert "p Pause" in pane and "q Quit" in pane, "the footer shows the keys"
        _tmux("send-keys", "-t", session, "r")
        _wait_for_pane(session, "TRAINING")
        _tmux("send-keys", "-t", session, "q")
        _wait_for_pane(session, "Stop it and quit?")
        _tmux("send-keys", "-t", session, "y")
        deadline = time.monotonic() + 60
        while not status.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status.read_text().strip() == "0"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    (run_dir,) = (tmp_path / "checkpoints").iterdir()
    assert (run_dir / "last.pt").exists()


def test_every_run_option_is_a_tui_option_with_the_same_default():
    """`digitsum run --help` and `digitsum-tui` share one list of options (RunConfig's fields)."""
    import re

    from typer.testing import CliRunner

    from digitsum.cli import app as cli_app
    from tui.app import build_parser

    shown = CliRunner().invoke(cli_app, ["run", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"}).output
    options = set(re.findall(r"(--[a-z][a-z-]+)", shown)) - {"--json", "--help"}
    assert {"--budget", "--precision", "--loss", "--weight-decay", "--notify", "--patience"} <= options
    parser = build_parser()
    tui_defaults = {a.option_strings[-1]: a.default for a in parser._actions if a.option_strings}
    run_defaults = {f"--{name.replace('_', '-')}": value for name, value in RunConfig().to_dict().items()}
    for option in options:
        assert option in tui_defaults, f"digitsum-tui lacks {option}"
        assert tui_defaults[option] == run_defaults[option], option
    parsed = parser.parse_args(["--budget", "3", "--precision", "fp32", "--loss", "mse", "--notify", "off"])
    assert (parsed.budget, parsed.precision, parsed.loss, parsed.notify) == (3.0, "fp32", "mse", "off")
