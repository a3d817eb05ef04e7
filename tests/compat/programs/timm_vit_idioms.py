"""timm-style ViT as timm writes it: torch._assert, _pair/_ntuple, @torch.fx.wrap, DropPath, LayerScale,
trunc_normal_ via self.apply(self._init_weights), a persistent=False rotary cache, no-weight-decay param groups,
gradient accumulation, checkpoint(use_reentrant=False), a foreach EMA (_foreach_lerp_/_foreach_mul_/_add_),
inference_mode, finfo.min and bool masks through sdpa, sdpa_kernel and the deprecated sdp_kernel, bf16 autocast,
DDP 'module.' prefix surgery with load_state_dict(strict=False), and a bicubic pos-embed resize."""
import math
import warnings
from collections import OrderedDict
from functools import partial

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.init import trunc_normal_
from torch.nn.modules.utils import _ntuple, _pair
from torch.utils.checkpoint import checkpoint

torch.manual_seed(0)
to_2tuple = _ntuple(2)


def drop_path(x, drop_prob: float = 0., training: bool = False, scale_by_keep: bool = True):
    if drop_prob == 0. or not training:
        return x
    keep_prob = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    random_tensor = x.new_empty(shape).bernoulli_(keep_prob)
    if keep_prob > 0.0 and scale_by_keep:
        random_tensor.div_(keep_prob)
    return x * random_tensor


class DropPath(nn.Module):
    def __init__(self, drop_prob: float = 0., scale_by_keep: bool = True):
        super().__init__()
        self.drop_prob = drop_prob
        self.scale_by_keep = scale_by_keep

    def forward(self, x):
        return drop_path(x, self.drop_prob, self.training, self.scale_by_keep)

    def extra_repr(self):
        return f'drop_prob={round(self.drop_prob, 3):0.3f}'


class LayerScale(nn.Module):
    def __init__(self, dim, init_values=1e-5, inplace=False):
        super().__init__()
        self.inplace = inplace
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        return x.mul_(self.gamma) if self.inplace else x * self.gamma


class PatchEmbed(nn.Module):
    def __init__(self, img_size=16, patch_size=4, in_chans=3, embed_dim=32, norm_layer=None, flatten=True):
        super().__init__()
        img_size = to_2tuple(img_size)
        patch_size = _pair(patch_size)
        self.img_size = img_size
        self.patch_size = patch_size
        self.grid_size = (img_size[0] // patch_size[0], img_size[1] // patch_size[1])
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.flatten = flatten
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)
        self.norm = norm_layer(embed_dim) if norm_layer else nn.Identity()

    def forward(self, x):
        B, C, H, W = x.shape
        torch._assert(H == self.img_size[0], f"Input image height ({H}) doesn't match model ({self.img_size[0]}).")
        x = self.proj(x)
        if self.flatten:
            x = x.flatten(2).transpose(1, 2)  # BCHW -> BNC
        return self.norm(x)


@torch.fx.wrap
def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class RotaryEmbedding(nn.Module):
    def __init__(self, dim, max_len=64, base=10000):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self._set_cos_sin_cache(max_len)

    def _set_cos_sin_cache(self, seq_len):
        self.max_seq_len_cached = seq_len
        t = torch.arange(seq_len, device=self.inv_freq.device, dtype=self.inv_freq.dtype)
        freqs = torch.einsum("i,j->ij", t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos_cached", emb.cos()[None, None, :, :], persistent=False)
        self.register_buffer("sin_cached", emb.sin()[None, None, :, :], persistent=False)

    def forward(self, q, k):
        seq_len = q.shape[-2]
        if seq_len > self.max_seq_len_cached:
            self._set_cos_sin_cache(seq_len)
        cos = self.cos_cached[:, :, :seq_len, ...].to(dtype=q.dtype)
        sin = self.sin_cached[:, :, :seq_len, ...].to(dtype=q.dtype)
        return (q * cos) + (rotate_half(q) * sin), (k * cos) + (rotate_half(k) * sin)


class Attention(nn.Module):
    fused_attn: bool

    def __init__(self, dim, num_heads=4, qkv_bias=False, qk_norm=False, attn_drop=0., proj_drop=0.,
                 norm_layer=nn.LayerNorm, fused=True, rope=False):
        super().__init__()
        assert dim % num_heads == 0, 'dim should be divisible by num_heads'
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        self.fused_attn = fused
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.q_norm = norm_layer(self.head_dim) if qk_norm else nn.Identity()
        self.k_norm = norm_layer(self.head_dim) if qk_norm else nn.Identity()
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.rope = RotaryEmbedding(self.head_dim) if rope else None

    def forward(self, x, attn_mask=None):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        if self.rope is not None:
            q, k = self.rope(q, k)
        if self.fused_attn:
            x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask,
                                               dropout_p=self.attn_drop.p if self.training else 0.)
        else:
            q = q * self.scale
            attn = q @ k.transpose(-2, -1)
            if attn_mask is not None:
                attn = attn + attn_mask
            attn = attn.softmax(dim=-1)
            attn = self.attn_drop(attn)
            x = attn @ v
        x = x.transpose(1, 2).reshape(B, N, C)
        x = self.proj(x)
        x = self.proj_drop(x)
        return x


class Mlp(nn.Module):
    def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, drop=0.):
        super().__init__()
        out_features = out_features or in_features
        hidden_features = hidden_features or in_features
        drop_probs = to_2tuple(drop)
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer()
        self.drop1 = nn.Dropout(drop_probs[0])
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop2 = nn.Dropout(drop_probs[1])

    def forward(self, x):
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4., qkv_bias=False, qk_norm=False, init_values=None,
                 drop_path=0., norm_layer=nn.LayerNorm, fused=True, rope=False):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=qkv_bias, qk_norm=qk_norm,
                              norm_layer=norm_layer, fused=fused, rope=rope)
        self.ls1 = LayerScale(dim, init_values=init_values) if init_values else nn.Identity()
        self.drop_path1 = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = norm_layer(dim)
        self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio),
                       act_layer=partial(nn.GELU, approximate="tanh"))
        self.ls2 = LayerScale(dim, init_values=init_values) if init_values else nn.Identity()
        self.drop_path2 = DropPath(drop_path) if drop_path > 0. else nn.Identity()

    def forward(self, x, attn_mask=None):
        x = x + self.drop_path1(self.ls1(self.attn(self.norm1(x), attn_mask=attn_mask)))
        x = x + self.drop_path2(self.ls2(self.mlp(self.norm2(x))))
        return x


class VisionTransformer(nn.Module):
    def __init__(self, img_size=16, patch_size=4, num_classes=5, embed_dim=32, depth=3, num_heads=4,
                 init_values=0.1, drop_path_rate=0.2, grad_checkpointing=False, fused=True):
        super().__init__()
        norm_layer = partial(nn.LayerNorm, eps=1e-6)
        self.patch_embed = PatchEmbed(img_size, patch_size, 3, embed_dim)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.randn(1, num_patches + 1, embed_dim) * .02)
        dpr = [x.item() for x in torch.linspace(0, drop_path_rate, depth)]
        self.blocks = nn.Sequential(*[
            Block(embed_dim, num_heads, qkv_bias=True, qk_norm=(i == 1), init_values=init_values,
                  drop_path=dpr[i], norm_layer=norm_layer, fused=fused, rope=(i == 2))
            for i in range(depth)])
        self.norm = norm_layer(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes)
        self.grad_checkpointing = grad_checkpointing
        trunc_normal_(self.pos_embed, std=.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        self.apply(self._init_weights)

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)
        elif isinstance(m, nn.Conv2d):
            w = m.weight.data
            nn.init.xavier_uniform_(w.view([w.shape[0], -1]))

    @torch.jit.ignore
    def no_weight_decay(self):
        return {'pos_embed', 'cls_token'}

    def forward_features(self, x):
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + self.pos_embed
        for blk in self.blocks:
            if self.grad_checkpointing and not torch.jit.is_scripting():
                x = checkpoint(blk, x, use_reentrant=False)
            else:
                x = blk(x)
        return self.norm(x)

    def forward(self, x):
        x = self.forward_features(x)
        return self.head(x[:, 0])


def param_groups_weight_decay(model, weight_decay=1e-5, no_weight_decay_list=()):
    no_weight_decay_list = set(no_weight_decay_list)
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if param.ndim <= 1 or name.endswith(".bias") or name in no_weight_decay_list:
            no_decay.append(param)
        else:
            decay.append(param)
    return [{'params': no_decay, 'weight_decay': 0.}, {'params': decay, 'weight_decay': weight_decay}]


class ModelEmaV3(nn.Module):
    def __init__(self, model, decay=0.9):
        super().__init__()
        import copy
        self.module = copy.deepcopy(model)
        self.module.eval()
        self.decay = decay

    @torch.no_grad()
    def update(self, model):
        ema_lerp_values, model_lerp_values = [], []
        for ema_v, model_v in zip(self.module.state_dict().values(), model.state_dict().values()):
            if ema_v.is_floating_point():
                ema_lerp_values.append(ema_v)
                model_lerp_values.append(model_v)
            else:
                ema_v.copy_(model_v)
        if hasattr(torch, '_foreach_lerp_'):
            torch._foreach_lerp_(ema_lerp_values, model_lerp_values, weight=1. - self.decay)
        else:
            torch._foreach_mul_(ema_lerp_values, scalar=self.decay)
            torch._foreach_add_(ema_lerp_values, model_lerp_values, alpha=1. - self.decay)

    @torch.no_grad()
    def update_v2(self, model):
        ema_p = [p for p in self.module.parameters()]
        m_p = [p.detach() for p in model.parameters()]
        torch._foreach_mul_(ema_p, self.decay)
        torch._foreach_add_(ema_p, m_p, alpha=1. - self.decay)


model = VisionTransformer(grad_checkpointing=True)
print(model.blocks[0].drop_path1)
print("nparams", sum(p.numel() for p in model.parameters()))
print("pos", model.pos_embed.sum().item(), model.head.weight.std().item())
nwd = model.no_weight_decay()
groups = param_groups_weight_decay(model, 0.05, nwd)
print("groups", [len(g['params']) for g in groups])
opt = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.999))
ema = ModelEmaV3(model, decay=0.9)
x = torch.randn(8, 3, 16, 16)
y = torch.randint(0, 5, (8,))
accum = 2
for step in range(4):
    model.train()
    for micro in range(accum):
        xb, yb = x[micro * 4:(micro + 1) * 4], y[micro * 4:(micro + 1) * 4]
        out = model(xb)
        loss = F.cross_entropy(out, yb, label_smoothing=0.1) / accum
        loss.backward()
    gn = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
    ema.update(model)
    print(step, f"loss {loss.item() * accum:.6f} gn {gn.item():.6f}")
ema.update_v2(model)
model.eval()
with torch.inference_mode():
    a = model(x)
    b = ema.module(x)
print("eval", a.sum().item(), b.sum().item(), torch.is_inference_mode_enabled())
print("inference", a.is_inference(), a.requires_grad)

# causal mask via finfo.min, fused vs unfused attention agree
attn = Attention(32, 4, fused=False).eval()
attnf = Attention(32, 4, fused=True).eval()
attnf.load_state_dict(attn.state_dict())
N = 6
mask = torch.full((N, N), torch.finfo(torch.float32).min).triu(1)
t = torch.randn(2, N, 32)
with torch.no_grad():
    o1 = attn(t, mask)
    o2 = attnf(t, mask)
    o3 = attnf(t, torch.ones(N, N, dtype=torch.bool).tril())
print("mask", o1.sum().item(), (o1 - o2).abs().max().item() < 1e-5, (o1 - o3).abs().max().item() < 1e-5)
with torch.no_grad(), sdpa_kernel([SDPBackend.MATH, SDPBackend.FLASH_ATTENTION]):
    o4 = attnf(t, mask)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    with torch.no_grad(), torch.backends.cuda.sdp_kernel(enable_flash=False, enable_math=True,
                                                         enable_mem_efficient=False):
        o5 = attnf(t, mask)
        print("kernels", torch.backends.cuda.flash_sdp_enabled(), torch.backends.cuda.math_sdp_enabled())
print("kernels", torch.allclose(o4, o5, atol=1e-6), torch.backends.cuda.flash_sdp_enabled())

# autocast bf16 on cpu
with torch.autocast("cpu", dtype=torch.bfloat16):
    out = model(x)
    print("autocast", out.dtype, torch.is_autocast_enabled("cpu") if hasattr(torch, "is_autocast_enabled") else None)
print(f"bf16 sum {out.float().sum().item():.2f}")

# state_dict surgery: add 'module.' prefix (DDP), strip it, drop head, load strict=False
sd = model.state_dict()
print("persistent", [k for k in sd if "cached" in k or "inv_freq" in k])
ddp_sd = OrderedDict(("module." + k, v) for k, v in sd.items())
clean = {k[len("module."):] if k.startswith("module.") else k: v for k, v in ddp_sd.items()}
clean = {k: v for k, v in clean.items() if not k.startswith("head.")}
clean["extra.weight"] = torch.zeros(3)
model2 = VisionTransformer(num_classes=7)
res = model2.load_state_dict(clean, strict=False)
print(res)
print("missing", res.missing_keys, "unexpected", res.unexpected_keys)
model2.eval()
with torch.no_grad():
    f1 = model.forward_features(x)
    f2 = model2.forward_features(x)
print("feat eq", torch.equal(f1, f2), torch.allclose(f1, f2))
# resize pos embed (timm resample_abs_pos_embed idiom)
pe = sd["pos_embed"]
cls, grid = pe[:, :1], pe[:, 1:]
gs = int(math.sqrt(grid.shape[1]))
grid = grid.reshape(1, gs, gs, -1).permute(0, 3, 1, 2)
grid = F.interpolate(grid, size=(6, 6), mode="bicubic", align_corners=False, antialias=False)
grid = grid.permute(0, 2, 3, 1).reshape(1, 36, -1)
print("resized", torch.cat([cls, grid], 1).shape, grid.sum().item())
