"""send/recv, isend/irecv, batch_isend_irecv, gather, scatter, reduce_scatter, all_to_all(_single), subgroups,
object collectives and monitored_barrier over MPI (backends "mpi" and "gloo"): one worker script does all the
checks on each rank (workers/p2p_and_groups.py); where torch is installed, the same script runs on
torch.distributed's gloo backend and every rank must have seen the same values and the same kinds of errors."""

from __future__ import annotations

import re

import pytest
from test_distributed import (  # tests/distributed is on sys.path (rootdir import mode)
    BACKENDS,
    launch,
    needs_mpi,
    rank_results,
    run_on_torch,
)

pytestmark = needs_mpi


def _ranks_ok(out):
    return sorted(map(int, re.findall(r"rank (\d+): p2p and groups ok", out)))  # the ranks' lines may interleave


@pytest.fixture(scope="module", params=BACKENDS)
def lucid_on_3(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lucid3")
    out = launch("p2p_and_groups.py", 3, str(folder), backend=request.param)
    return out, rank_results(folder, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_process(backend, tmp_path):
    """A world of one: batch_isend_irecv and isend/irecv to oneself, gather/scatter/all_to_all of one."""
    assert _ranks_ok(launch("p2p_and_groups.py", 1, str(tmp_path), backend=backend)) == [0]
    seen = rank_results(tmp_path, 1)[0]
    assert seen["batch ring"] == [2, [0.0, 1.0, 2.0, 3.0]] and seen["all_to_all_single"] == [0, 1]


def test_three_processes_with_a_subgroup_that_leaves_one_out(lucid_on_3):
    out, seen = lucid_on_3
    assert _ranks_ok(out) == [0, 1, 2], out
    assert seen[0]["any source"] == [[1, [10.0, 11.0, 12.0, 13.0]], [2, [20.0, 21.0, 22.0, 23.0]]]
    assert seen[2]["gather async=True"] == [[0.0, 1.0, 2.0, 3.0], [10.0, 11.0, 12.0, 13.0], [20.0, 21.0, 22.0, 23.0]]
    assert seen[1]["non-member"] == [-1, -1, True]
    assert seen[1]["non-member warning"] == ["Running all_reduce on global rank 1 which does not belong to the "
                                             "given group."]
    assert seen[2]["recv in group"] == [0, [0.0, 1.0, 2.0, 3.0]]
    assert seen[2]["recv_object_list"] == [0, [1, "two", {"three": 3.0}]]


@pytest.fixture(scope="module")
def torch_on_3(tmp_path_factory):
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("torch3")
    run_on_torch("p2p_and_groups.py", folder, 3, "p2p and groups ok")
    return rank_results(folder, 3)


def test_same_results_and_errors_as_torch_gloo(lucid_on_3, torch_on_3):
    torch_seen = torch_on_3
    for rank, (mine, theirs) in enumerate(zip(lucid_on_3[1], torch_seen)):
        assert mine.keys() == theirs.keys()
        differences = {k: (mine[k], theirs[k]) for k in mine if mine[k] != theirs[k]}
        assert not differences, f"rank {rank}: (lucid, torch) {differences}"
