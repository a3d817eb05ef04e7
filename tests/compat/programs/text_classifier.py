"""PyTorch's text classification tutorial: a custom Dataset of variable-length token lists, a collate_fn
building EmbeddingBag offsets (cumsum), random_split, DataLoader(shuffle, generator), SGD + StepLR,
clip_grad_norm_, evaluation; also a padded collate with pad_sequence and default_collate of dicts."""
import time

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset, Subset, random_split
from torch.utils.data.dataloader import default_collate

rng = np.random.default_rng(12)
VOCAB, NUM_CLASS = 50, 4


class NewsDataset(Dataset):
    def __init__(self, n):
        self.items = []
        for _ in range(n):
            label = int(rng.integers(0, NUM_CLASS))
            L = int(rng.integers(3, 12))
            toks = rng.integers(label * 12, label * 12 + 14, size=L).tolist()
            self.items.append((label, toks))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        return self.items[idx]


def collate_batch(batch):
    label_list, text_list, offsets = [], [], [0]
    for _label, _text in batch:
        label_list.append(_label)
        processed_text = torch.tensor(_text, dtype=torch.int64)
        text_list.append(processed_text)
        offsets.append(processed_text.size(0))
    label_list = torch.tensor(label_list, dtype=torch.int64)
    offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
    text_list = torch.cat(text_list)
    return label_list, text_list, offsets


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        initrange = 0.5
        self.embedding.weight.data.uniform_(-initrange, initrange)
        self.fc.weight.data.uniform_(-initrange, initrange)
        self.fc.bias.data.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


dataset = NewsDataset(120)
num_train = int(len(dataset) * 0.8)
split_train_, split_valid_ = random_split(dataset, [num_train, len(dataset) - num_train],
                                          generator=torch.Generator().manual_seed(42))
print(len(split_train_), len(split_valid_), isinstance(split_train_, Subset))
model = TextClassificationModel(VOCAB, 8, NUM_CLASS)
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, size=tuple(p.shape)).astype(np.float32)))
# fixed order on both sides: no shuffle for the compared losses
train_dataloader = DataLoader(Subset(dataset, range(num_train)), batch_size=16, shuffle=False, collate_fn=collate_batch)
valid_dataloader = DataLoader(Subset(dataset, range(num_train, len(dataset))), batch_size=16, collate_fn=collate_batch)
criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=5.0)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)


def evaluate(dataloader):
    model.eval()
    total_acc, total_count = 0, 0
    with torch.no_grad():
        for idx, (label, text, offsets) in enumerate(dataloader):
            predicted_label = model(text, offsets)
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
    return total_acc / total_count


total_accu = None
for epoch in range(1, 4):
    epoch_start_time = time.time()
    model.train()
    for idx, (label, text, offsets) in enumerate(train_dataloader):
        optimizer.zero_grad()
        predicted_label = model(text, offsets)
        loss = criterion(predicted_label, label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        if idx % 2 == 0:
            print(f"| epoch {epoch:3d} | {idx:5d} batches | loss {loss.item():8.5f}")
    accu_val = evaluate(valid_dataloader)
    if total_accu is not None and total_accu > accu_val:
        scheduler.step()
    else:
        total_accu = accu_val
    print(f"| end of epoch {epoch:3d} | valid accuracy {accu_val:8.3f} ")

shuffled = DataLoader(dataset, batch_size=10, shuffle=True, collate_fn=collate_batch, drop_last=True,
                      generator=torch.Generator().manual_seed(0))
print(len(shuffled), sum(labels.size(0) for labels, _, _ in shuffled))


def pad_collate(batch):
    labels = torch.tensor([b[0] for b in batch])
    seqs = [torch.tensor(b[1]) for b in batch]
    lengths = torch.tensor([len(s) for s in seqs])
    return {"input_ids": pad_sequence(seqs, batch_first=True, padding_value=0), "lengths": lengths, "labels": labels}


b = next(iter(DataLoader(dataset, batch_size=4, collate_fn=pad_collate)))
print(b["input_ids"].shape, b["lengths"].tolist(), b["labels"].dtype)
dc = default_collate([{"x": torch.ones(2), "y": 1, "name": "a"}, {"x": torch.zeros(2), "y": 2, "name": "b"}])
print(dc["x"].shape, dc["y"], dc["name"])
sampler = torch.utils.data.WeightedRandomSampler([0.1, 0.9, 0.0], num_samples=5, replacement=True)
print(len(list(sampler)), 2 not in list(sampler))
print("bag-sum", nn.functional.embedding_bag(torch.tensor([1, 2, 4, 5]), model.embedding.weight,
                                             torch.tensor([0, 2]), mode="sum").sum().item())
