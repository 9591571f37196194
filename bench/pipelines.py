"""The baselines the engine is compared with, each able to run `n` more training batches on demand.

(a) `AssignmentPipeline`: the assignment's code as it was written — a per-sample Dataset over
    numpy uint8 images, torchvision ToTensor + Normalize per sample, DataLoader(batch 32,
    shuffle), fp32, default memory format, Adam, MSE, loss.item() per batch; the seed network
    in the assignment's layer order (ReLU before each pool).
(b) `PlainLoop`: the same network in plain fp32 over a uint8 tensor held in memory, a shuffled
    index gather and `digitsum.data.normalize` per batch of 64.

Both take a `device`: on a GPU (a) moves each batch there as the assignment's user would
(`.to(device, non_blocking=True)`), and (b) keeps its whole uint8 set on the device.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from digitsum.data import normalize
from digitsum.engine import autocast_forward
from digitsum.models import build_model


def synchronize(device: torch.device | str) -> None:
    """Wait for the device's queued work (a no-op on a CPU): call before reading a clock on a GPU."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def precision_name(precision) -> str:
    """`torch.bfloat16` -> "bf16 (autocast)", None -> "fp32"."""
    if precision is None:
        return "fp32"
    return {"torch.bfloat16": "bf16 (autocast)", "torch.float16": "fp16 (autocast)"}.get(str(precision), str(precision))


def assignment_model(name: str) -> nn.Module:
    """The model as the assignment wrote it: digitsum's seed pools before its ReLUs, the assignment after."""
    model = build_model(name)
    if name == "seed":
        conv1, pool1, relu1, conv2, pool2, relu2 = model.features
        model.features = nn.Sequential(conv1, relu1, pool1, conv2, relu2, pool2)
    return model


class DigitSumDataset(Dataset):
    """The assignment's Dataset: one numpy image and its label per __getitem__, transformed there."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform=None) -> None:
        self.images = images
        self.labels = labels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx):
        image = self.images[idx]
        label = self.labels[idx]
        if self.transform:
            image = self.transform(image)
        return image, torch.tensor(label, dtype=torch.float32)


def assignment_transform() -> transforms.Compose:
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])


class AssignmentPipeline:
    """Way (a). `run(n)` trains n batches, restarting the DataLoader when an epoch ends."""

    label = "a: assignment pipeline"

    def __init__(
        self, model_name: str, images: np.ndarray, sums: np.ndarray, batch_size: int = 32, device: str = "cpu"
    ) -> None:
        torch.manual_seed(0)
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.loader = DataLoader(
            DigitSumDataset(images, sums, assignment_transform()), batch_size=batch_size, shuffle=True
        )
        self.model = assignment_model(model_name).to(self.device)
        self.criterion = nn.MSELoss()
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=0.001)
        self.batches = iter(self.loader)
        self.losses: list[float] = []

    def next_batch(self):
        """The loader's next batch, on the model's device."""
        try:
            images, labels = next(self.batches)
        except StopIteration:
            self.batches = iter(self.loader)
            images, labels = next(self.batches)
        return images.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)

    def run(self, n: int) -> None:
        self.model.train()
        for _ in range(n):
            images, labels = self.next_batch()
            self.optimizer.zero_grad()
            outputs = self.model(images)
            loss = self.criterion(outputs.squeeze(), labels)
            loss.backward()
            self.optimizer.step()
            self.losses.append(loss.item())


class PlainLoop:
    """Way (b), and with `precision`/`channels_last` set, the engine's own step for top-up training.

    The data lives on `device` (with `model` given: that model's device).
    """

    label = "b: plain fp32 in-memory"

    def __init__(
        self,
        model_name: str | None,
        images: np.ndarray,
        sums: np.ndarray,
        batch_size: int = 64,
        *,
        model: nn.Module | None = None,
        precision: torch.dtype | None = None,
        channels_last: bool = False,
        lr: float = 1e-3,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        torch.manual_seed(seed)
        self.batch_size = batch_size
        self.device = next(model.parameters()).device if model is not None else torch.device(device)
        self.x_all = torch.from_numpy(images).to(self.device)
        self.y_all = torch.from_numpy(sums).float().to(self.device)
        self.model = model if model is not None else assignment_model(model_name).to(self.device)
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.precision, self.channels_last = precision, channels_last
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.rng = np.random.default_rng(seed)
        self.order, self.pos = self.rng.permutation(len(sums)), 0

    def next_index(self) -> torch.Tensor:
        if self.pos + self.batch_size > len(self.order):
            self.order, self.pos = self.rng.permutation(len(self.order)), 0
        idx = self.order[self.pos : self.pos + self.batch_size]
        self.pos += self.batch_size
        return torch.from_numpy(idx).to(self.device)

    def run(self, n: int) -> None:
        self.model.train()
        for _ in range(n):
            idx = self.next_index()
            x = normalize(self.x_all[idx])
            if self.channels_last:
                pred = autocast_forward(self.model, x, self.precision)
            else:
                pred = self.model(x)
            loss = nn.functional.mse_loss(pred.float(), self.y_all[idx])
            loss.item()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
