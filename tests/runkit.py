"""Tiny real runs for the core tests: importable by name (a module, not `conftest`, which three folders have)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The brief's tiny run: 8 batches per epoch, 2 epochs, CPU and fp32 so that it is reproducible.
TINY = dict(train_size=256, val_size=64, epochs=2, batch_size=32, device="cpu", precision="fp32", seed=0)


def tiny_config(out: Path, **overrides: Any):
    from digitsum.config import RunConfig

    return RunConfig(**{**TINY, "out": str(out), **overrides})


@dataclass
class FinishedRun:
    """A run that has ended, with every event it emitted."""

    config: Any
    result: Any
    events: list = field(default_factory=list)

    @property
    def run_dir(self) -> Path:
        return Path(self.result.run_dir)

    def of(self, cls) -> list:
        return [e for e in self.events if isinstance(e, cls)]


def run_engine(config, control=None, extra_subscribers=()) -> FinishedRun:
    from digitsum.engine import Engine

    events: list = []
    engine = Engine(config, control=control, subscribers=[events.append, *extra_subscribers])
    result = engine.run()
    return FinishedRun(config, result, events)
