"""`--data mnist[:ROOT]`: the full MNIST through torchvision.datasets.MNIST, and one line when it cannot be had.

No test touches the network: IDX files are placed where torchvision looks (ROOT/MNIST/raw), and
the no-network case replaces torchvision's downloader with one that fails as a closed network does.
"""

from __future__ import annotations

from urllib.error import URLError

import numpy as np
import pytest

from digitsum.errors import BadInput
from digitsum.events import RunStarted
from digitsum.sources import open_source


@pytest.fixture
def mnist_root(tmp_path, write_idx, helpers):
    """A torchvision MNIST folder with 30 training and 20 test digits (bars whose brightness is the label)."""
    raw = tmp_path / "tv" / "MNIST" / "raw"
    train_labels, test_labels = np.arange(30) % 10, (np.arange(20) * 3) % 10
    write_idx(raw / "train-images-idx3-ubyte", helpers.tiny_digits(train_labels))
    write_idx(raw / "train-labels-idx1-ubyte", train_labels.astype(np.uint8))
    write_idx(raw / "t10k-images-idx3-ubyte", helpers.tiny_digits(test_labels))
    write_idx(raw / "t10k-labels-idx1-ubyte", test_labels.astype(np.uint8))
    return tmp_path / "tv", train_labels, test_labels


def test_mnist_with_a_root_reads_torchvisions_layout_without_downloading(mnist_root, monkeypatch):
    import torchvision.datasets.mnist as tv

    root, train_labels, test_labels = mnist_root
    monkeypatch.setattr(tv, "download_and_extract_archive", lambda *a, **k: pytest.fail("must not download"))
    pools = open_source(f"mnist:{root}")
    assert pools.train_digits.shape == (30, 28, 28) and pools.train_digits.dtype == np.uint8
    assert pools.train_labels.tolist() == train_labels.tolist()
    assert pools.val_labels.tolist() == test_labels.tolist()  # the test split is the validation pool
    assert "torchvision" in pools.description and "30 train / 20 test digits" in pools.description


def test_without_network_or_files_it_is_one_line_naming_builtin(tmp_path, monkeypatch):
    import torchvision.datasets.mnist as tv

    def offline(url, *args, **kwargs):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(tv, "download_and_extract_archive", offline)
    with pytest.raises(BadInput) as raised:
        open_source(f"mnist:{tmp_path / 'empty'}")
    message = str(raised.value)
    assert "\n" not in message and "could not be downloaded" in message and "--data builtin" in message


def test_a_run_on_mnist_trains_on_its_composites(mnist_root, make_config):
    from runkit import run_engine

    root, _, _ = mnist_root
    run = run_engine(make_config(data=f"mnist:{root}", epochs=1, train_size=64, val_size=32))
    assert run.result.history[0]["epoch"] == 1
    assert "MNIST via torchvision" in run.of(RunStarted)[0].data
