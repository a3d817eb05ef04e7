"""``lucid.torch_compat``: run an unmodified PyTorch program on lucid.

``python -m lucid.torch_compat script.py [args]`` (or :func:`install` from Python) makes
``import torch`` and its submodules resolve to lucid's modules, then runs the script as
``__main__``. Only modules are aliased (decision 9 of the design): ``torch.nn.Module is
lucid.nn.Module``, ``torch.Tensor is lucid.Tensor``, so ``isinstance`` checks hold. Each
``torch.*`` module is a thin proxy of its lucid module, made (and the lucid module imported)
only when the script imports it; reading a name the lucid module lacks raises
``AttributeError: lucid has no torch.X yet``, importing a ``torch.*`` module lucid lacks
raises ``ModuleNotFoundError`` with the same words. :data:`ALIASES` is the table.

What differs from PyTorch (lucid's own semantics are kept, not emulated):

- ``torch.save``/``torch.load`` write and read safetensors + JSON, never pickle: tensors,
  state_dicts and nested dicts/lists of them and of plain Python values. ``torch.save(model)``
  of a whole ``nn.Module`` stores its ``state_dict()``, so ``torch.load`` gives back that
  state_dict, not the module (build the model, then ``load_state_dict``); other objects (an
  optimizer itself, arbitrary classes) are refused. ``weights_only=`` is accepted and changes
  nothing: loading never runs code. Files written by real PyTorch (zip/pickle) are not read.
- DataLoader workers started with the ``spawn`` context re-import the script in a fresh
  interpreter, where ``import torch`` finds real PyTorch (or nothing): use ``fork`` (Linux's
  default) or call :func:`install` before ``import torch`` in the script.
- ``torch.Tensor(...)`` is lucid's constructor ``Tensor(data, requires_grad, dtype, device)``:
  ``torch.Tensor(2, 3)`` is not an empty 2x3 tensor and integer data stay int64; the legacy
  ``torch.FloatTensor(2, 3)`` (and kin) build as in PyTorch.
- Seeded random numbers on the CPU are PyTorch's (initial weights, dropout masks, DataLoader shuffles: see
  :mod:`lucid._backend.torch_random`; float32 normals to a few ulps), but ``torch.get_rng_state()`` is lucid's
  own layout, and CUDA draws are CuPy's streams, not PyTorch's.
- ``torch.__version__`` is lucid's version.
- ``torch.version.cuda`` is the CUDA runtime version CuPy finds (None without one), not a build-time version.
- ``torch.hub`` caches in lucid's folder (``~/.cache/lucid/hub``; ``$LUCID_HOME``, or ``$TORCH_HOME`` as PyTorch),
  and ``torch.hub.load_state_dict_from_url`` reads safetensors weights only: PyTorch's pickled ``.pt``/``.pth``
  checkpoints are refused with an error saying how to convert them.
- Thread settings (``set_num_threads`` ...) are recorded but do not change how many threads
  NumPy's BLAS uses; cuDNN and determinism switches are recorded and change nothing (lucid
  has no cuDNN path and its kernels are deterministic). See :mod:`lucid._settings`.
- ``torch.fx`` offers only what model code touches (``wrap`` returns its argument, nothing is a ``Proxy``), not
  tracing; ``torch.overrides.has_torch_function*`` are False: lucid does not dispatch to ``__torch_function__``.
- ``torch.jit``, ``torch.compiler`` and ``torch._dynamo`` are no-ops, as :func:`lucid.compile` is:
  ``torch.jit.script(fn)`` and ``torch.jit.trace(model, example)`` return ``fn`` and ``model``,
  ``@torch.compiler.disable`` returns its function, ``torch._dynamo.config`` keeps what is set in it;
  TorchScript archives (``torch.jit.save``/``load``) are not offered.
- ``torch.cpu.amp.autocast()`` is ``torch.autocast("cpu", dtype=torch.bfloat16)``, PyTorch's default for it.
- ``torch.multiprocessing`` shares tensors that are in shared memory (``share_memory_()``, ``Module.share_memory()``)
  as PyTorch does; a CPU tensor that is not is sent as a copy (PyTorch moves it into shared memory on the way),
  and a CUDA tensor can't be sent (no CUDA IPC). See :mod:`lucid.multiprocessing.reductions`.
- While installed, lucid prints its names as PyTorch's (``torch.float32``, ``torch.Size([2, 3])``, ``x.type()``
  is ``'torch.FloatTensor'``) and a slice of a shape is a shape, not a tuple; :func:`uninstall` restores lucid's
  spelling (``lucid.float32``, shapes as tuples).
- Names lucid does not have fail loudly instead of behaving differently.
- Programs that check ``sys.modules["torch"]`` through other libraries (array-api-compat,
  ...) will see lucid there while the aliases are installed.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types

from .. import dtypes as _dt
from .._tensor import sizes_as_torch

__all__ = ["install", "uninstall", "installed", "ALIASES"]

# torch module -> the lucid module it resolves to (None: a namespace holding only its submodules)
ALIASES = {
    "torch": "lucid",
    "torch.nn": "lucid.nn",
    "torch.masked": "lucid.masked",
    "torch.nn.functional": "lucid.nn.functional",
    "torch.nn.init": "lucid.nn.init",
    "torch.nn.parameter": "lucid.torch_compat.nn_parameter",  # + UninitializedParameter (lucid.nn.layers.lazy)
    "torch.nn.modules": "lucid.nn.layers",
    # torch.nn.modules.X: where programs import base classes and helpers from (_Loss, _BatchNorm, _ConvNd, _pair)
    "torch.nn.modules.module": "lucid.nn.module",
    "torch.nn.modules.container": "lucid.nn.containers",
    "torch.nn.modules.loss": "lucid.nn.layers.loss",
    "torch.nn.modules.batchnorm": "lucid.nn.layers.normalization",
    "torch.nn.modules.instancenorm": "lucid.nn.layers.normalization",
    "torch.nn.modules.normalization": "lucid.nn.layers.normalization",
    "torch.nn.modules.conv": "lucid.nn.layers.conv",
    "torch.nn.modules.activation": "lucid.torch_compat.nn_modules_activation",
    "torch.nn.modules.linear": "lucid.nn.layers.linear",
    "torch.nn.modules.sparse": "lucid.nn.layers.embedding",
    "torch.nn.modules.pooling": "lucid.nn.layers.pooling",
    "torch.nn.modules.dropout": "lucid.nn.layers.dropout",
    "torch.nn.modules.rnn": "lucid.nn.layers.rnn",
    "torch.nn.modules.transformer": "lucid.nn.layers.transformer",
    "torch.nn.modules.adaptive": "lucid.nn.layers.adaptive",
    "torch.nn.modules.lazy": "lucid.nn.layers.lazy",  # LazyModuleMixin
    "torch.nn.modules.flatten": "lucid.nn.layers.linear",  # Flatten, Unflatten
    "torch.nn.modules.distance": "lucid.nn.layers.loss",  # PairwiseDistance, CosineSimilarity
    "torch.nn.modules.fold": "lucid.nn.layers.conv",  # Fold, Unfold
    "torch.nn.modules.padding": "lucid.nn.layers.resample",
    "torch.nn.modules.pixelshuffle": "lucid.nn.layers.resample",
    "torch.nn.modules.upsampling": "lucid.nn.layers.resample",
    "torch.nn.modules.channelshuffle": "lucid.nn.layers.resample",
    "torch.nn.modules.utils": "lucid.torch_compat.nn_modules_utils",
    "torch.nn.common_types": "lucid.torch_compat.nn_common_types",
    "torch.nn.grad": "lucid.nn.grad",
    "torch.nn.utils": "lucid.nn.utils",
    "torch.nn.utils.rnn": "lucid.nn.utils.rnn",
    "torch.nn.utils.parametrize": "lucid.nn.utils.parametrize",
    "torch.nn.utils.parametrizations": "lucid.nn.utils.parametrizations",
    "torch.nn.utils.prune": "lucid.nn.utils.prune",
    "torch.nn.parallel": "lucid.nn.parallel",
    "torch.nn.parallel.distributed": "lucid.nn.parallel.distributed",
    "torch.nn.utils.stateless": "lucid.nn.utils.stateless",
    "torch.nn.utils.clip_grad": "lucid.nn.utils.clip_grad",
    "torch.nn.utils.fusion": "lucid.nn.utils.fusion",
    "torch.nn.utils.init": "lucid.nn.utils.init",
    "torch.nn.attention": "lucid.nn.attention",
    "torch.optim": "lucid.optim",
    "torch.optim.optimizer": "lucid.optim.optimizer",
    "torch.optim.sgd": "lucid.optim.sgd",
    "torch.optim.adam": "lucid.optim.adam",
    "torch.optim.adamw": "lucid.optim.adam",
    "torch.optim.adagrad": "lucid.optim.adagrad",
    "torch.optim.adamax": "lucid.optim.adam",
    "torch.optim.nadam": "lucid.optim.adam",
    "torch.optim.radam": "lucid.optim.adam",
    "torch.optim.asgd": "lucid.optim.sgd",
    "torch.optim.adadelta": "lucid.optim.adadelta",
    "torch.optim.rmsprop": "lucid.optim.rmsprop",
    "torch.optim.rprop": "lucid.optim.rprop",
    "torch.optim.lbfgs": "lucid.optim.lbfgs",
    "torch.optim.lr_scheduler": "lucid.optim.lr_scheduler",
    "torch.optim.swa_utils": "lucid.optim.swa_utils",
    "torch.utils": None,
    "torch.utils.data": "lucid.data",
    "torch.utils.data.dataset": "lucid.data.dataset",
    "torch.utils.data.dataloader": "lucid.data.dataloader",
    "torch.utils.data.sampler": "lucid.data.sampler",
    "torch.utils.data.distributed": "lucid.data.sampler",  # DistributedSampler
    "torch.utils.data._utils": None,
    "torch.utils.data._utils.collate": "lucid.data.collate",  # default_collate, as older programs import it
    "torch.utils.checkpoint": "lucid.utils.checkpoint",
    "torch.utils.hooks": "lucid.nn.hooks",  # RemovableHandle
    "torch.utils.dlpack": "lucid._interop",  # from_dlpack, to_dlpack
    "torch.utils._pytree": "lucid.utils._pytree",
    "torch.utils.model_zoo": "lucid.utils.model_zoo",
    "torch.utils.benchmark": "lucid.utils.benchmark",
    "torch.autograd": "lucid.autograd",
    "torch.autograd.functional": "lucid.autograd.functional",
    "torch.autograd.gradcheck": "lucid.autograd.gradcheck",
    "torch.autograd.variable": "lucid.autograd",  # Variable (lucid.Tensor)
    "torch.autograd.grad_mode": "lucid.autograd.grad_mode",
    "torch.autograd.graph": "lucid.autograd.graph",
    "torch.autograd.function": "lucid.autograd.function",  # Function, FunctionCtx, once_differentiable
    "torch.autograd.anomaly_mode": "lucid.autograd.anomaly_mode",
    "torch.autograd.profiler": "lucid.autograd.profiler",  # no-ops: lucid does not profile
    "torch.autograd.forward_ad": "lucid.autograd.forward_ad",
    "torch.profiler": "lucid.profiler",  # no-ops: lucid does not profile
    "torch.profiler.profiler": "lucid.profiler",
    "torch.func": "lucid.func",
    "torch.cuda": "lucid.cuda",
    "torch.cuda.amp": "lucid.torch_compat.cuda_amp",
    "torch.cuda.nvtx": "lucid.cuda.nvtx",
    "torch.cuda.graphs": "lucid.cuda.graphs",
    "torch.cuda.memory": "lucid.cuda",  # torch.cuda's submodules: their names are all lucid.cuda's
    "torch.cuda.random": "lucid.cuda",
    "torch.cuda.streams": "lucid.cuda",
    "torch.cpu": "lucid.torch_compat.cpu",
    "torch.cpu.amp": "lucid.torch_compat.cpu_amp",
    "torch.amp": "lucid.amp",
    "torch.jit": "lucid.torch_compat.jit",
    "torch.fx": "lucid.torch_compat.fx",  # wrap, Proxy: the names model code touches, not FX tracing
    "torch.fx._symbolic_trace": "lucid.torch_compat.fx",  # is_fx_tracing
    "torch.overrides": "lucid.torch_compat.overrides",  # has_torch_function...: always False (no dispatch)
    "torch.quasirandom": "lucid.quasirandom",
    "torch.compiler": "lucid.torch_compat.compiler",
    "torch._dynamo": "lucid.torch_compat.dynamo",  # config kept, disable/reset/mark_dynamic: no compiler to drive
    "torch._dynamo.config": "lucid.torch_compat.dynamo_config",
    "torch.accelerator": "lucid.accelerator",
    "torch.distributed": "lucid.distributed",
    "torch.distributed.optim": "lucid.distributed.optim",
    "torch.distributed.nn": "lucid.distributed.nn",
    "torch.distributed.nn.functional": "lucid.distributed.nn.functional",
    "torch.distributed.algorithms": "lucid.distributed.algorithms",
    "torch.distributed.algorithms.ddp_comm_hooks": "lucid.distributed.algorithms.ddp_comm_hooks",
    "torch.distributed.algorithms.ddp_comm_hooks.default_hooks":
        "lucid.distributed.algorithms.ddp_comm_hooks.default_hooks",
    "torch.distributed.algorithms.join": "lucid.distributed.algorithms.join",
    "torch.distributed.device_mesh": "lucid.distributed.device_mesh",
    "torch.distributed.run": "lucid.distributed.run",
    "torch.backends": "lucid.backends",
    "torch.backends.cuda": "lucid.torch_compat.backends_cuda",  # lucid.backends.cuda + the attention switches
    "torch.backends.cudnn": "lucid.backends.cudnn",
    "torch.backends.mps": "lucid.backends.mps",
    "torch.backends.mkldnn": "lucid.backends.mkldnn",
    "torch.backends.mkl": "lucid.backends.mkl",
    "torch.backends.openmp": "lucid.backends.openmp",
    "torch.backends.opt_einsum": "lucid.backends.opt_einsum",
    "torch.linalg": "lucid.linalg",
    "torch.fft": "lucid.fft",
    "torch.return_types": "lucid.return_types",
    "torch.library": "lucid.library",
    "torch.signal": "lucid.signal",
    "torch.signal.windows": "lucid.signal.windows",
    "torch.signal.windows.windows": "lucid.signal.windows",
    "torch.special": "lucid.special",
    "torch.sparse": "lucid.sparse",
    "torch.nested": "lucid.nested",
    "torch.distributions": "lucid.distributions",
    "torch.distributions.constraints": "lucid.distributions.constraints",
    "torch.distributions.kl": "lucid.distributions.kl",
    "torch.distributions.distribution": "lucid.distributions.distribution",
    "torch.distributions.utils": "lucid.distributions.utils",
    "torch.distributions.exp_family": "lucid.distributions.exp_family",
    "torch.distributions.normal": "lucid.distributions.normal",
    "torch.distributions.log_normal": "lucid.distributions.log_normal",
    "torch.distributions.multivariate_normal": "lucid.distributions.multivariate_normal",
    "torch.distributions.uniform": "lucid.distributions.uniform",
    "torch.distributions.laplace": "lucid.distributions.laplace",
    "torch.distributions.exponential": "lucid.distributions.exponential",
    "torch.distributions.poisson": "lucid.distributions.poisson",
    "torch.distributions.bernoulli": "lucid.distributions.bernoulli",
    "torch.distributions.categorical": "lucid.distributions.categorical",
    "torch.distributions.one_hot_categorical": "lucid.distributions.one_hot_categorical",
    "torch.distributions.independent": "lucid.distributions.independent",
    "torch.distributions.transforms": "lucid.distributions.transforms",
    "torch.distributions.constraint_registry": "lucid.distributions.constraint_registry",
    "torch.distributions.transformed_distribution": "lucid.distributions.transformed_distribution",
    "torch.distributions.gamma": "lucid.distributions.gamma",
    "torch.distributions.chi2": "lucid.distributions.chi2",
    "torch.distributions.beta": "lucid.distributions.beta",
    "torch.distributions.dirichlet": "lucid.distributions.dirichlet",
    "torch.distributions.studentT": "lucid.distributions.studentT",
    "torch.distributions.cauchy": "lucid.distributions.cauchy",
    "torch.distributions.gumbel": "lucid.distributions.gumbel",
    "torch.distributions.half_normal": "lucid.distributions.half_normal",
    "torch.distributions.half_cauchy": "lucid.distributions.half_cauchy",
    "torch.distributions.geometric": "lucid.distributions.geometric",
    "torch.distributions.binomial": "lucid.distributions.binomial",
    "torch.distributions.negative_binomial": "lucid.distributions.negative_binomial",
    "torch.distributions.von_mises": "lucid.distributions.von_mises",
    "torch.distributions.relaxed_bernoulli": "lucid.distributions.relaxed_bernoulli",
    "torch.distributions.relaxed_categorical": "lucid.distributions.relaxed_categorical",
    "torch.distributions.mixture_same_family": "lucid.distributions.mixture_same_family",
    "torch.distributions.continuous_bernoulli": "lucid.distributions.continuous_bernoulli",
    "torch.distributions.fishersnedecor": "lucid.distributions.fishersnedecor",
    "torch.distributions.generalized_pareto": "lucid.distributions.generalized_pareto",
    "torch.distributions.inverse_gamma": "lucid.distributions.inverse_gamma",
    "torch.distributions.kumaraswamy": "lucid.distributions.kumaraswamy",
    "torch.distributions.lkj_cholesky": "lucid.distributions.lkj_cholesky",
    "torch.distributions.logistic_normal": "lucid.distributions.logistic_normal",
    "torch.distributions.lowrank_multivariate_normal": "lucid.distributions.lowrank_multivariate_normal",
    "torch.distributions.multinomial": "lucid.distributions.multinomial",
    "torch.distributions.pareto": "lucid.distributions.pareto",
    "torch.distributions.weibull": "lucid.distributions.weibull",
    "torch.distributions.wishart": "lucid.distributions.wishart",
    "torch.testing": "lucid.testing",
    "torch.random": "lucid.random",
    "torch.serialization": "lucid.serialization",
    "torch.multiprocessing": "lucid.multiprocessing",
    "torch.multiprocessing.spawn": "lucid.multiprocessing.spawn",
    "torch.multiprocessing.reductions": "lucid.multiprocessing.reductions",
    "torch.hub": "lucid.hub",
    "torch.version": "lucid.version",
    "torch.functional": "lucid",  # einsum, split, meshgrid, stft, unique, ...: lucid's top-level functions
    "torch.types": "lucid.torch_compat.torch_types",  # (not "types": that would shadow the standard module here)
    "torch.storage": "lucid.storage",
    "torch.futures": "lucid.futures",
}


class TorchAlias(types.ModuleType):
    """``sys.modules["torch..."]``: reads and writes go to the lucid module, a missing name says so."""

    def __init__(self, name: str, target: types.ModuleType | None):
        super().__init__(name, f"lucid's {target.__name__ if target else 'namespace'} as {name}")
        object.__setattr__(self, "_lucid_module", target)
        object.__setattr__(self, "__path__", [])  # a package, so that torch.X.Y can be imported

    def __getattr__(self, name: str):
        sub = f"{self.__name__}.{name}"
        if sub in ALIASES and not name.startswith("__") and self._own(name) is None:
            return importlib.import_module(sub)
        target = self._lucid_module
        if target is not None:
            try:
                return getattr(target, name)
            except AttributeError:
                pass
        where = f" ({self.__name__} resolves to {target.__name__})" if target is not None else ""
        raise AttributeError(f"lucid has no {sub} yet{where}")

    def _own(self, name: str):
        """The lucid module's attribute ``name`` when it is not a module (a function that PyTorch's package exports
        under its submodule's name: ``torch.autograd.gradcheck``, ``torch.multiprocessing.spawn``), else None."""
        value = getattr(self._lucid_module, name, None) if self._lucid_module is not None else None
        return None if isinstance(value, types.ModuleType) else value

    def __setattr__(self, name: str, value) -> None:
        # the import system sets each imported submodule on its parent: keep those here, so the lucid
        # module is not changed, unless a function of that name is the package's (it stays, as in PyTorch);
        # anything else (torch.backends.cudnn.benchmark = True) is the lucid module's
        if isinstance(value, TorchAlias) and self._own(name) is not None:
            return
        if isinstance(value, TorchAlias) or name.startswith("__") or self._lucid_module is None:
            object.__setattr__(self, name, value)
        else:
            setattr(self._lucid_module, name, value)

    def __dir__(self):
        own = [n.rpartition(".")[2] for n in ALIASES if n.rpartition(".")[0] == self.__name__]
        return sorted(set(own) | set(dir(self._lucid_module) if self._lucid_module is not None else ()))


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``torch`` and ``torch.*`` imports to :class:`TorchAlias` modules of lucid's."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "torch" and not fullname.startswith("torch."):
            return None
        if fullname not in ALIASES:
            raise ModuleNotFoundError(f"lucid has no {fullname} yet (the torch modules lucid has are listed "
                                      f"in lucid.torch_compat.ALIASES)", name=fullname)
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        lucid_name = ALIASES[spec.name]
        if lucid_name is None:
            return TorchAlias(spec.name, None)
        try:
            target = importlib.import_module(lucid_name)
        except ModuleNotFoundError as e:
            if e.name is None or not lucid_name.startswith(e.name):
                raise  # a module the lucid module itself imports is missing: not ours to rename
            raise ModuleNotFoundError(f"lucid has no {spec.name} yet (it would be {lucid_name})",
                                      name=spec.name) from None
        return TorchAlias(spec.name, target)

    def exec_module(self, module):
        pass


_finder = _Finder()
_saved: dict[str, types.ModuleType] = {}


def _spell_as_torch(on: bool) -> None:
    """Print names as PyTorch does while installed: ``torch.float32``, ``torch.Size([2, 3])``,
    ``x.type() == 'torch.FloatTensor'``; slices of a shape are shapes."""
    _dt.spell_as("torch" if on else "lucid")
    sizes_as_torch(on)


def installed() -> bool:
    """Whether ``import torch`` currently resolves to lucid."""
    return _finder in sys.meta_path


def install() -> None:
    """Make ``import torch`` (and ``torch.nn``, ``torch.optim``, ...) resolve to lucid from now on.
    Real torch modules already imported are set aside and put back by :func:`uninstall`."""
    if installed():
        return
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
        _saved[name] = sys.modules.pop(name)
    sys.meta_path.insert(0, _finder)
    _spell_as_torch(True)


def uninstall() -> None:
    """Undo :func:`install`: drop the ``torch`` aliases and restore the modules it set aside."""
    if not installed():
        return
    sys.meta_path.remove(_finder)
    _spell_as_torch(False)
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
        if isinstance(sys.modules[name], TorchAlias):
            del sys.modules[name]
    sys.modules.update(_saved)
    _saved.clear()
