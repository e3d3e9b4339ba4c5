#!/usr/bin/python3
"""Peer benchmark: the compression kernels of bench/compress_kernels.cc in PyTorch ops.

Reads each layer's weights from a raw float32 row-major file named ROWSxCOLS.f32 (written by
the C++ side, so both sides work on identical data) and times, per layer:

  quant_w8_affine_per_channel     per-row min-max grid, q = clamp(round((w - min) / s)), q*s + min
  mse_clip_w4_affine_per_channel  per-row search over the shrink factors 1.00, 0.99, ..., 0.01 of
                                  the min-max range (towards 0, or towards the end nearest 0),
                                  keeping the first factor of least squared error
  magnitude_prune_90              kthvalue of |w| for an exact 90%, then the mask
  prune_2_of_4                    reshape(-1, 4), topk(2), scatter into a mask
  svd_rank_quarter                torch.linalg.svd, then the two rank-r factors

Each timing is over --reps NAME=COUNT repetitions after one warm-up; the warm-up also computes the
figure hwnas prints beside it (MSE, zero count, Frobenius error). Prints one JSON object:
    {"torch": "1.13.0", "threads": 2,
     "quant_w8_affine_per_channel 256x2304": {"median": 1.2, "q1": 1.1, "q3": 1.3, "figure": 3e-7},
     ...}
"""

import argparse
import json
import os
import statistics
import time

import numpy as np
import torch

CLIP_STEPS = 100


def fake_quantize_rows(w, lo, hi, bits):
    """Affine fake quantization of each row of w on its own [lo, hi] (column vectors)."""
    levels = 2**bits - 1
    scale = (hi - lo) / levels
    inv = torch.where(scale > 0, 1 / scale, torch.zeros_like(scale))
    q = torch.round(torch.clamp((w - lo) * inv, 0, levels))
    return q * scale + lo


def quant_w8(w, figure):
    lo = w.amin(dim=1, keepdim=True)
    hi = w.amax(dim=1, keepdim=True)
    x_hat = fake_quantize_rows(w, lo, hi, 8)
    return ((w - x_hat) ** 2).mean().item() if figure else None


def mse_clip_w4(w, figure):
    lo = w.amin(dim=1, keepdim=True)
    hi = w.amax(dim=1, keepdim=True)
    anchor = torch.clamp(torch.zeros_like(lo), lo, hi)
    best_err = torch.full_like(lo, float("inf"))
    best_lo, best_hi = lo.clone(), hi.clone()
    for step in range(CLIP_STEPS):
        factor = 1.0 - step / CLIP_STEPS
        c_lo = anchor + (lo - anchor) * factor
        c_hi = anchor + (hi - anchor) * factor
        err = ((w - fake_quantize_rows(w, c_lo, c_hi, 4)) ** 2).sum(dim=1, keepdim=True)
        better = err < best_err
        best_err = torch.where(better, err, best_err)
        best_lo = torch.where(better, c_lo, best_lo)
        best_hi = torch.where(better, c_hi, best_hi)
    if not figure:
        return None
    return ((w - fake_quantize_rows(w, best_lo, best_hi, 4)) ** 2).mean().item()


def magnitude_90(w, figure):
    k = round(0.9 * w.numel())
    magnitude = w.abs()
    threshold = magnitude.flatten().kthvalue(k).values
    pruned = w * (magnitude > threshold)
    return float((pruned == 0).sum().item()) if figure else None


def prune_2_of_4(w, figure):
    groups = w.abs().reshape(-1, 4)
    keep = torch.zeros_like(groups).scatter_(1, groups.topk(2, dim=1).indices, 1.0)
    pruned = w * keep.reshape(w.shape)
    return float((pruned == 0).sum().item()) if figure else None


def svd_quarter(w, figure):
    u, s, vh = torch.linalg.svd(w, full_matrices=False)
    r = max(1, round(0.25 * s.numel()))
    root = s[:r].sqrt()
    first = root[:, None] * vh[:r]
    second = u[:, :r] * root
    return torch.linalg.norm(w - second @ first).item() if figure else None


OPS = {
    "quant_w8_affine_per_channel": quant_w8,
    "mse_clip_w4_affine_per_channel": mse_clip_w4,
    "magnitude_prune_90": magnitude_90,
    "prune_2_of_4": prune_2_of_4,
    "svd_rank_quarter": svd_quarter,
}


def load(path):
    rows, cols = (int(v) for v in os.path.basename(path)[: -len(".f32")].split("x"))
    return torch.from_numpy(np.fromfile(path, dtype=np.float32).reshape(rows, cols))


def time_op(op, w, reps):
    figure = op(w, True)  # also the warm-up
    ms = []
    for _ in range(reps):
        start = time.perf_counter()
        op(w, False)
        ms.append((time.perf_counter() - start) * 1e3)
    q1, median, q3 = statistics.quantiles(ms, n=4, method="inclusive") if reps > 1 else (ms[0],) * 3
    return {"median": median, "q1": q1, "q3": q3, "figure": figure}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", nargs="+", default=[], help="NAME=COUNT per op")
    parser.add_argument("--weights", nargs="+", required=True, help="ROWSxCOLS.f32 files")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    reps = {name: 10 for name in OPS}
    reps.update({k: int(v) for k, v in (item.split("=") for item in args.reps)})

    result = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    with torch.no_grad():
        for path in args.weights:
            w = load(path)
            size = "%dx%d" % tuple(w.shape)
            for name, op in OPS.items():
                result[name + " " + size] = time_op(op, w, reps[name])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
