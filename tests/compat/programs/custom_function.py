"""Custom autograd: the MyReLU and LegendrePolynomial3 examples from PyTorch's tutorials (ctx.save_for_backward,
Function.apply), a straight-through estimator, ctx.needs_input_grad, mark_non_differentiable, gradcheck in
float64, and a gradient penalty through torch.autograd.grad(create_graph=True)."""
import math

import torch
from torch.autograd import Function, gradcheck


class MyReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return input.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        grad_input = grad_output.clone()
        grad_input[input < 0] = 0
        return grad_input


class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


class LinearFunction(Function):
    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input.mm(weight.t())
        if bias is not None:
            output += bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output.mm(weight)
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.t().mm(input)
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


class STERound(Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


class SortWithIndex(Function):
    @staticmethod
    def forward(ctx, x):
        values, idx = x.sort(dim=-1)
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        return values, idx

    @staticmethod
    def backward(ctx, g_values, g_idx):
        idx, = ctx.saved_tensors
        return torch.zeros_like(g_values).scatter_(-1, idx, g_values)


dtype = torch.float
device = torch.device("cpu")
x = torch.linspace(-math.pi, math.pi, 200, device=device, dtype=dtype)
y = torch.sin(x)
a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)
learning_rate = 5e-6
for t in range(200):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 40 == 39:
        print(t, loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
print(f"Result: y = {abs(a.item()):.4f} + {b.item():.6f} * P3({abs(c.item()):.4f} + {d.item():.6f} x)")

inp = torch.linspace(-1, 1, 12, dtype=torch.double).view(3, 4).requires_grad_()
w = torch.linspace(0.5, -0.5, 20, dtype=torch.double).view(5, 4).requires_grad_()
bb = torch.linspace(0, 1, 5, dtype=torch.double, requires_grad=True)
print("gradcheck linear", gradcheck(LinearFunction.apply, (inp, w, bb), eps=1e-6, atol=1e-4))
print("gradcheck relu", gradcheck(MyReLU.apply, (inp + 0.05,)))
out = MyReLU.apply(inp)
print(out.grad_fn is not None, type(out.grad_fn).__name__.startswith("MyReLU"))
out.sum().backward()
print("relu grad", inp.grad.sum().item())
z = torch.linspace(-2, 2, 9, requires_grad=True)
STERound.apply(z * 1.3).sum().backward()
print("ste", STERound.apply(z * 1.3).tolist()[:3], z.grad.sum().item())
v, idx = SortWithIndex.apply(torch.tensor([3.0, 1.0, 2.0], requires_grad=True))
print(idx.requires_grad, v.requires_grad, idx.tolist())
(v * torch.tensor([1.0, 2.0, 3.0])).sum().backward()

# WGAN-GP style gradient penalty
critic = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
with torch.no_grad():
    for i, p in enumerate(critic.parameters()):
        p.copy_(torch.linspace(-0.5, 0.5, p.numel()).view_as(p) * (i + 1))
real = torch.linspace(-1, 1, 24).view(6, 4)
fake = torch.linspace(1, -0.5, 24).view(6, 4)
alpha = torch.linspace(0, 1, 6).view(6, 1).expand_as(real)
interp = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
d_interp = critic(interp)
grads = torch.autograd.grad(outputs=d_interp, inputs=interp, grad_outputs=torch.ones_like(d_interp),
                            create_graph=True, retain_graph=True, only_inputs=True)[0]
gp = ((grads.view(grads.size(0), -1).norm(2, dim=1) - 1) ** 2).mean()
gp.backward()
print("gp", gp.item(), critic[0].weight.grad.abs().sum().item())
