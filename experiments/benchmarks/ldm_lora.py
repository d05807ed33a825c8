"""LoRA fine-tuning cost with the tiny Stable Diffusion on CPU: step time, peak memory, trainable share, sampling.

    python experiments/benchmarks/ldm_lora.py --resolutions 64,128 --batch-size 4 --steps 10

Each resolution runs in its own process (so the peak resident memory is that resolution's): a tiny SD 1.5-layout
model (``skinsynth.models.ldm_lora.tiny``) is written to a temporary directory and loaded by path like a real one;
LoRA rank 4 on the U-Net attention projections; ``--steps`` timed optimizer steps after one warm-up step; then
``sample()`` of one batch with DDIM-30 and guidance 5. The numbers exercise the code path; the real SD 1.5 costs are
in docs/ldm_lora.md (not measured here).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def measure(resolution: int, batch_size: int, steps: int, rank: int) -> dict[str, float]:
    """Step time, peak RSS and sampling throughput at ``resolution`` (run in a fresh process)."""
    import torch

    from skinsynth.models.ldm_lora.module import LDMLoRAModule
    from skinsynth.models.ldm_lora.tiny import write_tiny_stable_diffusion

    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as folder:
        base = write_tiny_stable_diffusion(Path(folder) / "sd", sample_size=8)
        model = LDMLoRAModule(num_classes=7, image_size=resolution, resolution=resolution,
                              pretrained_model=str(base), lora_rank=rank,
                              sampling_steps=30, guidance_scale=5.0)  # fmt: skip
    optimizer = model.configure_optimizers()
    batch = {"image": torch.rand(batch_size, 3, resolution, resolution), "label": torch.arange(batch_size) % 7}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for step in range(steps + 1):
        start = time.perf_counter()
        loss = model.training_step(batch, step)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if step:  # the first step is warm-up
            times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    unet_total = sum(p.numel() for n, p in model.unet.named_parameters() if "lora_" not in n)
    trainable = sum(p.numel() for p in model.trainable_parameters())
    start = time.perf_counter()
    model.sample(torch.arange(batch_size) % 7, [torch.Generator().manual_seed(i) for i in range(batch_size)])
    sample_rate = batch_size / (time.perf_counter() - start)
    return {
        "resolution": resolution,
        "step_s": sum(times) / len(times),
        "peak_rss_mb": peak / 1024,
        "rss_growth_mb": (peak - rss_before) / 1024,
        "unet_params": unet_total,
        "trainable_params": trainable,
        "sample_img_s": sample_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolutions", default="64,128")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rank", type=int, default=4)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one resolution, print JSON
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.batch_size, args.steps, args.rank)))
        return
    import torch

    print(f"torch threads {torch.get_num_threads()}; tiny SD, LoRA rank {args.rank}, batch {args.batch_size}, "
          f"{args.steps} timed steps")  # fmt: skip
    print(f"{'px':>5} {'s/step':>8} {'peak RSS MB':>12} {'U-Net params':>13} {'LoRA params':>12} {'share':>7} "
          f"{'sample img/s':>13}")  # fmt: skip
    for resolution in map(int, args.resolutions.split(",")):
        command = [sys.executable, __file__, "--one", str(resolution), "--batch-size", str(args.batch_size),
                   "--steps", str(args.steps), "--rank", str(args.rank)]  # fmt: skip
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        r = json.loads(output.strip().splitlines()[-1])
        print(f"{resolution:>5} {r['step_s']:>8.3f} {r['peak_rss_mb']:>12.0f} {r['unet_params']:>13,} "
              f"{r['trainable_params']:>12,} {r['trainable_params'] / r['unet_params']:>7.2%} "
              f"{r['sample_img_s']:>13.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
