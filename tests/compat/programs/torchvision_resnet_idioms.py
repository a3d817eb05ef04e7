"""torchvision-style models: Bottleneck ResNet with zero_init_residual, FrozenBatchNorm2d with its
_load_from_state_dict, IntermediateLayerGetter, SE + StochasticDepth (torch.fx.wrap("stochastic_depth")),
_make_divisible, weight decay groups by _NormBase/_BatchNorm, a _WeightedLoss focal loss, default_collate from
torch.utils.data._utils.collate, fuse_conv_bn_eval, ReduceLROnPlateau and a Lightning-style loop."""
from collections import OrderedDict

import numpy as np
import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm, _NormBase
from torch.nn.modules.conv import _ConvNd
from torch.nn.modules.loss import _WeightedLoss
from torch.nn.modules.utils import _pair
from torch.utils.data import DataLoader, Dataset
from torch.utils.data._utils.collate import default_collate

torch.manual_seed(3)


def _make_divisible(v, divisor, min_value=None):
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class FrozenBatchNorm2d(torch.nn.Module):
    def __init__(self, num_features: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.register_buffer("weight", torch.ones(num_features))
        self.register_buffer("bias", torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        num_batches_tracked_key = prefix + "num_batches_tracked"
        if num_batches_tracked_key in state_dict:
            del state_dict[num_batches_tracked_key]
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def forward(self, x: Tensor) -> Tensor:
        w = self.weight.reshape(1, -1, 1, 1)
        b = self.bias.reshape(1, -1, 1, 1)
        rv = self.running_var.reshape(1, -1, 1, 1)
        rm = self.running_mean.reshape(1, -1, 1, 1)
        scale = w * (rv + self.eps).rsqrt()
        bias = b - rm * scale
        return x * scale + bias

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.weight.shape[0]}, eps={self.eps})"


def stochastic_depth(input: Tensor, p: float, mode: str, training: bool = True) -> Tensor:
    if not torch.jit.is_scripting() and not torch.jit.is_tracing():
        pass
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ["batch", "row"]:
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    if mode == "row":
        size = [input.shape[0]] + [1] * (input.ndim - 1)
    else:
        size = [1] * input.ndim
    noise = torch.empty(size, dtype=input.dtype, device=input.device)
    noise = noise.bernoulli_(survival_rate)
    if survival_rate > 0.0:
        noise.div_(survival_rate)
    return input * noise


torch.fx.wrap("stochastic_depth")


class StochasticDepth(nn.Module):
    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, input: Tensor) -> Tensor:
        return stochastic_depth(input, self.p, self.mode, self.training)


class SqueezeExcitation(torch.nn.Module):
    def __init__(self, input_channels, squeeze_channels, activation=torch.nn.ReLU, scale_activation=torch.nn.Sigmoid):
        super().__init__()
        self.avgpool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc1 = torch.nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = torch.nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, input):
        scale = self.avgpool(input)
        scale = self.fc2(self.activation(self.fc1(scale)))
        return self.scale_activation(scale) * input


def conv3x3(in_planes, out_planes, stride=1, groups=1, dilation=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                     bias=False, dilation=dilation)


def conv1x1(in_planes, out_planes, stride=1):
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class Bottleneck(nn.Module):
    expansion: int = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, groups=1, base_width=64, dilation=1,
                 norm_layer=None, sd_prob=0.0):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.se = SqueezeExcitation(planes * self.expansion, _make_divisible(planes * self.expansion // 4, 8))
        self.downsample = downsample
        self.stride = stride
        self.sd = StochasticDepth(sd_prob, "row")

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out = self.sd(self.se(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class ResNet(nn.Module):
    def __init__(self, layers, num_classes=4, zero_init_residual=False, groups=1, width_per_group=64,
                 norm_layer=None):
        super().__init__()
        if norm_layer is None:
            norm_layer = nn.BatchNorm2d
        self._norm_layer = norm_layer
        self.inplanes = 16
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(Bottleneck, 8, layers[0])
        self.layer2 = self._make_layer(Bottleneck, 16, layers[1], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16 * Bottleneck.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    nn.init.constant_(m.bn3.weight, 0)

    def _make_layer(self, block, planes, blocks, stride=1):
        norm_layer = self._norm_layer
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       norm_layer(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample, self.groups, self.base_width, 1, norm_layer, 0.2)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, groups=self.groups, base_width=self.base_width,
                                norm_layer=norm_layer, sd_prob=0.2))
        return nn.Sequential(*layers)

    def _forward_impl(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)

    def forward(self, x):
        return self._forward_impl(x)


class IntermediateLayerGetter(nn.ModuleDict):
    def __init__(self, model, return_layers):
        if not set(return_layers).issubset([name for name, _ in model.named_children()]):
            raise ValueError("return_layers are not present in model")
        orig_return_layers = return_layers
        return_layers = {str(k): str(v) for k, v in return_layers.items()}
        layers = OrderedDict()
        for name, module in model.named_children():
            layers[name] = module
            if name in return_layers:
                del return_layers[name]
            if not return_layers:
                break
        super().__init__(layers)
        self.return_layers = orig_return_layers

    def forward(self, x):
        out = OrderedDict()
        for name, module in self.items():
            x = module(x)
            if name in self.return_layers:
                out[self.return_layers[name]] = x
        return out


class FocalLoss(_WeightedLoss):
    def __init__(self, weight=None, gamma=2.0, reduction="mean", smoothing=0.0):
        super().__init__(weight=weight, reduction=reduction)
        self.gamma = gamma
        self.smoothing = smoothing

    def forward(self, input, target):
        ce = F.cross_entropy(input, target, weight=self.weight, reduction="none", label_smoothing=self.smoothing)
        pt = torch.exp(-ce)
        loss = (1 - pt) ** self.gamma * ce
        if self.reduction == "mean":
            return loss.mean()
        return loss.sum() if self.reduction == "sum" else loss


def split_weight_decay(model):
    decay, no_decay = [], []
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if isinstance(module, (_NormBase, nn.GroupNorm, nn.LayerNorm)) or name == "bias":
                no_decay.append(p)
            else:
                decay.append(p)
    return decay, no_decay


class ToyData(Dataset):
    def __init__(self, n=24):
        g = np.random.default_rng(0)
        self.x = g.standard_normal((n, 3, 32, 32)).astype(np.float32)
        self.y = g.integers(0, 4, n)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return {"image": torch.from_numpy(self.x[i]), "label": int(self.y[i]), "meta": {"idx": i, "name": f"s{i}"}}


def collate(batch):
    out = default_collate(batch)
    out["image"] = out["image"].contiguous(memory_format=torch.channels_last)
    return out


class LitModule(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = ResNet([1, 1], zero_init_residual=True)
        self.criterion = FocalLoss(weight=torch.tensor([1.0, 2.0, 1.0, 0.5]), gamma=2.0, smoothing=0.05)

    def training_step(self, batch, batch_idx):
        logits = self.model(batch["image"])
        loss = self.criterion(logits, batch["label"])
        return {"loss": loss, "acc": (logits.argmax(1) == batch["label"]).float().mean()}

    def configure_optimizers(self):
        decay, no_decay = split_weight_decay(self.model)
        opt = torch.optim.SGD([{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}],
                              lr=0.05, momentum=0.9, nesterov=True)
        sch = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=0)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sch, "monitor": "val_loss"}}


lit = LitModule()
print("bn count", sum(isinstance(m, _BatchNorm) for m in lit.modules()),
      "conv", sum(isinstance(m, _ConvNd) for m in lit.modules()))
c = lit.model.layer1[0].conv2
print("conv attrs", c.kernel_size, c.stride, c.padding, c.dilation, c.groups, c.padding_mode, c.transposed,
      c.output_padding, c.in_channels, c.out_channels, _pair(c.kernel_size))
print("criterion", lit.criterion, lit.criterion.weight.tolist(), list(dict(lit.criterion.named_buffers())))
cfg = lit.configure_optimizers()
opt, sch = cfg["optimizer"], cfg["lr_scheduler"]["scheduler"]
print("groups", [len(g["params"]) for g in opt.param_groups])
loader = DataLoader(ToyData(), batch_size=8, shuffle=True, collate_fn=collate, drop_last=False)
for epoch in range(2):
    lit.train()
    for i, batch in enumerate(loader):
        if epoch == 0 and i == 0:
            print("batch", batch["image"].shape, batch["label"].dtype, batch["meta"]["idx"].tolist(),
                  batch["meta"]["name"][:2])
        out = lit.training_step(batch, i)
        opt.zero_grad()
        out["loss"].backward()
        opt.step()
        print(epoch, i, "loss {:.6f} acc {:.3f}".format(out["loss"].item(), out["acc"].item()))
    lit.eval()
    with torch.set_grad_enabled(False):
        val = sum(lit.training_step(b, 0)["loss"].item() for b in loader) / len(loader)
    sch.step(val)
    print(f"val {val:.6f}", "lr", opt.param_groups[0]["lr"], "nbt", lit.model.bn1.num_batches_tracked.item())

# frozen BN backbone loaded from the trained one (num_batches_tracked dropped by _load_from_state_dict)
frozen = ResNet([1, 1], norm_layer=FrozenBatchNorm2d)
res = frozen.load_state_dict(lit.model.state_dict(), strict=False)
print("frozen load", res.missing_keys, len(res.unexpected_keys))
frozen.eval()
x = next(iter(DataLoader(ToyData(), batch_size=4)))["image"]
with torch.no_grad():
    a = lit.model(x)
    b = frozen(x)
print("frozen match", torch.allclose(a, b, atol=1e-5), a.sum().item())
getter = IntermediateLayerGetter(frozen, {"layer1": "feat1", "layer2": "feat2"})
feats = getter(x)
print("feats", {k: tuple(v.shape) for k, v in feats.items()}, feats["feat2"].mean().item())
# fuse conv+bn for inference
fused = torch.nn.utils.fusion.fuse_conv_bn_eval(lit.model.conv1, lit.model.bn1)
with torch.no_grad():
    print("fuse", (fused(x) - lit.model.bn1(lit.model.conv1(x))).abs().max().item() < 1e-4)
# requires_grad_(False) backbone, optimizer state roundtrip
lit.model.requires_grad_(False)
lit.model.fc.requires_grad_(True)
print("trainable", sum(p.numel() for p in lit.parameters() if p.requires_grad))
osd = opt.state_dict()
print("opt state", len(osd["state"]), osd["param_groups"][0]["nesterov"], sorted(osd["state"][0].keys()))
