"""An independent PyTorch implementation of the paper's class-conditional UNet.

The paper ("Multimodal Datasets with Controllable Mutual Information", arXiv 2510.21686)
trains the ADM UNet of facebookresearch/flow_matching's image example
(`examples/image/models/unet.py`, itself guided-diffusion's `UNetModel`). This file
rebuilds that architecture from its description, restricted to what the paper uses
(dims=2, conv_resample=False, resblock_updown=False, use_scale_shift_norm=True or False,
new or legacy attention order), so that the state_dict names and shapes are exactly those
of guided-diffusion's `UNetModel` and the flow_matching checkpoints load with
`load_state_dict(strict=True)`.

It also provides `EMA`, laid out like flow_matching's `examples/image/models/ema.py`
wrapper (state_dict keys `num_updates`, `model.<name>`, `shadow_params.<i>`), and the
flow-matching helpers the benchmark and the fixtures need (CFG velocity, Heun sampler).

Only torch (>= 1.13) is required. Used by make_parity_fixtures.py and
../bench/torch_baseline.py; not part of the TypeScript package.
"""

from __future__ import annotations

import copy
import math
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

# --------------------------------------------------------------------------------------
# Configurations (constructor keywords of guided-diffusion's UNetModel)
# --------------------------------------------------------------------------------------

_CIFAR10 = {
    "in_channels": 3,
    "model_channels": 128,
    "out_channels": 3,
    "num_res_blocks": 4,
    "attention_resolutions": [2],
    "dropout": 0.3,
    "channel_mult": [2, 2, 2],
    "conv_resample": False,
    "dims": 2,
    "num_classes": 10,
    "use_checkpoint": False,
    "num_heads": 1,
    "num_head_channels": -1,
    "num_heads_upsample": -1,
    "use_scale_shift_norm": True,
    "resblock_updown": False,
    "use_new_attention_order": True,
}

MODEL_CONFIGS: Dict[str, dict] = {
    # The paper's model: 55 682 051 parameters.
    "cifar10": dict(_CIFAR10),
    # The TypeScript package's CPU model (src/unet/config.ts `small`).
    "small": {**_CIFAR10, "model_channels": 32, "num_res_blocks": 1, "channel_mult": [1, 2, 2, 2],
              "attention_resolutions": [2, 4], "dropout": 0.0},
    # Tests and parity fixtures (src/unet/config.ts `tiny`: 8×8 images, attention at 4×4).
    "tiny": {**_CIFAR10, "model_channels": 32, "num_res_blocks": 1, "channel_mult": [1, 1],
             "attention_resolutions": [2], "dropout": 0.0},
}

# The image size each configuration is meant for (not a constructor argument).
IMAGE_SIZES: Dict[str, int] = {"cifar10": 32, "small": 32, "tiny": 8}


def model_config(name: str, **overrides) -> dict:
    if name not in MODEL_CONFIGS:
        raise KeyError(f"unknown configuration {name!r}; expected one of {sorted(MODEL_CONFIGS)}")
    cfg = copy.deepcopy(MODEL_CONFIGS[name])
    for k, v in overrides.items():
        if v is None:
            continue
        if k not in cfg:
            raise KeyError(f"unknown UNet option {k!r}")
        cfg[k] = v
    return cfg


def build_model(name: str, **overrides) -> "UNetModel":
    return UNetModel(**model_config(name, **overrides))


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding [N, dim] of (unscaled) times t [N]: cat[cos(t·f), sin(t·f)],
    f_i = exp(-ln(max_period)·i/half), i < half = dim // 2 (zero-padded if dim is odd)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None].float() * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class GroupNorm32(nn.GroupNorm):
    """GroupNorm(32, C, eps=1e-5) evaluated in float32 (guided-diffusion's `normalization`)."""

    def __init__(self, channels: int, groups: int = 32):
        super().__init__(groups, channels, eps=1e-5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        if x.dtype == torch.float64:  # float64 reference runs stay in float64
            return super().forward(x)
        return super().forward(x.float()).type(x.dtype)


def zero_module(m: nn.Module) -> nn.Module:
    for p in m.parameters():
        p.detach().zero_()
    return m


class TimestepBlock(nn.Module):
    """A module whose forward takes the embedding as a second argument."""


class TimestepEmbedSequential(nn.Sequential, TimestepBlock):
    def forward(self, x, emb):  # noqa: D102
        for layer in self:
            x = layer(x, emb) if isinstance(layer, TimestepBlock) else layer(x)
        return x


class Upsample(nn.Module):
    """Nearest-neighbour ×2, no parameters (conv_resample=False)."""

    def forward(self, x):  # noqa: D102
        return F.interpolate(x, scale_factor=2, mode="nearest")


class Downsample(nn.Module):
    """2×2 average pooling, stride 2, no parameters (conv_resample=False)."""

    def __init__(self):
        super().__init__()
        self.op = nn.AvgPool2d(kernel_size=2, stride=2)

    def forward(self, x):  # noqa: D102
        return self.op(x)


class ResBlock(TimestepBlock):
    def __init__(self, channels: int, emb_channels: int, dropout: float, out_channels: Optional[int] = None,
                 use_scale_shift_norm: bool = True):
        super().__init__()
        out_channels = out_channels or channels
        self.channels, self.out_channels = channels, out_channels
        self.use_scale_shift_norm = use_scale_shift_norm
        self.in_layers = nn.Sequential(
            GroupNorm32(channels),
            nn.SiLU(),
            nn.Conv2d(channels, out_channels, 3, padding=1),
        )
        self.emb_layers = nn.Sequential(
            nn.SiLU(),
            nn.Linear(emb_channels, 2 * out_channels if use_scale_shift_norm else out_channels),
        )
        self.out_layers = nn.Sequential(
            GroupNorm32(out_channels),
            nn.SiLU(),
            nn.Dropout(p=dropout),
            zero_module(nn.Conv2d(out_channels, out_channels, 3, padding=1)),
        )
        self.skip_connection = nn.Identity() if out_channels == channels else nn.Conv2d(channels, out_channels, 1)

    def forward(self, x, emb):  # noqa: D102
        h = self.in_layers(x)
        emb_out = self.emb_layers(emb).type(h.dtype)[:, :, None, None]
        if self.use_scale_shift_norm:
            scale, shift = torch.chunk(emb_out, 2, dim=1)
            h = self.out_layers[0](h) * (1 + scale) + shift
            h = self.out_layers[1:](h)
        else:
            h = self.out_layers(h + emb_out)
        return self.skip_connection(x) + h


class QKVAttention(nn.Module):
    """New order: split q, k, v first, then heads."""

    def __init__(self, n_heads: int):
        super().__init__()
        self.n_heads = n_heads

    def forward(self, qkv):  # noqa: D102
        bs, width, length = qkv.shape
        assert width % (3 * self.n_heads) == 0
        ch = width // (3 * self.n_heads)
        q, k, v = qkv.chunk(3, dim=1)
        scale = 1 / math.sqrt(math.sqrt(ch))
        weight = torch.einsum(
            "bct,bcs->bts",
            (q * scale).reshape(bs * self.n_heads, ch, length),
            (k * scale).reshape(bs * self.n_heads, ch, length),
        )
        weight = torch.softmax(weight.float() if weight.dtype != torch.float64 else weight, dim=-1).type(weight.dtype)
        a = torch.einsum("bts,bcs->bct", weight, v.reshape(bs * self.n_heads, ch, length))
        return a.reshape(bs, -1, length)


class QKVAttentionLegacy(nn.Module):
    """Legacy order: split heads first, then q, k, v."""

    def __init__(self, n_heads: int):
        super().__init__()
        self.n_heads = n_heads

    def forward(self, qkv):  # noqa: D102
        bs, width, length = qkv.shape
        assert width % (3 * self.n_heads) == 0
        ch = width // (3 * self.n_heads)
        q, k, v = qkv.reshape(bs * self.n_heads, ch * 3, length).split(ch, dim=1)
        scale = 1 / math.sqrt(math.sqrt(ch))
        weight = torch.einsum("bct,bcs->bts", q * scale, k * scale)
        weight = torch.softmax(weight.float() if weight.dtype != torch.float64 else weight, dim=-1).type(weight.dtype)
        a = torch.einsum("bts,bcs->bct", weight, v)
        return a.reshape(bs, -1, length)


class AttentionBlock(nn.Module):
    def __init__(self, channels: int, num_heads: int = 1, num_head_channels: int = -1,
                 use_new_attention_order: bool = True):
        super().__init__()
        if num_head_channels == -1:
            self.num_heads = num_heads
        else:
            assert channels % num_head_channels == 0, f"{channels} channels not divisible by {num_head_channels}"
            self.num_heads = channels // num_head_channels
        self.norm = GroupNorm32(channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        self.attention = QKVAttention(self.num_heads) if use_new_attention_order else QKVAttentionLegacy(self.num_heads)
        self.proj_out = zero_module(nn.Conv1d(channels, channels, 1))

    def forward(self, x):  # noqa: D102
        b, c, *spatial = x.shape
        x = x.reshape(b, c, -1)
        h = self.attention(self.qkv(self.norm(x)))
        h = self.proj_out(h)
        return (x + h).reshape(b, c, *spatial)


# --------------------------------------------------------------------------------------
# The UNet
# --------------------------------------------------------------------------------------


class UNetModel(nn.Module):
    """guided-diffusion's UNetModel (class-conditional, 2-D, no conv resampling).

    forward(x [N, C, H, W], t [N] in [0, 1] (or a scalar), y [N] int64 or None) -> [N, C_out, H, W].
    y == num_classes (or y=None) is the "no label" row of the embedding used for classifier-free
    guidance.
    """

    def __init__(self, in_channels: int, model_channels: int, out_channels: int, num_res_blocks: int,
                 attention_resolutions: Sequence[int], dropout: float = 0.0, channel_mult: Sequence[int] = (1, 2, 4, 8),
                 conv_resample: bool = False, dims: int = 2, num_classes: Optional[int] = None,
                 use_checkpoint: bool = False, num_heads: int = 1, num_head_channels: int = -1,
                 num_heads_upsample: int = -1, use_scale_shift_norm: bool = False, resblock_updown: bool = False,
                 use_new_attention_order: bool = False):
        super().__init__()
        if conv_resample or resblock_updown or dims != 2:
            raise NotImplementedError("only conv_resample=False, resblock_updown=False, dims=2 (the paper's model)")
        if num_heads_upsample == -1:
            num_heads_upsample = num_heads
        self.in_channels, self.model_channels, self.out_channels = in_channels, model_channels, out_channels
        self.num_res_blocks = num_res_blocks
        self.attention_resolutions = list(attention_resolutions)
        self.channel_mult = list(channel_mult)
        self.num_classes = num_classes
        ted = 4 * model_channels

        self.time_embed = nn.Sequential(nn.Linear(model_channels, ted), nn.SiLU(), nn.Linear(ted, ted))
        if num_classes is not None:
            self.label_emb = nn.Embedding(num_classes + 1, ted, padding_idx=num_classes)

        def res(cin, cout):
            return ResBlock(cin, ted, dropout, out_channels=cout, use_scale_shift_norm=use_scale_shift_norm)

        def attn(c, heads):
            return AttentionBlock(c, num_heads=heads, num_head_channels=num_head_channels,
                                  use_new_attention_order=use_new_attention_order)

        ch = input_ch = int(channel_mult[0] * model_channels)
        self.input_blocks = nn.ModuleList([TimestepEmbedSequential(nn.Conv2d(in_channels, ch, 3, padding=1))])
        input_block_chans = [ch]
        ds = 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers: List[nn.Module] = [res(ch, int(mult * model_channels))]
                ch = int(mult * model_channels)
                if ds in self.attention_resolutions:
                    layers.append(attn(ch, num_heads))
                self.input_blocks.append(TimestepEmbedSequential(*layers))
                input_block_chans.append(ch)
            if level != len(channel_mult) - 1:
                self.input_blocks.append(TimestepEmbedSequential(Downsample()))
                input_block_chans.append(ch)
                ds *= 2

        self.middle_block = TimestepEmbedSequential(res(ch, ch), attn(ch, num_heads), res(ch, ch))

        self.output_blocks = nn.ModuleList([])
        for level, mult in list(enumerate(channel_mult))[::-1]:
            for i in range(num_res_blocks + 1):
                ich = input_block_chans.pop()
                layers = [res(ch + ich, int(model_channels * mult))]
                ch = int(model_channels * mult)
                if ds in self.attention_resolutions:
                    layers.append(attn(ch, num_heads_upsample))
                if level and i == num_res_blocks:
                    layers.append(Upsample())
                    ds //= 2
                self.output_blocks.append(TimestepEmbedSequential(*layers))

        self.out = nn.Sequential(
            GroupNorm32(ch),
            nn.SiLU(),
            zero_module(nn.Conv2d(input_ch, out_channels, 3, padding=1)),
        )

    # The embedding added to every ResBlock: time_embed(sinusoid(t)) + label_emb(y).
    def embed(self, t: torch.Tensor, y: Optional[torch.Tensor], batch: int, like: torch.Tensor) -> torch.Tensor:
        t = torch.as_tensor(t, device=like.device)
        if t.dim() == 0:
            t = t.expand(batch)
        emb = self.time_embed(timestep_embedding(t, self.model_channels).to(like.dtype))
        if self.num_classes is not None:
            if y is None:
                y = torch.full((batch,), self.num_classes, dtype=torch.long, device=like.device)
            assert y.shape == (batch,), f"labels {tuple(y.shape)} do not match batch {batch}"
            emb = emb + self.label_emb(y)
        return emb

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: Optional[torch.Tensor] = None,
                trace: Optional[Dict[str, torch.Tensor]] = None) -> torch.Tensor:
        """`trace`, if a dict, receives intermediate activations (for debugging a port)."""
        emb = self.embed(t, y, x.shape[0], x)
        if trace is not None:
            trace["emb"] = emb
        hs = []
        h = x
        for i, module in enumerate(self.input_blocks):
            h = module(h, emb)
            hs.append(h)
            if trace is not None:
                trace[f"input_blocks.{i}"] = h
        h = self.middle_block(h, emb)
        if trace is not None:
            trace["middle_block"] = h
        for i, module in enumerate(self.output_blocks):
            h = torch.cat([h, hs.pop()], dim=1)
            h = module(h, emb)
            if trace is not None:
                trace[f"output_blocks.{i}"] = h
        return self.out(h.type(x.dtype))


# --------------------------------------------------------------------------------------
# EMA wrapper (layout of flow_matching's examples/image/models/ema.py)
# --------------------------------------------------------------------------------------


class EMA(nn.Module):
    """Exponential moving average wrapper.

    state_dict layout (as flow_matching's EMA): `num_updates` (int64 scalar buffer), then
    `model.<name>` for the live weights, then `shadow_params.<i>` for the EMA weights, i
    indexing `model.parameters()` (all of which require grad). The shadow params are
    non-trainable `nn.Parameter`s in an `nn.ParameterList`, so `EMA.parameters()` yields
    the live parameters followed by the shadow ones (flow_matching builds AdamW from it).
    eval() swaps the EMA weights into the model; train() swaps the live ones back.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999):
        super().__init__()
        self.model = model
        self.decay = decay
        self.register_buffer("num_updates", torch.tensor(0))
        self.shadow_params = nn.ParameterList(
            [nn.Parameter(p.clone().detach(), requires_grad=False) for p in model.parameters() if p.requires_grad]
        )
        self.backup_params: List[torch.Tensor] = []

    def train(self, mode: bool = True) -> "EMA":
        if self.training != mode:
            if not mode:
                self.backup()
                self.copy_to_model()
            else:
                self.restore_to_model()
        return super().train(mode)

    def _trainable(self):
        return [p for p in self.model.parameters() if p.requires_grad]

    @torch.no_grad()
    def update_ema(self) -> None:
        self.num_updates += 1
        n = int(self.num_updates.item())
        decay = min(self.decay, (1 + n) / (10 + n))
        for shadow, param in zip(self.shadow_params, self._trainable()):
            shadow.sub_((1 - decay) * (shadow - param))

    @torch.no_grad()
    def backup(self) -> None:
        self.backup_params = [p.clone() for p in self._trainable()]

    @torch.no_grad()
    def copy_to_model(self) -> None:
        for shadow, param in zip(self.shadow_params, self._trainable()):
            param.copy_(shadow)

    @torch.no_grad()
    def restore_to_model(self) -> None:
        for saved, param in zip(self.backup_params, self._trainable()):
            param.copy_(saved)
        self.backup_params = []

    def forward(self, *args, **kwargs):  # noqa: D102
        return self.model(*args, **kwargs)


# --------------------------------------------------------------------------------------
# Flow matching helpers
# --------------------------------------------------------------------------------------


def cfg_velocity(model: nn.Module, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor, cfg_scale: float,
                 num_classes: int = 10, batched: bool = True) -> torch.Tensor:
    """flow_matching's CFGScaledModel: (1 + w)·v(x, t, y) − w·v(x, t, ∅) (one pass if w == 0).

    batched=True evaluates the conditional and unconditional halves as one forward of 2N;
    batched=False runs two forwards of N, as flow_matching does.
    """
    t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    if t.dim() == 0:
        t = t.expand(x.shape[0])
    if cfg_scale == 0.0:
        return model(x, t, y)
    none = torch.full_like(y, num_classes)
    if batched:
        both = model(torch.cat([x, x]), torch.cat([t, t]), torch.cat([y, none]))
        cond, uncond = both.chunk(2)
    else:
        cond = model(x, t, y)
        uncond = model(x, t, none)
    return (1.0 + cfg_scale) * cond - cfg_scale * uncond


@torch.no_grad()
def heun2_sample(velocity, x0: torch.Tensor, steps: int = 50, max_steps: Optional[int] = None) -> torch.Tensor:
    """Fixed-grid Heun (torchdiffeq 'heun2') from t=0 to t=1 in `steps` equal steps: two
    velocity evaluations per step. `max_steps` stops early (for timing)."""
    x = x0
    h = 1.0 / steps
    for i in range(steps if max_steps is None else min(steps, max_steps)):
        t0 = i * h
        k1 = velocity(x, torch.tensor(t0))
        k2 = velocity(x + h * k1, torch.tensor(t0 + h))
        x = x + 0.5 * h * (k1 + k2)
    return x
