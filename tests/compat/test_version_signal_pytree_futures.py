"""torch.version, torch.signal.windows, torch.utils._pytree and torch.futures as lucid modules: values, specs,
errors and Future semantics compared with PyTorch's, and a program that imports them through torch_compat."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap
import threading
from collections import OrderedDict, defaultdict, deque, namedtuple

import numpy as np
import pytest

import lucid
import lucid.futures as lf
import lucid.signal.windows as lw
import lucid.utils._pytree as lp

torch = pytest.importorskip("torch")
import torch.futures as tf  # noqa: E402
import torch.signal.windows as tw  # noqa: E402
import torch.utils._pytree as tp  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


# ---- version --------------------------------------------------------------------------------------------------------
def test_version_module_describes_the_build():
    assert lucid.version.__version__ == lucid.__version__
    assert lucid.version.hip is None and lucid.version.debug is False
    assert isinstance(lucid.version.git_version, str) and lucid.version.git_version
    # CUDA runtime version from CuPy: a "major.minor" string where a runtime is usable, else None (falsy, as on a
    # CPU build of PyTorch, so `if torch.version.cuda:` takes the CPU path)
    cuda = lucid.version.cuda
    assert cuda is None or (isinstance(cuda, str) and cuda.replace(".", "").isdigit() and lucid.cuda.is_available())
    assert {"cuda", "git_version", "hip", "debug", "__version__"} <= set(dir(lucid.version))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lucid.version.nope  # noqa: B018


def test_git_version_is_unknown_outside_a_checkout(tmp_path, monkeypatch):
    monkeypatch.setattr(lucid.version, "__file__", str(tmp_path / "lucid" / "version.py"))
    lucid.version._git_commit.cache_clear()
    try:
        assert lucid.version._git_commit() == "Unknown"
    finally:
        lucid.version._git_commit.cache_clear()


# ---- signal.windows -------------------------------------------------------------------------------------------------
PARAMS = {"general_cosine": {"a": [0.46, 0.23, 0.31]}, "general_hamming": {"alpha": 0.6}, "kaiser": {"beta": 5.0},
          "gaussian": {"std": 1.7}, "exponential": {"tau": 2.5}}


@pytest.mark.parametrize("name", lw.__all__)
@pytest.mark.parametrize("M", [0, 1, 2, 7, 10])
@pytest.mark.parametrize("sym", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_windows_match_torch(device, name, M, sym, dtype):
    ours = getattr(lw, name)(M, sym=sym, dtype=getattr(lucid, dtype), device=device, **PARAMS.get(name, {}))
    theirs = getattr(tw, name)(M, sym=sym, dtype=getattr(torch, dtype), **PARAMS.get(name, {}))
    assert ours.device == device and ours.dtype == getattr(lucid, dtype) and tuple(ours.shape) == (M,)
    np.testing.assert_allclose(ours.numpy(force=True), theirs.numpy(), rtol=1e-6 if dtype == "float32" else 1e-12,
                               atol=1e-7 if dtype == "float32" else 1e-14)


@pytest.mark.parametrize("M", [1, 6])
def test_exponential_off_centre_matches_torch(M):
    np.testing.assert_allclose(lw.exponential(M, center=1.5, tau=0.7, sym=False, dtype=lucid.float64).numpy(),
                               tw.exponential(M, center=1.5, tau=0.7, sym=False, dtype=torch.float64).numpy(),
                               rtol=1e-12)


def test_window_defaults_and_requires_grad():
    lucid.set_default_dtype(lucid.float64)
    try:
        assert lw.hann(4).dtype == lucid.float64
    finally:
        lucid.set_default_dtype(lucid.float32)
    w = lw.hann(5, requires_grad=True)
    assert w.dtype == lucid.float32 and w.requires_grad and w.is_leaf
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * w.detach().numpy())


@pytest.mark.parametrize(("name", "kwargs"), [
    ("hann", {"M": -1}), ("cosine", {"M": -3}), ("kaiser", {"M": 4, "beta": -1.0}),
    ("gaussian", {"M": 4, "std": 0.0}), ("exponential", {"M": 4, "tau": -1.0}),
    ("exponential", {"M": 4, "center": 1.0}), ("general_cosine", {"M": 4, "a": []}),
    ("general_cosine", {"M": 4, "a": 3}), ("bartlett", {"M": 4, "dtype": "float16"}),
    ("nuttall", {"M": 3, "dtype": "int64"}), ("blackman", {"M": -2, "dtype": "float16"}),
])
def test_window_errors_match_torch(name, kwargs):
    dtype = kwargs.pop("dtype", None)
    with pytest.raises(Exception) as theirs:
        getattr(tw, name)(**kwargs, **({"dtype": getattr(torch, dtype)} if dtype else {}))
    with pytest.raises(theirs.type) as ours:
        getattr(lw, name)(**kwargs, **({"dtype": getattr(lucid, dtype)} if dtype else {}))
    assert str(ours.value).replace("lucid.", "torch.") == str(theirs.value)


def test_window_rejects_a_layout_other_than_strided():
    with pytest.raises(ValueError, match="general_cosine is implemented for strided tensors only"):  # as torch's hann
        lw.hann(4, layout=torch.sparse_coo)
    with pytest.raises(ValueError, match="cosine is implemented for strided tensors only, got: sparse"):
        lw.cosine(4, layout="sparse")


# ---- utils._pytree --------------------------------------------------------------------------------------------------
Point = namedtuple("Point", "x y")
TREES = [
    5, None, [], (), {}, [1, None, (2,)], {"b": 1, "a": [2, 3]}, Point(1, [2, {"k": 3}]),
    defaultdict(list, {"z": 1, "a": (2,)}), OrderedDict(b=1, a=(2, 3)), deque([1, [2]], maxlen=4),
    ((), [], {}), {"w": [1, (2, [3, None])], 0: "s"},
]


@pytest.mark.parametrize("tree", TREES, ids=lambda t: type(t).__name__)
def test_flatten_matches_torch(tree):
    leaves, spec = lp.tree_flatten(tree)
    t_leaves, t_spec = tp.tree_flatten(tree)
    assert leaves == t_leaves and repr(spec) == repr(t_spec)
    assert (spec.num_leaves, spec.num_nodes, spec.num_children) == (t_spec.num_leaves, t_spec.num_nodes,
                                                                    t_spec.num_children)
    assert lp.tree_leaves(tree) == tp.tree_leaves(tree)
    assert spec.is_leaf() == t_spec.is_leaf() and lp.tree_is_leaf(tree) == tp.tree_is_leaf(tree)
    rebuilt = lp.tree_unflatten(leaves, spec)
    assert rebuilt == tree and type(rebuilt) is type(tree)
    assert spec == lp.tree_structure(lp.tree_unflatten(list(range(len(leaves))), spec))
    assert hash(spec) == hash(lp.tree_structure(rebuilt))


def test_specs_compare_by_structure_and_dict_order():
    a = lp.tree_structure({"a": [1, 2], "b": (3,)})
    assert a == lp.tree_structure({"a": [5, 6], "b": (7,)})
    assert a != lp.tree_structure({"b": (7,), "a": [5, 6]})  # key order is part of the spec, as in torch
    assert a != lp.tree_structure({"a": (5, 6), "b": (7,)})
    assert repr(lp.LeafSpec()) == "*" and lp.LeafSpec() == lp.tree_structure(lucid.ones(2))
    assert [c.num_leaves for c in a.children()] == [2, 1] and a.child(1).type is tuple and a.context == ["a", "b"]


def test_tensors_and_sizes():
    x = lucid.ones(2, 3)
    leaves, spec = lp.tree_flatten({"w": x, "shape": x.shape})
    assert leaves[0] is x and leaves[1:] == [2, 3]
    assert repr(spec) == repr(tp.tree_structure({"w": torch.ones(2, 3), "shape": torch.Size([2, 3])}))
    assert type(lp.tree_unflatten(leaves, spec)["shape"]) is lucid.Size


def test_map_functions_match_torch():
    tree = {"x": 7, "y": (42, 64), "z": None, "s": "a"}
    for fn in (lambda x: x is None, lambda x: str(x)):
        assert lp.tree_map(fn, tree) == tp.tree_map(fn, tree)
    assert lp.tree_map(lambda x, y: [x] + y, [5, 6], [[7, 9], [1, 2]]) == [[5, 7, 9], [6, 1, 2]]
    assert lp.tree_map(lambda x, y: (x, y), [1, 2], [[3], {"k": 4}]) == [(1, [3]), (2, {"k": 4})]
    assert lp.tree_map(lambda x, y: x + y, {"a": 1, "b": 2}, OrderedDict(b=20, a=10)) == {"a": 11, "b": 22}
    assert lp.tree_map_only(int, lambda x: x * 2, [1, "a", 2.0]) == tp.tree_map_only(int, lambda x: x * 2, [1, "a",
                                                                                                            2.0])
    assert lp.tree_map_only((int, float), lambda x: -x, (1, 2.5, "s")) == (-1, -2.5, "s")
    assert lp.tree_map(lambda x: x * 10, [1, (2, 3)], is_leaf=lambda n: isinstance(n, tuple)) == [10, (2, 3) * 10]
    seen = []
    tree = [1, {"a": 2}]
    assert lp.tree_map_(seen.append, tree) is tree and seen == [1, 2]
    for pred, t in [(lambda x: x > 0, [1, (2,)]), (lambda x: x > 1, [1, {"a": 0}]), (lambda x: x > 5, [])]:
        assert lp.tree_all(pred, t) == tp.tree_all(pred, t) and lp.tree_any(pred, t) == tp.tree_any(pred, t)
    assert lp.tree_all_only(int, lambda x: x > 0, [1, "a", -1.0]) and not lp.tree_any_only(str, len, [1, ""])


@pytest.mark.parametrize(("tree", "other"), [
    ([1, 2], [1]), ({"a": 1}, {"b": 1}), ({"a": 1, "b": 2}, {"a": 1, "c": 2, "d": 3}), ((1, 2), [1, 2]),
    (Point(1, 2), namedtuple("Q", "x y")(1, 2)),
])
def test_map_structure_mismatches_match_torch(tree, other):
    with pytest.raises(ValueError) as theirs:
        tp.tree_map(lambda a, b: a, tree, other)
    with pytest.raises(ValueError) as ours:
        lp.tree_map(lambda a, b: a, tree, other)
    assert str(ours.value).split(";")[0] == str(theirs.value).split(";")[0]  # sets of keys print in any order


def test_unflatten_errors_match_torch():
    with pytest.raises(ValueError) as theirs:
        tp.tree_unflatten([1, 2], tp.tree_structure([1]))
    with pytest.raises(ValueError) as ours:
        lp.tree_unflatten([1, 2], lp.tree_structure([1]))
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match="PyTreeSpec"):
        lp.tree_unflatten([1], [1])


def test_register_pytree_node():
    class Pair:
        def __init__(self, a, b):
            self.a, self.b = a, b

    lp.register_pytree_node(Pair, lambda p: ([p.a, p.b], "ctx"), lambda values, ctx: Pair(*values))
    try:
        leaves, spec = lp.tree_flatten([Pair(1, [2, 3])])
        assert leaves == [1, 2, 3] and repr(spec) == "TreeSpec(list, None, [TreeSpec(Pair, ctx, [*,\n" \
            "    TreeSpec(list, None, [*,\n      *])])])"
        doubled = lp.tree_map(lambda x: 2 * x, Pair(1, (2,)))
        assert isinstance(doubled, Pair) and (doubled.a, doubled.b) == (2, (4,))
        with pytest.raises(ValueError, match="already registered as pytree node"):
            lp.register_pytree_node(Pair, lambda p: ([], None), lambda v, c: Pair(0, 0))
        with pytest.raises(ValueError, match="Node type mismatch"):
            lp.tree_map(lambda a, b: a, Pair(1, 2), [1, 2])
    finally:
        del lp.SUPPORTED_NODES[Pair]
    with pytest.raises(ValueError, match="must be None or registered"):
        lp.register_pytree_node(Pair, lambda p: ([], None), lambda v, c: Pair(0, 0), to_dumpable_context=str)


# ---- futures --------------------------------------------------------------------------------------------------------
def _story(mod):
    """A run of Future calls; everything observable, for comparing lucid's Future with PyTorch's."""
    log = []

    def attempt(fn):
        try:
            return fn()
        except Exception as e:
            log.append((type(e).__name__, str(e).splitlines()[0]))

    f = mod.Future()
    log.append(f.done())
    chained = f.then(lambda fut: fut.value() + 1)
    f.add_done_callback(lambda fut: log.append(("callback", fut.value())))
    f.set_result(3)
    log += [f.done(), f.wait(), f.value(), chained.done(), chained.wait()]
    attempt(lambda: f.set_result(4))
    attempt(lambda: f.set_exception(ValueError("late")))
    f.add_done_callback(lambda fut: log.append("late callback runs at once"))
    failed = mod.Future()
    failed.set_exception(ValueError("boom"))
    attempt(failed.wait)
    attempt(failed.value)
    attempt(failed.then(lambda fut: fut.value()).wait)
    attempt(f.then(lambda fut: 1 / 0).wait)
    noisy = mod.Future()
    noisy.add_done_callback(lambda fut: 1 / 0)  # logged, not raised
    noisy.set_result(None)
    a, b = mod.Future(), mod.Future()
    both = mod.collect_all([a, b])
    b.set_exception(KeyError("b"))
    log.append(both.done())
    a.set_exception(KeyError("a"))
    attempt(both.wait)  # the first failed future in the list, not in time
    c, d = mod.Future(), mod.Future()
    collected = mod.collect_all([c, d])
    d.set_result(2)
    log.append(collected.done())
    c.set_result(1)
    log += [[x.value() for x in collected.wait()], mod.wait_all([c, d]), mod.collect_all([]).done()]
    attempt(lambda: mod.wait_all([c, failed]))
    return log


def test_future_semantics_match_torch(caplog):
    assert _story(lf) == _story(tf)
    assert "ZeroDivisionError" in caplog.text


def test_wait_blocks_until_another_thread_sets_the_result():
    f = lf.Future()
    timer = threading.Timer(0.05, f.set_result, args=(7,))
    timer.start()
    assert f.wait() == 7
    timer.join()


def test_future_errors_say_what_is_wrong():
    with pytest.raises(RuntimeError, match="before the future completed"):
        lf.Future().value()
    with pytest.raises(TypeError, match="not an Exception"):
        lf.Future().set_exception("x")
    with pytest.raises(TypeError, match="item 1 is a int"):
        lf.collect_all([lf.Future(), 1])
    assert lf.Future[int] is not None  # generic, as torch.futures.Future[T]


# ---- through torch_compat -------------------------------------------------------------------------------------------
def test_a_program_imports_the_new_torch_modules(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "hubconf.py").write_text("dependencies = ['numpy']\ndef tiny(n=2):\n"
                                                  "    import torch\n    return torch.nn.Linear(n, 1)\n")
    script = tmp_path / "program.py"
    script.write_text(textwrap.dedent(f"""
        import torch
        import torch.hub
        import torch.utils._pytree as pytree
        from torch.futures import Future, collect_all
        from torch.signal import windows
        import lucid
        assert torch.hub.load is lucid.hub.load
        assert windows.hann is torch.signal.windows.hann is lucid.signal.windows.hann
        assert torch.utils._pytree.TreeSpec is lucid.utils._pytree.TreeSpec and Future is lucid.futures.Future
        device = "cuda" if torch.version.cuda and torch.cuda.is_available() else "cpu"
        model = torch.hub.load({str(tmp_path / "repo")!r}, "tiny", n=3, source="local")
        assert isinstance(model, torch.nn.Linear) and model.in_features == 3
        leaves, spec = pytree.tree_flatten(dict(model.named_parameters()))
        assert pytree.tree_unflatten([p * 0 for p in leaves], spec).keys() == {{"weight", "bias"}}
        w = windows.hann(8, sym=False)
        assert torch.allclose(w, torch.hann_window(8))
        fut = Future()
        done = fut.then(lambda f: f.value() * 2)
        fut.set_result(21)
        print(device, torch.version.__version__ == torch.__version__, collect_all([done]).wait()[0].value(),
              spec.num_leaves, torch.hub.get_dir().endswith("hub"))
    """))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "lucid.torch_compat", str(script)], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[1:] == ["True", "42", "2", "True"]
