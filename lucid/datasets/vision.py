"""Image-classification datasets read from their standard files: MNIST and Fashion-MNIST (IDX
files, plain or gzip-compressed) and CIFAR-10 (the *binary* version).

Nothing is downloaded unless ``download=True``; missing files give a ``FileNotFoundError``
that names them and says where to get them. The folder layout is torchvision's:
``<root>/MNIST/raw/``, ``<root>/FashionMNIST/raw/``, ``<root>/cifar-10-batches-bin/``.
CIFAR-10 is read from ``cifar-10-binary.tar.gz``, not the Python version, whose batches
are pickles (and unpickling a downloaded file can run arbitrary code; lucid never does).

A sample is ``(image, label)`` as torchvision with ``ToTensor()``: a float32 lucid Tensor of
shape (channels, height, width) scaled to [0, 1], and the label as a Python int (collated
into int64). ``.data`` (uint8) and ``.targets`` (int64) hold the whole split as NumPy arrays.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import struct
import tarfile
import urllib.request

import numpy as np

from .._tensor import Tensor
from ..data.dataset import Dataset

__all__ = ["ImageDataset", "MNIST", "FashionMNIST", "CIFAR10", "read_idx", "read_cifar10_bin"]

# IDX element types: code -> big-endian NumPy dtype (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT")
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_CIFAR_RECORD = 1 + 3 * 32 * 32  # one label byte, then the red, green and blue 32x32 planes


def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (MNIST's format), gzip-compressed if ``path`` ends in ``.gz``."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(
            f"{path} is not an IDX file: it starts with bytes {raw[:4].hex(' ')}, expected "
            f"00 00 <type code in {sorted(_IDX_TYPES)}> <number of dimensions>"
        )
    ndim = raw[3]
    start = 4 + 4 * ndim
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    shape = struct.unpack(f">{ndim}I", raw[4:start]) if len(raw) >= start else None
    size = None if shape is None else start + dtype.itemsize * math.prod(shape)
    if len(raw) != size:
        raise ValueError(
            f"{path} is truncated or corrupt: its header announces {ndim} dimensions {shape} of {dtype.name} "
            f"({size} bytes in all) but the file holds {len(raw)} bytes"
        )
    return np.frombuffer(raw, dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))


def read_cifar10_bin(path) -> tuple[np.ndarray, np.ndarray]:
    """``(images, labels)`` from a CIFAR-10 binary batch: uint8 images of shape (N, 32, 32, 3)
    (height, width, channel, as torchvision's ``.data``) and int64 labels."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % _CIFAR_RECORD:
        raise ValueError(
            f"{path} is not a CIFAR-10 binary batch: its size, {raw.size} bytes, is not a positive multiple "
            f"of the {_CIFAR_RECORD}-byte record (1 label byte + 3x32x32 pixel bytes)"
        )
    records = raw.reshape(-1, _CIFAR_RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise ValueError(f"{path} has label {labels.max()}; CIFAR-10 labels are 0..9 (is this CIFAR-100?)")
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def _md5(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(urls: list[str], target: str, md5: str) -> None:
    """Fetch ``target`` from the first of ``urls`` that works and matches ``md5``."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    errors, part = [], target + ".part"
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as f:
                shutil.copyfileobj(response, f)
        except OSError as e:
            errors.append(f"{url}: {e}")
            continue
        if _md5(part) == md5:
            os.replace(part, target)
            return
        os.remove(part)
        errors.append(f"{url}: the file's MD5 checksum is not {md5}")
    raise RuntimeError(f"could not download {os.path.basename(target)}:\n  " + "\n  ".join(errors))


def _missing(kind: str, folder: str, names: list[str], source: str, extra: str = "") -> FileNotFoundError:
    return FileNotFoundError(
        f"{kind} dataset files not found: {folder} has no {', '.join(names)}.{extra} Get them from {source} "
        f"into that folder, or pass download=True to download them."
    )


class ImageDataset(Dataset):
    """Images in ``.data`` (uint8, N x H x W or N x H x W x C, values 0..``max_value``) with
    int64 labels in ``.targets``; a sample is ``(image, label)`` with the image a float32 Tensor
    of shape (C, H, W) divided by ``max_value``. ``transform`` / ``target_transform`` are
    applied to the image Tensor / the int label."""

    classes: list[str] = []
    max_value = 255

    def __init__(self, data: np.ndarray, targets: np.ndarray, transform=None, target_transform=None) -> None:
        if len(data) != len(targets):
            raise ValueError(f"{type(self).__name__}: {len(data)} images but {len(targets)} labels")
        self.data, self.targets = data, targets.astype(np.int64, copy=False)
        self.transform, self.target_transform = transform, target_transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        img = self.data[index]
        chw = img[None] if img.ndim == 2 else img.transpose(2, 0, 1)
        pixels = np.ascontiguousarray(chw, dtype=np.float32)
        pixels /= np.float32(self.max_value)
        image, label = Tensor(pixels), int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def __repr__(self) -> str:
        split = getattr(self, "train", None)
        where = "" if split is None else f", split={'train' if split else 'test'}"
        return f"{type(self).__name__}(datapoints={len(self)}{where})"


class MNIST(ImageDataset):
    """The MNIST handwritten digits (60,000 training / 10,000 test images of 28x28) from the
    four IDX files in ``<root>/MNIST/raw/`` (each plain or ``.gz``)."""

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    resources = [  # (file, MD5 of file.gz), as published with the dataset and used by torchvision
        ("train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
               "8 - eight", "9 - nine"]

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False) -> None:
        self.root, self.train = os.path.expanduser(os.fspath(root)), train
        if download:
            self.download()
        prefix = "train" if train else "t10k"
        paths = [self._find(f"{prefix}-{kind}") for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")]
        if None in paths:
            names = [f"{prefix}-{kind}[.gz]" for kind, p in zip(("images-idx3-ubyte", "labels-idx1-ubyte"), paths)
                     if p is None]
            raise _missing(type(self).__name__, self.raw_folder, names, self.mirrors[0])
        images, labels = read_idx(paths[0]), read_idx(paths[1])
        if images.ndim != 3 or labels.ndim != 1:
            raise ValueError(f"{paths[0]} / {paths[1]} hold shapes {images.shape} / {labels.shape}; expected "
                             "(N, height, width) images and (N,) labels")
        super().__init__(images.astype(np.uint8, copy=False), labels, transform, target_transform)

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, type(self).__name__, "raw")

    def _find(self, name: str) -> str | None:
        for candidate in (name, name + ".gz"):
            path = os.path.join(self.raw_folder, candidate)
            if os.path.isfile(path):
                return path
        return None

    def download(self) -> None:
        """Download the missing files (gzip-compressed, checked against their MD5) into ``raw_folder``."""
        for name, md5 in self.resources:
            if self._find(name) is None:
                _download([m + name + ".gz" for m in self.mirrors], os.path.join(self.raw_folder, name + ".gz"), md5)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (clothing images in MNIST's format) from ``<root>/FashionMNIST/raw/``."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


class CIFAR10(ImageDataset):
    """CIFAR-10 (50,000 training / 10,000 test colour images of 32x32, 10 classes) from the
    binary batches in ``<root>/cifar-10-batches-bin/`` (``data_batch_1.bin`` .. ``_5.bin``,
    ``test_batch.bin``). ``.data`` has shape (N, 32, 32, 3) as in torchvision."""

    base_folder = "cifar-10-batches-bin"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    md5 = "c32a1d4ab5d03f1284b67883e8d87530"
    train_list = [f"data_batch_{i}.bin" for i in range(1, 6)]
    test_list = ["test_batch.bin"]
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    def __init__(self, root, train: bool = True, transform=None, target_transform=None,
                 download: bool = False) -> None:
        self.root, self.train = os.path.expanduser(os.fspath(root)), train
        if download:
            self.download()
        folder = os.path.join(self.root, self.base_folder)
        names = self.train_list if train else self.test_list
        missing = [n for n in names if not os.path.isfile(os.path.join(folder, n))]
        if missing:
            raise _missing("CIFAR10", folder, missing, self.url,
                           " lucid reads the binary version of CIFAR-10 (the Python version's pickled batches "
                           "are not loaded, since unpickling can run code).")
        parts = [read_cifar10_bin(os.path.join(folder, n)) for n in names]
        super().__init__(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                         transform, target_transform)

    def download(self) -> None:
        """Download and unpack ``cifar-10-binary.tar.gz`` into ``root`` unless the batches are there."""
        folder = os.path.join(self.root, self.base_folder)
        if all(os.path.isfile(os.path.join(folder, n)) for n in self.train_list + self.test_list):
            return
        archive = os.path.join(self.root, os.path.basename(self.url))
        if not (os.path.isfile(archive) and _md5(archive) == self.md5):
            _download([self.url], archive, self.md5)
        with tarfile.open(archive, "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(self.base_folder + "/")]
            tar.extractall(self.root, members=members, filter="data")
