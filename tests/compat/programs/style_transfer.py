"""Neural style transfer (PyTorch's tutorial, tiny): a frozen conv feature extractor
(``requires_grad_(False)``), content and style losses as nn.Modules, Gram matrices by ``mm`` / ``bmm`` of
``view(b * c, h * w)``, optimizing the input image with ``optim.LBFGS([img.requires_grad_()])`` and a closure
that clamps ``img.data`` under ``torch.no_grad()``; images and weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

rng = np.random.default_rng(19)


def gram_matrix(x):
    b, c, h, w = x.size()
    features = x.view(b * c, h * w)
    G = torch.mm(features, features.t())
    return G.div(b * c * h * w)


def gram_bmm(x):
    b, c, h, w = x.shape
    f = x.reshape(b, c, h * w)
    return torch.bmm(f, f.transpose(1, 2)) / (c * h * w)


class ContentLoss(nn.Module):
    def __init__(self, target):
        super().__init__()
        self.target = target.detach()

    def forward(self, x):
        self.loss = F.mse_loss(x, self.target)
        return x


class StyleLoss(nn.Module):
    def __init__(self, target_feature):
        super().__init__()
        self.target = gram_matrix(target_feature).detach()

    def forward(self, x):
        self.loss = F.mse_loss(gram_matrix(x), self.target)
        return x


class Normalization(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.mean = torch.tensor(mean).view(-1, 1, 1)
        self.std = torch.tensor(std).view(-1, 1, 1)

    def forward(self, img):
        return (img - self.mean) / self.std


cnn = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(8, 8, 3, padding=1),
                    nn.ReLU(inplace=True), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True))
with torch.no_grad():
    for p in cnn.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
cnn.eval().requires_grad_(False)

content_img = torch.from_numpy(rng.random((1, 3, 16, 16)).astype(np.float32))
style_img = torch.from_numpy(np.tile(np.linspace(0, 1, 16, dtype=np.float32), (1, 3, 16, 1)))


def get_style_model_and_losses(cnn, style_img, content_img):
    normalization = Normalization([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    content_losses, style_losses = [], []
    model = nn.Sequential(normalization)
    i = 0
    for layer in cnn.children():
        if isinstance(layer, nn.Conv2d):
            i += 1
            name = f"conv_{i}"
        elif isinstance(layer, nn.ReLU):
            name = f"relu_{i}"
            layer = nn.ReLU(inplace=False)
        else:
            name = f"pool_{i}"
        model.add_module(name, layer)
        if name == "conv_2":
            target = model(content_img).detach()
            content_loss = ContentLoss(target)
            model.add_module(f"content_loss_{i}", content_loss)
            content_losses.append(content_loss)
        if name in ("conv_1", "conv_3"):
            target_feature = model(style_img).detach()
            style_loss = StyleLoss(target_feature)
            model.add_module(f"style_loss_{i}", style_loss)
            style_losses.append(style_loss)
    return model, style_losses, content_losses


model, style_losses, content_losses = get_style_model_and_losses(cnn, style_img, content_img)
print("layers", [n for n, _ in model.named_children()])
input_img = content_img.clone()
optimizer = optim.LBFGS([input_img.requires_grad_()], lr=0.5, max_iter=5, history_size=10)
style_weight, content_weight = 1e4, 1.0

for outer in range(4):
    def closure():
        with torch.no_grad():
            input_img.data.clamp_(0, 1)
        optimizer.zero_grad()
        model(input_img)
        style_score = sum(sl.loss for sl in style_losses) * style_weight
        content_score = sum(cl.loss for cl in content_losses) * content_weight
        loss = style_score + content_score
        loss.backward()
        return loss

    loss = optimizer.step(closure)
    with torch.no_grad():
        input_img.clamp_(0, 1)
    print(f"round {outer} loss {loss.item():.6f}")
    print(f"round {outer} style {style_losses[0].loss.item() * style_weight:.6f}")
    print(f"round {outer} content {content_losses[0].loss.item():.6f}")

with torch.no_grad():
    f = cnn[:3](input_img)
    print(f"gram mm-vs-bmm {(gram_matrix(f) - gram_bmm(f)[0]).abs().max().item():.8f}")
print(f"pixel-min {input_img.min().item():.4f}")
print(f"pixel-max {input_img.max().item():.4f}")
print("frozen", all(not p.requires_grad for p in cnn.parameters()), all(p.grad is None for p in cnn.parameters()))
print(f"image-mean {input_img.mean().item():.6f}")
