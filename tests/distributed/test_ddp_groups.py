"""DistributedDataParallel and ZeroRedundancyOptimizer on subgroups over MPI (backends "mpi" and "gloo"), on 3
processes: one worker script (workers/ddp_groups.py) trains DDP models on {0,1}/{2} and {0,2} (no_sync, unused
parameters, buffers, comm hooks, torch's options) and ZeRO-Adam on {0,2}, each against one process training on the
group's whole data; where torch is installed, the same script runs on torch.distributed's gloo backend and every
rank must end with the same parameters, buffers, ZeRO shards and consolidated state."""

from __future__ import annotations

import re

import pytest
from test_distributed import (  # tests/distributed is on sys.path (rootdir import mode)
    BACKENDS,
    assert_same_records,
    launch,
    needs_mpi,
    rank_results,
    run_on_torch,
)

pytestmark = needs_mpi


@pytest.fixture(scope="module", params=BACKENDS)
def lucid_on_3(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp_groups")
    out = launch("ddp_groups.py", 3, str(folder), backend=request.param)
    return out, rank_results(folder, 3)


def test_each_group_trains_like_one_process_on_its_data(lucid_on_3):
    out, seen = lucid_on_3
    assert sorted(map(int, re.findall(r"rank (\d+): ddp groups ok", out))) == [0, 1, 2], out
    assert seen[0]["pair/alone params"] == seen[1]["pair/alone params"] != seen[2]["pair/alone params"]
    assert seen[0]["ends params"] == seen[2]["ends params"] and "ends params" not in seen[1]
    # buffers come from the group's first rank, before the first forward and after each synchronised one only
    assert [s["pair/alone count"] for s in seen] == [3.0, 4.0, 9.0]
    assert [seen[r]["ends count"] for r in (0, 2)] == [6.0, 10.0]
    assert seen[2]["zero rank"] == [1, 2, 2] and seen[0]["zero shard"] + seen[2]["zero shard"] == [0, 3, 1, 2]
    assert seen[2]["zero consolidated"] == [[0, 1, 2, 3], ["exp_avg", "exp_avg_sq", "step"]]
    assert "consolidate_state_dict(to=0)" in seen[0]["zero consolidated"]


@pytest.fixture(scope="module")
def torch_on_3(tmp_path_factory):
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("torch_ddp_groups")
    run_on_torch("ddp_groups.py", folder, 3, "ddp groups ok")
    return rank_results(folder, 3)


def test_same_results_as_torch_gloo(lucid_on_3, torch_on_3):
    assert_same_records(lucid_on_3[1], torch_on_3, rtol=1e-9, atol=1e-12)
