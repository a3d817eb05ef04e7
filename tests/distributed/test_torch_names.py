"""The names of torch.distributed that need no process group: Backend, the debug level, the error classes,
is_torchelastic_launched, get_default_backend_for_device, reduce_op, GradBucket, and the argument checks of
Join, new_subgroups and init_device_mesh that refuse before any collective."""

from __future__ import annotations

import warnings

import pytest

import lucid
import lucid.distributed as dist
from lucid.distributed.algorithms.join import Join, Joinable, JoinHook

NAMES = ["Backend", "DebugLevel", "DeviceMesh", "DistBackendError", "DistError", "DistNetworkError", "DistStoreError",
         "GradBucket", "QueueEmptyError", "all_gather_coalesced", "all_gather_into_tensor", "all_reduce_coalesced",
         "get_debug_level", "get_default_backend_for_device", "init_device_mesh", "is_torchelastic_launched",
         "new_subgroups", "new_subgroups_by_enumeration", "reduce_op", "reduce_scatter_tensor", "set_debug_level",
         "set_debug_level_from_env", "device_mesh", "algorithms"]


def test_torch_names_exist():
    assert [n for n in NAMES if not hasattr(dist, n)] == []
    torch = pytest.importorskip("torch")
    assert [n for n in NAMES if not hasattr(torch.distributed, n)] == []


def test_backend_normalises_and_refuses_unknown_names():
    assert dist.Backend("GLOO") == dist.Backend.GLOO == "gloo" and type(dist.Backend("Nccl")) is str
    assert (dist.Backend.NCCL, dist.Backend.MPI, dist.Backend.UCC) == ("nccl", "mpi", "ucc")
    with pytest.raises(ValueError, match="unknown distributed backend 'foo'"):
        dist.Backend("foo")
    with pytest.raises(ValueError, match="string-ish"):
        dist.Backend(3)
    torch = pytest.importorskip("torch")
    for name in ("gloo", "NCCL", "Mpi", "ucc"):
        assert dist.Backend(name) == torch.distributed.Backend(name)
    assert dist.Backend.backend_list == torch.distributed.Backend.backend_list


def test_default_backend_for_device_and_torchelastic(monkeypatch):
    assert dist.get_default_backend_for_device("cpu") == "gloo"
    assert dist.get_default_backend_for_device("cuda:1") == dist.get_default_backend_for_device(
        lucid.device("cuda")) == "nccl"
    with pytest.raises(ValueError, match="Default backend not registered for device : xla"):
        dist.get_default_backend_for_device("xla")
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)
    assert dist.is_torchelastic_launched() is False
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "abc")
    assert dist.is_torchelastic_launched() is True


def test_debug_level(monkeypatch):
    monkeypatch.setattr(dist.common, "_debug_level", None)
    monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "detail")
    assert dist.get_debug_level() is dist.DebugLevel.DETAIL  # read from the environment on first use
    dist.set_debug_level(dist.DebugLevel.INFO)
    assert dist.get_debug_level() is dist.DebugLevel.INFO and int(dist.DebugLevel.INFO) == 1
    monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "OFF")
    dist.set_debug_level_from_env()
    assert dist.get_debug_level() is dist.DebugLevel.OFF
    monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "bogus")
    with pytest.raises(ValueError, match="must be OFF, INFO, or DETAIL"):
        dist.set_debug_level_from_env()
    with pytest.raises(TypeError, match="DebugLevel"):
        dist.set_debug_level("INFO")
    assert dist.get_debug_level() is dist.DebugLevel.OFF


def test_error_classes_subclass_runtime_error_as_torch():
    for name, base in (("DistError", RuntimeError), ("DistBackendError", "DistError"),
                       ("DistNetworkError", "DistError"), ("DistStoreError", "DistError"),
                       ("QueueEmptyError", "DistStoreError")):
        assert issubclass(getattr(dist, name), base if isinstance(base, type) else getattr(dist, base)), name
    assert issubclass(dist.DistributedError, dist.DistError)
    with pytest.raises(dist.DistError, match="not initialised"):
        dist.get_rank()


def test_reduce_op_is_a_deprecated_alias():
    with pytest.warns(FutureWarning, match="reduce_op` is deprecated"):
        assert dist.reduce_op.SUM is dist.ReduceOp.SUM
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inspect's probes of dunders neither warn nor find anything
        assert not hasattr(dist.reduce_op, "__wrapped__")


def test_grad_bucket_methods():
    params = [lucid.zeros(2, 3), lucid.zeros(4)]
    flat = lucid.arange(10, dtype=lucid.float32)
    bucket = dist.GradBucket(1, flat, params, True)
    assert bucket.index() == 1 and bucket.is_last() and bucket.buffer() is flat and bucket.parameters() == params
    assert [g.shape for g in bucket.gradients()] == [(2, 3), (4,)] and bucket.gradients()[1].tolist() == [6, 7, 8, 9]
    bucket.set_buffer(flat * 2)
    assert bucket.gradients()[1].tolist() == [12, 14, 16, 18]


class _Counter(Joinable):
    """A Joinable with no collectives: only Join's argument handling is exercised."""

    def __init__(self):
        super().__init__()

    def join_hook(self, **kwargs):
        return JoinHook()

    @property
    def join_device(self):
        return lucid.device("cpu")

    @property
    def join_process_group(self):
        return None


def test_join_checks_its_arguments():
    with pytest.raises(ValueError, match="at least one joinable"):
        Join([])
    with pytest.raises(TypeError, match="Joinable.__init__"):
        Join([object()])
    assert Join.notify_join_context(_Counter()) is None  # outside an enabled join context: nothing to say
    with pytest.raises(TypeError, match="Abstract|abstract"):
        Joinable()


def test_subgroup_and_mesh_arguments_refused_before_any_collective():
    if not lucid.cuda.is_available():
        with pytest.raises(ValueError, match="pass in 'group_size'"):
            dist.new_subgroups()
    with pytest.raises(ValueError, match="cannot be empty"):
        dist.new_subgroups_by_enumeration([])
    with pytest.raises(ValueError, match="Rank 1 has appeared in both subgroup"):
        dist.new_subgroups_by_enumeration([[0, 1], [1, 2]])
    with pytest.raises(RuntimeError, match="same length"):
        dist.init_device_mesh("cpu", (2, 2), mesh_dim_names=("dp",))
    with pytest.raises(RuntimeError, match="Device type with index is not supported"):
        dist.init_device_mesh("cuda:0", (2,))
    with pytest.raises(ValueError, match="positive ints"):
        dist.init_device_mesh("cpu", (0, 2))


def test_torch_compat_aliases():
    from lucid.torch_compat import ALIASES

    assert ALIASES["torch.distributed.algorithms.join"] == "lucid.distributed.algorithms.join"
    assert ALIASES["torch.distributed.device_mesh"] == "lucid.distributed.device_mesh"
