"""Fixtures for the TUI tests: tiny settings, one real tiny run per session, and fixed fakes for snapshots."""

from __future__ import annotations

from pathlib import Path

import pytest
from tuihelpers import RUN_ID, recorded_events

from digitsum.config import RunConfig

TINY = dict(train_size=256, val_size=64, epochs=2, batch_size=32, device="cpu", seed=0)


@pytest.fixture
def tiny_config(tmp_path: Path) -> RunConfig:
    return RunConfig(out=str(tmp_path / "checkpoints"), **TINY)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny run (best.pt, last.pt, metrics.jsonl), trained once per session, headless."""
    from digitsum.engine import Engine
    from digitsum.runlog import RunLog

    out = tmp_path_factory.mktemp("trained") / "checkpoints"
    log = RunLog()
    result = Engine(RunConfig(out=str(out), **TINY), subscribers=[log]).run()
    log.close()
    return result.run_dir


@pytest.fixture(scope="session")
def fixed_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `checkpoints/` folder with seeded, untrained weights and fixed metadata: byte-stable screens."""
    import torch

    from digitsum.checkpoints import save_checkpoint
    from digitsum.models import build_model

    root = tmp_path_factory.mktemp("fixed") / "checkpoints"
    history = [r for r in recorded_events() if r["event"] == "epoch"]
    for k, (run, epoch) in enumerate(((RUN_ID, 4), ("20260102-090000-seed", 2))):
        torch.manual_seed(k)
        model_name = run.rsplit("-", 1)[1]
        model = build_model(model_name)
        (root / run).mkdir(parents=True)
        for kind in ("best", "last"):
            save_checkpoint(
                {
                    "kind": kind,
                    "run_id": run,
                    "model": {"name": model_name, "kwargs": {}},
                    "state_dict": model.state_dict(),
                    "optimizer": {},
                    "epoch": epoch,
                    "metrics": history[epoch - 1],
                    "history": history[:epoch],
                    "data": {
                        "spec": "builtin",
                        "description": "builtin MNIST sample",
                        "train_size": 256,
                        "val_size": 64,
                    },
                    "seed": 0,
                    "config": {"model": model_name, **TINY},
                    "created": f"2026-01-0{k + 1}T12:0{kind == 'last'}:00+00:00",
                },
                root / run / f"{kind}.pt",
            )
    return root
