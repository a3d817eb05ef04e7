"""``lucid.torch_compat``: ``import torch`` resolves to lucid's modules (lazily, keeping identities), missing
names and modules say so, ``uninstall`` restores ``sys.modules``, and the runner behaves as ``python script.py``."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

import lucid
import lucid.torch_compat as tc

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def aliased():
    tc.install()
    yield
    tc.uninstall()


def _torch_names():
    return {n: m for n, m in sys.modules.items() if n == "torch" or n.startswith("torch.")}


def test_torch_modules_resolve_to_lucid_objects(aliased):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.optim.lr_scheduler import StepLR
    from torch.utils.data import DataLoader

    assert torch.nn.Module is lucid.nn.Module and nn.Linear is lucid.nn.Linear and torch.Tensor is lucid.Tensor
    assert F.relu is lucid.nn.functional.relu and DataLoader is lucid.data.DataLoader
    assert StepLR is lucid.optim.lr_scheduler.StepLR and torch.float32 is lucid.float32
    layer = nn.Linear(2, 3)
    assert isinstance(layer, lucid.nn.Module) and isinstance(layer.weight, torch.Tensor)
    assert isinstance(torch.zeros(2), lucid.Tensor)
    # a submodule reached by attribute, as after `import torch` alone
    assert torch.utils.data.TensorDataset is lucid.data.TensorDataset
    assert torch.cuda.is_available is lucid.cuda.is_available
    from torch.utils.dlpack import from_dlpack, to_dlpack

    assert from_dlpack is lucid.from_dlpack and to_dlpack is lucid.to_dlpack


@pytest.mark.parametrize("name", sorted(n for n, target in tc.ALIASES.items() if target is not None))
def test_every_alias_imports_its_lucid_module(aliased, name):
    """Each entry of the table names a module lucid has (a typo or a module that moved fails here)."""
    module = __import__(name, fromlist=["_"])
    assert module._lucid_module.__name__ == tc.ALIASES[name]


def test_distributed_paths_resolve(aliased):
    from torch.distributed.optim import ZeroRedundancyOptimizer
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data.distributed import DistributedSampler

    assert DistributedDataParallel is lucid.nn.parallel.DistributedDataParallel
    assert DistributedSampler is lucid.data.DistributedSampler
    assert ZeroRedundancyOptimizer.__module__ == "lucid.distributed.optim"


def test_missing_names_and_modules_say_lucid_lacks_them(aliased):
    import torch

    with pytest.raises(AttributeError, match=r"lucid has no torch\.no_such_function yet"):
        _ = torch.no_such_function
    with pytest.raises(AttributeError, match=r"lucid has no torch\.nn\.functional\.no_such_op yet"):
        _ = torch.nn.functional.no_such_op
    with pytest.raises(AttributeError, match=r"lucid has no torch\.utils\.no_such_module yet"):
        _ = torch.utils.no_such_module
    with pytest.raises(ModuleNotFoundError, match=r"lucid has no torch\.onnx yet"):
        import torch.onnx  # noqa: F401
    assert not hasattr(torch, "no_such_function")  # hasattr sees the AttributeError


def test_a_mapped_module_lucid_lacks_fails_on_import(aliased, monkeypatch):
    monkeypatch.setitem(tc.ALIASES, "torch.not_there", "lucid.not_there")
    with pytest.raises(ModuleNotFoundError, match=r"lucid has no torch\.not_there yet \(it would be lucid\.not_th"):
        import torch.not_there  # noqa: F401


def test_writes_go_to_the_lucid_module(aliased, monkeypatch):
    import torch

    monkeypatch.setattr(lucid.backends.cudnn, "benchmark", False)
    torch.backends.cudnn.benchmark = True
    assert lucid.backends.cudnn.benchmark is True
    assert torch.backends.mps.is_available() is False
    assert "nn" not in vars(lucid) or vars(lucid)["nn"] is lucid.nn  # the import system's setattr stayed on the alias


def test_uninstall_restores_sys_modules():
    before = _torch_names()
    tc.install()
    try:
        import torch

        assert isinstance(torch, tc.TorchAlias) and tc.installed()
        assert all(n not in sys.modules or isinstance(sys.modules[n], tc.TorchAlias) for n in before)
    finally:
        tc.uninstall()
    assert _torch_names() == before and not tc.installed()
    tc.uninstall()  # a second uninstall changes nothing
    assert _torch_names() == before


def test_names_print_as_pytorchs_while_installed_and_as_lucids_after():
    x = lucid.zeros(2, 3, dtype=lucid.int32)
    tc.install()
    try:
        shapes = (repr(x.shape), str(x.shape[1:]), x.shape[1:].numel(), x.shape[0], x.shape[-1:] + (4,))
        assert shapes == ("torch.Size([2, 3])", "torch.Size([3])", 3, 2, (3, 4))
        assert (repr(x.dtype), x.type(), repr(lucid.channels_last), repr(lucid.strided)) == (
            "torch.int32", "torch.IntTensor", "torch.channels_last", "torch.strided")
        assert repr(x).endswith("dtype=torch.int32)") and repr(lucid.Size([])) == "torch.Size([])"
        assert lucid.nn.ParameterDict({"w": lucid.nn.Parameter(lucid.ones(2))}).extra_repr() == (
            "(w): Parameter containing: [torch.FloatTensor of size 2]")
    finally:
        tc.uninstall()
    assert (repr(x.shape), repr(x.dtype), x.type(), type(x.shape[1:])) == ("(2, 3)", "lucid.int32",
                                                                           "lucid.IntTensor", tuple)


def test_install_is_idempotent(aliased):
    tc.install()
    assert sys.meta_path.count(tc._finder) == 1


def _run(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "lucid.torch_compat", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=cwd)


def test_runner_runs_the_script_as_main_with_its_argv(tmp_path):
    (tmp_path / "helper.py").write_text("VALUE = 7\n")
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import sys
        import torch
        import helper  # found next to the script, as python puts the script's folder first
        import lucid
        assert __name__ == "__main__"
        assert torch.nn.Module is lucid.nn.Module
        print(sys.argv, helper.VALUE, sys.path[0])
        # lazy: a module the script never imports is not loaded
        print("lucid.torch_compat.cuda_amp" in sys.modules)
    """))
    done = _run(str(script), "--epochs", "3", "x", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == f"{[str(script), '--epochs', '3', 'x']} 7 {tmp_path}"
    assert second == "False"


def test_runner_without_a_script_prints_usage():
    done = _run()
    assert done.returncode == 2 and "usage: python -m lucid.torch_compat script.py" in done.stderr
    done = _run("--help")
    assert done.returncode == 0 and "usage:" in done.stdout


def test_runner_reports_a_missing_script_and_the_script_errors(tmp_path):
    done = _run(str(tmp_path / "nope.py"))
    assert done.returncode == 2 and "nope.py" in done.stderr
    script = tmp_path / "bad.py"
    script.write_text("import torch\ntorch.no_such_thing()\n")
    done = _run(str(script))
    assert done.returncode == 1 and "lucid has no torch.no_such_thing yet" in done.stderr


def test_cuda_amp_spelling_is_lucid_amp_on_cuda(aliased):
    import torch

    scaler = torch.cuda.amp.GradScaler(init_scale=8.0, enabled=False)
    assert isinstance(scaler, lucid.amp.GradScaler) and scaler.get_scale() == 1.0 and not scaler.is_enabled()
    block = torch.cuda.amp.autocast(enabled=False)
    assert isinstance(block, lucid.amp.autocast) and block.device_type == "cuda" and not block.enabled


def test_runner_passes_the_scripts_exit_status(tmp_path):
    script = tmp_path / "exits.py"
    script.write_text("import sys\nimport torch\nif __name__ == '__main__':\n    sys.exit(3)\n")
    assert _run(str(script)).returncode == 3


def test_cpu_amp_spelling_is_lucid_amp_on_cpu_in_bfloat16(aliased):
    import torch

    assert torch.cpu.is_available() and torch.cpu.device_count() == 1 and torch.cpu.current_device() == "cpu"
    torch.cpu.synchronize()
    layer = torch.nn.Linear(2, 3)
    with torch.cpu.amp.autocast():
        assert layer(torch.ones(1, 2)).dtype == torch.bfloat16
    block = torch.cpu.amp.autocast(enabled=False)
    assert isinstance(block, lucid.amp.autocast) and block.device_type == "cpu" and not block.enabled
    assert isinstance(torch.cpu.amp.GradScaler(enabled=False), lucid.amp.GradScaler)


def test_jit_and_compiler_are_no_ops(aliased):
    import torch

    @torch.jit.script
    def double(x):
        return x * 2

    model = torch.nn.Linear(2, 2)
    assert double(torch.ones(1)).item() == 2.0 and torch.jit.trace(model, torch.ones(1, 2)) is model
    assert torch.jit.script(model) is model and not isinstance(model, torch.jit.ScriptModule)
    assert torch.jit.ignore(double) is double and torch.jit.unused(drop=True)(double) is double
    assert not torch.jit.is_scripting() and not torch.jit.is_tracing() and torch.jit.annotate(int, 3) == 3
    assert torch.compiler.disable(double) is double and torch.compiler.disable()(double) is double
    assert not torch.compiler.is_compiling()
    with pytest.raises(NotImplementedError, match="lucid has no TorchScript archives"):
        torch.jit.save(model, "model.pt")


def test_nn_modules_submodules_give_base_classes_and_helpers(aliased):
    from torch.distributions.normal import Normal
    from torch.nn.common_types import _size_2_t  # noqa: F401
    from torch.nn.modules.batchnorm import _BatchNorm
    from torch.nn.modules.conv import _ConvNd
    from torch.nn.modules.loss import _Loss
    from torch.nn.modules.module import Module
    from torch.nn.modules.utils import _pair, _triple
    from torch.optim.adam import Adam

    assert isinstance(lucid.nn.BatchNorm2d(3), _BatchNorm) and isinstance(lucid.nn.Conv2d(1, 1, 1), _ConvNd)
    assert isinstance(lucid.nn.MSELoss(), _Loss) and Module is lucid.nn.Module
    assert Adam is lucid.optim.Adam and Normal is lucid.distributions.Normal
    assert _pair(3) == (3, 3) and _pair((1, 2)) == (1, 2) and _triple(1) == (1, 1, 1)
    from torch.nn.modules.activation import MultiheadAttention, ReLU  # where PyTorch keeps MultiheadAttention

    assert MultiheadAttention is lucid.nn.MultiheadAttention and ReLU is lucid.nn.ReLU


def test_more_torch_module_paths_give_lucids_objects(aliased):
    """Where PyTorch keeps the names programs import from submodules (each line as written in the wild)."""
    from torch.autograd.variable import Variable
    from torch.functional import einsum, meshgrid
    from torch.nn.grad import conv2d_input, conv2d_weight
    from torch.nn.modules.flatten import Flatten, Unflatten
    from torch.nn.modules.fold import Fold, Unfold
    from torch.nn.modules.lazy import LazyModuleMixin
    from torch.nn.modules.padding import ReflectionPad2d
    from torch.nn.modules.upsampling import Upsample
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    from torch.optim.radam import RAdam
    from torch.types import Device, Number

    assert Variable is lucid.Tensor and einsum is lucid.einsum and meshgrid is lucid.meshgrid
    assert conv2d_input is lucid.nn.grad.conv2d_input and conv2d_weight is lucid.nn.grad.conv2d_weight
    assert (Flatten, Unflatten, Fold, Unfold) == (lucid.nn.Flatten, lucid.nn.Unflatten, lucid.nn.Fold, lucid.nn.Unfold)
    assert isinstance(lucid.nn.LazyLinear(3), LazyModuleMixin) and ReflectionPad2d is lucid.nn.ReflectionPad2d
    assert Upsample is lucid.nn.Upsample and RAdam is lucid.optim.RAdam
    assert fuse_conv_bn_eval is lucid.nn.utils.fuse_conv_bn_eval
    assert isinstance(3, Number.__args__) and lucid.device("cpu").__class__ in Device.__args__


def test_a_function_named_like_its_submodule_stays_the_function(aliased):
    """``torch.autograd.gradcheck`` and ``torch.multiprocessing.spawn`` are functions on their packages although
    modules of those names exist (and import), as in PyTorch."""
    import torch.autograd.gradcheck
    import torch.multiprocessing.spawn
    from torch.autograd.gradcheck import gradgradcheck

    assert torch.autograd.gradcheck is lucid.autograd.gradcheck and callable(torch.autograd.gradcheck)
    assert torch.multiprocessing.spawn is lucid.multiprocessing.spawn and callable(torch.multiprocessing.spawn)
    assert gradgradcheck is lucid.autograd.gradgradcheck


def test_model_code_tracing_helpers_run_eagerly(aliased):
    """``torch._assert``, ``torch.fx.wrap``/``Proxy``/``is_fx_tracing`` and ``torch.overrides``: what timm,
    torchvision and HF model code call so that tracing keeps or skips it, with PyTorch's checks."""
    import torch
    import torch.fx
    from torch.fx._symbolic_trace import is_fx_tracing
    from torch.overrides import (
        handle_torch_function,
        has_torch_function,
        has_torch_function_unary,
        has_torch_function_variadic,
    )

    torch._assert(torch.tensor(True), "fine")
    with pytest.raises(AssertionError, match="height 3 doesn't match"):
        torch._assert(3 == 4, "height 3 doesn't match")
    namespace = {}
    exec("import torch.fx\nlen_name = torch.fx.wrap('len')\n@torch.fx.wrap\ndef leaf(x):\n    return x + 1\n",
         namespace)
    assert namespace["len_name"] == "len" and namespace["leaf"](1) == 2
    with pytest.raises(NotImplementedError, match="top level of a module"):
        torch.fx.wrap(len)
    with pytest.raises(RuntimeError, match="callable or string"):
        exec("import torch.fx\ntorch.fx.wrap(3)\n", {})
    assert not isinstance(torch.ones(2), torch.fx.Proxy) and not is_fx_tracing()
    x = torch.ones(2)
    assert not (has_torch_function((x,)) or has_torch_function_unary(x) or has_torch_function_variadic(x, x))
    with pytest.raises(RuntimeError, match="no __torch_function__ dispatch"):
        handle_torch_function(torch.nn.functional.relu, (x,), x)


def test_backends_cuda_attention_switches_are_sdpa_kernels_set(aliased):
    """``torch.backends.cuda.enable_*_sdp``/``*_sdp_enabled`` and the deprecated ``sdp_kernel`` read and change
    the kernels ``sdpa_kernel`` allows (as in PyTorch: on the CPU attention needs math or flash)."""
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    cuda = torch.backends.cuda
    assert cuda.matmul is lucid.backends.cuda.matmul and cuda.is_built is lucid.backends.cuda.is_built
    q = torch.ones(1, 2, 3, 4)
    switches = [(cuda.flash_sdp_enabled, cuda.enable_flash_sdp), (cuda.math_sdp_enabled, cuda.enable_math_sdp),
                (cuda.mem_efficient_sdp_enabled, cuda.enable_mem_efficient_sdp),
                (cuda.cudnn_sdp_enabled, cuda.enable_cudnn_sdp)]
    assert all(enabled() for enabled, _ in switches)
    try:
        cuda.enable_flash_sdp(False)
        assert not cuda.flash_sdp_enabled() and cuda.math_sdp_enabled()
        F.scaled_dot_product_attention(q, q, q)  # math still allowed
        cuda.enable_math_sdp(False)
        with pytest.raises(RuntimeError, match="No viable backend"):
            F.scaled_dot_product_attention(q, q, q)
        with sdpa_kernel(SDPBackend.MATH):
            assert cuda.math_sdp_enabled() and not cuda.cudnn_sdp_enabled()
        assert not cuda.math_sdp_enabled() and cuda.cudnn_sdp_enabled()
    finally:
        for _, enable in switches:
            enable(True)
    with pytest.warns(FutureWarning, match="sdp_kernel"), cuda.sdp_kernel(enable_flash=False, enable_math=True,
                                                                         enable_mem_efficient=False):
        assert [enabled() for enabled, _ in switches] == [False, True, False, True]
    assert all(enabled() for enabled, _ in switches)


def test_private_paths_model_code_imports_from(aliased):
    """Where older and library code imports helpers from (each line as written in the wild)."""
    import torch
    from torch.nn.modules.loss import _WeightedLoss
    from torch.nn.parameter import Parameter, UninitializedBuffer, UninitializedParameter
    from torch.utils.data._utils.collate import default_collate, default_collate_err_msg_format

    assert isinstance(torch.nn.CrossEntropyLoss(), _WeightedLoss) and not isinstance(torch.nn.MSELoss(), _WeightedLoss)
    assert Parameter is lucid.nn.Parameter and UninitializedBuffer is lucid.nn.UninitializedBuffer
    lazy = torch.nn.LazyLinear(3)
    assert isinstance(lazy.weight, UninitializedParameter) and isinstance(lazy.weight, Parameter)
    lazy(torch.ones(2, 4))
    assert not isinstance(lazy.weight, UninitializedParameter)
    assert default_collate is lucid.data.default_collate and "found {}" in default_collate_err_msg_format


def test_consume_prefix_strips_a_ddp_checkpoints_prefix(aliased):
    """``consume_prefix_in_state_dict_if_present`` strips ``module.`` from the keys and the ``_metadata`` entries
    (the wrapped model's own ``module`` entry becomes the root one), as PyTorch's; then the plain model loads it."""
    import torch
    from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

    model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    wrapped = torch.nn.Module()
    wrapped.module = model
    state = wrapped.state_dict()
    consume_prefix_in_state_dict_if_present(state, "module.")
    assert list(state) == list(model.state_dict())
    assert sorted(state._metadata) == ["", "0", "1"]
    assert not torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3)).load_state_dict(state).missing_keys


def test_dynamo_settings_are_kept_and_its_calls_change_nothing(aliased):
    import torch
    import torch._dynamo
    import torch._dynamo.config

    torch._dynamo.config.suppress_errors = True
    try:
        assert torch._dynamo.config.suppress_errors is True and torch._dynamo.config.cache_size_limit == 8
        x = torch.ones(3)
        torch._dynamo.mark_dynamic(x, 0)
        torch._dynamo.mark_static(torch.nn.Linear(2, 2))
        assert torch._dynamo.disable(abs) is abs and torch._dynamo.reset() is None
        assert not torch._dynamo.is_compiling() and x.tolist() == [1.0, 1.0, 1.0]
        with pytest.raises(TypeError, match="expects a Tensor"):
            torch._dynamo.mark_dynamic([1, 2], 0)
    finally:
        torch._dynamo.config.suppress_errors = False


def test_typed_datasets_loaders_and_samplers_subscript_as_torchs(aliased):
    import torch
    from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler
    from torch.utils.data.dataset import T_co

    class Pairs(Dataset[tuple[torch.Tensor, int]]):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return torch.full((2,), float(i)), i

    def first(loader: DataLoader[tuple[torch.Tensor, int]]) -> list:
        return next(iter(loader))[1].tolist()

    assert first(DataLoader(Pairs(), batch_size=2)) == [0, 1] and T_co.__covariant__
    assert IterableDataset[int] is not None and Sampler[int] is not None


def test_safe_globals_are_kept_for_torchs_allow_list_api(aliased):
    import torch

    class Config:
        pass

    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals([Config])
    with torch.serialization.safe_globals([int]):
        assert torch.serialization.get_safe_globals() == [Config, int]
    assert torch.serialization.get_safe_globals() == [Config]
    torch.serialization.clear_safe_globals()
    assert torch.nn.init._no_grad_trunc_normal_ is torch.nn.init.trunc_normal_
