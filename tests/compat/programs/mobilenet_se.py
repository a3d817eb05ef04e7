"""A MobileNetV2/V3-style classifier: inverted residual blocks (1x1 expand, depthwise Conv2d(groups=channels),
1x1 project) with BatchNorm2d and ReLU6/Hardswish, squeeze-and-excitation (F.adaptive_avg_pool2d, hardsigmoid
gating), residual adds when shapes allow, Dropout in the head, kaiming_normal_(mode="fan_out") replaced by NumPy
weights; label-smoothed cross_entropy, SGD(momentum, nesterov, weight_decay) + CosineAnnealingLR over a DataLoader,
train/eval switching, the state_dict round trip through torch.save/torch.load on io.BytesIO into a fresh model
(load_state_dict's result, num_batches_tracked), requires_grad_(False) freezing of the backbone (kept in eval mode)
for a fine-tuning step, and parameter counting with numel()."""
import io

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(71)


def make_divisible(v, divisor=4):
    return max(divisor, int(v + divisor / 2) // divisor * divisor)


class SqueezeExcite(nn.Module):
    def __init__(self, channels, reduction=4):
        super().__init__()
        hidden = make_divisible(channels // reduction)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.relu(self.fc1(s), inplace=True)
        return x * F.hardsigmoid(self.fc2(s))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand, use_se, act):
        super().__init__()
        hidden = cin * expand
        self.use_res = stride == 1 and cin == cout
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), act()]
        layers += [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), act()]
        if use_se:
            layers.append(SqueezeExcite(hidden))
        layers += [nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNet(nn.Module):
    def __init__(self, num_classes=3):
        super().__init__()
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6(inplace=True)),
            InvertedResidual(8, 8, 1, 1, False, nn.ReLU6),
            InvertedResidual(8, 12, 2, 3, True, nn.Hardswish),
            InvertedResidual(12, 12, 1, 3, True, nn.Hardswish),
        )
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(12, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 0.0)

    def forward(self, x):
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, (1, 1))
        return self.classifier(torch.flatten(x, 1))


model = MobileNet()
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_out = m.weight.shape[0] * m.weight[0, 0].numel()
            m.weight.copy_(torch.from_numpy(rng.normal(0, np.sqrt(2 / fan_out), size=m.weight.shape)
                                            .astype(np.float32)))
print(model.features[0], model.features[2], model.classifier)
print("params", sum(p.numel() for p in model.parameters()),
      "trainable", sum(p.numel() for p in model.parameters() if p.requires_grad))

n = 48
labels = rng.integers(0, 3, size=n)
images = rng.normal(0, 1, size=(n, 3, 8, 8)).astype(np.float32)
images[labels == 0, 0] += 1.5
images[labels == 1, :, :4] -= 1.0
images[labels == 2, 2, ::2] += 1.0
dataset = TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
loader = DataLoader(dataset, batch_size=16, shuffle=False)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
print(criterion, criterion.label_smoothing)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=4e-5)
scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=3, eta_min=1e-3)


def evaluate(net):
    net.eval()
    correct, loss = 0, 0.0
    with torch.no_grad():
        for x, y in loader:
            out = net(x)
            loss += F.cross_entropy(out, y, reduction="sum").item()
            correct += out.argmax(1).eq(y).sum().item()
    return loss / n, correct


for epoch in range(3):
    model.train()
    model.classifier[0].p = 0.0  # dropout off so that both runs draw nothing random
    running = 0.0
    for x, y in loader:
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        loss.backward()
        optimizer.step()
        running += loss.item() * x.size(0)
    scheduler.step()
    val_loss, correct = evaluate(model)
    print(f"epoch {epoch} train {running / n:.6f} val {val_loss:.6f} correct {correct} "
          f"lr {scheduler.get_last_lr()[0]:.6f}")

buffer = io.BytesIO()
torch.save(model.state_dict(), buffer)
buffer.seek(0)
state = torch.load(buffer)
print("keys", len(state), "tracked", state["features.0.1.num_batches_tracked"].item(),
      state["features.0.1.num_batches_tracked"].dtype)
restored = MobileNet()
result = restored.load_state_dict(state)
print("missing", result.missing_keys, "unexpected", result.unexpected_keys)
restored.eval()
model.eval()
with torch.no_grad():
    x = dataset.tensors[0][:8]
    print("same outputs", torch.allclose(model(x), restored(x), atol=1e-6))
    se = model.features[2].conv[6]
    gate = F.hardsigmoid(se.fc2(F.relu(se.fc1(F.adaptive_avg_pool2d(torch.ones(1, 24, 4, 4), 1)))))
    print(f"se gate {gate.mean().item():.6f} {gate.min().item():.6f} {gate.max().item():.6f}")

# fine-tune only the head: the backbone frozen, its BatchNorm statistics kept (eval mode for features)
for p in model.features.parameters():
    p.requires_grad_(False)
print("trainable", sum(p.numel() for p in model.parameters() if p.requires_grad))
optimizer.zero_grad()
head_opt = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.05)
model.train()
model.features.eval()
mean_before = model.features[0][1].running_mean.clone()
for x, y in loader:
    loss = criterion(model(x), y)
    head_opt.zero_grad()
    loss.backward()
    head_opt.step()
print("backbone grads", all(p.grad is None for p in model.features.parameters()),
      "bn stats kept", torch.equal(mean_before, model.features[0][1].running_mean))
print(f"after fine-tune {evaluate(model)[0]:.6f} {loss.item():.6f}")
