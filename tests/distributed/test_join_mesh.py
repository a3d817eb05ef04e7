"""Join (DDP on uneven inputs), DeviceMesh, new_subgroups and the coalesced collectives over MPI, on 2 processes:
one worker script (workers/join_mesh.py) where rank 1 runs out of batches first, checked on every rank against one
process computing the same averages; where torch is installed the same script runs on torch.distributed's gloo
backend and every rank must end with the same parameters, buffers, groups, values and errors."""

from __future__ import annotations

import re

import pytest
from test_distributed import (  # tests/distributed is on sys.path (rootdir mode)
    assert_same_records,
    launch,
    needs_mpi,
    rank_results,
    run_on_torch,
)

pytestmark = needs_mpi


@pytest.fixture(scope="module")
def lucid_on_2(tmp_path_factory):
    folder = tmp_path_factory.mktemp("join_mesh")
    out = launch("join_mesh.py", 2, str(folder), backend="gloo")
    assert sorted(map(int, re.findall(r"rank (\d+): join mesh ok", out))) == [0, 1], out
    return rank_results(folder, 2)


def test_uneven_inputs_train_like_one_process_and_end_equal(lucid_on_2):
    for key in ("join params", "join static world size off params", "join allreduce_hook params",
                "join zero params"):
        assert lucid_on_2[0][key] == lucid_on_2[1][key], key  # the last joiner's model is broadcast to all
    assert lucid_on_2[0]["join params"] != lucid_on_2[0]["join static world size off params"]
    # buffers come from the highest rank still training: rank 1's count while it trains, then rank 0's
    assert [s["join count"] for s in lucid_on_2] == [5.0, 5.0]
    assert [s["join allreduce_hook count"] for s in lucid_on_2] == [4.0, 4.0]  # no buffer broadcast: rank 0's own
    assert [s["throw"] for s in lucid_on_2] == [
        "Detected at least one rank that exhausted inputs. Throwing across all ranks.", "Rank 1 exhausted all inputs."]


def test_subgroups_mesh_and_coalesced(lucid_on_2):
    zero, one = lucid_on_2
    assert [zero["new_subgroups"], one["new_subgroups"]] == [[[0], 2, 1], [[1], 2, 1]]
    assert [zero["by enumeration"], one["by enumeration"]] == [[True, None], [False, [1]]]
    assert zero["all_reduce_coalesced"] == [[1.0, 3.0, 5.0], [[30.0, 30.0], [30.0, 30.0]]]
    assert zero["all_gather_coalesced async"] == [[[0.0]], [[1.0]]]
    assert one["mesh (2, 1)"][:11] == [[[0], [1]], 2, 2, 1, 2, [2, 1], 1, 1, 0, [1, 0], [[0, 1], [1]]]
    assert [zero["mesh (2, 1) sums"], zero["mesh (1, 2) sums"]] == [[3.0, 1.0], [1.0, 3.0]]
    assert zero["mesh errors"] == ["RuntimeError"] * 3


@pytest.fixture(scope="module")
def torch_on_2(tmp_path_factory):
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("torch_join_mesh")
    run_on_torch("join_mesh.py", folder, 2, "join mesh ok")
    return rank_results(folder, 2)


def test_same_results_as_torch_gloo(lucid_on_2, torch_on_2):
    assert_same_records(lucid_on_2, torch_on_2, rtol=1e-9, atol=1e-12)


def test_a_2x2_mesh_on_4_processes():
    out = launch("mesh_2x2.py", 4)
    assert sorted(map(int, re.findall(r"rank (\d+): mesh 2x2 ok", out))) == [0, 1, 2, 3], out
