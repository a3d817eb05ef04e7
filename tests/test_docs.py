"""The documentation cannot drift from the code.

- Every guide snippet in ``docs/`` (``>>>`` blocks in the ``.rst`` sources) runs as a doctest
  and must print what the page says it prints.
- Every docstring example in the ``lucid`` package runs as a doctest (what
  ``pytest --doctest-modules lucid`` runs, with the same option flags).
- The API reference generator (``docs/_ext/lucid_apigen.py``, run here without Sphinx)
  documents every public name of every public namespace.
- Python examples in the docs are doctests, never unexecuted code blocks.

The Sphinx build itself (``nox -s docs``) is not part of the test run: it needs Sphinx.
"""

from __future__ import annotations
import __future__

import doctest
import glob
import importlib
import importlib.util
import os
import pkgutil
import re
import types

import pytest

import lucid
from lucid import dtypes
from lucid._backend import registry
from lucid.autograd import grad_mode

device_module = importlib.import_module("lucid._backend.device")  # the package's `device` is the function

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
# The namespaces whose every public name must be in the reference (more may be documented).
PUBLIC_NAMESPACES = [
    "lucid", "lucid.nn", "lucid.nn.functional", "lucid.nn.init", "lucid.nn.utils", "lucid.optim",
    "lucid.optim.lr_scheduler", "lucid.linalg", "lucid.data", "lucid.datasets", "lucid.cuda", "lucid.autograd",
    "lucid.distributed", "lucid.nn.parallel",
    "lucid.special", "lucid.distributions", "lucid.distributions.constraints",
    "lucid.distributions.transforms", "lucid.nn.utils.prune",
    "lucid.nn.utils.parametrizations", "lucid.profiler", "lucid.autograd.profiler",
]
# Subpackages of lucid that are not namespaces of the API: their public names are lucid.* (ops),
# or they are programs (examples).
NOT_NAMESPACES = {"lucid.ops", "lucid.examples"}
# Languages a non-executed code block may use: commands and file formats, never Python.
NON_PYTHON_BLOCKS = {"bash", "console", "shell", "text", "markdown", "ini", "toml"}


def _doc_sources() -> list[str]:
    """The hand-written ``.rst`` sources (not the generated reference, not the build output)."""
    found = glob.glob(os.path.join(DOCS, "**", "*.rst"), recursive=True)
    skip = (os.path.join(DOCS, "_build"), os.path.join(DOCS, "reference", "generated"))
    return sorted(p for p in found if not p.startswith(skip))


def _lucid_modules() -> list[str]:
    """Every module of the lucid package, by name (imported by the test that runs it)."""
    names = ["lucid"]
    for info in pkgutil.walk_packages(lucid.__path__, "lucid."):
        names.append(info.name)
    return sorted(names)


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Run examples in a scratch directory (they save files) and undo what they change in
    lucid's global state: registered backends and devices, default dtype, grad mode."""
    monkeypatch.chdir(tmp_path)
    saved = (dict(registry._BACKENDS), dict(registry._ALIASES), set(registry._SINGLE), list(registry._SEED),
             dict(device_module._CACHE), dtypes.get_default_dtype(), grad_mode.state.enabled)
    yield
    backends, aliases, single, seed, cache, default_dtype, enabled = saved
    for table, old in ((registry._BACKENDS, backends), (registry._ALIASES, aliases), (device_module._CACHE, cache)):
        table.clear()
        table.update(old)
    registry._SINGLE.clear()
    registry._SINGLE.update(single)
    registry._SEED[:] = seed
    dtypes.set_default_dtype(default_dtype)
    grad_mode.state.enabled = enabled


@pytest.mark.parametrize("path", _doc_sources(), ids=lambda p: os.path.relpath(p, DOCS))
def test_guide_examples(path, isolated):
    result = doctest.testfile(path, module_relative=False, optionflags=FLAGS, report=True, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {path} failed (see output)"


def test_every_guide_has_examples():
    guides = glob.glob(os.path.join(DOCS, "guide", "*.rst"))
    assert guides
    without = [g for g in guides if ">>> " not in open(g, encoding="utf-8").read()]
    assert not without, f"guides without executed examples: {without}"


def test_docstring_examples(isolated):
    """Every ``>>>`` example in a docstring of the package, module by module."""
    finder, failed, attempted = doctest.DocTestFinder(exclude_empty=True), [], 0
    for name in _lucid_modules():
        runner = doctest.DocTestRunner(optionflags=FLAGS)
        for test in finder.find(importlib.import_module(name), name):
            if test.examples:
                runner.run(test)
        result = runner.summarize(verbose=False)
        attempted += result.attempted
        if result.failed:
            failed.append(f"{name}: {result.failed} of {result.attempted}")
    assert attempted > 0
    assert not failed, f"failing docstring examples (the output above shows each): {failed}"


def _public_names(module) -> list[str]:
    """``__all__``, or for a namespace without one every attribute not starting with ``_``;
    submodules and ``from __future__`` flags are not names of the API."""
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    return [n for n in names if not isinstance(getattr(module, n), (types.ModuleType, __future__._Feature))]


def _apigen():
    spec = importlib.util.spec_from_file_location("lucid_apigen", os.path.join(DOCS, "_ext", "lucid_apigen.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_DIRECTIVE = re.compile(r"^\s*\.\. (?:auto(?:class|function|data|method|module)|py:\w+):: ([\w.]+)", re.M)


def test_reference_documents_every_public_name(tmp_path):
    apigen = _apigen()
    documented_namespaces = apigen.namespaces()
    assert set(PUBLIC_NAMESPACES) <= set(documented_namespaces)
    pages = apigen.generate(str(tmp_path))
    text = "\n".join(open(p, encoding="utf-8").read() for p in pages)
    documented = set(_DIRECTIVE.findall(text))
    missing = [f"{ns}.{name}" for ns in documented_namespaces for name in _public_names(importlib.import_module(ns))
               if f"{ns}.{name}" not in documented]
    assert not missing, f"public names missing from the API reference: {missing}"
    toc = open(os.path.join(tmp_path, "namespaces.txt"), encoding="utf-8").read()
    assert all(f"generated/{ns}/index" in toc for ns in documented_namespaces)


def test_every_subpackage_is_in_the_reference():
    """A new public subpackage (lucid.amp, lucid.backends, ...) must be added to the reference's
    NAMESPACES (docs/_ext/lucid_apigen.py), or to NOT_NAMESPACES here with a reason."""
    documented = _apigen().namespaces()
    packages = [f"lucid.{info.name}" for info in pkgutil.iter_modules(lucid.__path__)
                if info.ispkg and not info.name.startswith("_")]
    missing = [p for p in packages if p not in NOT_NAMESPACES
               and not any(ns == p or ns.startswith(p + ".") for ns in documented)]
    assert not missing, f"subpackages missing from the API reference: {missing}"


def test_buffer_pages_carry_their_notes(tmp_path):
    """nn.Buffer and Module.register_buffer get their own pages with the hand-written notes."""
    _apigen().generate(str(tmp_path))
    for page, note in (("Buffer.rst", "lucid.nn.Buffer.rst"),
                       ("Module.register_buffer.rst", "lucid.nn.Module.register_buffer.rst")):
        text = open(os.path.join(tmp_path, "lucid.nn", page), encoding="utf-8").read()
        assert f"notes/{note}" in text
        assert os.path.exists(os.path.join(DOCS, "reference", "notes", note))


@pytest.mark.parametrize("path", _doc_sources(), ids=lambda p: os.path.relpath(p, DOCS))
def test_python_examples_are_doctests(path):
    """A Python example in a code block would never run: write it as a ``>>>`` example."""
    text = open(path, encoding="utf-8").read()
    languages = re.findall(r"^\s*\.\. (?:code-block|code|sourcecode)::\s*(\S*)", text, re.M)
    assert all(lang in NON_PYTHON_BLOCKS for lang in languages), f"{path}: code blocks in {languages}"
