"""Subclassing torch internals as timm/torchvision do: StdConv2d (F.batch_norm on weights), Conv2dSame via
_conv_forward, _reversed_padding_repeated_twice, a _BatchNorm subclass whose forward is PyTorch's own code
(momentum=None), _version/_load_from_state_dict migrations, get/set_extra_state, LazyLinear +
UninitializedParameter, a function guarded by torch.overrides.has_torch_function_variadic, hooks with kwargs,
full backward hooks, get_submodule/get_parameter."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm, _NormBase
from torch.nn.modules.conv import _ConvNd
from torch.nn.parameter import Parameter
from torch.overrides import handle_torch_function, has_torch_function_variadic

torch.manual_seed(11)


def get_same_padding(x: int, kernel_size: int, stride: int, dilation: int):
    return max((math.ceil(x / stride) - 1) * stride + (kernel_size - 1) * dilation + 1 - x, 0)


def pad_same(x, kernel_size: list[int], stride: list[int], dilation: list[int] = (1, 1), value: float = 0):
    ih, iw = x.size()[-2:]
    pad_h = get_same_padding(ih, kernel_size[0], stride[0], dilation[0])
    pad_w = get_same_padding(iw, kernel_size[1], stride[1], dilation[1])
    x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2), value=value)
    return x


class Conv2dSame(nn.Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True):
        super().__init__(in_channels, out_channels, kernel_size, stride, 0, dilation, groups, bias)

    def forward(self, x):
        x = pad_same(x, self.kernel_size, self.stride, self.dilation)
        return self._conv_forward(x, self.weight, self.bias)


class StdConv2d(nn.Conv2d):
    def __init__(self, in_channel, out_channels, kernel_size, stride=1, padding=None, dilation=1, groups=1,
                 bias=False, eps=1e-6):
        if padding is None:
            padding = ((stride - 1) + dilation * (kernel_size - 1)) // 2
        super().__init__(in_channel, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, bias=bias)
        self.eps = eps

    def forward(self, x):
        weight = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None, training=True, momentum=0.,
                              eps=self.eps).reshape_as(self.weight)
        return F.conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class MyBatchNorm2d(_BatchNorm):
    """PyTorch's _BatchNorm.forward, copied as repos do (e.g. to add a custom step)."""

    def _check_input_dim(self, input):
        if input.dim() != 4:
            raise ValueError(f"expected 4D input (got {input.dim()}D input)")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        if self.momentum is None:
            exponential_average_factor = 0.0
        else:
            exponential_average_factor = self.momentum
        if self.training and self.track_running_stats:
            if self.num_batches_tracked is not None:
                self.num_batches_tracked.add_(1)
                if self.momentum is None:
                    exponential_average_factor = 1.0 / float(self.num_batches_tracked)
                else:
                    exponential_average_factor = self.momentum
        if self.training:
            bn_training = True
        else:
            bn_training = (self.running_mean is None) and (self.running_var is None)
        return F.batch_norm(
            input,
            self.running_mean if not self.training or self.track_running_stats else None,
            self.running_var if not self.training or self.track_running_stats else None,
            self.weight, self.bias, bn_training, exponential_average_factor, self.eps)


def scaled_linear(input: Tensor, weight: Tensor, scale: Tensor) -> Tensor:
    if has_torch_function_variadic(input, weight, scale):
        return handle_torch_function(scaled_linear, (input, weight, scale), input, weight, scale)
    return F.linear(input, weight) * scale


class ScaledLinear(nn.Module):
    _version = 2

    def __init__(self, n):
        super().__init__()
        self.weight = Parameter(torch.randn(n, n) / math.sqrt(n))
        self.scale = Parameter(torch.ones(n))
        self.note = "v2"

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        version = local_metadata.get("version", None)
        if version is None or version < 2:
            old = prefix + "gain"
            if old in state_dict:
                state_dict[prefix + "scale"] = state_dict.pop(old)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)

    def get_extra_state(self):
        return {"note": self.note}

    def set_extra_state(self, state):
        self.note = state["note"]

    def forward(self, x):
        return scaled_linear(x, self.weight, self.scale)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = StdConv2d(3, 8, 3, stride=2)
        self.same = Conv2dSame(8, 8, 3, stride=2)
        self.bn = MyBatchNorm2d(8, momentum=None)
        self.refl = nn.Conv2d(8, 8, 3, padding=1, padding_mode="reflect", bias=False)
        self.circ = nn.Conv2d(8, 8, (3, 1), padding=(1, 0), padding_mode="circular", bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.head = nn.LazyLinear(6)
        self.out = ScaledLinear(6)

    def forward(self, x):
        x = F.relu(self.bn(self.same(self.stem(x))))
        x = F.relu(self.bn2(self.circ(self.refl(x))))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.out(self.head(x))


net = Net()
print("uninit", isinstance(net.head.weight, nn.parameter.UninitializedParameter))
x = torch.randn(4, 3, 15, 15)
calls = []
h1 = net.same.register_forward_pre_hook(
    lambda m, args, kwargs: calls.append(("pre", tuple(args[0].shape), sorted(kwargs))), with_kwargs=True)
h2 = net.bn.register_forward_hook(lambda m, args, out: calls.append(("post", round(out.mean().item(), 5))))
grads = []
h3 = net.refl.register_full_backward_hook(
    lambda m, gin, gout: grads.append((gin[0].norm().item(), gout[0].norm().item())))
y = net(x)
print("lazy", tuple(net.head.weight.shape), isinstance(net.head, nn.Linear), type(net.head).__name__)
print("calls", calls)
y.sum().backward()
print("grads {:.5f} {:.5f}".format(*grads[0]))
for h in (h1, h2, h3):
    h.remove()
print("pad attrs", net.refl._reversed_padding_repeated_twice, net.circ._reversed_padding_repeated_twice,
      net.refl.padding_mode)
print("isinstance", isinstance(net.bn, _NormBase), isinstance(net.stem, _ConvNd), isinstance(net.same, nn.Conv2d))
print("sub", net.get_submodule("out") is net.out, net.get_parameter("out.scale").shape)
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for step in range(4):
    net.train()
    out = net(x)
    loss = out.pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(step, f"loss {loss.item():.6f}", "nbt", net.bn.num_batches_tracked.item(),
          f"rm {net.bn.running_mean.sum().item():.6f}", f"rv {net.bn.running_var.sum().item():.6f}")
net.eval()
with torch.no_grad():
    ev = net(x)
print(f"eval {ev.sum().item():.6f}")
sd = net.state_dict()
print("extra", [k for k in sd if "extra" in k], sd["out._extra_state"])
print("meta", sd._metadata[""].get("version"), sd._metadata["out"], sd._metadata["bn"])
# old checkpoint: "gain" key, no version; BN without num_batches_tracked (old PyTorch)
old = {k.replace("out.scale", "out.gain"): v for k, v in sd.items() if not k.endswith("num_batches_tracked")}
old["out._extra_state"] = {"note": "old"}
net2 = Net()
net2(x)
res = net2.load_state_dict(old, strict=False)
print("load", res)
net2.eval()
with torch.no_grad():
    print("same", torch.allclose(net2(x), ev), net2.out.note, net2.bn.num_batches_tracked.item())
