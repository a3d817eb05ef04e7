"""Loss modules (PyTorch's class names, arguments and defaults) and the distance modules: each
stores its settings and calls the function of the same name in :mod:`lucid.nn.functional.loss`.
Class weights (``weight``, ``pos_weight``) are buffers, so they follow ``module.to(...)``."""

from __future__ import annotations

from ..functional import loss as F
from .functional_layer import FunctionalLayer

__all__ = [
    "L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
    "KLDivLoss", "PoissonNLLLoss", "GaussianNLLLoss", "CosineEmbeddingLoss", "MarginRankingLoss",
    "HingeEmbeddingLoss", "TripletMarginLoss", "TripletMarginWithDistanceLoss", "CTCLoss", "MultiMarginLoss",
    "MultiLabelMarginLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss", "PairwiseDistance", "CosineSimilarity",
    "NLLLoss2d",
]


class _Loss(FunctionalLayer):
    """Base of the losses: resolves ``reduction`` (or the deprecated ``size_average``/``reduce``).
    Subclasses with more settings call ``_configure`` with them."""

    reductions = ("mean", "sum", "none")
    shown = ()  # PyTorch's losses print no settings: ``CrossEntropyLoss()``

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean") -> None:
        self._configure(size_average, reduce, reduction)

    def _configure(self, size_average, reduce, reduction: str, buffers=None, **settings) -> None:
        reduction = F._reduction(type(self).__name__, size_average, reduce, reduction, self.reductions)
        FunctionalLayer.__init__(self, buffers, reduction=reduction, **settings)


class _WeightedLoss(_Loss):
    """Base of the losses with class weights, as PyTorch's (custom losses subclass it): ``weight`` (None or a
    tensor) is a buffer, read as ``self.weight`` by ``forward``."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean") -> None:
        self._configure(size_average, reduce, reduction, {"weight": weight})


class L1Loss(_Loss):
    """Mean absolute error (:func:`lucid.nn.functional.l1_loss`)."""

    function = staticmethod(F.l1_loss)


class MSELoss(_Loss):
    """Mean squared error (:func:`lucid.nn.functional.mse_loss`)."""

    function = staticmethod(F.mse_loss)


class SmoothL1Loss(_Loss):
    """Quadratic below ``beta``, linear above (:func:`lucid.nn.functional.smooth_l1_loss`)."""

    function = staticmethod(F.smooth_l1_loss)

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0) -> None:
        self._configure(size_average, reduce, reduction, beta=beta)


class HuberLoss(_Loss):
    """Quadratic below ``delta``, ``delta``-scaled linear above (:func:`lucid.nn.functional.huber_loss`)."""

    function = staticmethod(F.huber_loss)

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        self._configure(None, None, reduction, delta=delta)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of logits against class indices or probabilities (:func:`lucid.nn.functional.cross_entropy`)."""

    function = staticmethod(F.cross_entropy)

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        self._configure(size_average, reduce, reduction, {"weight": weight}, ignore_index=ignore_index,
                         label_smoothing=label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (:func:`lucid.nn.functional.nll_loss`)."""

    function = staticmethod(F.nll_loss)

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        self._configure(size_average, reduce, reduction, {"weight": weight}, ignore_index=ignore_index)


class NLLLoss2d(NLLLoss):
    """PyTorch's old name for ``NLLLoss`` on ``(N, C, H, W)`` input (``NLLLoss`` takes any ``(N, C, *)``)."""


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities (:func:`lucid.nn.functional.binary_cross_entropy`)."""

    function = staticmethod(F.binary_cross_entropy)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, stable (:func:`lucid.nn.functional.binary_cross_entropy_with_logits`)."""

    function = staticmethod(F.binary_cross_entropy_with_logits)

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean", pos_weight=None) -> None:
        self._configure(size_average, reduce, reduction, {"weight": weight, "pos_weight": pos_weight})


class KLDivLoss(_Loss):
    """Kullback-Leibler divergence (:func:`lucid.nn.functional.kl_div`); ``reduction="batchmean"`` is the true KL."""

    function = staticmethod(F.kl_div)
    reductions = ("mean", "sum", "none", "batchmean")

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False) -> None:
        self._configure(size_average, reduce, reduction, log_target=log_target)


class PoissonNLLLoss(_Loss):
    """Poisson negative log-likelihood (:func:`lucid.nn.functional.poisson_nll_loss`)."""

    function = staticmethod(F.poisson_nll_loss)

    def __init__(self, log_input: bool = True, full: bool = False, size_average=None, eps: float = 1e-8, reduce=None,
                 reduction: str = "mean") -> None:
        self._configure(size_average, reduce, reduction, log_input=log_input, full=full, eps=eps)


class GaussianNLLLoss(_Loss):
    """Gaussian negative log-likelihood; ``forward(input, target, var)``
    (:func:`lucid.nn.functional.gaussian_nll_loss`)."""

    function = staticmethod(F.gaussian_nll_loss)

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        self._configure(None, None, reduction, full=full, eps=eps)


class CosineEmbeddingLoss(_Loss):
    """``forward(input1, input2, target)`` with targets ±1 (:func:`lucid.nn.functional.cosine_embedding_loss`)."""

    function = staticmethod(F.cosine_embedding_loss)

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean") -> None:
        self._configure(size_average, reduce, reduction, margin=margin)


class MarginRankingLoss(_Loss):
    """``forward(input1, input2, target)`` (:func:`lucid.nn.functional.margin_ranking_loss`)."""

    function = staticmethod(F.margin_ranking_loss)

    def __init__(self, margin: float = 0.0, size_average=None, reduce=None, reduction: str = "mean") -> None:
        self._configure(size_average, reduce, reduction, margin=margin)


class HingeEmbeddingLoss(_Loss):
    """Hinge loss for targets ±1 (:func:`lucid.nn.functional.hinge_embedding_loss`)."""

    function = staticmethod(F.hinge_embedding_loss)

    def __init__(self, margin: float = 1.0, size_average=None, reduce=None, reduction: str = "mean") -> None:
        self._configure(size_average, reduce, reduction, margin=margin)


class TripletMarginLoss(_Loss):
    """``forward(anchor, positive, negative)`` with the p-norm distance
    (:func:`lucid.nn.functional.triplet_margin_loss`)."""

    function = staticmethod(F.triplet_margin_loss)

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False, size_average=None,
                 reduce=None, reduction: str = "mean") -> None:
        self._configure(size_average, reduce, reduction, margin=margin, p=p, eps=eps, swap=swap)


class TripletMarginWithDistanceLoss(_Loss):
    """Triplet loss with any distance function (:func:`lucid.nn.functional.triplet_margin_with_distance_loss`)."""

    function = staticmethod(F.triplet_margin_with_distance_loss)

    def __init__(self, *, distance_function=None, margin: float = 1.0, swap: bool = False,
                 reduction: str = "mean") -> None:
        self._configure(None, None, reduction, distance_function=distance_function, margin=margin, swap=swap)


class CTCLoss(_Loss):
    """``forward(log_probs, targets, input_lengths, target_lengths)`` (:func:`lucid.nn.functional.ctc_loss`)."""

    function = staticmethod(F.ctc_loss)

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        self._configure(None, None, reduction, blank=blank, zero_infinity=zero_infinity)


class MultiMarginLoss(_WeightedLoss):
    """Multi-class hinge loss (:func:`lucid.nn.functional.multi_margin_loss`)."""

    function = staticmethod(F.multi_margin_loss)

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, size_average=None, reduce=None,
                 reduction: str = "mean") -> None:
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 are supported, got {p}")
        self._configure(size_average, reduce, reduction, {"weight": weight}, p=p, margin=margin)


class MultiLabelMarginLoss(_Loss):
    """Multi-label hinge loss (:func:`lucid.nn.functional.multilabel_margin_loss`)."""

    function = staticmethod(F.multilabel_margin_loss)


class SoftMarginLoss(_Loss):
    """Two-class logistic loss for targets ±1 (:func:`lucid.nn.functional.soft_margin_loss`)."""

    function = staticmethod(F.soft_margin_loss)


class MultiLabelSoftMarginLoss(_WeightedLoss):
    """One-vs-all logistic loss (:func:`lucid.nn.functional.multilabel_soft_margin_loss`)."""

    function = staticmethod(F.multilabel_soft_margin_loss)


class PairwiseDistance(FunctionalLayer):
    """``||x1 - x2 + eps||_p`` along the last dimension (:func:`lucid.nn.functional.pairwise_distance`)."""

    function = staticmethod(F.pairwise_distance)
    shown = ()  # none printed, as PyTorch's

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__(p=p, eps=eps, keepdim=keepdim)


class CosineSimilarity(FunctionalLayer):
    """Cosine similarity along ``dim`` (:func:`lucid.nn.functional.cosine_similarity`)."""

    function = staticmethod(F.cosine_similarity)
    shown = ()  # none printed, as PyTorch's

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__(dim=dim, eps=eps)
