"""lucid/_tensor.pyi lists every Tensor method, including those registered by autograd and ops."""

from __future__ import annotations

import lucid
from lucid import _stubgen


def test_checked_in_stub_is_up_to_date():
    assert _stubgen.STUB.read_text() == _stubgen.generate(), (
        "lucid/_tensor.pyi is out of date: regenerate it with `python -m lucid._stubgen`"
    )


def test_stub_lists_every_public_tensor_method():
    stub = _stubgen.STUB.read_text()
    methods = [name for name, value in vars(lucid.Tensor).items()
               if (callable(value) or isinstance(value, property)) and name not in ("__dict__", "__weakref__")]
    missing = [name for name in methods if f"def {name}(" not in stub]
    assert not missing, f"methods missing from lucid/_tensor.pyi: {missing}"


def test_method_tables_may_not_replace_a_method():
    import pytest

    with pytest.raises(ValueError, match="exp"):
        lucid._tensor.register_methods({"exp": lambda self: self})
