"""Knowledge distillation: a frozen teacher in eval mode under torch.inference_mode(), KL divergence of
temperature-softened outputs (both F.kl_div spellings) scaled by T*T plus label-smoothed cross entropy,
parameter groups with their own learning rates, MultiStepLR then StepLR, zero_grad(set_to_none=True), and
FitNets-style feature distillation through forward hooks (removed after)."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(3)
n_in, n_classes, T, alpha = 12, 5, 4.0, 0.7


def numpy_init(module, scale):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, scale, size=tuple(p.shape)).astype(np.float32)))


teacher = nn.Sequential(nn.Linear(n_in, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 32), nn.ReLU(),
                        nn.Linear(32, n_classes))
student = nn.Sequential()
student.add_module("body", nn.Sequential(nn.Linear(n_in, 16), nn.Tanh()))
student.add_module("head", nn.Linear(16, n_classes))
numpy_init(teacher, 0.5)
numpy_init(student, 0.3)
teacher.eval()
for p in teacher.parameters():
    p.requires_grad = False

data = torch.from_numpy(rng.normal(size=(64, n_in)).astype(np.float32))
with torch.inference_mode():
    teacher_logits_all = teacher(data)
labels = teacher_logits_all.argmax(dim=1)
print(teacher_logits_all.requires_grad, teacher_logits_all.is_inference())

optimizer = torch.optim.SGD([
    {"params": student.body.parameters(), "lr": 0.05},
    {"params": student.head.parameters()},
], lr=0.1, momentum=0.9)
milestones = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[3, 6], gamma=0.5)

for step in range(8):
    index = torch.from_numpy(rng.permutation(64)[:16])
    x, y = data[index], labels[index]
    with torch.inference_mode():
        t_logits = teacher(x)
    s_logits = student(x)
    soft = F.kl_div(F.log_softmax(s_logits / T, dim=-1), F.softmax(t_logits / T, dim=-1),
                    reduction="batchmean") * T * T
    soft_log = F.kl_div(F.log_softmax(s_logits / T, dim=1), F.log_softmax(t_logits / T, dim=1),
                        reduction="batchmean", log_target=True) * (T * T)
    hard = F.cross_entropy(s_logits, y, label_smoothing=0.1)
    loss = alpha * soft + (1 - alpha) * hard
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    milestones.step()
    print(f"{soft.item():.6f}")
    print(f"{soft_log.item():.6f}")
    print(f"{hard.item():.6f}")
    print(f"{loss.item():.6f}")
    print([round(g["lr"], 6) for g in optimizer.param_groups])

# feature distillation: intermediate activations captured by forward hooks, a linear regressor
features = {}


def save_to(key):
    def hook(module, inputs, output):
        features[key] = output
    return hook


handles = [teacher[3].register_forward_hook(save_to("teacher")), student.body.register_forward_hook(save_to("student"))]
regressor = nn.Linear(16, 32)
numpy_init(regressor, 0.2)
optimizer = torch.optim.SGD(list(student.parameters()) + list(regressor.parameters()), lr=0.02)
for step in range(3):
    with torch.no_grad():
        teacher(data)
    logits = student(data)
    hint = F.mse_loss(regressor(features["student"]), features["teacher"])
    optimizer.zero_grad(set_to_none=True)
    (hint + 0.1 * F.cross_entropy(logits, labels)).backward()
    optimizer.step()
    print(f"{hint.item():.6f}")
    print(features["teacher"].requires_grad, features["student"].requires_grad)
for handle in handles:
    handle.remove()
features.clear()
student(data)
print(len(features))

# second phase: StepLR on a fresh optimizer, KLDivLoss module, grads set to None between steps
optimizer = torch.optim.Adam([
    {"params": [p for n, p in student.named_parameters() if n.startswith("head")], "lr": 1e-2},
    {"params": [p for n, p in student.named_parameters() if not n.startswith("head")], "lr": 1e-3},
])
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
kl = nn.KLDivLoss(reduction="batchmean", log_target=True)
for step in range(4):
    optimizer.zero_grad(set_to_none=True)
    print(all(p.grad is None for p in student.parameters()))
    loss = kl(F.log_softmax(student(data) / T, -1), F.log_softmax(teacher_logits_all / T, -1)) * T ** 2
    loss.backward()
    optimizer.step()
    scheduler.step()
    print(f"{loss.item():.6f}")
    print(scheduler.get_last_lr())

student.eval()
with torch.no_grad():
    agree = (student(data).argmax(1) == labels).float().mean().item()
print(f"{agree:.6f}")
