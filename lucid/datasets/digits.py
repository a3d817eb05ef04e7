"""``Digits``: the UCI 8x8 handwritten digits, shipped inside lucid (no download).

1,797 grey-scale images of 8x8 pixels with values 0..16 (counts of inked pixels in 4x4 blocks
of a 32x32 bitmap), digits 0-9, from 43 writers. Source, licence and citation are in
``data/README.md`` next to the file (UCI ML Repository, CC BY 4.0, Alpaydin & Kaynak).

The train/test split is fixed by ``seed``: a NumPy ``default_rng(seed)`` permutation of the
1,797 rows; its first ``round(test_fraction * 1797)`` rows are the test set and the rest the
training set, each kept in file order. The defaults give 1,438 training and 359 test images.
"""

from __future__ import annotations

import functools
import gzip
from importlib import resources

import numpy as np

from .vision import ImageDataset

__all__ = ["Digits"]

_FILE = "data/digits.csv.gz"  # one image per line: 64 pixel values (row-major), then the label


@functools.lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray]:
    with resources.files(__package__).joinpath(_FILE).open("rb") as f, gzip.open(f) as text:
        table = np.loadtxt(text, delimiter=",", dtype=np.uint8)
    images, labels = table[:, :64].reshape(-1, 8, 8), table[:, 64].astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False  # shared by every Digits object
    return images, labels


class Digits(ImageDataset):
    """The 8x8 digits: a sample is ``(image, label)``, the image a float32 Tensor of shape
    (1, 8, 8) scaled to [0, 1] (pixel / 16), the label an int 0..9 (collated into int64).
    ``.data`` (uint8, N x 8 x 8, values 0..16) and ``.targets`` (int64) hold the split."""

    classes = [str(d) for d in range(10)]
    max_value = 16

    def __init__(self, train: bool = True, transform=None, target_transform=None, *,
                 test_fraction: float = 0.2, seed: int = 0) -> None:
        if not 0.0 <= test_fraction <= 1.0:
            raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
        images, labels = _load()
        order = np.random.default_rng(seed).permutation(len(labels))
        n_test = round(test_fraction * len(labels))
        rows = np.sort(order[n_test:] if train else order[:n_test])
        self.train, self.test_fraction, self.seed = train, test_fraction, seed
        super().__init__(images[rows], labels[rows], transform, target_transform)
