"""Shared fixtures for the core unit tests: tiny runs, assignment folders, IDX files, engine threads.

Nothing here is autouse: other test folders share this conftest and must not pay for it.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from runkit import TINY, FinishedRun, run_engine, tiny_config  # noqa: F401 - shared with the test modules


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> FinishedRun:
    """One finished 2-epoch run (seed 0, CPU, fp32). Read it; copy it before changing anything."""
    from digitsum.runlog import RunLog

    log = RunLog()
    try:
        return run_engine(tiny_config(tmp_path_factory.mktemp("tiny_run")), extra_subscribers=[log])
    finally:
        log.close()


@pytest.fixture(scope="session")
def stopped_after_epoch_1(tmp_path_factory) -> FinishedRun:
    """The same run as `tiny_run`, stopped from a subscriber right after epoch 1 ended."""
    from digitsum.control import Control
    from digitsum.events import EpochEnd
    from digitsum.runlog import RunLog

    control = Control()

    def stop_after_first_epoch(event) -> None:
        if isinstance(event, EpochEnd) and event.epoch == 1:
            control.stop()

    log = RunLog()
    try:
        return run_engine(
            tiny_config(tmp_path_factory.mktemp("stopped_run")),
            control=control,
            extra_subscribers=[stop_after_first_epoch, log],
        )
    finally:
        log.close()


@pytest.fixture
def make_config(tmp_path) -> Callable[..., Any]:
    """`make_config(**overrides)`: the tiny RunConfig writing under this test's tmp_path."""
    return lambda **overrides: tiny_config(tmp_path / "runs", **overrides)


# --- data files -------------------------------------------------------------------------------
def random_images(n: int, seed: int = 0) -> np.ndarray:
    """(n,40,168) uint8 images using the full 0-255 range (so 0-255 floats are never mistaken for 0-1)."""
    images = np.random.default_rng(seed).integers(0, 256, size=(n, 40, 168), dtype=np.uint8)
    images[:, 0, 0] = 255
    return images


def save_npy(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, array, allow_pickle=array.dtype == object)
    return path


@pytest.fixture
def write_assignment() -> Callable[..., tuple[Path, Path]]:
    """`write_assignment(folder, images, labels, index=0)` writes dataK.npy / labK.npy as given."""

    def write(folder: Path, images: np.ndarray, labels: np.ndarray, index: int = 0) -> tuple[Path, Path]:
        return save_npy(folder / f"data{index}.npy", images), save_npy(folder / f"lab{index}.npy", labels)

    return write


def idx_bytes(array: np.ndarray) -> bytes:
    """An unsigned-byte IDX file: magic 0,0,8,ndim, big-endian dims, then the bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    dims = b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return bytes([0, 0, 0x08, array.ndim]) + dims + array.tobytes()


@pytest.fixture
def write_idx() -> Callable[..., Path]:
    """`write_idx(path, array, gz=False)` writes an IDX file (gzipped when gz, adding '.gz')."""

    def write(path: Path, array: np.ndarray, gz: bool = False) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = idx_bytes(array)
        if gz:
            path = path.with_name(path.name + ".gz")
            raw = gzip.compress(raw)
        path.write_bytes(raw)
        return path

    return write


def tiny_digits(labels: np.ndarray) -> np.ndarray:
    """28x28 'digits': a 10x4 bar whose brightness encodes the label (label k -> 20*(k+1))."""
    labels = np.asarray(labels)
    digits = np.zeros((len(labels), 28, 28), dtype=np.uint8)
    digits[:, 9:19, 12:16] = (20 * (labels + 1)).astype(np.uint8)[:, None, None]
    return digits


# --- an engine in a second thread -------------------------------------------------------------
class EngineThread:
    """Runs an Engine in a worker thread; a gate holds the worker at one BatchEnd until released."""

    def __init__(self, config, control, gate_at: tuple[int, int] | None = (1, 2)) -> None:
        from digitsum.engine import Engine

        self.events: list = []
        self.batch_ends = 0
        self.lock = threading.Lock()
        self.gate_at = gate_at
        self.at_gate = threading.Event()
        self.release = threading.Event()
        self.paused = threading.Event()
        self.result = None
        self.error: BaseException | None = None
        self.engine = Engine(config, control=control, subscribers=[self._on_event])
        self.thread = threading.Thread(target=self._target, daemon=True)

    def _on_event(self, event) -> None:
        from digitsum.events import BatchEnd, Paused

        with self.lock:
            self.events.append(event)
            if isinstance(event, BatchEnd):
                self.batch_ends += 1
        if isinstance(event, Paused):
            self.paused.set()
        if isinstance(event, BatchEnd) and (event.epoch, event.batch) == self.gate_at:
            self.at_gate.set()
            assert self.release.wait(30), "the test never released the engine"

    def _target(self) -> None:
        try:
            self.result = self.engine.run()
        except BaseException as exc:  # handed to the test thread
            self.error = exc

    def start(self) -> EngineThread:
        self.thread.start()
        return self

    def wait_at_gate(self, timeout: float = 60) -> None:
        assert self.at_gate.wait(timeout), "the engine never reached the gate batch"

    def join(self, timeout: float = 120):
        self.release.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the engine thread did not finish"
        if self.error is not None:
            raise self.error
        return self.result

    def count(self) -> int:
        with self.lock:
            return self.batch_ends

    def of(self, cls) -> list:
        with self.lock:
            return [e for e in self.events if isinstance(e, cls)]


@pytest.fixture
def engine_thread():
    """`engine_thread(config, control, gate_at=(epoch, batch))`: started EngineThreads, joined at teardown."""
    started: list[EngineThread] = []

    def start(config, control, gate_at=(1, 2)) -> EngineThread:
        worker = EngineThread(config, control, gate_at).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:  # never leave a worker blocked behind a failed assertion
        worker.release.set()
        worker.engine.control.stop()
        worker.thread.join(60)


@pytest.fixture(scope="session")
def helpers() -> SimpleNamespace:
    """The plain helpers above, for test modules (importing `conftest` by name is ambiguous here)."""
    return SimpleNamespace(
        random_images=random_images,
        save_npy=save_npy,
        idx_bytes=idx_bytes,
        tiny_digits=tiny_digits,
        tiny_config=tiny_config,
        run_engine=run_engine,
        TINY=TINY,
    )


def pytest_terminal_summary(terminalreporter, config) -> None:
    """Say which random order ran (pytest-randomly), so a failure that depends on it can be replayed."""
    seed = getattr(config.option, "randomly_seed", None)
    if seed is not None:
        terminalreporter.write_line(f"random test order: replay it with python3 -m pytest --randomly-seed={seed}")
