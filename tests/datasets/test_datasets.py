"""lucid.datasets: the shipped Digits data and the MNIST / Fashion-MNIST / CIFAR-10 file readers.

No test touches the network: ``urllib.request.urlopen`` is replaced for the whole module, and
the readers are tested on small files written here in the real formats.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
import urllib.request
from importlib import resources

import numpy as np
import pytest

import lucid
from lucid.data import DataLoader
from lucid.datasets import CIFAR10, MNIST, Digits, FashionMNIST, read_cifar10_bin, read_idx

# Published class counts of the UCI optdigits test set (1,797 images), e.g. in scikit-learn's docs.
UCI_DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a dataset test tried to use the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


# ---- Digits ----------------------------------------------------------------------------------------
def _shipped_table():
    raw = resources.files("lucid.datasets").joinpath("data/digits.csv.gz").read_bytes()
    return np.array(gzip.decompress(raw).decode().split(), dtype=object), raw


def test_shipped_file_is_the_uci_digits():
    lines, raw = _shipped_table()
    table = np.array([line.split(",") for line in lines], dtype=np.int64)
    assert table.shape == (1797, 65) and table[:, :64].min() == 0 and table[:, :64].max() == 16
    assert np.bincount(table[:, 64]).tolist() == UCI_DIGIT_COUNTS
    readme = resources.files("lucid.datasets").joinpath("data/README.md").read_text()
    assert hashlib.sha256(raw).hexdigest() in readme and "CC BY 4.0" in readme


def test_digits_samples_and_split():
    train, test = Digits(), Digits(train=False)
    assert (len(train), len(test)) == (1438, 359)  # round(0.2 * 1797) test images
    image, label = train[0]
    assert isinstance(image, lucid.Tensor) and image.shape == (1, 8, 8) and image.dtype == lucid.float32
    assert isinstance(label, int) and 0 <= label <= 9
    np.testing.assert_allclose(image.numpy()[0], train.data[0] / 16, rtol=1e-6)
    assert train.data.dtype == np.uint8 and train.data.shape == (1438, 8, 8) and train.targets.dtype == np.int64
    # train and test together are exactly the shipped rows (compared as a multiset of image+label rows)
    lines, _ = _shipped_table()
    rows = [(img, lab) for ds in (train, test) for img, lab in zip(ds.data, ds.targets)]
    ours = sorted(",".join(map(str, [*img.ravel(), lab])) for img, lab in rows)
    assert ours == sorted(lines)


def test_digits_split_is_deterministic_and_configurable():
    a, b = Digits(seed=3), Digits(seed=3)
    np.testing.assert_array_equal(a.data, b.data)
    assert not np.array_equal(Digits(seed=4).targets, a.targets)
    assert len(Digits(train=False, test_fraction=0.5)) == 898 and len(Digits(test_fraction=0.0)) == 1797
    with pytest.raises(ValueError, match="test_fraction"):
        Digits(test_fraction=1.5)


def test_digits_transforms_and_loader():
    ds = Digits(train=False, transform=lambda x: x * 2, target_transform=lambda y: y + 10)
    image, label = ds[5]
    assert float(image.max().item()) <= 2.0 and label == int(ds.targets[5]) + 10
    images, labels = next(iter(DataLoader(Digits(), batch_size=64, shuffle=True, generator=0)))
    assert images.shape == (64, 1, 8, 8) and images.dtype == lucid.float32 and labels.dtype == lucid.int64
    assert 0.0 <= float(images.min().item()) and float(images.max().item()) <= 1.0


# ---- MNIST / Fashion-MNIST -------------------------------------------------------------------------
def idx_bytes(array: np.ndarray, code: int) -> bytes:
    """An IDX file as the MNIST page describes it: 0, 0, type code, ndim, big-endian sizes, big-endian data."""
    big = array.astype(array.dtype.newbyteorder(">"))
    return bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + big.tobytes()


def write_mnist(folder, n, rng, compress, prefix="train"):
    folder.mkdir(parents=True, exist_ok=True)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    for name, arr in ((f"{prefix}-images-idx3-ubyte", images), (f"{prefix}-labels-idx1-ubyte", labels)):
        data = idx_bytes(arr, 0x08)
        if compress:
            (folder / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return images, labels


@pytest.mark.parametrize("cls, compress", [(MNIST, True), (MNIST, False), (FashionMNIST, True)])
def test_mnist_reads_idx_files(tmp_path, rng, cls, compress):
    images, labels = write_mnist(tmp_path / cls.__name__ / "raw", 7, rng, compress)
    ds = cls(tmp_path)
    assert len(ds) == 7 and len(ds.classes) == 10
    np.testing.assert_array_equal(ds.data, images)
    np.testing.assert_array_equal(ds.targets, labels)
    image, label = ds[3]
    assert image.shape == (1, 28, 28) and image.dtype == lucid.float32 and label == labels[3]
    np.testing.assert_allclose(image.numpy()[0], images[3] / 255, rtol=1e-6)
    test_images, _ = write_mnist(tmp_path / cls.__name__ / "raw", 4, rng, compress, prefix="t10k")
    np.testing.assert_array_equal(cls(str(tmp_path), train=False).data, test_images)


@pytest.mark.parametrize("dtype, code", [(np.int8, 0x09), (np.int16, 0x0B), (np.int32, 0x0C), (np.float32, 0x0D),
                                         (np.float64, 0x0E)])
def test_read_idx_types(tmp_path, rng, dtype, code):
    arr = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    (tmp_path / "x.idx").write_bytes(idx_bytes(arr, code))
    out = read_idx(tmp_path / "x.idx")
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x12\x34\x08\x01rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "bad")
    (tmp_path / "short").write_bytes(idx_bytes(np.zeros((4, 2), np.uint8), 0x08)[:-1])
    with pytest.raises(ValueError, match=r"truncated.*\(4, 2\)"):
        read_idx(tmp_path / "short")


def test_mnist_missing_files_message(tmp_path, rng):
    with pytest.raises(FileNotFoundError) as info:
        MNIST(tmp_path)
    message = str(info.value)
    for part in ("MNIST", str(tmp_path / "MNIST" / "raw"), "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "https://", "download=True"):
        assert part in message
    write_mnist(tmp_path / "FashionMNIST" / "raw", 2, rng, True)
    (tmp_path / "FashionMNIST" / "raw" / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="FashionMNIST.*no train-labels-idx1-ubyte") as info:
        FashionMNIST(tmp_path)
    assert "train-images" not in str(info.value)


def test_mnist_download_checks_md5(tmp_path, rng, monkeypatch):
    """The download path, served from memory: files land in raw/ only when their MD5 matches."""
    served = {}
    for prefix, n in (("train", 3), ("t10k", 2)):
        for kind, arr in (("images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)),
                          ("labels-idx1-ubyte", rng.integers(0, 10, n).astype(np.uint8))):
            served[f"mem://{prefix}-{kind}.gz"] = gzip.compress(idx_bytes(arr, 0x08))

    class Local(MNIST):
        mirrors = ["mem://"]
        resources = [(url[6:-3], hashlib.md5(data).hexdigest()) for url, data in served.items()]

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: io.BytesIO(served[url]))
    ds = Local(tmp_path, download=True)
    assert len(ds) == 3 and (tmp_path / "Local" / "raw" / "t10k-labels-idx1-ubyte.gz").is_file()

    class Corrupt(Local):
        resources = [(name, "0" * 32) for name, _ in Local.resources]

    with pytest.raises(RuntimeError, match="MD5 checksum"):
        Corrupt(tmp_path, download=True)
    assert not (tmp_path / "Corrupt" / "raw").exists() or not any((tmp_path / "Corrupt" / "raw").iterdir())


# ---- CIFAR-10 ---------------------------------------------------------------------------------------
def cifar_bytes(images_chw: np.ndarray, labels: np.ndarray) -> bytes:
    """CIFAR-10 binary records: label byte, then 1024 red, 1024 green, 1024 blue bytes (row-major)."""
    return b"".join(bytes([int(lab)]) + img.tobytes() for img, lab in zip(images_chw, labels))


def test_cifar10_reads_binary_batches(tmp_path, rng):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    parts = []
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        chw = rng.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, 2)
        (folder / name).write_bytes(cifar_bytes(chw, labels))
        parts.append((chw, labels))
    train, test = CIFAR10(tmp_path), CIFAR10(tmp_path, train=False)
    assert len(train) == 10 and len(test) == 2 and train.classes[0] == "airplane"
    expected_chw = np.concatenate([p[0] for p in parts[:5]])
    np.testing.assert_array_equal(train.data, expected_chw.transpose(0, 2, 3, 1))  # N x H x W x C
    np.testing.assert_array_equal(train.targets, np.concatenate([p[1] for p in parts[:5]]))
    image, label = test[1]
    assert image.shape == (3, 32, 32) and image.dtype == lucid.float32 and label == parts[5][1][1]
    np.testing.assert_allclose(image.numpy(), parts[5][0][1] / 255, rtol=1e-6)


def test_cifar10_bad_and_missing_files(tmp_path):
    (tmp_path / "odd.bin").write_bytes(b"\x00" * 3000)
    with pytest.raises(ValueError, match="3073-byte record"):
        read_cifar10_bin(tmp_path / "odd.bin")
    (tmp_path / "c100.bin").write_bytes(bytes([42]) + b"\x00" * 3072)
    with pytest.raises(ValueError, match="label 42"):
        read_cifar10_bin(tmp_path / "c100.bin")
    with pytest.raises(FileNotFoundError) as info:
        CIFAR10(tmp_path)
    message = str(info.value)
    for part in ("cifar-10-batches-bin", "data_batch_1.bin", "data_batch_5.bin", "cifar-10-binary.tar.gz",
                 "binary version", "download=True"):
        assert part in message
    with pytest.raises(FileNotFoundError, match="test_batch.bin"):
        CIFAR10(tmp_path, train=False)
