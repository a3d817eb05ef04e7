"""A one-stage detector in the RetinaNet mould on tiny images: a conv backbone whose coarse map is upsampled by
F.interpolate(mode="bilinear", align_corners=False) and added to a lateral 1x1 conv (FPN), a shifted-window
attention block (Swin: torch.roll, window partition/reverse by view/permute/contiguous, the shifted-window mask by
slices + masked_fill, relative position bias gathered by index), anchors from torch.meshgrid(indexing="ij"),
box IoU by broadcasting, anchor matching with max/argmax/torch.where and forced best anchors, box encoding with
torch.log, the sigmoid focal loss (binary_cross_entropy_with_logits(reduction="none", pos_weight)), smooth_l1_loss on
the positives picked by boolean masks, Adam; then inference: sigmoid scores, topk, gather of decoded boxes, clamp,
dropping flat boxes by a boolean mask, and a greedy NMS loop (argsort, torch.nonzero, boolean masks) checked against
a pairwise-IoU variant (sort, triu, &= ~)."""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(83)
IMG, C, WIN, NUM_CLASSES = 16, 8, 4, 2
SIZES = (3.0, 6.0)
STRIDE = 2  # the 8x8 feature map of a 16x16 image


def window_partition(x, ws):
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, ws * ws, c)


def window_reverse(windows, ws, h, w):
    b = int(windows.shape[0] / (h * w / ws / ws))
    x = windows.view(b, h // ws, w // ws, ws, ws, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(b, h, w, -1)


class WindowAttention(nn.Module):
    def __init__(self, dim, ws, heads):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij"))
        flat = torch.flatten(coords, 1)
        rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += ws - 1
        rel[:, :, 1] += ws - 1
        rel[:, :, 0] *= 2 * ws - 1
        self.register_buffer("relative_position_index", rel.sum(-1), persistent=False)

    def forward(self, x, mask=None):
        bw, n, c = x.shape
        qkv = self.qkv(x).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(bw // nw, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, n, n)
        attn = attn.softmax(dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(bw, n, c))


class SwinBlock(nn.Module):
    def __init__(self, dim, size, ws, shift):
        super().__init__()
        self.size, self.ws, self.shift = size, ws, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, ws, heads=2)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        img_mask = torch.zeros((1, size, size, 1))
        cnt = 0
        for hs in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
            for ws_ in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                img_mask[:, hs, ws_, :] = cnt
                cnt += 1
        mask_windows = window_partition(img_mask, ws).squeeze(-1)
        attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
        attn_mask = attn_mask.masked_fill(attn_mask != 0, -100.0).masked_fill(attn_mask == 0, 0.0)
        self.register_buffer("attn_mask", attn_mask, persistent=False)

    def forward(self, x):  # x: B, H*W, C
        b, _, c = x.shape
        shortcut = x
        x = self.norm1(x).view(b, self.size, self.size, c)
        x = torch.roll(x, shifts=(-self.shift, -self.shift), dims=(1, 2))
        windows = self.attn(window_partition(x, self.ws), mask=self.attn_mask)
        x = window_reverse(windows, self.ws, self.size, self.size)
        x = torch.roll(x, shifts=(self.shift, self.shift), dims=(1, 2)).reshape(b, -1, c)
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, stride=2, padding=1), nn.ReLU())  # 8x8
        self.down = nn.Sequential(nn.Conv2d(C, 2 * C, 3, stride=2, padding=1), nn.ReLU())  # 4x4
        self.lateral = nn.Conv2d(C, C, 1)
        self.top = nn.Conv2d(2 * C, C, 1)
        self.block = SwinBlock(C, IMG // STRIDE, WIN, WIN // 2)
        self.cls_head = nn.Conv2d(C, len(SIZES) * NUM_CLASSES, 3, padding=1)
        self.box_head = nn.Conv2d(C, len(SIZES) * 4, 3, padding=1)

    def forward(self, images):
        c1 = self.stem(images)
        c2 = self.down(c1)
        p = self.lateral(c1) + F.interpolate(self.top(c2), size=c1.shape[-2:], mode="bilinear", align_corners=False)
        b, c, h, w = p.shape
        p = self.block(p.flatten(2).transpose(1, 2)).transpose(1, 2).reshape(b, c, h, w)
        cls = self.cls_head(p).permute(0, 2, 3, 1).reshape(b, -1, NUM_CLASSES)
        box = self.box_head(p).permute(0, 2, 3, 1).reshape(b, -1, 4)
        return cls, box


def make_anchors(h, w):
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing="ij")
    centers = torch.stack([(xs + 0.5) * STRIDE, (ys + 0.5) * STRIDE], dim=-1).reshape(-1, 1, 2)
    sizes = torch.tensor(SIZES).view(1, -1, 1).expand(centers.shape[0], -1, 2)
    centers = centers.expand(-1, len(SIZES), -1)
    return torch.cat([centers - sizes / 2, centers + sizes / 2], dim=-1).reshape(-1, 4)


def box_area(boxes):
    return (boxes[..., 2] - boxes[..., 0]).clamp(min=0) * (boxes[..., 3] - boxes[..., 1]).clamp(min=0)


def box_iou(a, b):
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (box_area(a)[:, None] + box_area(b)[None, :] - inter)


def encode(anchors, gt):
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ax, ay = anchors[:, 0] + 0.5 * aw, anchors[:, 1] + 0.5 * ah
    gw, gh = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
    gx, gy = gt[:, 0] + 0.5 * gw, gt[:, 1] + 0.5 * gh
    return torch.stack([(gx - ax) / aw, (gy - ay) / ah, torch.log(gw / aw), torch.log(gh / ah)], dim=1)


def decode(anchors, deltas):
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ax, ay = anchors[:, 0] + 0.5 * aw, anchors[:, 1] + 0.5 * ah
    dw, dh = deltas[:, 2].clamp(max=math.log(1000 / 16)), deltas[:, 3].clamp(max=math.log(1000 / 16))
    cx, cy = deltas[:, 0] * aw + ax, deltas[:, 1] * ah + ay
    w, h = torch.exp(dw) * aw, torch.exp(dh) * ah
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=1).clamp(0, IMG)


def match(anchors, gt_boxes, gt_labels):
    iou = box_iou(anchors, gt_boxes)  # A, G
    best_iou, best_gt = iou.max(dim=1)
    labels = torch.full((anchors.shape[0],), -1, dtype=torch.long)  # -1: ignored
    labels[best_iou < 0.3] = 0
    pos = best_iou >= 0.5
    forced = iou.argmax(dim=0)  # every box gets its best anchor
    pos[forced] = True
    best_gt[forced] = torch.arange(gt_boxes.shape[0])
    labels = torch.where(pos, gt_labels[best_gt] + 1, labels)
    return labels, gt_boxes[best_gt]


def focal_loss(logits, targets, valid, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none", pos_weight=torch.tensor([1.5, 1.0]))
    p_t = p * targets + (1 - p) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    loss = alpha_t * ce * (1 - p_t) ** gamma
    return (loss * valid.unsqueeze(-1)).sum()


def nms(boxes, scores, thresh):
    order = scores.argsort(descending=True)
    keep = []
    suppressed = torch.zeros(boxes.shape[0], dtype=torch.bool)
    while order.numel() > 0:
        i = order[0]
        keep.append(i.item())
        if order.numel() == 1:
            break
        ious = box_iou(boxes[i].unsqueeze(0), boxes[order[1:]]).squeeze(0)
        suppressed[order[1:][ious > thresh]] = True
        rest = torch.nonzero(ious <= thresh).squeeze(1)
        order = order[rest + 1]
    return torch.tensor(keep, dtype=torch.long), suppressed


def nms_matrix(boxes, scores, thresh):
    sorted_scores, order = torch.sort(scores, descending=True)
    iou = box_iou(boxes[order], boxes[order]).triu(diagonal=1)
    keep = torch.ones(order.numel(), dtype=torch.bool)
    for j in range(order.numel()):
        if keep[j]:
            keep &= ~(iou[j] > thresh)
    return order[keep], sorted_scores[keep]


model = Detector()
with torch.no_grad():
    for name, p in model.named_parameters():
        if "norm" in name:
            continue
        scale = 0.02 if "bias_table" in name or "box_head" in name else 0.3
        p.copy_(torch.from_numpy(rng.normal(0, scale, size=tuple(p.shape)).astype(np.float32)))
    model.cls_head.bias.fill_(-math.log((1 - 0.01) / 0.01))
anchors = make_anchors(IMG // STRIDE, IMG // STRIDE)
print("anchors", tuple(anchors.shape), [round(v, 3) for v in anchors[:3].flatten().tolist()])

images, gts = [], []
for i in range(4):
    img = rng.normal(0, 0.2, size=(3, IMG, IMG)).astype(np.float32)
    boxes, labels = [], []
    for _ in range(2):
        x0, y0 = rng.uniform(0, 9, size=2)
        w, h = rng.uniform(3, 7, size=2)
        c = int(rng.integers(0, NUM_CLASSES))
        boxes.append([x0, y0, x0 + w, y0 + h])
        labels.append(c)
        img[c, int(y0):int(y0 + h), int(x0):int(x0 + w)] += 1.0
    images.append(img)
    gts.append((torch.tensor(boxes, dtype=torch.float32), torch.tensor(labels)))
images = torch.from_numpy(np.stack(images))

targets = [match(anchors, b, lab) for b, lab in gts]
print("positives", [int((t[0] > 0).sum()) for t in targets], "ignored", [int((t[0] < 0).sum()) for t in targets])
iou0 = box_iou(anchors, gts[0][0])
top_iou, top_idx = iou0[:, 0].topk(3)
print("top iou", [round(v, 5) for v in top_iou.tolist()], top_idx.tolist())

opt = torch.optim.Adam(model.parameters(), lr=3e-3)
for step in range(5):
    cls_out, box_out = model(images)
    cls_loss, box_loss, num_pos = 0.0, 0.0, 0
    for b, (labels, matched) in enumerate(targets):
        valid = (labels >= 0).float()
        onehot = F.one_hot(labels.clamp(min=0), NUM_CLASSES + 1)[:, 1:].float()
        cls_loss = cls_loss + focal_loss(cls_out[b], onehot, valid)
        pos = labels > 0
        reg_targets = encode(anchors[pos], matched[pos])
        box_loss = box_loss + F.smooth_l1_loss(box_out[b][pos], reg_targets, beta=1 / 9, reduction="sum")
        num_pos += int(pos.sum())
    loss = (cls_loss + box_loss) / max(1, num_pos)
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
    print(f"step {step} cls {cls_loss.item() / num_pos:.6f} box {box_loss.item() / num_pos:.6f} "
          f"bias table grad {model.block.attn.relative_position_bias_table.grad.norm().item():.6f}")

model.eval()
with torch.no_grad():
    cls_out, box_out = model(images[:1])
    scores_all = cls_out[0].sigmoid()  # A, classes
    scores, labels = scores_all.max(dim=1)
    top_scores, top_idx = scores.topk(20)
    boxes = decode(anchors, box_out[0]).gather(0, top_idx.unsqueeze(1).expand(-1, 4))
    big = ((boxes[:, 2] - boxes[:, 0]) > 0.5) & ((boxes[:, 3] - boxes[:, 1]) > 0.5)  # drop boxes clamped flat
    print("small boxes", int((~big).sum()))
    boxes, top_scores, top_idx = boxes[big], top_scores[big], top_idx[big]
    keep, suppressed = nms(boxes, top_scores, 0.3)
    keep2, kept_scores = nms_matrix(boxes, top_scores, 0.3)
    print("nms keep", keep.tolist(), "same as matrix", torch.equal(keep, keep2), "suppressed", int(suppressed.sum()))
    for k in keep[:4].tolist():
        print(f"det class {labels[top_idx[k]].item()} score {top_scores[k].item():.5f} "
              f"box {[round(v, 3) for v in boxes[k].tolist()]}")
    print(f"kept score sum {kept_scores.sum().item():.5f}")
    print("mask sums", model.block.attn_mask.eq(0).sum().item(), model.block.attn_mask.shape)
