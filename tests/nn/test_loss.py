"""nn losses: gradients on every backend, values and gradients against PyTorch for every
reduction, stability at extreme logits, shapes, modules and errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import lucid
import lucid.nn.functional as F
from lucid.autograd import gradcheck, gradgradcheck
from lucid.nn import layers as L


def host(t):
    return t.detach().numpy(force=True)


def lucid_tensor(a, device, grad=False):
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        return lucid.tensor(a, device=device)
    return lucid.tensor(a, dtype=lucid.float64, device=device, requires_grad=grad)


def probs(rng, shape, axis=-1):
    p = rng.uniform(0.1, 1.0, shape)
    return p / p.sum(axis=axis, keepdims=True)


def log_probs(rng, shape, axis=1):
    return np.log(probs(rng, shape, axis))


def signs(rng, shape):
    return rng.choice([-1, 1], shape).astype(np.int64)


def labels_with_padding(rng):
    """multilabel_margin_loss targets: each row lists classes, ended by -1."""
    t = np.full((3, 4), -1, dtype=np.int64)
    t[0, :2] = [3, 0]
    t[1, :1] = [2]
    t[2, :3] = [1, 2, 0]
    return t


# id: (arrays(rng) -> [(array, differentiable)], call(F, *tensors, reduction=...), reductions); weights are
# differentiable where PyTorch allows it
RED3 = ("mean", "sum", "none")
CASES = {
    "mse": (lambda r: [(r.standard_normal((2, 3)), True), (r.standard_normal((2, 3)), True)],
            lambda F, x, t, **k: F.mse_loss(x, t, **k), RED3),
    "mse_weight": (lambda r: [(r.standard_normal((2, 3)), True), (r.standard_normal((2, 3)), True),
                              (r.uniform(0.5, 2, (2, 3)), True)],
                   lambda F, x, t, w, **k: F.mse_loss(x, t, weight=w, **k), RED3),
    "l1": (lambda r: [(r.standard_normal((2, 3)), True), (r.standard_normal((2, 3)), True)],
           lambda F, x, t, **k: F.l1_loss(x, t, **k), RED3),
    "l1_weight": (lambda r: [(r.standard_normal((2, 3)), True), (r.standard_normal((2, 3)), False),
                             (r.uniform(0.5, 2, (2, 3)), True)],
                  lambda F, x, t, w, **k: F.l1_loss(x, t, weight=w, **k), RED3),
    "smooth_l1": (lambda r: [(r.standard_normal((2, 3)), True), (r.standard_normal((2, 3)), True)],
                  lambda F, x, t, **k: F.smooth_l1_loss(x, t, beta=0.7, **k), RED3),
    "smooth_l1_beta0": (lambda r: [(r.standard_normal((2, 3)), True), (r.standard_normal((2, 3)), True)],
                        lambda F, x, t, **k: F.smooth_l1_loss(x, t, beta=0.0, **k), RED3),
    "huber": (lambda r: [(r.standard_normal((2, 3)) * 2, True), (r.standard_normal((2, 3)), True)],
              lambda F, x, t, **k: F.huber_loss(x, t, delta=0.8, **k), RED3),
    "huber_weight": (lambda r: [(r.standard_normal((2, 3)) * 2, True), (r.standard_normal((2, 3)), True),
                                (r.uniform(0.5, 2, (2, 3)), True)],
                     lambda F, x, t, w, **k: F.huber_loss(x, t, delta=0.8, weight=w, **k), RED3),
    "cross_entropy": (lambda r: [(r.standard_normal((5, 4)) * 3, True), (r.integers(0, 4, 5), False)],
                      lambda F, x, t, **k: F.cross_entropy(x, t, **k), RED3),
    "cross_entropy_weight_ignore_smooth": (
        lambda r: [(r.standard_normal((6, 4)), True), (np.array([0, 3, -1, 2, 2, 1]), False),
                   (r.uniform(0.2, 2, 4), False)],
        lambda F, x, t, w, **k: F.cross_entropy(x, t, weight=w, ignore_index=-1, label_smoothing=0.15, **k), RED3),
    "cross_entropy_nd": (lambda r: [(r.standard_normal((2, 3, 2, 2)), True), (r.integers(0, 3, (2, 2, 2)), False),
                                    (r.uniform(0.2, 2, 3), False)],
                         lambda F, x, t, w, **k: F.cross_entropy(x, t, weight=w, label_smoothing=0.1, **k), RED3),
    "cross_entropy_unbatched": (lambda r: [(r.standard_normal(5), True), (np.array(3), False)],
                                lambda F, x, t, **k: F.cross_entropy(x, t, **k), RED3),
    "cross_entropy_probs": (lambda r: [(r.standard_normal((3, 4, 2)), True), (probs(r, (3, 4, 2), 1), True),
                                       (r.uniform(0.2, 2, 4), True)],
                            lambda F, x, t, w, **k: F.cross_entropy(x, t, weight=w, label_smoothing=0.2, **k), RED3),
    "nll": (lambda r: [(log_probs(r, (5, 4)), True), (np.array([0, 3, 1, 2, 3]), False),
                       (r.uniform(0.2, 2, 4), False)],
            lambda F, x, t, w, **k: F.nll_loss(x, t, weight=w, ignore_index=1, **k), RED3),
    "nll_nd": (lambda r: [(log_probs(r, (2, 3, 4)), True), (r.integers(0, 3, (2, 4)), False)],
               lambda F, x, t, **k: F.nll_loss(x, t, **k), RED3),
    "bce": (lambda r: [(r.uniform(0.05, 0.95, (2, 3)), True), (r.uniform(0, 1, (2, 3)), True),
                       (r.uniform(0.5, 2, (2, 3)), False)],
            lambda F, x, t, w, **k: F.binary_cross_entropy(x, t, weight=w, **k), RED3),
    "bce_logits": (lambda r: [(r.standard_normal((2, 3)) * 3, True), (r.uniform(0, 1, (2, 3)), True),
                              (r.uniform(0.5, 2, (2, 3)), False), (r.uniform(0.5, 3, 3), False)],
                   lambda F, x, t, w, pw, **k: F.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=pw, **k),
                   RED3),
    "bce_logits_fused": (lambda r: [(r.standard_normal((2, 3)) * 3, True), (r.uniform(0, 1, (2, 3)), True)],
                         lambda F, x, t, **k: F.binary_cross_entropy_with_logits(x, t, **k), RED3),
    "kl_div": (lambda r: [(log_probs(r, (2, 3)), True), (probs(r, (2, 3)), True)],
               lambda F, x, t, **k: F.kl_div(x, t, **k), RED3 + ("batchmean",)),
    "kl_div_log_target": (lambda r: [(log_probs(r, (2, 3)), True), (log_probs(r, (2, 3)), True)],
                          lambda F, x, t, **k: F.kl_div(x, t, log_target=True, **k), RED3 + ("batchmean",)),
    "poisson_log": (lambda r: [(r.standard_normal((2, 3)), True), (r.uniform(0, 4, (2, 3)), True)],
                    lambda F, x, t, **k: F.poisson_nll_loss(x, t, full=True, **k), RED3),
    "poisson": (lambda r: [(r.uniform(0.5, 3, (2, 3)), True), (r.uniform(0, 4, (2, 3)), True)],
                lambda F, x, t, **k: F.poisson_nll_loss(x, t, log_input=False, **k), RED3),
    "gaussian": (lambda r: [(r.standard_normal((2, 3)), True), (r.standard_normal((2, 3)), True),
                            (r.uniform(0.5, 2, (2, 3)), True)],
                 lambda F, x, t, v, **k: F.gaussian_nll_loss(x, t, v, full=True, **k), RED3),
    "gaussian_shared_var": (lambda r: [(r.standard_normal((2, 3)), True), (r.standard_normal((2, 3)), True),
                                       (r.uniform(0.5, 2, 2), True)],
                            lambda F, x, t, v, **k: F.gaussian_nll_loss(x, t, v, **k), RED3),
    "cosine_embedding": (lambda r: [(r.standard_normal((4, 3)), True), (r.standard_normal((4, 3)), True),
                                    (np.array([1, -1, 1, -1]), False)],
                         lambda F, a, b, t, **k: F.cosine_embedding_loss(a, b, t, margin=-0.2, **k), RED3),
    "margin_ranking": (lambda r: [(r.standard_normal(6), True), (r.standard_normal(6), True),
                                  (signs(r, 6).astype(float), False)],
                       lambda F, a, b, t, **k: F.margin_ranking_loss(a, b, t, margin=0.3, **k), RED3),
    "hinge_embedding": (lambda r: [(r.standard_normal((2, 3)), True), (signs(r, (2, 3)).astype(float), False)],
                        lambda F, x, t, **k: F.hinge_embedding_loss(x, t, margin=0.8, **k), RED3),
    "triplet": (lambda r: [(r.standard_normal((4, 3)), True), (r.standard_normal((4, 3)), True),
                           (r.standard_normal((4, 3)), True)],
                lambda F, a, p, n, **k: F.triplet_margin_loss(a, p, n, margin=2.0, **k), RED3),
    "triplet_p1_swap": (lambda r: [(r.standard_normal((4, 3)), True), (r.standard_normal((4, 3)), True),
                                   (r.standard_normal((4, 3)), True)],
                        lambda F, a, p, n, **k: F.triplet_margin_loss(a, p, n, margin=2.0, p=1, swap=True, **k), RED3),
    "triplet_distance": (lambda r: [(r.standard_normal((4, 3)), True), (r.standard_normal((4, 3)), True),
                                    (r.standard_normal((4, 3)), True)],
                         lambda F, a, p, n, **k: F.triplet_margin_with_distance_loss(
                             a, p, n, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v), margin=0.5,
                             swap=True, **k), RED3),
    "multi_margin": (lambda r: [(r.standard_normal((4, 5)), True), (np.array([0, 4, 2, 2]), False),
                                (r.uniform(0.5, 2, 5), False)],
                     lambda F, x, t, w, **k: F.multi_margin_loss(x, t, p=2, margin=0.7, weight=w, **k), RED3),
    "multi_margin_p1": (lambda r: [(r.standard_normal((4, 5)), True), (np.array([0, 4, 2, 2]), False)],
                        lambda F, x, t, **k: F.multi_margin_loss(x, t, **k), RED3),
    "multilabel_margin": (lambda r: [(r.standard_normal((3, 4)), True), (labels_with_padding(r), False)],
                          lambda F, x, t, **k: F.multilabel_margin_loss(x, t, **k), RED3),
    "multilabel_margin_repeats": (lambda r: [(r.standard_normal(6), True), (np.array([4, 1, 4, 2, 1, 4]), False)],
                                  lambda F, x, t, **k: F.multilabel_margin_loss(x, t, **k), RED3),  # 4 counts thrice
    "soft_margin": (lambda r: [(r.standard_normal((2, 3)) * 3, True), (signs(r, (2, 3)).astype(float), False)],
                    lambda F, x, t, **k: F.soft_margin_loss(x, t, **k), RED3),
    "multilabel_soft_margin": (lambda r: [(r.standard_normal((2, 3)), True),
                                          (r.integers(0, 2, (2, 3)).astype(float), False),
                                          (r.uniform(0.5, 2, 3), True)],
                               lambda F, x, t, w, **k: F.multilabel_soft_margin_loss(x, t, weight=w, **k), RED3),
    # torch's ctc_loss gradient is only right through a log_softmax (it adds exp(log_probs)): compare that way
    "ctc": (lambda r: [(r.standard_normal((4, 2, 3)), True), (np.array([[1, 2, 2], [2, 1, 0]]), False),
                       (np.array([4, 3]), False), (np.array([3, 2]), False)],
            lambda F, x, t, il, tl, **k: F.ctc_loss(F.log_softmax(x, 2), t, il, tl, **k), RED3),
    "ctc_concatenated_blank3": (lambda r: [(r.standard_normal((4, 2, 4)), True), (np.array([1, 1, 0, 2]), False),
                                           (np.array([4, 3]), False), (np.array([2, 2]), False)],
                                lambda F, x, t, il, tl, **k: F.ctc_loss(F.log_softmax(x, 2), t, il, tl, blank=3, **k),
                                RED3),
}


@pytest.mark.parametrize("name", CASES)
def test_gradcheck(device, rng, name):
    arrays, call, _ = CASES[name]
    inputs = [lucid_tensor(a, device, grad) for a, grad in arrays(rng)]
    assert gradcheck(lambda *ts: call(F, *ts, reduction="sum"), inputs)


@pytest.mark.parametrize("name", CASES)
@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")  # torch's kl_div note
def test_against_torch(device, rng, name):
    torch = pytest.importorskip("torch")
    arrays, call, reductions = CASES[name]
    data = arrays(rng)
    for reduction in reductions:
        mine = [lucid_tensor(a, device, grad) for a, grad in data]
        theirs = [torch.tensor(a, requires_grad=grad and np.asarray(a).dtype.kind == "f") for a, grad in data]
        y, ty = call(F, *mine, reduction=reduction), call(torch.nn.functional, *theirs, reduction=reduction)
        assert y.shape == tuple(ty.shape), reduction
        np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-10, atol=1e-13, err_msg=reduction)
        g = rng.standard_normal(ty.shape)
        y.backward(lucid_tensor(g, device))
        ty.backward(torch.tensor(g))
        for k, (m, t) in enumerate(zip(mine, theirs)):
            if t.requires_grad:
                np.testing.assert_allclose(host(m.grad), t.grad.numpy(), rtol=1e-9, atol=1e-12,
                                           err_msg=f"{reduction}: input {k}")


def test_ctc_gradient_is_exact(device, rng):
    """The gradient with respect to the log-probabilities themselves (any values, not normalised)."""
    lp = lucid_tensor(rng.standard_normal((4, 2, 3)), device, grad=True)
    t = lucid_tensor(np.array([[1, 1], [2, 0]]), device)
    assert gradcheck(lambda lp: F.ctc_loss(lp, t, [4, 3], [2, 1], reduction="none"), (lp,))
    assert gradcheck(lambda lp: F.ctc_loss(lp, t[0], 3, 2), (lp[:, 0].detach().requires_grad_(),))  # unbatched


def test_ctc_long_batch_matches_torch(device, rng):
    """The recursions over many frames with mixed input and target lengths (0 included) and repeated labels."""
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((40, 6, 5)) * 3
    targets = rng.integers(1, 5, (6, 12))
    targets[:, 1::2] = targets[:, ::2]  # repeats: their blank is not skipped
    lengths, target_lengths = [40, 33, 40, 25, 40, 1], [12, 7, 0, 9, 3, 0]
    lp = lucid_tensor(x, device, grad=True)
    y = F.ctc_loss(F.log_softmax(lp, 2), lucid_tensor(targets, device), lengths, target_lengths, reduction="none")
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.ctc_loss(tx.log_softmax(2), torch.tensor(targets), torch.tensor(lengths),
                                      torch.tensor(target_lengths), reduction="none")
    np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-10)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(host(lp.grad), tx.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_ctc_impossible_alignment(device, rng):
    lp = lucid_tensor(np.log(probs(rng, (2, 1, 3))), device, grad=True)
    t = lucid_tensor(np.array([[1, 1]]), device)  # needs 3 frames (a blank between the repeats)
    assert np.isinf(host(F.ctc_loss(lp, t, [2], [2], reduction="none"))).all()
    y = F.ctc_loss(lp, t, [2], [2], zero_infinity=True)
    y.backward()
    assert host(y) == 0 and (host(lp.grad) == 0).all()


def test_cross_entropy_second_derivative(device, rng):
    x = lucid_tensor(rng.standard_normal((3, 4)), device, grad=True)
    t = lucid_tensor(np.array([0, 3, 1]), device)
    w = lucid_tensor(rng.uniform(0.5, 2, 4), device)
    for kwargs in ({}, {"weight": w, "label_smoothing": 0.2}, {"reduction": "none"}):
        assert gradgradcheck(lambda x, kwargs=kwargs: F.cross_entropy(x, t, **kwargs), (x,))


@pytest.mark.parametrize("dtype", [lucid.float32, lucid.float64])
def test_stable_at_extreme_logits(device, dtype):
    torch = pytest.importorskip("torch")
    a = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [5e3, 5e3, -1e4]])
    tdtype = torch.float32 if dtype is lucid.float32 else torch.float64
    target = np.array([1, 2, 0])
    for fn, tfn, args in (
        (F.cross_entropy, torch.nn.functional.cross_entropy, (target,)),
        (lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1), lambda x, t: torch.nn.functional.cross_entropy(
            x, t, label_smoothing=0.1), (target,)),
        (F.binary_cross_entropy_with_logits, torch.nn.functional.binary_cross_entropy_with_logits,
         (np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.5]]),)),
        (lambda x: F.log_softmax(x, 1).sum(), lambda x: x.log_softmax(1).sum(), ()),
    ):
        x = lucid.tensor(a, dtype=dtype, device=device, requires_grad=True)
        tx = torch.tensor(a, dtype=tdtype, requires_grad=True)
        extra = [lucid.tensor(v, dtype=dtype if v.dtype.kind == "f" else None, device=device) for v in args]
        textra = [torch.tensor(v, dtype=tdtype if v.dtype.kind == "f" else None) for v in args]
        y, ty = fn(x, *extra), tfn(tx, *textra)
        y.backward()
        ty.backward()
        assert np.isfinite(host(y)).all() and np.isfinite(host(x.grad)).all()
        np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [lucid.float16, lucid.float32, lucid.float64])
@pytest.mark.filterwarnings("ignore:overflow encountered in cast")  # 1e30 in float16
def test_bce_with_logits_edges(device, dtype):
    """The fused op keeps the dtype and PyTorch's nan and inf pattern (values and both gradients) at 0, -0, tiny,
    subnormal, huge and infinite logits; its ``log1p(exp(-|x|))`` keeps full precision where PyTorch's form
    cancels (``x = -20, t = 0``: 2.06e-9, not 0); gradients have second derivatives."""
    torch = pytest.importorskip("torch")
    if not device.backend.supports(dtype):
        pytest.skip(f"no {dtype} on this backend")
    edge = [0.0, -0.0, 1e-45, 1e-30, 0.5, -3, 20, -20, 100, -100, 1e30, -1e30, np.inf, -np.inf, np.nan]
    x, t = np.repeat(edge, 3), np.tile([0.0, 0.5, 1.0], len(edge))
    ours = [lucid.tensor(v, dtype=dtype, device=device, requires_grad=True) for v in (x, t)]
    theirs = [torch.tensor(host(v), requires_grad=True) for v in ours]
    y = F.binary_cross_entropy_with_logits(*ours, reduction="none")
    ty = torch.nn.functional.binary_cross_entropy_with_logits(*theirs, reduction="none")
    y.backward(lucid.ones_like(y))
    ty.backward(torch.ones_like(ty))
    assert y.dtype is dtype and ours[0].grad.dtype is dtype
    for a, b in ((y, ty), (ours[0].grad, theirs[0].grad), (ours[1].grad, theirs[1].grad)):
        a, b = host(a), b.detach().numpy()
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
    x64, t64 = host(ours[0]).astype(np.float64), host(ours[1]).astype(np.float64)
    with np.errstate(invalid="ignore"):
        exact = (1 - t64) * x64 + np.maximum(-x64, 0) + np.log1p(np.exp(-np.abs(x64)))
    finite, kind = np.isfinite(exact), host(y).dtype
    np.testing.assert_allclose(host(y)[finite], exact[finite].astype(kind), rtol=4 * np.finfo(kind).eps, atol=0)
    a = lucid_tensor(np.array([-3.0, 0.2, 4.0]), device, grad=True)
    b = lucid_tensor(np.array([0.1, 0.5, 1.0]), device, grad=True)
    assert gradgradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="sum"), (a, b))


def test_bce_clamps_log_like_torch(device):
    torch = pytest.importorskip("torch")
    x, t = np.array([0.0, 1.0, 1e-50, 0.3]), np.array([1.0, 0.0, 1.0, 0.3])
    y = F.binary_cross_entropy(lucid_tensor(x, device), lucid_tensor(t, device), reduction="none")
    np.testing.assert_allclose(host(y), torch.nn.functional.binary_cross_entropy(
        torch.tensor(x), torch.tensor(t), reduction="none").numpy(), rtol=1e-12)


def test_nll_loss_is_per_sample(device, rng):
    """One value per sample, not the N x N matrix upstream Lucid 2.5.8 returned."""
    x = lucid_tensor(log_probs(rng, (6, 3)), device)
    t = lucid_tensor(np.array([0, 1, 2, 2, 1, 0]), device)
    per_sample = F.nll_loss(x, t, reduction="none")
    assert per_sample.shape == (6,) and F.nll_loss(x, t).shape == ()
    np.testing.assert_allclose(host(per_sample), -host(x)[np.arange(6), [0, 1, 2, 2, 1, 0]])
    assert F.cross_entropy(x, t, reduction="none").shape == (6,)


def test_loss_modules_match_functions(device, rng):
    x = lucid_tensor(rng.standard_normal((4, 3)), device)
    t = lucid_tensor(rng.standard_normal((4, 3)), device)
    idx = lucid_tensor(np.array([0, 2, 1, 2]), device)
    w = lucid_tensor(rng.uniform(0.5, 2, 3), device)
    pm = lucid_tensor(np.array([1, -1, 1, 1]), device)
    p = lucid_tensor(probs(rng, (4, 3)), device)
    var = lucid_tensor(rng.uniform(0.5, 2, (4, 3)), device)
    pairs = [
        (L.L1Loss()(x, t), F.l1_loss(x, t)), (L.MSELoss(reduction="sum")(x, t), F.mse_loss(x, t, reduction="sum")),
        (L.SmoothL1Loss(beta=0.5)(x, t), F.smooth_l1_loss(x, t, beta=0.5)),
        (L.HuberLoss(delta=0.5)(x, t), F.huber_loss(x, t, delta=0.5)),
        (L.CrossEntropyLoss(w, label_smoothing=0.1)(x, idx), F.cross_entropy(x, idx, w, label_smoothing=0.1)),
        (L.NLLLoss(w, ignore_index=2)(x, idx), F.nll_loss(x, idx, w, ignore_index=2)),
        (L.BCELoss(reduction="none")(p, p), F.binary_cross_entropy(p, p, reduction="none")),
        (L.BCEWithLogitsLoss(pos_weight=w)(x, p), F.binary_cross_entropy_with_logits(x, p, pos_weight=w)),
        (L.KLDivLoss(reduction="batchmean")(x, p), F.kl_div(x, p, reduction="batchmean")),
        (L.PoissonNLLLoss(full=True)(x, p), F.poisson_nll_loss(x, p, full=True)),
        (L.GaussianNLLLoss(full=True)(x, t, var), F.gaussian_nll_loss(x, t, var, full=True)),
        (L.CosineEmbeddingLoss(0.1)(x, t, pm), F.cosine_embedding_loss(x, t, pm, 0.1)),
        (L.MarginRankingLoss(0.1)(x[:, 0], t[:, 0], pm), F.margin_ranking_loss(x[:, 0], t[:, 0], pm, 0.1)),
        (L.HingeEmbeddingLoss(0.5)(x[:, 0], pm), F.hinge_embedding_loss(x[:, 0], pm, 0.5)),
        (L.TripletMarginLoss(p=1)(x, t, p), F.triplet_margin_loss(x, t, p, p=1)),
        (L.TripletMarginWithDistanceLoss(margin=0.3)(x, t, p),
         F.triplet_margin_with_distance_loss(x, t, p, margin=0.3)),
        (L.MultiMarginLoss(weight=w)(x, idx), F.multi_margin_loss(x, idx, weight=w)),
        (L.SoftMarginLoss()(x, t), F.soft_margin_loss(x, t)),
        (L.MultiLabelSoftMarginLoss(w)(x, p), F.multilabel_soft_margin_loss(x, p, w)),
        (L.PairwiseDistance(p=3)(x, t), F.pairwise_distance(x, t, p=3)),
        (L.CosineSimilarity(dim=0)(x, t), F.cosine_similarity(x, t, dim=0)),
    ]
    for got, want in pairs:
        np.testing.assert_array_equal(host(got), host(want))
    ctc = L.CTCLoss(blank=0, reduction="sum")
    lp = lucid_tensor(log_probs(rng, (5, 2, 3), 2), device)
    args = (lp, lucid_tensor(np.array([[1, 2], [2, 2]]), device), [5, 5], [2, 2])
    np.testing.assert_array_equal(host(ctc(*args)), host(F.ctc_loss(*args, reduction="sum")))
    y = lucid_tensor(np.array([[1, -1, -1], [0, 2, -1], [2, -1, -1], [0, 1, 2]]), device)
    np.testing.assert_array_equal(host(L.MultiLabelMarginLoss()(x, y)), host(F.multilabel_margin_loss(x, y)))


def test_class_weights_are_buffers(device_pair):
    here, there = device_pair
    m = L.CrossEntropyLoss(weight=lucid.tensor([1.0, 2.0], device=here))
    assert "weight" in m.state_dict() and [n for n, _ in m.named_buffers()] == ["weight"]
    m.to(there)
    assert m.weight.device is there
    y = m(lucid.tensor([[0.5, 0.1]], device=there), lucid.tensor([1], device=there))
    assert y.device is there
    assert [n for n, _ in L.BCEWithLogitsLoss().named_buffers()] == []


def test_legacy_reduction_arguments(device, rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((3, 2))
    for kwargs in ({"reduce": False}, {"size_average": False}, {"size_average": True, "reduce": True}):
        got = F.mse_loss(lucid_tensor(x, device), lucid_tensor(x * 0, device), **kwargs)
        with pytest.warns(UserWarning):  # torch's own deprecation warning
            want = torch.nn.functional.mse_loss(torch.tensor(x), torch.tensor(x * 0), **kwargs)
        np.testing.assert_allclose(host(got), want.numpy())
    assert L.L1Loss(reduce=False).reduction == "none"


def test_errors(device, rng):
    x = lucid_tensor(rng.standard_normal((3, 4)), device)
    t = lucid_tensor(np.array([0, 1, 4]), device)
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(x, x, reduction="avg")
    if device.host:  # off the host target ranges are not checked (a sync): tests/backend/test_host_sync_checks.py
        with pytest.raises(IndexError, match="out of bounds"):
            F.cross_entropy(x, t)
    with pytest.raises(ValueError, match="target of shape"):
        F.cross_entropy(x, lucid_tensor(np.array([0, 1]), device))
    if device.host:
        with pytest.raises(RuntimeError, match="between 0 and 1"):
            F.binary_cross_entropy(x, x)
    with pytest.raises(RuntimeError, match="not differentiable"):
        F.cross_entropy(x, lucid_tensor(np.array([0, 1, 2]), device),
                        weight=lucid_tensor(np.ones(4), device, grad=True))
    with pytest.raises(RuntimeError, match="weight must have shape"):
        F.nll_loss(x, lucid_tensor(np.array([0, 1, 2]), device), weight=lucid_tensor(np.ones(3), device))
    with pytest.raises(ValueError, match="var"):
        F.gaussian_nll_loss(x, x, lucid_tensor(np.ones((2, 2)), device))
    with pytest.raises(ValueError, match="reduction"):
        L.CrossEntropyLoss(reduction="batchmean")
    with pytest.warns(UserWarning, match="target size"):
        F.mse_loss(x, x[0])


# ---- edge cases, against PyTorch (issue 11) ---------------------------------------------------------------
IGNORED_KWARGS = {"plain": {}, "smoothing": {"label_smoothing": 0.1}, "weight": {"weight": [0.5, 1.0, 2.0, 1.5]},
                  "weight_smoothing": {"weight": [0.5, 1.0, 2.0, 1.5], "label_smoothing": 0.2}}


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("kind", IGNORED_KWARGS)
@pytest.mark.parametrize("shape", [(3, 4), (2, 4, 3), (4,), (0, 4)])
def test_every_target_ignored_gives_torchs_nan_and_zero_gradient(device, rng, loss, kind, shape):
    """Mean over no counted target: loss nan, gradient zeros (not nan), no NumPy warning; as PyTorch."""
    kwargs = dict(IGNORED_KWARGS[kind])
    if loss == "nll_loss" and "label_smoothing" in kwargs:
        pytest.skip("nll_loss has no label smoothing")
    a = rng.standard_normal(shape)
    target = np.full(shape[:1] + shape[2:] if len(shape) > 1 else (), -100, dtype=np.int64)
    for reduction in ("mean", "sum", "none"):
        x = lucid_tensor(a, device, grad=True)
        mine = {k: lucid_tensor(v, device) if k == "weight" else v for k, v in kwargs.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = getattr(F, loss)(x, lucid_tensor(target, device), reduction=reduction, **mine)
            y.sum().backward()
        if reduction == "mean":
            assert math.isnan(float(y))
        else:
            assert (host(y) == 0).all()
        np.testing.assert_array_equal(host(x.grad), np.zeros(shape))
        torch = pytest.importorskip("torch")
        tx = torch.tensor(a, requires_grad=True)
        theirs = {k: torch.tensor(v, dtype=torch.float64) if k == "weight" else v for k, v in kwargs.items()}
        ty = getattr(torch.nn.functional, loss)(tx, torch.tensor(target), reduction=reduction, **theirs)
        ty.sum().backward()
        np.testing.assert_array_equal(host(y), ty.detach().numpy())
        np.testing.assert_array_equal(host(x.grad), tx.grad.numpy())


def test_cross_entropy_second_derivative_with_every_target_ignored(device, rng):
    x = lucid_tensor(rng.standard_normal((3, 4)), device, grad=True)
    t = lucid_tensor(np.full(3, -100), device)
    (g,) = lucid.autograd.grad(F.cross_entropy(x, t, label_smoothing=0.1), x, create_graph=True)
    np.testing.assert_array_equal(host(g), np.zeros((3, 4)))
    g.sum().backward()
    np.testing.assert_array_equal(host(x.grad), np.zeros((3, 4)))


def test_partly_ignored_batch_still_matches_torch(device, rng):
    torch = pytest.importorskip("torch")
    a, t, w = rng.standard_normal((4, 3)), np.array([2, -100, 0, -100]), rng.uniform(0.5, 2, 3)
    for kwargs in ({}, {"label_smoothing": 0.3}):
        x = lucid_tensor(a, device, grad=True)
        tx = torch.tensor(a, requires_grad=True)
        y = F.cross_entropy(x, lucid_tensor(t, device), weight=lucid_tensor(w, device), **kwargs)
        ty = torch.nn.functional.cross_entropy(tx, torch.tensor(t), weight=torch.tensor(w), **kwargs)
        y.backward()
        ty.backward()
        np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-14)


BAD_PROBABILITIES = {"input_nan": ([0.5, math.nan], [1.0, 0.0], "input"),
                     "input_above": ([1.5, 0.2], [1.0, 0.0], "input"),
                     "input_below": ([-0.5, 0.2], [1.0, 0.0], "input"),
                     "target_above": ([0.5, 0.2], [2.0, 0.0], "target"),
                     "target_below": ([0.5, 0.2], [0.0, -1.0], "target"),
                     "target_nan": ([0.5, 0.2], [math.nan, 0.5], "target")}


@pytest.mark.parametrize("case", BAD_PROBABILITIES)
def test_bce_refuses_values_outside_unit_interval_as_torch(device, case):
    x, t, which = BAD_PROBABILITIES[case]
    if device.host:  # off the host the check is skipped (a sync): tests/backend/test_host_sync_checks.py
        with pytest.raises(RuntimeError, match=f"all elements of {which} should be between 0 and 1"):
            F.binary_cross_entropy(lucid_tensor(x, device), lucid_tensor(t, device))
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match=f"all elements of {which} should be between 0 and 1"):
        torch.nn.functional.binary_cross_entropy(torch.tensor(x), torch.tensor(t))


# wrong calls that used to fail inside an arithmetic op (or NumPy) with a message naming that op
WRONG_SHAPES = {
    "mse_loss": (lambda F, x: F.mse_loss(x, x[0, :3]), "target of shape"),
    "kl_div": (lambda F, x: F.kl_div(x, x[0, :3], reduction="batchmean"), "target of shape"),
    "hinge_embedding_loss": (lambda F, x: F.hinge_embedding_loss(x, x[0, :3]), "target of shape"),
    "multilabel_soft_margin_loss": (lambda F, x: F.multilabel_soft_margin_loss(x, x[:, :3]), "target of shape"),
    "binary_cross_entropy": (lambda F, x: F.binary_cross_entropy(x.sigmoid(), x.sigmoid(), weight=x[0, :3]),
                             "weight of shape"),
    "bce_with_logits": (lambda F, x: F.binary_cross_entropy_with_logits(x, x, pos_weight=x[0, :3]),
                        "pos_weight of shape"),
    "cosine_embedding_loss": (lambda F, x: F.cosine_embedding_loss(x, x[:, :3], x[:, 0].sign()), "input2 of shape"),
    "pairwise_distance": (lambda F, x: F.pairwise_distance(x, x[:, :3]), "x2 of shape"),
    "cosine_similarity": (lambda F, x: F.cosine_similarity(x, x[:, :3]), "x2 of shape"),
    "triplet_margin_loss": (lambda F, x: F.triplet_margin_loss(x, x[:, :3], x), "x2 of shape"),
    "multi_margin_loss": (lambda F, x: F.multi_margin_loss(x, x[:2, 0].long().abs()), "one class index per sample"),
}


@pytest.mark.filterwarnings("ignore:.*target size")  # the broadcasting warning both libraries give first
@pytest.mark.parametrize("name", WRONG_SHAPES)
def test_loss_shape_errors_name_the_loss(device, rng, name):
    call, message = WRONG_SHAPES[name]
    x = lucid_tensor(rng.uniform(0.1, 0.9, (3, 4)), device)
    with pytest.raises(RuntimeError, match=message) as info:
        call(F, x)
    assert str(x.shape) in str(info.value) or "(3," in str(info.value)
    torch = pytest.importorskip("torch")
    with pytest.raises((RuntimeError, ValueError)):  # torch refuses each too
        call(torch.nn.functional, torch.tensor(x.numpy(force=True)))


# ---- fused elementwise and class-index losses against PyTorch (values, gradients, second derivatives) -------------
# |d| exactly at the bound (0.7 and 2.3 - 3.0), zero, infinities, nan, a tiny difference
SMOOTH_X = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -2.0, 0.7, -0.7, np.inf, -np.inf, np.nan, 1e-30, 3.0])
SMOOTH_T = np.array([0.0] * 13 + [2.3])


@pytest.mark.parametrize("loss,kwargs", [("smooth_l1_loss", {"beta": 1.0}), ("smooth_l1_loss", {"beta": 0.7}),
                                         ("smooth_l1_loss", {"beta": 0.0}), ("smooth_l1_loss", {"beta": 2.5}),
                                         ("huber_loss", {"delta": 1.0}), ("huber_loss", {"delta": 0.7}),
                                         ("huber_loss", {"delta": 2.5})])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_smooth_l1_and_huber_edges_match_torch(device, loss, kwargs, reduction):
    torch = pytest.importorskip("torch")
    x, t = lucid_tensor(SMOOTH_X, device, grad=True), lucid_tensor(SMOOTH_T, device, grad=True)
    tx, tt = torch.tensor(SMOOTH_X, requires_grad=True), torch.tensor(SMOOTH_T, requires_grad=True)
    y = getattr(F, loss)(x, t, reduction=reduction, **kwargs)
    ty = getattr(torch.nn.functional, loss)(tx, tt, reduction=reduction, **kwargs)
    exact = dict(rtol=1e-14, atol=0, equal_nan=True)
    np.testing.assert_allclose(host(y), ty.detach().numpy(), **exact)
    g = np.linspace(-1, 1, SMOOTH_X.size) if reduction == "none" else np.array(0.7)
    first = lucid.autograd.grad(y, (x, t), lucid_tensor(g, device), retain_graph=True)
    recorded = lucid.autograd.grad(y, (x, t), lucid_tensor(g, device), create_graph=True)
    theirs = torch.autograd.grad(ty, (tx, tt), torch.tensor(g), create_graph=True)
    for a, b, c in zip(first, recorded, theirs):
        np.testing.assert_allclose(host(a), c.detach().numpy(), **exact)
        np.testing.assert_allclose(host(b), c.detach().numpy(), **exact)
    if kwargs.get("beta") != 0:  # second derivative: 1/beta (1) strictly inside the bound, else 0
        weights = np.nan_to_num(theirs[0].detach().numpy())
        (h,) = lucid.autograd.grad((recorded[0] * lucid_tensor(weights, device)).sum(), (x,))
        (th,) = torch.autograd.grad((theirs[0] * torch.tensor(weights)).sum(), (tx,))
        np.testing.assert_allclose(host(h), th.numpy(), **exact)


@pytest.mark.parametrize("loss", ["smooth_l1_loss", "huber_loss"])
def test_smooth_l1_and_huber_float32_match_torch(device, loss):
    """float32 stays float32; 300 x 300 elements run in several chunks."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal((300, 300)).astype(np.float32) * 2 for _ in range(2))
    x = lucid.tensor(a, device=device, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    y, ty = getattr(F, loss)(x, lucid.tensor(b, device=device)), getattr(torch.nn.functional, loss)(tx, torch.tensor(b))
    y.backward()
    ty.backward()
    assert y.dtype is lucid.float32 and x.grad.dtype is lucid.float32
    np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("loss", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("shape", [(5,), (6, 4), (3, 4, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("weighted", [False, True])
def test_class_index_losses_match_torch_in_any_layout(device, rng, loss, shape, weighted):
    """Class axis 1 of any rank, ignored targets (an ignored -inf log-probability counts for nothing), weights,
    every reduction; the gradient, its recorded form, and the recorded form's derivative in the output gradient."""
    torch = pytest.importorskip("torch")
    classes = shape[1] if len(shape) > 1 else shape[0]
    a = rng.standard_normal(shape)
    target = rng.integers(0, classes, shape[:1] + shape[2:] if len(shape) > 1 else ())
    if target.size > 2:
        target.flat[1] = -100
        n, *rest = np.unravel_index(1, target.shape)
        a[(n, 0, *rest)] = -np.inf
    w = rng.uniform(0.2, 2, classes) if weighted else None
    for reduction in ("none", "sum", "mean"):
        x, tx = lucid_tensor(a, device, grad=True), torch.tensor(a, requires_grad=True)
        y = getattr(F, loss)(x, lucid_tensor(target, device), weight=None if w is None else lucid_tensor(w, device),
                             reduction=reduction)
        ty = getattr(torch.nn.functional, loss)(tx, torch.tensor(target), reduction=reduction,
                                                weight=None if w is None else torch.tensor(w))
        np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=reduction)
        g0 = rng.standard_normal(ty.shape)
        g, tg = lucid_tensor(g0, device, grad=True), torch.tensor(g0, requires_grad=True)
        (first,) = lucid.autograd.grad(y, (x,), g, retain_graph=True)
        (recorded,) = lucid.autograd.grad(y, (x,), g, create_graph=True)
        (theirs,) = torch.autograd.grad(ty, (tx,), tg, create_graph=True)
        for mine in (first, recorded):
            np.testing.assert_allclose(host(mine), theirs.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=reduction)
        c = rng.standard_normal(shape)
        (dg,) = lucid.autograd.grad((recorded * lucid_tensor(c, device)).sum(), (g,))
        (tdg,) = torch.autograd.grad((theirs * torch.tensor(c)).sum(), (tg,))
        np.testing.assert_allclose(host(dg), tdg.numpy(), rtol=1e-12, atol=1e-14, err_msg=reduction)


@pytest.mark.parametrize("loss", ["nll_loss", "cross_entropy"])
def test_segmentation_float32_matches_torch(device, rng, loss):
    """(N, C, H, W) float32 logits or log-probabilities with (N, H, W) targets: dtype and values."""
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((4, 5, 16, 16)).astype(np.float32)
    target = rng.integers(0, 5, (4, 16, 16))
    target[0, 0, :3] = -100
    x, tx = lucid.tensor(a, device=device, requires_grad=True), torch.tensor(a, requires_grad=True)
    y = getattr(F, loss)(x, lucid.tensor(target, device=device))
    ty = getattr(torch.nn.functional, loss)(tx, torch.tensor(target))
    y.backward()
    ty.backward()
    assert y.dtype is lucid.float32 and x.grad.dtype is lucid.float32
    np.testing.assert_allclose(host(y), ty.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(host(x.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-8)


def test_nll_loss_weight_gradient(device, rng):
    """A weight that requires grad gets one (PyTorch refuses it): recorded ops instead of the fused op."""
    x = lucid_tensor(rng.standard_normal((6, 4)), device, grad=True)
    w = lucid_tensor(rng.uniform(0.5, 2, 4), device, grad=True)
    t = lucid_tensor(np.array([0, 3, 1, 2, -100, 1]), device)
    for reduction in ("mean", "sum", "none"):
        assert gradcheck(lambda x, w, reduction=reduction: F.nll_loss(x, t, weight=w, reduction=reduction), (x, w))


def _focal_loss_class(base, functional):
    """A focal loss written as programs write it, on ``_WeightedLoss`` (``base``) of lucid or PyTorch."""

    class FocalLoss(base):
        def __init__(self, weight=None, gamma=2.0, reduction="mean"):
            super().__init__(weight=weight, reduction=reduction)
            self.gamma = gamma

        def forward(self, input, target):
            ce = functional.cross_entropy(input, target, weight=self.weight, reduction="none")
            loss = (1 - (-ce).exp()) ** self.gamma * ce
            return loss.mean() if self.reduction == "mean" else loss.sum()

    return FocalLoss


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_weighted_loss_base_holds_weight_as_a_buffer_like_torch(device, rng, reduction):
    """Custom losses subclass ``_WeightedLoss``: ``weight`` is a buffer (state_dict, ``.to``), ``reduction`` is
    checked, and the built-in class-weighted losses are ``_WeightedLoss`` as in PyTorch."""
    torch = pytest.importorskip("torch")
    from torch.nn.modules.loss import _WeightedLoss as TorchWeighted

    x, t, w = rng.standard_normal((6, 4)), rng.integers(0, 4, 6), rng.uniform(0.5, 2.0, 4)
    focal = _focal_loss_class(L.loss._WeightedLoss, F)
    ours = focal(weight=lucid.tensor(w, dtype=lucid.float64), reduction=reduction)
    theirs = _focal_loss_class(TorchWeighted, torch.nn.functional)(weight=torch.tensor(w), reduction=reduction)
    ours = ours.to(device)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"] and ours.weight.device == device
    got = ours(lucid_tensor(x, device), lucid.tensor(t, device=device))
    np.testing.assert_allclose(host(got), theirs(torch.tensor(x), torch.tensor(t)).numpy(), rtol=1e-12)
    assert focal().weight is None
    with pytest.raises(ValueError, match="reduction"):
        focal(reduction="avg")
    weighted = {n for n in L.loss.__all__ if issubclass(getattr(L.loss, n), L.loss._WeightedLoss)}
    assert weighted == {n for n in L.loss.__all__ if issubclass(getattr(torch.nn, n), TorchWeighted)}
