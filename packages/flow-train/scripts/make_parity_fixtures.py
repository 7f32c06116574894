"""Writes the PyTorch parity fixtures of @mmmi/flow-train into test/fixtures/torch-unet/.

    /usr/bin/python3 packages/flow-train/scripts/make_parity_fixtures.py [--out DIR] [--check]

Deterministic (fixed seeds, CPU, float32). Needs torch (>= 1.13) and numpy; the
committed fixtures are read by the TypeScript tests, which do not need torch.

Files:
  tiny_checkpoint.pth      flow_matching `save_model` layout, model = tiny UNet state_dict
  tiny_ema_checkpoint.pth  the same with the model wrapped in EMA (args.use_ema=True); its
                           optimizer is an AdamW that has not stepped (no moment buffers:
                           the file holds only the live and the shadow weights)
  tiny_io.npz              inputs and eval-mode outputs of the tiny model (live and EMA)
  paper_state_dict_shapes.json  state_dict names and shapes of cifar10 (top level), tiny, small
                                (with each configuration's constructor keywords and image size)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch_unet as U  # noqa: E402

PAPER_PARAMETERS = 55_682_051
SEED = 20251024
LR = 1e-4
BETAS = (0.9, 0.95)  # flow_matching's train_arg_parser defaults
EPOCH = 7


def randomize_(model: U.UNetModel, gen: torch.Generator) -> None:
    """Random non-zero values in every parameter, including the normally zero-initialised
    convs (out_layers.3, proj_out, out.2) and the GroupNorm affine parameters. label_emb
    row num_classes (the "no label" padding row) stays zero."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                bound = 1.0 / fan_in ** 0.5
                module.weight.copy_((torch.rand(module.weight.shape, generator=gen) * 2 - 1) * bound)
                module.bias.copy_((torch.rand(module.bias.shape, generator=gen) * 2 - 1) * bound)
            elif isinstance(module, nn.GroupNorm):
                module.weight.copy_(1.0 + 0.2 * torch.randn(module.weight.shape, generator=gen))
                module.bias.copy_(0.2 * torch.randn(module.bias.shape, generator=gen))
            elif isinstance(module, nn.Embedding):
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen))
                if module.padding_idx is not None:
                    module.weight[module.padding_idx].zero_()
    for name, p in model.named_parameters():
        if name == "label_emb.weight":
            assert (p[:-1] != 0).all() and (p[-1] == 0).all()
        else:
            assert (p != 0).all(), f"{name} has zeros"


def training_batch(image_size: int, batch: int = 8, seed: int = SEED + 1):
    """One flow-matching batch (CondOT path, label dropping) as flow_matching's train loop."""
    g = torch.Generator().manual_seed(seed)
    x1 = torch.rand((batch, 3, image_size, image_size), generator=g) * 2 - 1
    x0 = torch.randn((batch, 3, image_size, image_size), generator=g)
    t = torch.rand((batch,), generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    y[torch.rand((batch,), generator=g) < 0.2] = 10
    xt = t[:, None, None, None] * x1 + (1 - t[:, None, None, None]) * x0
    return xt, t, y, x1 - x0


def one_step(wrapper: nn.Module, model: U.UNetModel, image_size: int):
    """AdamW over wrapper.parameters() (as flow_matching), one MSE step; returns optimizer, schedule."""
    optimizer = torch.optim.AdamW(wrapper.parameters(), lr=LR, betas=BETAS)
    lr_schedule = torch.optim.lr_scheduler.ConstantLR(optimizer, total_iters=3000, factor=1.0)
    xt, t, y, ut = training_batch(image_size)
    model.train()
    loss = torch.pow(model(xt, t, y) - ut, 2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    lr_schedule.step()
    return optimizer, lr_schedule, float(loss)


def make_args(use_ema: bool) -> argparse.Namespace:
    """flow_matching's train_arg_parser defaults, with the paper's CIFAR-10 settings."""
    return argparse.Namespace(
        batch_size=64, epochs=3000, accum_iter=1, lr=LR, optimizer_betas=list(BETAS), decay_lr=False,
        class_drop_prob=0.2, skewed_timesteps=True, edm_schedule=True, use_ema=use_ema,
        dataset="cifar10", data_path="./data/image_generation", output_dir="./output_dir",
        ode_method="heun2", ode_options={"nfe": 50}, sym=0.0, temp=1.0, sym_func=False,
        sampling_dtype="float32", cfg_scale=0.2, fid_samples=50000, device="cuda", seed=0, resume="",
        start_epoch=0, eval_only=False, eval_frequency=100, compute_fid=True, save_fid_samples=False,
        num_workers=10, pin_mem=True, world_size=1, local_rank=-1, dist_on_itp=False, dist_url="env://",
        test_run=False, discrete_flow_matching=False, discrete_fm_steps=1024, distributed=False,
    )


def scaler_state() -> dict:
    # NativeScalerWithGradNormCount.state_dict() = torch.cuda.amp.GradScaler.state_dict()
    return {"scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000, "_growth_tracker": 0}


def unstepped_optimizer(wrapper: nn.Module) -> torch.optim.Optimizer:
    """An AdamW over wrapper.parameters() with the run's hyperparameters and LR schedule, but
    no step: its state_dict has real param_groups and an empty `state` (small fixtures)."""
    optimizer = torch.optim.AdamW(wrapper.parameters(), lr=LR, betas=BETAS)
    torch.optim.lr_scheduler.ConstantLR(optimizer, total_iters=3000, factor=1.0)  # adds initial_lr
    assert not optimizer.state_dict()["state"]
    return optimizer


def to_save(wrapper, optimizer, lr_schedule, use_ema):
    # flow_matching training/load_and_save.py save_model
    return {
        "model": wrapper.state_dict(),
        "optimizer": optimizer.state_dict(),
        "lr_schedule": lr_schedule.state_dict(),
        "epoch": EPOCH,
        "scaler": scaler_state(),
        "args": make_args(use_ema),
    }


def shapes(name: str) -> dict:
    model = U.build_model(name)
    sd = model.state_dict()
    return {
        "config": name,
        "model_config": U.MODEL_CONFIGS[name],
        "image_size": U.IMAGE_SIZES[name],
        "parameters": U.count_parameters(model),
        "tensors": [[k, list(v.shape)] for k, v in sd.items()],
    }


def write_shapes_json(path: Path) -> dict:
    paper = shapes("cifar10")
    assert paper["parameters"] == PAPER_PARAMETERS, paper["parameters"]
    assert sum(int(np.prod(s)) for _, s in paper["tensors"]) == PAPER_PARAMETERS
    doc = {**paper, "tiny": shapes("tiny"), "small": shapes("small"), "torch": torch.__version__}
    # One tensor per line: readable diffs.
    text = json.dumps(doc, indent=1)
    lines, out = text.split("\n"), []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == "[" and i + 1 < len(lines) and lines[i + 1].strip().startswith('"'):
            # a [name, [shape]] entry spread over lines: join until its closing bracket
            j, depth, buf = i, 0, []
            while True:
                s = lines[j].strip()
                buf.append(s)
                depth += s.count("[") - s.count("]")
                j += 1
                if depth == 0:
                    break
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + "".join(buf).replace(",", ", ").replace(",  ", ", "))
            i = j
        else:
            out.append(line)
            i += 1
    text = "\n".join(line.rstrip() for line in out) + "\n"
    assert json.loads(text) == json.loads(json.dumps(doc))
    path.write_text(text)
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = Path(__file__).resolve().parent
    ap.add_argument("--out", type=Path, default=here.parent / "test" / "fixtures" / "torch-unet")
    ap.add_argument("--check", action="store_true", help="reload the written files and verify them")
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)

    name = "tiny"
    size = U.IMAGE_SIZES[name]

    # ---- plain checkpoint ------------------------------------------------------------
    gen = torch.Generator().manual_seed(SEED)
    model = U.build_model(name)
    randomize_(model, gen)
    init_state = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer, lr_schedule, loss = one_step(model, model, size)
    model.eval()
    ckpt = to_save(model, optimizer, lr_schedule, use_ema=False)
    torch.save(ckpt, out / "tiny_checkpoint.pth")

    # ---- EMA checkpoint: same init, same step; shadow = independent random draw + one EMA update
    ema_model = U.build_model(name)
    ema_model.load_state_dict(init_state)
    ema = U.EMA(ema_model)
    shadow_src = U.build_model(name)
    randomize_(shadow_src, torch.Generator().manual_seed(SEED + 2))
    with torch.no_grad():
        for s, p in zip(ema.shadow_params, shadow_src.parameters()):
            s.copy_(p)
    _, ema_schedule, ema_loss = one_step(ema, ema_model, size)
    ema.update_ema()  # num_updates = 1: shadow = 2/11 · shadow + 9/11 · live
    for (k, a), b in zip(model.state_dict().items(), ema.model.state_dict().values()):
        assert torch.equal(a, b), f"live weights differ between the two checkpoints at {k}"
    for (k, p), s in zip(ema.model.named_parameters(), ema.shadow_params):
        if k != "label_emb.weight":
            assert (p != s).all() and (p - s).abs().mean() > 1e-3 * p.abs().mean(), k
    # The optimizer saved is one that has not stepped: the moment buffers of the live and
    # (never updated) shadow params would triple the file for nothing the tests read.
    ema_ckpt = to_save(ema, unstepped_optimizer(ema), ema_schedule, use_ema=True)
    torch.save(ema_ckpt, out / "tiny_ema_checkpoint.pth")

    # ---- inputs / outputs --------------------------------------------------------------
    g = torch.Generator().manual_seed(SEED + 3)
    x = torch.randn((4, 3, size, size), generator=g)
    t = torch.tensor([0.0, 0.3125, 0.8, 1.0], dtype=torch.float32)
    y = torch.tensor([3, 10, 0, 9], dtype=torch.int64)
    cfg_scale = 0.2
    with torch.no_grad():
        model.eval()
        trace: dict = {}
        out_live = model(x, t, y, trace=trace)
        sinusoid = U.timestep_embedding(t, model.model_channels)
        v_cfg_live = U.cfg_velocity(model, x, t, y, cfg_scale, batched=False)
        f64 = U.build_model(name).double()
        f64.load_state_dict(model.state_dict())
        f64.eval()
        out_live_f64 = f64(x.double(), t.double(), y)

        ema.eval()  # swaps the shadow weights in (flow_matching's EMA.train(False))
        out_ema = ema(x, t, y)
        ema.train()
        ema.model.eval()  # submodule only: no weight swap
        check = U.build_model(name).eval()
        check.load_state_dict({k: s for k, s in zip(dict(check.named_parameters()), ema.shadow_params)}, strict=True)
        assert torch.equal(check(x, t, y), out_ema)
        assert torch.equal(ema.model(x, t, y), out_live)  # train() restored the live weights

    assert not torch.allclose(out_live, out_ema)
    arrays = {
        "x": x.numpy().astype(np.float32),
        "t": t.numpy().astype(np.float32),
        "y": y.numpy().astype(np.int64),
        "out_live": out_live.numpy().astype(np.float32),
        "out_ema": out_ema.numpy().astype(np.float32),
        "temb": trace["emb"].numpy().astype(np.float32),
        "after_input0": trace["input_blocks.0"].numpy().astype(np.float32),
        # extras for debugging a port
        "sinusoid": sinusoid.numpy().astype(np.float32),
        "out_live_f64": out_live_f64.numpy(),
        "cfg_scale": np.array(cfg_scale, dtype=np.float32),
        "v_cfg_live": v_cfg_live.numpy().astype(np.float32),
    }
    # Every block's output (live weights), batch items 0 and 1 only, to keep the file small.
    for k, v in trace.items():
        if k.startswith(("input_blocks.", "output_blocks.")) or k == "middle_block":
            arrays["h_" + k.replace(".", "_")] = v[:2].numpy().astype(np.float32)
    np.savez(out / "tiny_io.npz", **arrays)

    doc = write_shapes_json(out / "paper_state_dict_shapes.json")

    print(f"torch {torch.__version__}, numpy {np.__version__}")
    print(f"tiny parameters: {U.count_parameters(model)}; cifar10 parameters: {doc['parameters']}")
    print(f"training loss of the one step: {loss:.6f} (EMA run {ema_loss:.6f})")
    for f in sorted(out.iterdir()):
        print(f"  {f.name}: {f.stat().st_size} bytes")

    if args.check:
        verify(out)


def verify(out: Path) -> None:
    """Reload the fixtures and check them against a fresh model."""
    ck = torch.load(out / "tiny_checkpoint.pth", map_location="cpu")
    assert list(ck) == ["model", "optimizer", "lr_schedule", "epoch", "scaler", "args"], list(ck)
    io = np.load(out / "tiny_io.npz")
    m = U.build_model("tiny")
    m.load_state_dict(ck["model"], strict=True)
    m.eval()
    with torch.no_grad():
        o = m(torch.from_numpy(io["x"]), torch.from_numpy(io["t"]), torch.from_numpy(io["y"])).numpy()
    assert np.array_equal(o, io["out_live"]), np.abs(o - io["out_live"]).max()
    print(f"reloaded tiny_checkpoint.pth: {len(ck['model'])} tensors, epoch {ck['epoch']}, "
          f"args.use_ema={ck['args'].use_ema}, optimizer state for {len(ck['optimizer']['state'])} params; "
          f"out_live reproduced exactly; max|out_live - out_live_f64| = "
          f"{np.abs(io['out_live'] - io['out_live_f64']).max():.3g}")

    ek = torch.load(out / "tiny_ema_checkpoint.pth", map_location="cpu")
    keys = list(ek["model"])
    ema = U.EMA(U.build_model("tiny"))
    ema.load_state_dict(ek["model"], strict=True)
    ema.eval()
    with torch.no_grad():
        o = ema(torch.from_numpy(io["x"]), torch.from_numpy(io["t"]), torch.from_numpy(io["y"])).numpy()
    assert np.array_equal(o, io["out_ema"])
    n = sum(1 for k in keys if k.startswith("shadow_params."))
    print(f"reloaded tiny_ema_checkpoint.pth: first keys {keys[:5]}, ..., {n} shadow_params.<i> "
          f"(last {keys[-1]}); out_ema reproduced exactly; optimizer param indices "
          f"{len(ek['optimizer']['param_groups'][0]['params'])}, with state {len(ek['optimizer']['state'])}")
    assert not ek["optimizer"]["state"] and ek["args"].use_ema
    print(f"max|out_live - out_ema| = {np.abs(io['out_live'] - io['out_ema']).max():.3g}; "
          f"out_live std {io['out_live'].std():.3g}")


if __name__ == "__main__":
    main()
