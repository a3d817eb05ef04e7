"""A siamese embedding network trained with nn.TripletMarginLoss and a hand-written contrastive loss
(F.pairwise_distance, clamp), plus CosineEmbeddingLoss and F.normalize; weights from NumPy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(21)
torch.manual_seed(0)


class EmbeddingNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.convnet = nn.Sequential(nn.Conv2d(1, 4, 3), nn.PReLU(), nn.MaxPool2d(2, stride=2),
                                     nn.Conv2d(4, 8, 3), nn.PReLU())
        self.fc = nn.Sequential(nn.Linear(8 * 2 * 2, 16), nn.PReLU(), nn.Linear(16, 4))

    def forward(self, x):
        output = self.convnet(x)
        output = output.view(output.size()[0], -1)
        return self.fc(output)

    def get_embedding(self, x):
        return self.forward(x)


class SiameseNet(nn.Module):
    def __init__(self, embedding_net):
        super().__init__()
        self.embedding_net = embedding_net

    def forward(self, x1, x2):
        return self.embedding_net(x1), self.embedding_net(x2)


class ContrastiveLoss(nn.Module):
    def __init__(self, margin):
        super().__init__()
        self.margin = margin
        self.eps = 1e-9

    def forward(self, output1, output2, target, size_average=True):
        distances = (output2 - output1).pow(2).sum(1)
        losses = 0.5 * (target.float() * distances +
                        (1 + -1 * target).float() * F.relu(self.margin - (distances + self.eps).sqrt()).pow(2))
        return losses.mean() if size_average else losses.sum()


emb = EmbeddingNet()
with torch.no_grad():
    for p in emb.parameters():
        p.copy_(torch.from_numpy(rng.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
protos = rng.standard_normal((3, 1, 10, 10)).astype(np.float32)
labels = rng.integers(0, 3, size=60)
images = torch.from_numpy(protos[labels] + 0.3 * rng.standard_normal((60, 1, 10, 10)).astype(np.float32))
labels = torch.from_numpy(labels)
triplet = nn.TripletMarginLoss(margin=1.0, p=2)
contrastive = ContrastiveLoss(1.0)
cosine = nn.CosineEmbeddingLoss(margin=0.2)
siamese = SiameseNet(emb)
optimizer = torch.optim.Adam(emb.parameters(), lr=3e-3)
for step in range(12):
    idx = rng.integers(0, 60, size=(16, 3))
    a, p_, n = idx[:, 0], idx[:, 1], idx[:, 2]
    same = torch.from_numpy((labels.numpy()[a] == labels.numpy()[p_]).astype(np.int64))
    optimizer.zero_grad()
    ea, ep = siamese(images[a], images[p_])
    en = emb(images[n])
    l1 = triplet(ea, ep, en)
    l2 = contrastive(ea, ep, same)
    l3 = cosine(ea, ep, same * 2 - 1)
    loss = l1 + l2 + 0.5 * l3
    loss.backward()
    optimizer.step()
    print(f"step {step:2d} triplet {l1.item():.5f} contrastive {l2.item():.5f} cosine {l3.item():.5f}")
with torch.no_grad():
    z = F.normalize(emb.get_embedding(images), p=2, dim=1)
    sim = z @ z.t()
    d = torch.cdist(z, z)
    nearest = d.fill_diagonal_(float("inf")).argmin(dim=1)
    acc = (labels[nearest] == labels).float().mean().item()
print("pairwise", F.pairwise_distance(z[:2], z[2:4]).tolist().__len__(), F.cosine_similarity(z[:1], z[1:2]).shape)
print("self-sim", sim.diagonal().mean().item())
print("1-nn accuracy", acc)
print("triplet-fn", F.triplet_margin_loss(z[:5], z[5:10], z[10:15], margin=0.5, swap=True).item())
with_distance = nn.TripletMarginWithDistanceLoss(distance_function=nn.PairwiseDistance())
print("triplet-dist", with_distance(z[:5], z[5:10], z[10:15]).item())
