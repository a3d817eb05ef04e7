"""The training example (the README's main job) and lucid.utils.summary."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEVICES

import lucid
import lucid.nn as nn
from lucid.data import Subset
from lucid.datasets import Digits
from lucid.examples import train


def test_summary_lists_leaf_layers_with_shapes_and_counts():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    lines = []
    table = lucid.utils.summary(model, (5, 4), print_fn=lines.append)
    assert lines == [table]
    assert "0 (Linear)" in table and "(5, 3)" in table and "(5, 2)" in table
    assert "total parameters: 23 (trainable: 23)" in table
    assert model.training  # restored after the eval-mode pass


def test_resume_needs_a_checkpoint(tmp_path):
    with pytest.raises(SystemExit, match="no checkpoint"):
        train.main(["--resume", "--checkpoint", str(tmp_path / "missing.safetensors"), "--quiet"])


@pytest.mark.slow
@pytest.mark.skipif("cpu" not in DEVICES, reason="the demo trains on the NumPy backend (this session tests others)")
def test_demo_reaches_95_percent_and_resumes(tmp_path, capsys):
    checkpoint = str(tmp_path / "digits.safetensors")
    accuracy = train.main(["--device", "cpu", "--quiet", "--checkpoint", checkpoint])
    assert accuracy >= 0.95
    state = lucid.load(checkpoint)
    assert state["epoch"] == 12 and set(state) == {"model", "optimizer", "scheduler", "epoch", "rng"}
    resumed = train.main(["--device", "cpu", "--quiet", "--checkpoint", checkpoint, "--resume", "--epochs", "13"])
    assert "resumed from" in capsys.readouterr().out
    assert resumed >= 0.95


def _assert_same(a, b, where="checkpoint"):
    """Bitwise equality of two loaded checkpoints (nested dicts, lists, Tensors, arrays, numbers)."""
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, (lucid.Tensor, np.ndarray)):
        x, y = (v.numpy(force=True) if isinstance(v, lucid.Tensor) else v for v in (a, b))
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), where
    else:
        assert a == b, where


@pytest.mark.skipif("cpu" not in DEVICES, reason="the demo trains on the NumPy backend (this session tests others)")
def test_killed_and_resumed_run_matches_the_straight_run_bitwise(tmp_path, monkeypatch, capsys):
    """3 epochs straight vs. killed during epoch 2 (its checkpoint holds epoch 1), then --resume: the same
    losses and, bit for bit, the same parameters, optimizer state and random generator states (shuffling
    and dropout). Before the checkpoint held the RNG state, the resumed run shuffled differently."""
    monkeypatch.setattr(train, "Digits", lambda train: Subset(Digits(train=train), range(64 if train else 16)))
    monkeypatch.setattr(train, "DigitsCNN", lambda: nn.Sequential(  # tiny, and dropout draws random numbers
        nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 10)))
    args = ["--device", "cpu", "--quiet", "--epochs", "3", "--batch-size", "16", "--seed", "5"]
    straight, interrupted = str(tmp_path / "straight.safetensors"), str(tmp_path / "interrupted.safetensors")
    train.main(args + ["--checkpoint", straight])
    straight_log = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]

    evaluate, calls = train.evaluate, []

    def killed_in_epoch_2(*a):
        calls.append(a)
        if len(calls) == 2:  # epoch 2 has trained; its checkpoint is not written
            raise KeyboardInterrupt
        return evaluate(*a)

    monkeypatch.setattr(train, "evaluate", killed_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train.main(args + ["--checkpoint", interrupted])
    monkeypatch.setattr(train, "evaluate", evaluate)
    assert lucid.load(interrupted)["epoch"] == 1
    capsys.readouterr()
    lucid.manual_seed(1234)  # a new process: nothing of the killed one's generator state survives
    train.main(args + ["--checkpoint", interrupted, "--resume"])
    out = capsys.readouterr().out
    assert "resumed from" in out and "shuffles differently" not in out
    resumed_log = [line for line in out.splitlines() if line.startswith("epoch")]
    strip = lambda lines: [line.split("(")[0] for line in lines]  # noqa: E731  (drop the timing)
    assert strip(resumed_log) == strip(straight_log[1:])
    _assert_same(lucid.load(straight), lucid.load(interrupted))
