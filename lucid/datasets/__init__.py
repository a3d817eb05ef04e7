"""``lucid.datasets``: ready-made datasets. ``Digits`` ships with lucid; ``MNIST``,
``FashionMNIST`` and ``CIFAR10`` read their standard files from a local folder."""

from __future__ import annotations

from .digits import Digits
from .vision import CIFAR10, MNIST, FashionMNIST, ImageDataset, read_cifar10_bin, read_idx

__all__ = ["Digits", "MNIST", "FashionMNIST", "CIFAR10", "ImageDataset", "read_idx", "read_cifar10_bin"]
