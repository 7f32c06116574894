"""Writes two sampling fixtures into test/fixtures/torch-unet/:

tiny_samples.npz: images that PyTorch integrates from the committed tiny_checkpoint.pth, for
the image-level check of the ONNX Runtime and tfjs engines.

tiny_ema_unflagged.pth: tiny_ema_checkpoint.pth (EMA-wrapped) with its pickled args.use_ema
set to False, as when the flag lives only in the args.json beside the checkpoint; the tests of
the one weight rule (src/sampling-plan.ts) put an args.json beside a copy.

    /usr/bin/python3 packages/flow-train/scripts/make_sample_fixture.py [--out DIR]

The paper's sampler: classifier-free guidance (1 + w)·v(x, t, y) − w·v(x, t, ∅) as one
forward of the doubled batch (torch_unet.cfg_velocity), integrated from t = 0 to 1 by
torch_unet.heun2_sample, the fixed-grid Heun method of the reference's heun2 solver:

    k1 = f(t0, x0);  k2 = f(t0 + dt, x0 + dt·k1);  x1 = x0 + (dt/2)·(k1 + k2)

on a uniform grid of STEPS steps (exact in float32 for STEPS = 4). Deterministic (fixed seed, CPU, float32). Needs torch
(>= 1.13) and numpy; the tests read the .npz and need neither.

Arrays: x0 [N, 3, 8, 8] float32 (NCHW noise), y [N] int64 (10 = no label), grid [STEPS + 1]
float32, cfg_scale [1] float32, x1 [N, 3, 8, 8] float32 (the images at t = 1, float32 run),
x1_f64 (the same integration in float64: the float32 run's own rounding error is
|x1 − x1_f64|).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch_unet as U  # noqa: E402

SEED = 20261206
STEPS = 4
CFG_SCALE = 0.3
LABELS = [1, 10, 4]


def main() -> None:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=here.parent / "test" / "fixtures" / "torch-unet")
    args = ap.parse_args()
    torch.use_deterministic_algorithms(True)
    ckpt = torch.load(args.out / "tiny_checkpoint.pth", map_location="cpu", weights_only=False)
    model = U.build_model("tiny")
    model.load_state_dict(ckpt["model"])
    model.eval()
    size = U.IMAGE_SIZES["tiny"]
    g = torch.Generator().manual_seed(SEED)
    x0 = torch.randn((len(LABELS), 3, size, size), generator=g)
    y = torch.tensor(LABELS, dtype=torch.int64)
    grid = torch.linspace(0, 1, STEPS + 1, dtype=torch.float32)
    # heun2_sample steps through i/STEPS in Python floats: the grid the tests use must be the same numbers
    assert all(float(grid[i]) == i / STEPS for i in range(STEPS + 1))

    def run(m: torch.nn.Module, dtype: torch.dtype) -> torch.Tensor:
        field = lambda x, t: U.cfg_velocity(m, x, t, y, CFG_SCALE, batched=True)  # noqa: E731
        with torch.no_grad():
            return U.heun2_sample(field, x0.to(dtype), steps=STEPS)

    x1 = run(model, torch.float32)
    f64 = U.build_model("tiny").double()
    f64.load_state_dict(model.state_dict())
    f64.eval()
    x1_f64 = run(f64, torch.float64)
    rel = float((x1.double() - x1_f64).abs().max() / x1_f64.abs().max())
    assert rel < 1e-5, rel
    assert float((x1 - x0).abs().max()) > 0.1, "the flow should move the noise"
    np.savez(
        args.out / "tiny_samples.npz",
        x0=x0.numpy().astype(np.float32),
        y=y.numpy(),
        grid=grid.numpy(),
        cfg_scale=np.array([CFG_SCALE], dtype=np.float32),
        x1=x1.numpy().astype(np.float32),
        x1_f64=x1_f64.numpy(),
    )
    unflagged = torch.load(args.out / "tiny_ema_checkpoint.pth", map_location="cpu", weights_only=False)
    assert unflagged["args"].use_ema is True
    unflagged["args"].use_ema = False
    torch.save(unflagged, args.out / "tiny_ema_unflagged.pth")
    print(f"wrote {args.out / 'tiny_ema_unflagged.pth'}")
    print(f"wrote {args.out / 'tiny_samples.npz'}: {len(LABELS)} images, {STEPS} heun2 steps, cfg {CFG_SCALE}; float32 vs float64 {rel:.2e}")


if __name__ == "__main__":
    main()
