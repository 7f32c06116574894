"""CPU baseline of the paper's UNet in PyTorch, for comparison with the TensorFlow.js port.

    /usr/bin/python3 packages/flow-train/bench/torch_baseline.py --config tiny
    /usr/bin/python3 packages/flow-train/bench/torch_baseline.py --config cifar10 --batch_size 8 --steps 3 --sample_steps 1
    # describe another configuration (e.g. the TypeScript `small`) by overrides:
    /usr/bin/python3 packages/flow-train/bench/torch_baseline.py --config cifar10 \
        --model_channels 64 --num_res_blocks 1 --channel_mult 1,2,2 --attention_resolutions 2 --dropout 0.1

    # the same weights as the TypeScript side (a registry model or an exported checkpoint):
    /usr/bin/python3 packages/flow-train/bench/torch_baseline.py --weights packages/flow-train/models/cifar10-small.safetensors

--weights reads a safetensors file of the UNet's state_dict (the built-in model, `mmmi-train
export`); its configuration comes from the file's `mmmi` metadata when it has one (else from
--config and the overrides), and load_state_dict is strict. Without it the weights are torch's
random initialisation: the cost of a forward pass does not depend on the values, but the
comparison is then not of the same model.

Measures, on random 32×32 data (--image_size), with torch.set_num_threads(--threads,
default os.cpu_count()):

  train   forward + MSE loss (CondOT flow-matching target, 20% labels dropped) + backward +
          AdamW step (lr 1e-4, betas 0.9/0.95) at --batch_size; --warmup untimed steps, then
          --steps timed ones. images/s = batch · steps / seconds.
  sample  fixed-grid Heun (torchdiffeq heun2) over --nfe steps (default 50: 100 velocity
          evaluations) with classifier-free guidance (1 + w)·v(x,t,y) − w·v(x,t,∅), w=--cfg_scale.
          --cfg_mode batched (default): each velocity is ONE forward of 2B (conditional and
          unconditional halves concatenated), i.e. 100 UNet forwards of 2B per sample batch;
          --cfg_mode separate: two forwards of B, i.e. 200 UNet forwards of B (flow_matching's
          CFGScaledModel). One Heun step is run untimed first, then --sample_steps Heun steps are
          timed (default 5, 0 = all --nfe); seconds_per_batch is extrapolated to --nfe steps
          (the cost per step does not depend on t). images/s = sample_batch_size / seconds_per_batch.

The defaults (--warmup 1 --steps 5 --sample_steps 5) keep a tiny run under 2 minutes on 2 cores.
The JSON records torch's BLAS (`blas_info`): Debian's python3-torch uses the reference BLAS
("generic"), which makes the attention matmuls (aten::bmm) and Linear layers slow; a PyPI wheel
(MKL) is much faster on the same CPU.

Prints one JSON line. Needs torch (>= 1.13); not run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import torch_unet as U  # noqa: E402


def int_list(s: str):
    return [int(v) for v in s.replace(" ", "").strip("[]").split(",") if v]


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="tiny", choices=sorted(U.MODEL_CONFIGS))
    ap.add_argument("--model_channels", type=int)
    ap.add_argument("--num_res_blocks", type=int)
    ap.add_argument("--channel_mult", type=int_list, help="e.g. 1,2,2")
    ap.add_argument("--attention_resolutions", type=int_list, help="e.g. 2 or 2,4")
    ap.add_argument("--dropout", type=float)
    ap.add_argument("--num_heads", type=int)
    ap.add_argument("--image_size", type=int, default=32)
    ap.add_argument("--batch_size", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=1, help="untimed training steps")
    ap.add_argument("--steps", type=int, default=5, help="timed training steps")
    ap.add_argument("--sample_batch_size", type=int, help="default: --batch_size")
    ap.add_argument("--nfe", type=int, default=50, help="Heun steps of one sampling run")
    ap.add_argument("--sample_steps", type=int, default=5,
                    help="timed Heun steps (default 5; 0 or >= --nfe: all); fewer than --nfe are extrapolated")
    ap.add_argument("--cfg_scale", type=float, default=0.2)
    ap.add_argument("--cfg_mode", choices=["batched", "separate"], default="batched")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--weights", help="a safetensors file of the UNet's weights (e.g. models/cifar10-small.safetensors)")
    ap.add_argument("--skip_train", action="store_true")
    ap.add_argument("--skip_sample", action="store_true")
    return ap.parse_args(argv)


def blas_info() -> str:
    m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    return m.group(1) if m else "unknown"


SAFETENSORS_DTYPES = {"F32": "<f4", "F16": "<f2", "F64": "<f8"}

# The TypeScript configuration's names (src/unet/config.ts) → torch_unet.py's constructor arguments.
TS_CONFIG_KEYS = {
    "modelChannels": "model_channels",
    "numResBlocks": "num_res_blocks",
    "channelMult": "channel_mult",
    "attentionResolutions": "attention_resolutions",
    "dropout": "dropout",
    "numClasses": "num_classes",
    "numHeads": "num_heads",
    "numHeadChannels": "num_head_channels",
    "numHeadsUpsample": "num_heads_upsample",
    "useScaleShiftNorm": "use_scale_shift_norm",
    "useNewAttentionOrder": "use_new_attention_order",
}


def read_safetensors(path: str):
    """(tensors by name, metadata): the format's 8-byte little-endian header length, a JSON
    header of {name: {dtype, shape, data_offsets}}, then the raw bytes (read with NumPy, so
    the baseline needs no safetensors package)."""
    import numpy as np

    raw = Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    body = memoryview(raw)[8 + n:]
    tensors = {}
    for name, info in header.items():
        if info["dtype"] not in SAFETENSORS_DTYPES:
            raise SystemExit(f"{path}: tensor {name} has dtype {info['dtype']}; expected one of {sorted(SAFETENSORS_DTYPES)}")
        a, b = info["data_offsets"]
        arr = np.frombuffer(body[a:b], dtype=SAFETENSORS_DTYPES[info["dtype"]]).astype(np.float32).reshape(info["shape"])
        tensors[name] = torch.from_numpy(arr.copy())
    return tensors, meta


def config_from_metadata(meta: dict):
    """The UNet configuration recorded by mmmi's checkpoints (`mmmi` metadata), or None."""
    if "mmmi" not in meta:
        return None
    ts = json.loads(meta["mmmi"]).get("config")
    if not ts:
        return None
    return {TS_CONFIG_KEYS[k]: v for k, v in ts.items() if k in TS_CONFIG_KEYS}, int(ts.get("imageSize", 32))


def bench_train(model, args, num_classes):
    g = torch.Generator().manual_seed(args.seed)
    B, S = args.batch_size, args.image_size
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95))
    model.train()

    def batch():
        x1 = torch.rand((B, 3, S, S), generator=g) * 2 - 1
        x0 = torch.randn((B, 3, S, S), generator=g)
        t = torch.rand((B,), generator=g)
        y = torch.randint(0, num_classes, (B,), generator=g)
        y[torch.rand((B,), generator=g) < 0.2] = num_classes
        tt = t[:, None, None, None]
        return tt * x1 + (1 - tt) * x0, t, y, x1 - x0

    def step(data):
        xt, t, y, ut = data
        loss = torch.pow(model(xt, t, y) - ut, 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return float(loss)

    for _ in range(args.warmup):
        step(batch())
    data = [batch() for _ in range(args.steps)]  # data generation is not timed
    t0 = time.perf_counter()
    for d in data:
        loss = step(d)
    sec = time.perf_counter() - t0
    return {
        "warmup_steps": args.warmup,
        "steps": args.steps,
        "seconds": round(sec, 4),
        "ms_per_step": round(1000 * sec / max(args.steps, 1), 2),
        "images_per_s": round(B * args.steps / sec, 3) if args.steps else None,
        "last_loss": round(loss, 5) if args.steps else None,
    }


def bench_sample(model, args, num_classes):
    g = torch.Generator().manual_seed(args.seed + 1)
    B, S = args.sample_batch_size or args.batch_size, args.image_size
    model.eval()
    x = torch.randn((B, 3, S, S), generator=g)
    y = torch.randint(0, num_classes, (B,), generator=g)
    batched = args.cfg_mode == "batched"

    def velocity(xx, t):
        return U.cfg_velocity(model, xx, t, y, args.cfg_scale, num_classes=num_classes, batched=batched)

    timed = args.nfe if not args.sample_steps else min(args.sample_steps, args.nfe)
    with torch.no_grad():
        U.heun2_sample(velocity, x, steps=args.nfe, max_steps=1)  # warmup
        t0 = time.perf_counter()
        out = U.heun2_sample(velocity, x, steps=args.nfe, max_steps=timed)
        sec = time.perf_counter() - t0
    assert torch.isfinite(out).all()
    per_batch = sec * args.nfe / timed
    evals = 2 * args.nfe * (1 if args.cfg_scale == 0 else (1 if batched else 2))
    return {
        "solver": "heun2",
        "nfe_steps": args.nfe,
        "velocity_evals_per_batch": 2 * args.nfe,
        "cfg_scale": args.cfg_scale,
        "cfg_mode": args.cfg_mode if args.cfg_scale != 0 else "none",
        "unet_forwards_per_batch": evals,
        "unet_forward_batch": 2 * B if (batched and args.cfg_scale != 0) else B,
        "sample_batch_size": B,
        "timed_heun_steps": timed,
        "extrapolated": timed != args.nfe,
        "seconds_timed": round(sec, 4),
        "seconds_per_batch": round(per_batch, 3),
        "images_per_s": round(B / per_batch, 4),
    }


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    overrides = {
        "model_channels": args.model_channels,
        "num_res_blocks": args.num_res_blocks,
        "channel_mult": args.channel_mult,
        "attention_resolutions": args.attention_resolutions,
        "dropout": args.dropout,
        "num_heads": args.num_heads,
    }
    weights = None
    label = args.config
    if args.weights:
        weights, meta = read_safetensors(args.weights)
        recorded = config_from_metadata(meta)
        if recorded:
            overrides = {**overrides, **{k: v for k, v in recorded[0].items() if overrides.get(k) is None}}
            args.image_size = recorded[1]
            label = f"{args.config} + the file's recorded configuration"
    cfg = U.model_config(args.config, **{k: v for k, v in overrides.items() if k in U.model_config(args.config)})
    model = U.UNetModel(**cfg)
    if weights is not None:
        model.load_state_dict(weights, strict=True)
    num_classes = cfg["num_classes"]
    result = {
        "bench": "torch_baseline",
        "config": label,
        "overridden": sorted(k for k, v in overrides.items() if v is not None),
        "weights": args.weights or "random (torch's initialisation)",
        "model_config": cfg,
        "parameters": U.count_parameters(model),
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "blas_info": blas_info(),
    }
    if not args.skip_train:
        result["train"] = bench_train(model, args, num_classes)
    if not args.skip_sample:
        result["sample"] = bench_sample(model, args, num_classes)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
