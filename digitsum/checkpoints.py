"""One-file checkpoints: written atomically, read without ever running code from the file."""

from __future__ import annotations

import os
import pickle
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from digitsum.errors import BadInput

FORMAT = "digitsum-checkpoint"
VERSION = 1


def save_checkpoint(payload: dict[str, Any], path: str | os.PathLike) -> Path:
    """Temp file in the same folder, fsync, os.replace: a crash leaves the old file intact."""
    import torch

    path = Path(path)
    payload = {"format": FORMAT, "version": VERSION, **payload}
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.chmod(tmp, 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as fh:
                torch.save(payload, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
    except OSError as exc:
        raise BadInput(f"{path}: cannot write checkpoint ({exc.strerror or exc})") from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load with weights_only=True (no code runs) and check it is a digitsum checkpoint we can read."""
    import torch

    path = Path(path)
    if not path.exists():
        raise BadInput(f"{path}: no such checkpoint")
    if not path.is_file():
        raise BadInput(f"{path}: expected a checkpoint file, found a folder")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+)", str(exc))
        if not found:  # garbage bytes fail in the same unpickler: corrupt, not hostile
            raise BadInput(
                f"{path}: not a readable checkpoint (truncated or corrupt: {_unpickler_detail(exc)})"
            ) from None
        raise BadInput(
            f"{path}: refused to load: it holds objects other than tensors and plain data ({found.group(1)[:120]})"
        ) from None
    except Exception as exc:  # torch.load fails on garbage in many ways (KeyError, struct.error, ...)
        raise BadInput(
            f"{path}: not a readable checkpoint (truncated or corrupt: {str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})"
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise BadInput(f"{path}: not a digitsum checkpoint (no '{FORMAT}' tag; a plain state dict?)")
    version = ckpt.get("version")
    if not isinstance(version, int):
        raise BadInput(f"{path}: digitsum checkpoint has no format version")
    if version > VERSION:
        raise BadInput(f"{path}: checkpoint format version {version!r} is newer than this digitsum reads ({VERSION})")
    for key in ("model", "state_dict", "epoch"):
        if key not in ckpt:
            raise BadInput(f"{path}: digitsum checkpoint lacks '{key}'")
    if not isinstance(ckpt["model"], dict) or not isinstance(ckpt["model"].get("name"), str):
        raise BadInput(f"{path}: digitsum checkpoint has no model name (found model {str(ckpt['model'])[:60]!r})")
    return ckpt


def _unpickler_detail(exc: Exception) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if "Unsupported" in ln or "load key" in ln]
    return (lines[0].removeprefix("WeightsUnpickler error: ") if lines else type(exc).__name__)[:120]


def model_from_checkpoint(ckpt: dict[str, Any], path: str | os.PathLike = "checkpoint"):
    """Rebuild the network from the name and arguments the checkpoint records."""
    from digitsum.models import build_model

    spec = ckpt["model"]
    try:
        model = build_model(spec.get("name", "?"), spec.get("kwargs") or {})
    except BadInput as exc:
        raise BadInput(f"{path}: {exc}") from None
    except (TypeError, ValueError, RuntimeError) as exc:
        raise BadInput(
            f"{path}: cannot build model {spec.get('name')!r} from its recorded arguments ({str(exc)[:120]})"
        ) from None
    try:
        model.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, KeyError, TypeError) as exc:
        raise BadInput(
            f"{path}: weights do not fit model {spec.get('name')!r} ({str(exc).splitlines()[0][:120]})"
        ) from None
    return model.eval()


@dataclass(frozen=True)
class CheckpointInfo:
    """One row of the checkpoint browser / `digitsum checkpoints`."""

    path: str
    run: str
    model: str
    epoch: int
    val_loss: float | None
    round_acc: float | None
    mae: float | None
    created: str
    kind: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def describe(path: Path, ckpt: dict[str, Any]) -> CheckpointInfo:
    metrics = ckpt.get("metrics") or {}
    return CheckpointInfo(
        path=str(path),
        run=str(ckpt.get("run_id") or path.parent.name),
        model=str(ckpt["model"].get("name", "?")),
        epoch=int(ckpt.get("epoch", 0)),
        val_loss=metrics.get("val_loss"),
        round_acc=metrics.get("round_acc"),
        mae=metrics.get("mae"),
        created=str(ckpt.get("created", "")),
        kind=str(ckpt.get("kind", "")),
    )


def list_checkpoints(root: str | os.PathLike = "checkpoints") -> list[CheckpointInfo]:
    """Every readable checkpoint under `root`, newest first; unreadable files are skipped."""
    root = Path(root)
    if not root.is_dir():
        raise BadInput(f"{root}: no such checkpoint folder")
    rows = []
    for path in sorted(root.rglob("*.pt")):
        try:
            rows.append(describe(path, load_checkpoint(path)))
        except BadInput:
            continue
    return sorted(rows, key=lambda r: (r.created, r.path), reverse=True)
