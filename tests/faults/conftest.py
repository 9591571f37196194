"""Fixtures of the fault-injection suite (tests/faults)."""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """The suite shares 2 CPU cores with other work: one intra-op thread wastes no time spinning.

    Per test, and put back after it, so tests elsewhere run with the thread count they would alone."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """Call digitsum.cli.main(argv) in-process (same code path as the console script, minus the start-up)
    and return exit code, stdout and stderr. Signal handlers that `run` installs are put back afterwards."""
    from digitsum import cli as cli_module

    monkeypatch.chdir(tmp_path)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def call(*args) -> CliResult:
        capsys.readouterr()
        try:
            code = cli_module.main([str(a) for a in args])
        finally:
            for sig, handler in saved.items():
                signal.signal(sig, handler)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return call
