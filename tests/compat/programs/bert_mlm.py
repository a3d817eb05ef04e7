"""Masked-language-model pre-training of a BERT-tiny: word + position + token-type embeddings, LayerNorm,
nn.TransformerEncoder with an attention padding mask, BERT's 80/10/10 masking drawn with NumPy, a prediction
head whose decoder weight is tied to the word embedding (``decoder.weight = embedding.weight``) with its own bias,
CrossEntropyLoss(ignore_index=-100), AdamW with weight-decay parameter groups, linear warmup by LambdaLR."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(29)
V, D, L, PAD, CLS, SEP, MASK = 20, 16, 12, 0, 1, 2, 3


class BertEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.word_embeddings = nn.Embedding(V, D, padding_idx=PAD)
        self.position_embeddings = nn.Embedding(L, D)
        self.token_type_embeddings = nn.Embedding(2, D)
        self.LayerNorm = nn.LayerNorm(D, eps=1e-12)
        self.dropout = nn.Dropout(0.0)
        self.register_buffer("position_ids", torch.arange(L).expand((1, -1)), persistent=False)

    def forward(self, input_ids, token_type_ids):
        pos = self.position_ids[:, :input_ids.size(1)]
        emb = self.word_embeddings(input_ids) + self.position_embeddings(pos) + self.token_type_embeddings(
            token_type_ids)
        return self.dropout(self.LayerNorm(emb))


class BertForMaskedLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = BertEmbeddings()
        layer = nn.TransformerEncoderLayer(D, 2, 32, dropout=0.0, activation="gelu", batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.transform = nn.Sequential(nn.Linear(D, D), nn.GELU(), nn.LayerNorm(D, eps=1e-12))
        self.decoder = nn.Linear(D, V, bias=False)
        self.bias = nn.Parameter(torch.zeros(V))
        self.decoder.weight = self.embeddings.word_embeddings.weight  # tied

    def forward(self, input_ids, token_type_ids, attention_mask):
        h = self.encoder(self.embeddings(input_ids, token_type_ids), src_key_padding_mask=attention_mask == 0)
        return self.decoder(self.transform(h)) + self.bias


def make_batch(n=6):
    ids = np.full((n, L), PAD)
    types = np.zeros((n, L), dtype=np.int64)
    for i in range(n):
        a, b = rng.integers(2, 5, size=2)
        ids[i, :a + b + 3] = [CLS, *rng.integers(4, V, size=a), SEP, *rng.integers(4, V, size=b), SEP]
        types[i, a + 2:a + b + 3] = 1
    special = (ids == PAD) | (ids == CLS) | (ids == SEP)
    chosen = (rng.random(ids.shape) < 0.3) & ~special
    labels = np.where(chosen, ids, -100)
    roll = rng.random(ids.shape)
    masked = ids.copy()
    masked[chosen & (roll < 0.8)] = MASK
    rand = chosen & (roll >= 0.8) & (roll < 0.9)
    masked[rand] = rng.integers(4, V, size=int(rand.sum()))
    return (torch.from_numpy(masked), torch.from_numpy(types), torch.from_numpy((ids != PAD).astype(np.int64)),
            torch.from_numpy(labels))


model = BertForMaskedLM()
with torch.no_grad():
    for name, p in model.named_parameters():
        if "LayerNorm" in name or "norm" in name:
            continue
        p.copy_(torch.from_numpy(rng.normal(0, 0.2, size=tuple(p.shape)).astype(np.float32)))
print("tied", model.decoder.weight is model.embeddings.word_embeddings.weight, len(list(model.parameters())),
      len(model.state_dict()))
no_decay = ["bias", "LayerNorm.weight", "norm"]
groups = [
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
]
optimizer = torch.optim.AdamW(groups, lr=3e-3)
scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 3))
loss_fct = nn.CrossEntropyLoss()  # ignore_index=-100 by default
for step in range(8):
    input_ids, token_type_ids, attention_mask, labels = make_batch()
    model.train()
    logits = model(input_ids, token_type_ids, attention_mask)
    loss = loss_fct(logits.view(-1, V), labels.view(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    scheduler.step()
    n = (labels != -100).sum().item()
    print(f"step {step} masked {n}")
    print(f"loss {loss.item():.5f}")
emb = model.embeddings.word_embeddings.weight
print("tied after training", model.decoder.weight is emb, emb[PAD].abs().sum().item())
print("pad row grad", emb.grad[PAD].abs().sum().item())
model.eval()
input_ids, token_type_ids, attention_mask, labels = make_batch(4)
with torch.no_grad():
    logits = model(input_ids, token_type_ids, attention_mask)
    sel = labels != -100
    acc = (logits[sel].argmax(-1) == labels[sel]).float().mean()
    explicit = F.cross_entropy(logits.view(-1, V), labels.view(-1), ignore_index=-100, reduction="sum") / sel.sum()
print("eval acc", acc.item())
print("eval loss", explicit.item())
