"""The composite generator (assignment geometry) and the train/validation bundle built from it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from reference_composer import _paste_row

from digitsum import composites, data
from digitsum.composites import generator_for
from digitsum.sources import DigitPools

N = 200
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def as_pool(digits: np.ndarray, labels: np.ndarray, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    return torch.from_numpy(digits).to(device), torch.from_numpy(np.asarray(labels, np.int64)).to(device)


def compose(digits, labels, count: int, seed: int, augment: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The torch composer on the CPU, seeded with (seed,), returning numpy arrays for the checks below."""
    images, sums = composites.compose(*as_pool(digits, labels), count, generator_for((seed,)), augment=augment)
    return images.numpy(), sums.numpy()


def repainted(layout) -> np.ndarray:
    """The images the old numpy painter (`_paste_row`, one image at a time) makes from `layout`'s draws."""
    images = np.zeros((len(layout.picks), 40, 168), np.uint8)
    for i in range(len(images)):
        digits = layout.digits[layout.picks[i]].cpu().numpy()
        args = (layout.boxes[i], layout.first_x[i], layout.gaps[i], layout.jitter[i])
        boxes, first_x, gaps, jitter = (a.cpu().numpy() for a in args)
        _paste_row(images[i], digits, boxes, int(first_x), gaps, jitter)
    return images


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
    images, sums = compose(*label_pool, 7, 0)
    assert images.shape == (7, 40, 168) and images.dtype == np.uint8
    assert sums.shape == (7,) and sums.dtype == np.int64


def test_a_single_class_pool_of_sevens_always_sums_to_28(helpers):
    sevens = np.full(30, 7)
    _, sums = compose(helpers.tiny_digits(sevens), sevens, N, 1)
    assert (sums == 28).all()


def test_each_sum_is_the_sum_of_the_four_digits_drawn_into_the_image(label_pool):
    images, sums = compose(*label_pool, N, 2)
    assert [labels_read_back(img) for img in images] == sums.tolist()
    assert len(set(sums.tolist())) > 10  # many different sums, not one repeated value


def test_every_image_shows_exactly_four_digits_without_overlap(label_pool):
    images, _ = compose(*label_pool, N, 3)
    lit_columns = (images > 0).any(axis=1).sum(axis=1)
    assert (lit_columns == 16).all()  # four 4-px-wide bars, none hidden under another


def test_first_digit_starts_at_x_between_5_and_15(label_pool):
    images, _ = compose(*label_pool, N, 4)
    first_x = (images > 0).any(axis=1).argmax(axis=1)
    assert first_x.min() == 5 and first_x.max() == 15


def test_first_digit_of_real_mnist_digits_starts_at_x_between_5_and_15_after_cropping():
    from digitsum.sources import builtin_pools

    pools = builtin_pools()
    images, _ = compose(pools.val_digits, pools.val_labels, N, 5)
    first_x = (images > 0).any(axis=1).argmax(axis=1)
    assert 5 <= first_x.min() and first_x.max() <= 15


def test_gaps_between_digits_are_at_most_30_px(label_pool):
    images, _ = compose(*label_pool, N, 6)
    for img in images:
        lit = np.flatnonzero((img > 0).any(axis=0))
        gaps = np.diff(lit) - 1
        assert gaps.max() <= 30


def test_digits_are_placed_at_varying_heights(label_pool):
    images, _ = compose(*label_pool, N, 7)
    tops = (images > 0).any(axis=2).argmax(axis=1)
    assert len(set(tops.tolist())) > 5
    assert ((images > 0).any(axis=2).sum(axis=1) >= 10).all()  # the 10-px-tall bars are never cut


def test_composites_are_deterministic_for_a_generator_seed(label_pool):
    a = compose(*label_pool, 20, 8)
    b = compose(*label_pool, 20, 8)
    c = compose(*label_pool, 20, 9)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("augment", [False, True])
def test_same_seed_parts_give_identical_composites_and_another_epoch_different_ones(augment):
    from digitsum.sources import builtin_pools

    pool = as_pool(builtin_pools().train_digits[:500], builtin_pools().train_labels[:500])
    a = composites.compose(*pool, 64, generator_for((3, 2, 1)), augment=augment)
    b = composites.compose(*pool, 64, generator_for((3, 2, 1)), augment=augment)
    c = composites.compose(*pool, 64, generator_for((3, 3, 1)), augment=augment)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_generator_for_is_a_function_of_the_seed_parts_and_of_their_order():
    def first_draws(parts):
        return torch.randint(0, 2**62, (4,), generator=generator_for(parts)).tolist()

    assert first_draws((0, 1, 1)) == first_draws([0, 1, 1])
    assert len({tuple(first_draws(p)) for p in [(0, 1, 1), (0, 2, 1), (1, 1, 0), (0, 1, 2), (0,)]}) == 5
    assert 0 <= generator_for((5, 7)).initial_seed() < 2**63


def test_composites_are_uint8_tensors_on_the_pools_device_with_int64_sums(label_pool):
    images, sums = composites.compose(*as_pool(*label_pool), 5, generator_for((0,)))
    assert isinstance(images, torch.Tensor) and images.shape == (5, 40, 168) and images.dtype == torch.uint8
    assert isinstance(sums, torch.Tensor) and sums.shape == (5,) and sums.dtype == torch.int64
    assert images.device.type == sums.device.type == "cpu"


@pytest.mark.parametrize("augment", [False, True])
def test_images_are_what_the_old_per_image_painter_makes_from_the_same_draws(augment):
    from digitsum.sources import builtin_pools

    pools = builtin_pools()
    digits, labels = as_pool(pools.val_digits, pools.val_labels)
    images, sums, layout = composites.compose(
        digits, labels, N, generator_for((13,)), augment=augment, return_layout=True
    )
    np.testing.assert_array_equal(images.numpy(), repainted(layout))
    assert torch.equal(sums, labels.repeat(len(layout.digits) // len(digits))[layout.picks].sum(dim=1))


@pytest.mark.parametrize("augment", [False, True])
def test_layout_shrinks_gaps_that_would_not_fit_exactly_as_the_old_painter(augment):
    wide = np.zeros((4, 28, 28), np.uint8)
    wide[:, 5:20, :] = 200  # 28 px wide: 4 digits + first x + 90 px of gaps cannot fit in 168
    images, _, layout = composites.compose(
        *as_pool(wide, np.arange(4)), N, generator_for((14,)), augment=augment, return_layout=True
    )
    np.testing.assert_array_equal(images.numpy(), repainted(layout))
    right = layout.x + (layout.boxes[..., 3] - layout.boxes[..., 2])
    assert (right <= 168).all() and (layout.x[:, 1:] >= right[:, :-1]).all()  # fitted, never overlapping


def test_digits_too_wide_to_fit_overlap_and_keep_the_brighter_pixel_as_in_the_old_painter():
    wide = np.zeros((3, 50, 60), np.uint8)  # 60 px wide: four never fit in 168, and 50 rows are cut to 40
    for k, value in enumerate([80, 160, 240]):
        wide[k, 2:48, 3:57] = value
        wide[k, 10:12, :] = 255 - value  # a stripe of another brightness, crossing a neighbour's body
    images, _, layout = composites.compose(*as_pool(wide, np.arange(3)), N, generator_for((17,)), return_layout=True)
    np.testing.assert_array_equal(images.numpy(), repainted(layout))
    right = layout.x + (layout.boxes[..., 3] - layout.boxes[..., 2])
    assert (layout.x[:, 1:] < right[:, :-1]).any()  # they do overlap
    assert (images.numpy() == 240).any() and (right <= 168).all()


def test_a_blank_digit_keeps_a_1x1_box_and_takes_its_place_in_the_row():
    digits = np.zeros((2, 28, 28), np.uint8)
    digits[1, 10:20, 10:14] = 90
    images, sums, layout = composites.compose(
        *as_pool(digits, np.array([0, 1])), N, generator_for((15,)), return_layout=True
    )
    blank = layout.picks == 0
    assert (layout.boxes[blank] == torch.tensor([0, 1, 0, 1])).all()
    np.testing.assert_array_equal(images.numpy(), repainted(layout))
    assert torch.equal(sums, (~blank).sum(dim=1))


@cuda
@pytest.mark.parametrize("augment", [False, True])
def test_composites_are_drawn_on_a_cuda_device_deterministically(helpers, augment):
    labels = np.arange(10)
    digits, labs = as_pool(helpers.tiny_digits(labels), labels, "cuda")
    a = composites.compose(digits, labs, N, generator_for((16,), "cuda"), augment=augment, return_layout=True)
    b = composites.compose(digits, labs, N, generator_for((16,), "cuda"), augment=augment)
    images, sums, layout = a
    assert images.is_cuda and sums.is_cuda and images.dtype == torch.uint8 and sums.dtype == torch.int64
    assert torch.equal(images, b[0]) and torch.equal(sums, b[1])
    np.testing.assert_array_equal(images.cpu().numpy(), repainted(layout))
    if not augment:
        assert [labels_read_back(img) for img in images.cpu().numpy()] == sums.tolist()


# --- augmentation -----------------------------------------------------------------------------
def test_augmentation_changes_the_pixels(label_pool):
    plain, _ = compose(*label_pool, 20, 10)
    augmented, _ = compose(*label_pool, 20, 10, augment=True)
    assert augmented.shape == plain.shape and augmented.dtype == np.uint8
    assert not np.array_equal(plain, augmented)
    assert len(np.unique(augmented)) > len(np.unique(plain))  # interpolation makes new grey levels


@pytest.mark.parametrize("label", [0, 7, 9])
def test_augmentation_keeps_the_sums(helpers, label):
    labels = np.full(25, label)
    _, sums = compose(helpers.tiny_digits(labels), labels, N, 11, augment=True)
    assert (sums == 4 * label).all()


def test_augment_digits_bends_each_digit_separately_and_keeps_every_digit_visible(label_pool):
    digits, _ = label_pool
    out = composites.augment_digits(torch.from_numpy(digits), generator_for((12,))).numpy()
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


def is_the_fixed_set(tensors: tuple[torch.Tensor, torch.Tensor], bundle: data.DataBundle) -> bool:
    """The bundle's own `train_images` / `train_sums` memory, handed out as CPU tensors without a copy."""
    images, sums = tensors
    return (
        isinstance(images, torch.Tensor)
        and images.data_ptr() == bundle.train_images.ctypes.data
        and sums.data_ptr() == bundle.train_sums.ctypes.data
        and images.shape == bundle.train_images.shape
        and sums.shape == bundle.train_sums.shape
    )


def test_train_for_epoch_1_is_the_fixed_training_set(marked_pools):
    bundle = data.load_data("marked", seed=3, train_size=16, val_size=8, fresh_each_epoch=True)
    assert is_the_fixed_set(bundle.train_for_epoch(1), bundle)
    assert is_the_fixed_set(bundle.train_for_epoch(1, torch.device("cpu")), bundle)


def test_fresh_composites_each_epoch_differ_per_epoch_and_repeat_per_seed_and_epoch(marked_pools):
    a = data.load_data("marked", seed=3, train_size=16, val_size=8, fresh_each_epoch=True)
    b = data.load_data("marked", seed=3, train_size=16, val_size=8, fresh_each_epoch=True)
    epoch2, sums2 = a.train_for_epoch(2)
    assert epoch2.dtype == torch.uint8 and sums2.dtype == torch.int64 and epoch2.device.type == "cpu"
    assert epoch2.shape == a.train_images.shape and len(sums2) == 16
    assert not np.array_equal(epoch2.numpy(), a.train_images)
    assert not torch.equal(epoch2, a.train_for_epoch(3)[0])
    assert torch.equal(epoch2, b.train_for_epoch(2)[0])
    assert torch.equal(sums2, b.train_for_epoch(2)[1])
    again = composites.compose(
        torch.from_numpy(marked_pools.train_digits),
        torch.from_numpy(marked_pools.train_labels),
        16,
        generator_for((3, 2, 1)),
    )  # epoch 2 of seed 3 is the generator (seed, epoch, 1) on the training device
    assert torch.equal(epoch2, again[0]) and torch.equal(sums2, again[1])


def test_the_validation_set_is_the_one_a_checkpoint_is_later_judged_on(marked_pools):
    bundle = data.load_data("marked", seed=5, train_size=16, val_size=24, fresh_each_epoch=True)
    found = data.eval_set("marked", seed=5, val_size=24)
    images, sums = found.images, found.sums
    assert isinstance(bundle.val_images, np.ndarray) and isinstance(bundle.val_sums, np.ndarray)
    np.testing.assert_array_equal(images, bundle.val_images)
    np.testing.assert_array_equal(sums, bundle.val_sums)


@cuda
@pytest.mark.parametrize("augment", [False, True])
def test_fresh_epochs_are_drawn_on_the_cuda_device_and_the_fixed_sets_on_the_cpu(marked_pools, augment):
    cpu = data.load_data("marked", seed=3, train_size=64, val_size=8, augment=augment, fresh_each_epoch=True)
    gpu = data.load_data("marked", seed=3, train_size=64, val_size=8, augment=augment, fresh_each_epoch=True)
    first = gpu.train_for_epoch(1, torch.device("cuda"))
    assert first[0].is_cuda and torch.equal(first[0].cpu(), torch.from_numpy(cpu.train_images))
    images, sums = gpu.train_for_epoch(2, torch.device("cuda"))
    assert images.is_cuda and sums.is_cuda and images.shape == (64, 40, 168)
    assert torch.equal(images, gpu.train_for_epoch(2, "cuda")[0])
    assert 0 < images.max() <= 100
    assert not torch.equal(images, gpu.train_for_epoch(3, "cuda")[0])


def test_without_fresh_composites_every_epoch_reuses_the_fixed_set(marked_pools):
    bundle = data.load_data("marked", seed=3, train_size=16, val_size=8, fresh_each_epoch=False)
    assert is_the_fixed_set(bundle.train_for_epoch(5), bundle)


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
    assert is_the_fixed_set(a.train_for_epoch(2), a)  # ready-made images are never redrawn


def test_eval_set_of_an_assignment_folder_is_every_image(tmp_path, write_assignment):
    write_assignment(tmp_path, np.zeros((10, 40, 168), np.uint8), np.arange(10))
    found = data.eval_set(str(tmp_path))
    images, sums, description = found.images, found.sums, found.description
    assert len(images) == 10 and sums.tolist() == list(range(10))
    assert "all images" in description


def test_normalize_maps_0_to_minus_1_and_255_to_1_with_a_channel_axis():
    batch = torch.tensor([[[0, 255], [51, 204]]], dtype=torch.uint8)
    x = data.normalize(batch)
    assert x.shape == (1, 1, 2, 2) and x.dtype == torch.float32
    torch.testing.assert_close(x[0, 0], torch.tensor([[-1.0, 1.0], [-0.6, 0.6]]))
