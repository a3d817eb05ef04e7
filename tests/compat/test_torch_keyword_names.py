"""PyTorch programs pass arguments by keyword with torch's parameter names (``torch.exp(input=x)``,
``x.pow(exponent=2)``, ``torch.matmul(input=a, other=b)``): every keyword that torch's override table lists for a
function or Tensor method must be a parameter of lucid's callable of the same name, apart from the documented
exceptions below (where torch's table is wrong, torch itself refuses the keyword, or lucid deliberately lacks it)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import lucid
import lucid.nn.functional as LF

torch = pytest.importorskip("torch")

_TABLE_WRONG = "torch's override table names it, but torch itself refuses the keyword (the real name is lucid's)"
_REFUSED = "torch's top-level (aten) form refuses this keyword; only torch.nn.functional's form takes it"
_NO_KEYWORDS = "a slot wrapper: torch takes no keywords here (the operator syntax passes them positionally)"
EXCEPTIONS = {
    **dict.fromkeys([
        "torch.adaptive_max_pool1d:inputs", "torch.convolution:output_adding", "torch.polar:ang",
        "torch.isfinite:tensor", "torch.isinf:tensor", "torch.isreal:tensor", "torch.xlogy:x", "torch.xlogy:y",
        "Tensor.xlogy:y", "torch.where:x", "torch.where:y", "Tensor.where:y", "torch.isin:e", "torch.isin:te",
        "torch.broadcast_to:self", "torch.permute:self", "torch.permute:dim", "Tensor.permute:dim",
        "torch.swapdims:axis0", "torch.swapdims:axis1", "Tensor.swapdims:axis0", "Tensor.swapdims:axis1",
        "torch.cholesky_solve:input1", "torch.view_as_real_copy:self", "torch.view_as_complex_copy:self",
        "torch.as_strided_copy:self", "torch.as_strided_scatter:self", "torch.split_with_sizes:tensor",
        "torch.split_with_sizes:split_size_or_sections", "Tensor.split_with_sizes:split_size_or_sections",
        "torch.unsafe_split_with_sizes:tensor", "torch.unsafe_split_with_sizes:split_size_or_sections",
        "Tensor.unsafe_split_with_sizes:split_size_or_sections", "torch.diag_embed:diagonal",
        "Tensor.diag_embed:diagonal", "Tensor.fill_diagonal_:value", "torch.index_reduce:include_input",
        "Tensor.index_reduce:include_input", "torch.histogram:min", "torch.histogram:max", "Tensor.histogram:min",
        "Tensor.histogram:max", "torch.topk:descending", "Tensor.topk:descending", "torch.msort:descending",
        "Tensor.msort:descending", "Tensor.map_:tensor", "torch.svd_lowrank:input", "torch.pca_lowrank:input",
        "torch.nuclear_norm:p", "torch.nuclear_norm:dtype", "torch.embedding:input", "torch.embedding:max_norm",
        "torch.embedding:norm_type", "torch.embedding_bag:input", "torch.embedding_bag:max_norm",
        "torch.embedding_bag:norm_type", "torch.lstm:data", "torch.lstm:batch_sizes",
        "torch.batch_norm_gather_stats_with_counts:count", "torch.batch_norm_backward_elemt:count_tensor",
        "torch.layer_norm:cudnn_enabled", "torch.group_norm:cudnn_enabled", "torch.logsumexp:names",
        "Tensor.logsumexp:names", "Tensor.view:shape",
    ], _TABLE_WRONG),
    **dict.fromkeys([f"torch.{name}:{kw}" for name in ("kl_div", "binary_cross_entropy_with_logits",
                                                        "cosine_embedding_loss", "hinge_embedding_loss",
                                                        "margin_ranking_loss", "triplet_margin_loss")
                     for kw in ("size_average", "reduce")]
                    + ["torch.dropout:inplace", "torch.alpha_dropout:inplace"], _REFUSED),
    **dict.fromkeys(["Tensor.__getitem__:idx", "Tensor.__setitem__:k", "Tensor.__setitem__:v"], _NO_KEYWORDS),
    "Tensor.__rpow__:exponent": "torch takes other= as well; lucid's reflected operators share (self, other)",
    "Tensor.__repr__:tensor_contents": "torch's internal printing hook, not part of the user-facing API",
    "Tensor.dim_order:ambiguity_check": "lucid tensors are row-major only: their dim order is never ambiguous",
    "torch.stft:align_to_window": "not implemented by lucid's stft (windows are centred, torch's default)",
    "Tensor.stft:align_to_window": "not implemented by lucid's stft (windows are centred, torch's default)",
    "torch.bmm:out_dtype": "a CUDA-only low-precision accumulation option that lucid does not have",
    "Tensor.bmm:out_dtype": "a CUDA-only low-precision accumulation option that lucid does not have",
    "Tensor.mm:out_dtype": "a CUDA-only low-precision accumulation option that lucid does not have",
}
_NAMESPACES = {torch: lucid, torch.nn.functional: LF, torch.Tensor: lucid.Tensor, torch.linalg: lucid.linalg,
               torch.special: lucid.special, torch.fft: lucid.fft}


def _missing_keywords():
    """``owner.name:keyword`` for each keyword of torch's table (``out`` aside) that lucid's callable lacks."""
    missing = []
    for fn, lam in torch.overrides.get_testing_overrides().items():
        name = getattr(fn, "__name__", None)
        owner = next((t for t in _NAMESPACES if name is not None and getattr(t, name, None) is fn), None)
        ours = getattr(_NAMESPACES.get(owner), name, None) if owner is not None else None
        if not callable(ours):
            continue
        try:
            theirs, params = inspect.signature(lam).parameters, inspect.signature(ours).parameters
        except (TypeError, ValueError):
            continue
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            continue
        params = {n for n, p in params.items() if p.kind is not p.VAR_POSITIONAL}  # *sizes takes no keyword
        names = [p.name for p in theirs.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        prefix = "Tensor" if owner is torch.Tensor else owner.__name__
        for kw in names[1:] if owner is torch.Tensor else names:  # a method's self is positional
            if kw != "out" and kw not in params:
                missing.append(f"{prefix}.{name}:{kw}")
    return missing


def test_lucid_takes_torchs_keyword_names():
    left = sorted(set(_missing_keywords()) - set(EXCEPTIONS))
    assert not left, f"torch keywords that lucid's same-named callables lack: {left}"


def test_linalg_keeps_its_own_names():
    """``torch.linalg`` spells the matrix ``A`` where the top-level functions say ``input``."""
    for name in ("det", "slogdet", "matrix_exp", "inv"):
        assert "A" in inspect.signature(getattr(lucid.linalg, name)).parameters
    for name in ("det", "slogdet", "matrix_exp", "inverse", "matrix_power"):
        assert "input" in inspect.signature(getattr(lucid, name)).parameters


def _calls(lib, a, b, m, idx):
    """The same keyword calls, written once for torch and lucid."""
    return {
        "exp": lib.exp(input=a),
        "add": lib.add(a, other=b, alpha=2),
        "pow": a.pow(exponent=2),
        "torch.pow": lib.pow(input=a, exponent=3),
        "matmul": lib.matmul(input=m, other=m),
        "mul": a.mul(other=b),
        "cat": lib.cat(tensors=[a, b], dim=0),
        "clamp": lib.clamp(input=a, min=0),
        "x.clamp": a.clamp(min=-0.5, max=0.5),
        "gather": lib.gather(input=m, dim=1, index=idx, sparse_grad=False),
        "sum": lib.sum(input=m, dim=0, keepdim=True),
        "det": lib.det(input=m),
        "linalg.det": lib.linalg.det(A=m),
        "inverse": lib.inverse(input=m),
        "eq": lib.eq(input=a, other=b),
        "logical_and": lib.logical_and(input=a > 0, other=b > 0),
        "where": lib.where(a > 0, input=a, other=b),
        "transpose": lib.transpose(input=m, dim0=0, dim1=1),
        "split": lib.split(tensor=a, split_size_or_sections=2)[1],
        "broadcast_to": lib.broadcast_to(input=a[:3], size=(2, 3)),
        "softmax": lib.softmax(input=m, dim=-1),
        "mm": m.mm(mat2=m),
        "outer": lib.outer(input=a, vec2=b),
        "reshape": lib.reshape(input=m, shape=(9,)),
        "view": m.view(size=(1, 9)),
        "expand": a[:1].expand(size=(2, 5)),
        "tile": a.tile(dims=(2,)),
        "sum_to_size": m.sum_to_size(size=(1, 3)),
    }


def test_keyword_calls_match_torch(device, rng):
    a_, b_, m_ = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal((3, 3)) + 3 * np.eye(3)
    idx_ = np.array([[0, 2], [1, 1], [2, 0]])
    ours = _calls(lucid, *(lucid.tensor(v, device=device) for v in (a_, b_, m_, idx_)))
    theirs = _calls(torch, *(torch.tensor(v) for v in (a_, b_, m_, idx_)))
    for key, value in theirs.items():
        np.testing.assert_allclose(ours[key].numpy(force=True), value.numpy(), rtol=1e-12, atol=1e-12, err_msg=key)


def test_copy_takes_non_blocking(device):
    t = lucid.zeros(3, device=device)
    t.copy_(lucid.ones(3, device=device), non_blocking=True)
    np.testing.assert_array_equal(t.numpy(force=True), np.ones(3))


def test_memory_keywords_as_torch(device):
    """``layout=``, ``memory_format=`` and ``pin_memory=`` (torch's factory and cast keywords, common in code copied
    from torch's optimizers: ``zeros_like(p, memory_format=torch.preserve_format)``): accepted with torch's values,
    refused with torch's exception types otherwise; lucid's results stay row-major."""
    x = lucid.ones(2, 3, device=device).t()  # a transposed view: not contiguous
    for name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        out = getattr(lucid, name)(x, memory_format=lucid.preserve_format, layout=lucid.strided)
        assert out.shape == x.shape and out.device == x.device, name
    assert lucid.full_like(x, 2.0, memory_format=lucid.contiguous_format).sum().item() == 12.0
    assert lucid.randint_like(x, 5, memory_format=lucid.preserve_format).shape == x.shape
    image = lucid.empty(2, 3, 4, 5, memory_format=lucid.channels_last, device=device)
    assert image.shape == (2, 3, 4, 5)
    for make in (lambda: lucid.zeros(2, layout=lucid.strided, pin_memory=False, device=device),
                 lambda: lucid.full((2,), 1.0, layout=lucid.strided, device=device),
                 lambda: lucid.arange(2, layout=lucid.strided, device=device),
                 lambda: lucid.randn(2, layout=lucid.strided, device=device),
                 lambda: lucid.randperm(2, layout=lucid.strided, device=device)):
        assert make().shape == (2,)
    # casts: contiguous_format makes the result row-major, the others leave it as it is
    assert x.float(memory_format=lucid.preserve_format) is x
    if device.type == "cpu":  # array-api-strict hides strides: its arrays are all row-major
        assert not x.double(memory_format=lucid.preserve_format).is_contiguous()
    assert x.double(memory_format=lucid.contiguous_format).is_contiguous()
    assert x.to(memory_format=lucid.contiguous_format).is_contiguous()
    assert image.to(memory_format=lucid.channels_last).shape == image.shape
    assert x.cpu(memory_format=lucid.preserve_format).device.type == "cpu"
    model = lucid.nn.Conv2d(3, 4, 3).to(memory_format=lucid.channels_last)
    assert model.weight.shape == (4, 3, 3, 3)
    # refusals: torch's exception types
    for call, error in [(lambda m: m.zeros_like(m.ones(2, 3), memory_format=m.channels_last), RuntimeError),
                        (lambda m: m.ones(2, 3).to(memory_format=m.channels_last_3d), RuntimeError),
                        (lambda m: m.zeros(2, layout=3), TypeError),
                        (lambda m: m.zeros_like(m.ones(2), memory_format=3), TypeError),
                        (lambda m: m.ones(2).float(memory_format="x"), TypeError),
                        (lambda m: m.empty(2, memory_format=m.channels_last), RuntimeError),
                        (lambda m: m.zeros(2, memory_format=m.contiguous_format), TypeError),  # only empty takes it
                        (lambda m: m.ones(size=(2,), memory_format=m.contiguous_format), TypeError)]:
        with pytest.raises(error):
            call(torch)
        with pytest.raises(error):
            call(lucid)
    with pytest.raises(NotImplementedError, match="strided"):
        lucid.ones(2, layout=lucid.sparse_coo)
    with pytest.raises(TypeError, match="memory_format"):
        model.to(memory_format=1)
