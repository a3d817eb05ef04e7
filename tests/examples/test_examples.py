"""The training example (the README's main job) and lucid.utils.summary."""

from __future__ import annotations

import pytest
from conftest import DEVICES

import lucid
import lucid.nn as nn
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
    assert state["epoch"] == 12 and set(state) == {"model", "optimizer", "scheduler", "epoch"}
    resumed = train.main(["--device", "cpu", "--quiet", "--checkpoint", checkpoint, "--resume", "--epochs", "13"])
    assert "resumed from" in capsys.readouterr().out
    assert resumed >= 0.95
