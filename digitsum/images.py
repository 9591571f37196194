"""The user's own images as composites: any picture of digits in, a 40x168 canvas the model knows out.

A composite holds bright MNIST digits on a black canvas, each cropped to its box (most are 20 px
tall, the box MNIST normalizes digits into), the first at x 5-15, placed at a random height.
A photo or scan (anything Pillow or torchvision.io reads) is made to look like that: grayscale,
inverted when its background is light, the background level taken off, the ink's box scaled
(aspect kept) to a digit's height and put where the composer puts the first digit, centred
vertically (the composer's expected height).
An image that already is 40x168 is taken as a composite and passes unchanged.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from digitsum.composites import FIRST_X, HEIGHT, WIDTH
from digitsum.errors import BadInput

DIGIT_HEIGHT = 20  # median box height of the builtin pool's digits (MNIST's 20x20 box)
LEFT = sum(FIRST_X) // 2  # the middle of the composer's first-digit range
NOISE = 0.2  # ink fainter than this share of the brightest stroke is paper, not a stroke


def load_image_as_composite(path: str | Path) -> np.ndarray:
    """uint8 (40,168): the file made into a composite; a missing or unreadable file is one BadInput line."""
    return as_composite(read_gray(Path(path)))


def read_gray(path: Path) -> np.ndarray:
    """The file as uint8 grayscale (H,W), transparency laid over white paper.

    Pillow first where installed (it reads the most formats); torchvision's decoders (deprecated
    since 0.29 in favour of TorchCodec) are the fallback that a bare install always has.
    """
    if not path.is_file():
        raise BadInput(f"{path}: no such image file")
    pixels = _decode_pil(path)
    if pixels is None:
        pixels = _decode_torchvision(path.read_bytes())
    if pixels is None:
        raise BadInput(f"{path}: not an image (expected PNG, JPEG or another format Pillow or torchvision reads)")
    return _gray(pixels)


def _decode_pil(path: Path) -> np.ndarray | None:
    """(H,W,4) float in [0,1] through Pillow, where it is installed and can read the file."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGBA"), dtype=np.float64) / 255.0
    except Exception:  # Pillow raises many kinds for a file it cannot read
        return None


def _decode_torchvision(raw: bytes) -> np.ndarray | None:
    """(H,W,C) float in [0,1], or None where torchvision cannot decode the bytes."""
    import warnings

    import torch
    from torchvision.io import ImageReadMode, decode_image

    if not raw:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            image = decode_image(torch.frombuffer(bytearray(raw), dtype=torch.uint8), mode=ImageReadMode.UNCHANGED)
    except (RuntimeError, ValueError):
        return None
    scale = 65535.0 if image.dtype == torch.uint16 else 255.0
    return image.permute(1, 2, 0).double().numpy() / scale


def _gray(pixels: np.ndarray) -> np.ndarray:
    """1-4 channels (gray, gray+alpha, RGB, RGBA) to uint8 luminance; transparent pixels read as white."""
    channels = pixels.shape[2]
    alpha = pixels[..., -1] if channels in (2, 4) else 1.0
    colour = pixels[..., :3] if channels >= 3 else pixels[..., :1]
    luma = colour @ np.array([0.299, 0.587, 0.114]) if colour.shape[2] == 3 else colour[..., 0]
    return np.round((luma * alpha + (1.0 - alpha)) * 255.0).astype(np.uint8)


def as_composite(gray: np.ndarray) -> np.ndarray:
    """A grayscale picture as a 40x168 composite (see the module's docstring)."""
    ink = 255 - gray if light_background(gray) else gray
    if ink.shape == (HEIGHT, WIDTH):
        return np.ascontiguousarray(ink, dtype=np.uint8)
    strokes = clean(ink.astype(np.float64))
    rows, cols = np.flatnonzero(strokes.any(axis=1)), np.flatnonzero(strokes.any(axis=0))
    return place(strokes[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


def light_background(gray: np.ndarray) -> bool:
    """Dark ink on light paper: the border is brighter than mid-grey."""
    return border_level(gray) > 127.5


def border_level(image: np.ndarray) -> float:
    """The paper's shade: the median of the outermost pixels, which ink rarely covers."""
    return float(np.median(np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])))


def clean(ink: np.ndarray) -> np.ndarray:
    """Background level off, strokes stretched to 255, faint specks zeroed: what a composite's canvas looks like."""
    strokes = np.clip(ink - border_level(ink), 0, None)
    peak = strokes.max()
    if peak <= 0:
        raise BadInput("the image has no ink: every pixel is the same shade as the background")
    strokes *= 255.0 / peak
    strokes[strokes < NOISE * 255] = 0
    return strokes


def place(box: np.ndarray) -> np.ndarray:
    """Scale the ink's box to a digit's height (narrower if it would not fit) and put it at the first digit's place."""
    import torch
    import torch.nn.functional as F

    h, w = box.shape
    scale = min(DIGIT_HEIGHT / h, (WIDTH - LEFT) / w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    x = torch.from_numpy(box)[None, None]
    scaled = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)[0, 0]
    canvas = np.zeros((HEIGHT, WIDTH), dtype=np.uint8)
    top = (HEIGHT - size[0]) // 2
    canvas[top : top + size[0], LEFT : LEFT + size[1]] = scaled.clamp(0, 255).round().numpy().astype(np.uint8)
    return canvas
