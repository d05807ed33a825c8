"""DDPM sampling: speed and quality of DDPM-1000 vs DDIM-50/25, and our loop vs diffusers' DDIMPipeline.

Uses a finished study run directory (the DDPM generator and the real-only classifier of one seed)::

    python experiments/benchmarks/ddpm_sampling.py --run-dir runs/bench-ddpm32/ham50_seed0 --images 70

1. The same EMA U-Net and labels (balanced over classes, one seed per image) sampled with each sampler
   (``ddim:50:1`` is DDIM-50 with η = 1); images/s and FID/KID against class-balanced real test images, in the
   feature space of the run's real-only classifier (``skinsynth.quality``; not comparable with Inception FIDs).
2. Materialization (PNGs + manifest) vs raw ``sample()`` throughput with the model's default sampler.
3. DDIM-50 (η = 0) without guidance through ``DDPMModule.sample`` and through ``diffusers.DDIMPipeline`` on the same
   U-Net (class labels bound to it) and scheduler: images/s ratio and the largest pixel difference of the outputs.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from skinsynth.callbacks.synthetic_dataset import materialize
from skinsynth.config import StudyConfig
from skinsynth.data import SkinLesionDataModule
from skinsynth.models.classifier import LesionClassifier
from skinsynth.models.registry import load_generator
from skinsynth.quality import ClassifierFeatures, feature_distances


def balanced_real_images(config: StudyConfig, run_dir: Path, per_class: int) -> torch.Tensor:
    """Up to ``per_class`` test images of every class, in [0, 1], from the run's split."""
    dataset, data_dir = config.data.dataset, config.data.data_dir
    if dataset == "toy":  # generated into the run directory, in the HAM10000 layout
        dataset, data_dir = "ham10000", data_dir or run_dir / "data" / "toy"
    dm = SkinLesionDataModule(
        dataset, data_dir, mode="fewshot", shots=config.data.shots, val_fraction=config.data.val_fraction,
        image_size=config.data.image_size, seed=config.study.seed, batch_size=64, normalize=False, augment="none",
    )  # fmt: skip
    dm.setup("test")
    if not dm.split.matches(run_dir / "split.csv"):
        raise SystemExit(f"the split rebuilt from {run_dir / 'config.yaml'} differs from split.csv")
    taken: dict[int, int] = {}
    images = []
    for batch in dm.test_dataloader():
        for image, label in zip(batch["image"], batch["label"].tolist(), strict=True):
            if taken.get(label, 0) < per_class:
                taken[label] = taken.get(label, 0) + 1
                images.append(image)
    print(f"real reference: {len(images)} test images, per class {dict(sorted(taken.items()))}")
    return torch.stack(images)


def timed_samples(model, labels: torch.Tensor, batch: int, **options) -> tuple[torch.Tensor, float]:
    """Samples for ``labels`` (seed i for image i) and images/s."""
    out = []
    start = time.perf_counter()
    for first in range(0, len(labels), batch):
        chunk = labels[first : first + batch]
        generators = [torch.Generator().manual_seed(first + i) for i in range(len(chunk))]
        out.append(model.sample(chunk, generators, **options))
    return torch.cat(out), len(labels) / (time.perf_counter() - start)


def pipeline_samples(model, labels: torch.Tensor, steps: int) -> tuple[torch.Tensor, float]:
    """The same DDIM sampling through ``diffusers.DDIMPipeline`` (labels bound to the U-Net's forward)."""
    from diffusers import DDIMPipeline, DDIMScheduler, UNet2DModel

    unet = model.sampling_unet
    unet.forward = functools.partial(UNet2DModel.forward, unet, class_labels=labels)
    pipeline = DDIMPipeline(unet=unet, scheduler=DDIMScheduler.from_config(model.noise_scheduler.config))
    pipeline.set_progress_bar_config(disable=True)
    generators = [torch.Generator().manual_seed(i) for i in range(len(labels))]
    start = time.perf_counter()
    images = pipeline(batch_size=len(labels), generator=generators, num_inference_steps=steps, output_type="np").images
    rate = len(labels) / (time.perf_counter() - start)
    del unet.forward
    return torch.from_numpy(images).permute(0, 3, 1, 2), rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--images", type=int, default=70, help="generated images per sampler (balanced over classes)")
    parser.add_argument("--batch-size", type=int, default=70)
    parser.add_argument(
        "--samplers", default="ddpm:1000,ddim:50,ddim:25,ddim:50:1,ddim:25:1",
        help="SAMPLER:STEPS[:ETA] list; the first is the reference of the speed-up (ETA: DDIM eta, default 0)",
    )  # fmt: skip
    parser.add_argument("--guidance", type=float, help="guidance scale for the sampler comparison (default: model's)")
    args = parser.parse_args()
    run_dir = Path(args.run_dir)
    config = StudyConfig.from_dict(StudyConfig.from_yaml(run_dir / "config.yaml"))
    checkpoint = run_dir / "checkpoints" / "generator-ddpm" / "last.ckpt"
    codes = torch.load(checkpoint, map_location="cpu", weights_only=True)["hyper_parameters"]["class_codes"]
    model = load_generator("ddpm", checkpoint, codes, config.data.image_size)
    classifier = LesionClassifier.load_checkpoint(run_dir / "checkpoints" / "real" / "best.ckpt")
    features = ClassifierFeatures(classifier.model)
    num_classes = model.hparams.num_classes
    labels = torch.arange(num_classes).repeat(args.images // num_classes + 1)[: args.images]
    real = balanced_real_images(config, run_dir, per_class=max(1, args.images // num_classes))
    guidance = model.hparams.guidance_scale if args.guidance is None else args.guidance
    millions = sum(p.numel() for p in model.unet.parameters()) / 1e6
    print(f"torch threads {torch.get_num_threads()}; {config.data.image_size} px, {args.images} images per sampler, "
          f"guidance {guidance}, EMA U-Net {millions:.2f} M parameters")  # fmt: skip
    print(f"{'sampler':>10} {'img/s':>8} {'speed-up':>9} {'FID':>8} {'KID':>16}")
    base_rate = None
    for spec in args.samplers.split(","):
        sampler, steps, eta = [*spec.split(":"), "0"][:3]
        images, rate = timed_samples(
            model, labels, args.batch_size, sampler=sampler, steps=int(steps), guidance_scale=guidance, eta=float(eta)
        )
        base_rate = base_rate or rate
        scores = feature_distances(features, real.split(64), images.split(64))
        print(f"{spec:>10} {rate:>8.2f} {rate / base_rate:>8.1f}× {scores['fid']:>8.2f} "
              f"{scores['kid']:>8.4f} ± {scores['kid_std']:.4f}")  # fmt: skip
    _, default_rate = timed_samples(model, labels, args.batch_size)
    codes = model.class_codes
    budget = {c: int((labels == i).sum()) for i, c in enumerate(codes)}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        materialize(model, budget, Path(folder) / "ddpm", generator_name="ddpm", class_codes=codes,
                    batch_size=args.batch_size, image_size=config.data.image_size)  # fmt: skip
        materialize_rate = len(labels) / (time.perf_counter() - start)
    sampler = model.hparams.sampler
    steps = model.hparams.sampling_steps or (model.hparams.num_train_timesteps if sampler == "ddpm" else 50)
    print(f"materialize (defaults: {sampler}-{steps}, eta {model.hparams.get('eta', 0.0)}, "
          f"guidance {model.hparams.guidance_scale}): "
          f"{materialize_rate:.2f} img/s vs "
          f"sample() {default_rate:.2f} img/s, ratio {materialize_rate / default_rate:.3f}")  # fmt: skip
    ours, our_rate = timed_samples(model, labels, len(labels), sampler="ddim", steps=50, guidance_scale=1.0, eta=0.0)
    theirs, their_rate = pipeline_samples(model, labels, steps=50)
    print(
        f"DDIM-50 (eta 0), guidance 1, {len(labels)} images in one batch: ours {our_rate:.2f} img/s, "
        f"diffusers DDIMPipeline {their_rate:.2f} img/s, ratio {our_rate / their_rate:.3f}; "
        f"max |difference| {float((ours - theirs).abs().max()):.2e}"
    )  # fmt: skip


if __name__ == "__main__":
    main()
