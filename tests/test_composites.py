"""The composite generator (assignment geometry) and the train/validation bundle built from it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from digitsum import composites, data
from digitsum.composites import compose
from digitsum.sources import DigitPools

N = 200


@pytest.fixture
def label_pool(helpers):
    """Ten digits, one per class, each a 10x4 bar whose brightness 20*(k+1) identifies its label k."""
    labels = np.arange(10)
    return helpers.tiny_digits(labels), labels


def labels_read_back(image: np.ndarray) -> int:
    """The sum of the bars of `label_pool` in one composite: every bar is 4 columns of one brightness."""
    column_values = image.max(axis=0)
    bars = column_values[column_values > 0].astype(int) // 20 - 1
    assert len(bars) % 4 == 0
    return int(bars.sum()) // 4


# --- geometry ---------------------------------------------------------------------------------
def test_composites_are_uint8_images_of_40_by_168_with_int64_sums(label_pool):
    images, sums = compose(*label_pool, 7, np.random.default_rng(0))
    assert images.shape == (7, 40, 168) and images.dtype == np.uint8
    assert sums.shape == (7,) and sums.dtype == np.int64


def test_a_single_class_pool_of_sevens_always_sums_to_28(helpers):
    sevens = np.full(30, 7)
    _, sums = compose(helpers.tiny_digits(sevens), sevens, N, np.random.default_rng(1))
    assert (sums == 28).all()


def test_each_sum_is_the_sum_of_the_four_digits_drawn_into_the_image(label_pool):
    images, sums = compose(*label_pool, N, np.random.default_rng(2))
    assert [labels_read_back(img) for img in images] == sums.tolist()
    assert len(set(sums.tolist())) > 10  # many different sums, not one repeated value


def test_every_image_shows_exactly_four_digits_without_overlap(label_pool):
    images, _ = compose(*label_pool, N, np.random.default_rng(3))
    lit_columns = (images > 0).any(axis=1).sum(axis=1)
    assert (lit_columns == 16).all()  # four 4-px-wide bars, none hidden under another


def test_first_digit_starts_at_x_between_5_and_15(label_pool):
    images, _ = compose(*label_pool, N, np.random.default_rng(4))
    first_x = (images > 0).any(axis=1).argmax(axis=1)
    assert first_x.min() == 5 and first_x.max() == 15


def test_first_digit_of_real_mnist_digits_starts_at_x_between_5_and_15_after_cropping():
    from digitsum.sources import builtin_pools

    pools = builtin_pools()
    images, _ = compose(pools.val_digits, pools.val_labels, N, np.random.default_rng(5))
    first_x = (images > 0).any(axis=1).argmax(axis=1)
    assert 5 <= first_x.min() and first_x.max() <= 15


def test_gaps_between_digits_are_at_most_30_px(label_pool):
    images, _ = compose(*label_pool, N, np.random.default_rng(6))
    for img in images:
        lit = np.flatnonzero((img > 0).any(axis=0))
        gaps = np.diff(lit) - 1
        assert gaps.max() <= 30


def test_digits_are_placed_at_varying_heights(label_pool):
    images, _ = compose(*label_pool, N, np.random.default_rng(7))
    tops = (images > 0).any(axis=2).argmax(axis=1)
    assert len(set(tops.tolist())) > 5
    assert ((images > 0).any(axis=2).sum(axis=1) >= 10).all()  # the 10-px-tall bars are never cut


def test_composites_are_deterministic_for_an_rng_seed(label_pool):
    a = compose(*label_pool, 20, np.random.default_rng(8))
    b = compose(*label_pool, 20, np.random.default_rng(8))
    c = compose(*label_pool, 20, np.random.default_rng(9))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


# --- augmentation -----------------------------------------------------------------------------
def test_augmentation_changes_the_pixels(label_pool):
    plain, _ = compose(*label_pool, 20, np.random.default_rng(10))
    augmented, _ = compose(*label_pool, 20, np.random.default_rng(10), augment=True)
    assert augmented.shape == plain.shape and augmented.dtype == np.uint8
    assert not np.array_equal(plain, augmented)
    assert len(np.unique(augmented)) > len(np.unique(plain))  # interpolation makes new grey levels


@pytest.mark.parametrize("label", [0, 7, 9])
def test_augmentation_keeps_the_sums(helpers, label):
    labels = np.full(25, label)
    _, sums = compose(helpers.tiny_digits(labels), labels, N, np.random.default_rng(11), augment=True)
    assert (sums == 4 * label).all()


def test_augment_digits_bends_each_digit_separately_and_keeps_every_digit_visible(label_pool):
    digits, _ = label_pool
    out = composites.augment_digits(digits, np.random.default_rng(12))
    assert len(out) == 10 and out.dtype == np.uint8
    assert out.shape[1] == out.shape[2] >= 28  # a square canvas at least as large as the digit
    assert (out.reshape(10, -1).max(axis=1) > 0).all()  # no digit vanishes
    # the ten bars had the same shape; after independent random bends, no two masks coincide
    masks = {(o > 0).tobytes() for o in out}
    assert len(masks) == 10


# --- the bundle the engine trains on ----------------------------------------------------------
def test_builtin_data_is_deterministic_for_a_seed_and_differs_between_seeds():
    a = data.load_data("builtin", seed=0, train_size=32, val_size=16)
    b = data.load_data("builtin", seed=0, train_size=32, val_size=16)
    c = data.load_data("builtin", seed=1, train_size=32, val_size=16)
    np.testing.assert_array_equal(a.train_images, b.train_images)
    np.testing.assert_array_equal(a.val_images, b.val_images)
    np.testing.assert_array_equal(a.train_sums, b.train_sums)
    assert not np.array_equal(a.train_images, c.train_images)
    assert a.train_images.shape == (32, 40, 168) and a.val_images.shape == (16, 40, 168)


@pytest.fixture
def marked_pools(monkeypatch):
    """A digit source whose train digits are all brightness 100 and val digits all 200."""
    labels = np.arange(20) % 10
    train = np.zeros((20, 28, 28), np.uint8)
    train[:, 8:20, 10:18] = 100
    val = np.where(train > 0, 200, 0).astype(np.uint8)
    pools = DigitPools(train, labels, val, labels, "marked pools")
    monkeypatch.setattr(data, "open_source", lambda spec: pools)
    return pools


@pytest.mark.parametrize("augment", [False, True])
def test_train_images_come_only_from_the_train_pool_and_val_images_only_from_the_val_pool(marked_pools, augment):
    bundle = data.load_data("marked", seed=0, train_size=40, val_size=40, augment=augment, fresh_each_epoch=True)
    assert 0 < bundle.train_images.max() <= 100
    assert 0 < bundle.train_for_epoch(2)[0].max() <= 100
    assert set(np.unique(bundle.val_images).tolist()) == {0, 200}  # never augmented either


def test_train_for_epoch_1_is_the_fixed_training_set(marked_pools):
    bundle = data.load_data("marked", seed=3, train_size=16, val_size=8, fresh_each_epoch=True)
    images, sums = bundle.train_for_epoch(1)
    assert images is bundle.train_images and sums is bundle.train_sums


def test_fresh_composites_each_epoch_differ_per_epoch_and_repeat_per_seed_and_epoch(marked_pools):
    a = data.load_data("marked", seed=3, train_size=16, val_size=8, fresh_each_epoch=True)
    b = data.load_data("marked", seed=3, train_size=16, val_size=8, fresh_each_epoch=True)
    epoch2, sums2 = a.train_for_epoch(2)
    assert epoch2.shape == a.train_images.shape and len(sums2) == 16
    assert not np.array_equal(epoch2, a.train_images)
    assert not np.array_equal(epoch2, a.train_for_epoch(3)[0])
    np.testing.assert_array_equal(epoch2, b.train_for_epoch(2)[0])
    np.testing.assert_array_equal(sums2, b.train_for_epoch(2)[1])


def test_without_fresh_composites_every_epoch_reuses_the_fixed_set(marked_pools):
    bundle = data.load_data("marked", seed=3, train_size=16, val_size=8, fresh_each_epoch=False)
    assert bundle.train_for_epoch(5)[0] is bundle.train_images


def test_assignment_folder_is_split_80_20_disjointly_and_reproducibly(tmp_path, write_assignment):
    images = np.zeros((10, 40, 168), np.uint8)
    images[:, 0, 0] = np.arange(10)  # each image carries its own index
    write_assignment(tmp_path, images, np.arange(10) + 20)

    a = data.load_data(str(tmp_path), seed=4)
    b = data.load_data(str(tmp_path), seed=4)

    train_ids, val_ids = a.train_images[:, 0, 0].tolist(), a.val_images[:, 0, 0].tolist()
    assert len(train_ids) == 8 and len(val_ids) == 2
    assert sorted(train_ids + val_ids) == list(range(10))
    assert (a.train_sums == a.train_images[:, 0, 0] + 20).all()  # labels travel with their images
    np.testing.assert_array_equal(a.val_images, b.val_images)
    assert a.train_for_epoch(2)[0] is a.train_images  # ready-made images are never redrawn


def test_eval_set_of_an_assignment_folder_is_every_image(tmp_path, write_assignment):
    write_assignment(tmp_path, np.zeros((10, 40, 168), np.uint8), np.arange(10))
    images, sums, description = data.load_eval_set(str(tmp_path))
    assert len(images) == 10 and sums.tolist() == list(range(10))
    assert "all images" in description


def test_normalize_maps_0_to_minus_1_and_255_to_1_with_a_channel_axis():
    batch = torch.tensor([[[0, 255], [51, 204]]], dtype=torch.uint8)
    x = data.normalize(batch)
    assert x.shape == (1, 1, 2, 2) and x.dtype == torch.float32
    torch.testing.assert_close(x[0, 0], torch.tensor([[-1.0, 1.0], [-0.6, 0.6]]))
