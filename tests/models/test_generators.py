"""CVAE and conditional GAN: a couple of training steps on tiny data, sampling shapes, ranges and determinism."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from skinsynth.errors import DataError
from skinsynth.models.base import Generator
from skinsynth.models.blocks import upsampling_plan
from skinsynth.models.cvae.module import CVAEModule
from skinsynth.models.gan.module import ConditionalGANModule
from skinsynth.models.registry import load_generator, make_generator
from tests.helpers import BatchDataset

CODES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
SIZE = 16


def tiny_images(n: int = 14) -> BatchDataset:
    """Images in [0, 1] whose brightness depends on the class."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 7
    images = torch.rand(n, 3, SIZE, SIZE, generator=generator) * 0.3 + labels.view(-1, 1, 1, 1) / 10
    return BatchDataset(images, labels, is_synthetic=True)


def fit(module: L.LightningModule, tmp_path: Path, steps: int = 2, callbacks: list | None = None) -> L.Trainer:
    trainer = L.Trainer(
        max_steps=-1, max_epochs=1, limit_train_batches=steps, logger=False, enable_progress_bar=False,
        enable_model_summary=False, enable_checkpointing=False, default_root_dir=tmp_path, callbacks=callbacks or [],
    )  # fmt: skip
    trainer.fit(module, train_dataloaders=DataLoader(tiny_images(), batch_size=7))
    return trainer


class StepRecorder(L.Callback):
    """Which parameters each optimizer step changed (via torch's optimizer step hooks)."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, bool, bool]] = []  # (optimizer, generator changed, discriminator changed)

    def on_train_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        names = ("generator", "discriminator")
        for name, optimizer in zip(names, trainer.optimizers, strict=True):
            snapshot: dict[str, list[torch.Tensor]] = {}

            def before(opt, args, kwargs, snapshot=snapshot) -> None:
                snapshot["g"] = [p.detach().clone() for p in module.generators.parameters()]
                snapshot["d"] = [p.detach().clone() for p in module.discriminators.parameters()]

            def after(opt, args, kwargs, snapshot=snapshot, name=name) -> None:
                changed = [
                    any(not torch.equal(a, b) for a, b in zip(snapshot[k], params.parameters(), strict=True))
                    for k, params in (("g", module.generators), ("d", module.discriminators))
                ]
                self.changes.append((name, *changed))

            optimizer.register_step_pre_hook(before)
            optimizer.register_step_post_hook(after)


@pytest.mark.parametrize(("per_class", "diff_augment"), [(False, ""), (True, ""), (False, "color,translation,cutout")])
def test_gan_manual_optimization_updates_generator_and_discriminator_separately(
    tmp_path: Path, per_class: bool, diff_augment: str
) -> None:
    torch.manual_seed(0)
    gan = ConditionalGANModule(7, CODES, image_size=SIZE, base_channels=8, d_base_channels=8, per_class=per_class,
                               diff_augment=diff_augment)  # fmt: skip
    recorder = StepRecorder()
    trainer = fit(gan, tmp_path, steps=2, callbacks=[recorder])
    assert int(gan.g_steps) == 2 and int(gan.d_steps) == 2
    assert trainer.global_step == 4  # Lightning counts one step per optimizer step
    assert recorder.changes == [("discriminator", False, True), ("generator", True, False)] * 2
    assert {"train_loss_d", "train_loss_g"} <= set(trainer.callback_metrics)
    assert all(torch.isfinite(trainer.callback_metrics[k]) for k in ("train_loss_d", "train_loss_g"))
    assert len(gan.generators) == (7 if per_class else 1)


def test_cvae_trains_with_kl_warmup(tmp_path: Path) -> None:
    torch.manual_seed(0)
    cvae = CVAEModule(7, CODES, image_size=SIZE, latent_dim=8, base_channels=8, kl_warmup_steps=4, beta=2.0)
    assert cvae.kl_weight() == 0.0
    before = [p.detach().clone() for p in cvae.parameters()]
    trainer = fit(cvae, tmp_path, steps=2)
    assert cvae.kl_weight() == pytest.approx(1.0)  # 2 of 4 warm-up steps at β = 2
    assert torch.isfinite(trainer.callback_metrics["train_loss"])
    assert any(not torch.equal(a, b) for a, b in zip(before, cvae.parameters(), strict=True))


@pytest.mark.parametrize(
    "module",
    [
        lambda: ConditionalGANModule(7, CODES, image_size=SIZE, base_channels=8, d_base_channels=8),
        lambda: ConditionalGANModule(7, CODES, image_size=SIZE, base_channels=8, d_base_channels=8, per_class=True),
        lambda: CVAEModule(7, CODES, image_size=SIZE, latent_dim=8, base_channels=8),
    ],
)
def test_sampling_contract(module) -> None:
    torch.manual_seed(0)
    model = module()
    assert isinstance(model, Generator)
    labels = torch.tensor([0, 3, 3, 6])
    images = model.sample(labels, torch.Generator().manual_seed(1))
    assert images.shape == (4, 3, SIZE, SIZE) and images.dtype == torch.float32
    assert images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, model.sample(labels, torch.Generator().manual_seed(1)))
    assert not torch.equal(images, model.sample(labels, torch.Generator().manual_seed(2)))
    # one generator per sample: an image depends on its own seed only, not on its batch
    seeds = [torch.Generator().manual_seed(s) for s in (5, 6, 7, 8)]
    batch = model.sample(labels, seeds)
    alone = model.sample(labels[2:3], [torch.Generator().manual_seed(7)])
    assert torch.allclose(batch[2:3], alone, atol=1e-6)
    # the class changes the image for the same noise
    same_noise = [torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)]
    pair = model.sample(torch.tensor([0, 4]), same_noise)
    assert not torch.allclose(pair[0], pair[1])
    with pytest.raises(ValueError, match=r"class labels \[7\] are outside the vocabulary"):
        model.sample(torch.tensor([1, 7]))


def test_unsupported_image_size_lists_valid_ones() -> None:
    assert upsampling_plan(64) == (4, 4) and upsampling_plan(224) == (7, 5)
    with pytest.raises(ValueError, match="image size 100 is not supported.*64"):
        ConditionalGANModule(7, CODES, image_size=100)


def test_generator_checkpoint_must_match_vocabulary_and_resolution(tmp_path: Path) -> None:
    model = make_generator("cvae", class_codes=CODES, image_size=SIZE, latent_dim=8, base_channels=8)
    trainer = fit(model, tmp_path, steps=1)
    path = tmp_path / "cvae.ckpt"
    trainer.save_checkpoint(path)
    loaded = load_generator("cvae", path, CODES, SIZE)
    labels = torch.tensor([1, 2])
    assert torch.equal(
        loaded.sample(labels, torch.Generator().manual_seed(0)), model.sample(labels, torch.Generator().manual_seed(0))
    )
    with pytest.raises(DataError, match="was trained for classes"):
        load_generator("cvae", path, [*CODES, "scc"], SIZE)
    with pytest.raises(DataError, match="makes 16 px images; this study uses 32 px"):
        load_generator("cvae", path, CODES, 32)
    with pytest.raises(DataError, match="does not exist"):
        load_generator("cvae", tmp_path / "missing.ckpt", CODES, SIZE)


def test_generator_checkpoint_is_rewritten_every_epoch_so_an_interrupted_run_can_resume(tmp_path: Path) -> None:
    from skinsynth.study.hardware import generator_checkpoint

    seen: list[int] = []

    class Interrupt(L.Callback):
        def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
            last = tmp_path / "ckpt" / "last.ckpt"
            seen.append(torch.load(last, weights_only=True)["epoch"] if last.is_file() else -1)
            if trainer.current_epoch == 2:
                raise RuntimeError("power cut")

    model = make_generator("cvae", class_codes=CODES, image_size=SIZE, latent_dim=8, base_channels=8)
    trainer = L.Trainer(max_epochs=4, limit_train_batches=1, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path,
                        callbacks=[generator_checkpoint(tmp_path / "ckpt"), Interrupt()])  # fmt: skip
    with pytest.raises(RuntimeError, match="power cut"):
        trainer.fit(model, DataLoader(tiny_images(), batch_size=7))
    assert seen == [-1, 0, 1]  # after every finished epoch, not only at the end of training
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["last.ckpt"]
    resumed = L.Trainer(max_epochs=4, limit_train_batches=1, logger=False, enable_progress_bar=False,
                        enable_model_summary=False, default_root_dir=tmp_path, enable_checkpointing=False)  # fmt: skip
    fresh = make_generator("cvae", class_codes=CODES, image_size=SIZE, latent_dim=8, base_channels=8)
    resumed.fit(fresh, DataLoader(tiny_images(), batch_size=7), ckpt_path=tmp_path / "ckpt" / "last.ckpt")
    assert resumed.global_step == 4  # 2 epochs restored + 2 more, one batch each


def test_the_generator_base_checks_labels_toggles_eval_resizes_and_clamps() -> None:
    from torch import nn

    from skinsynth.errors import ConfigError
    from skinsynth.models.base import GeneratorModule

    class Drawn(GeneratorModule):
        def __init__(self, num_classes: int = 3, class_codes=None, image_size: int = 8) -> None:
            super().__init__(num_classes, class_codes)

        def configure_models(self) -> None:
            self.net = nn.Linear(1, 1)

        def _sample(self, labels, generator, *, offset: float = 0.0):
            self.seen_training = self.training
            return torch.linspace(-1, 2, 16 * 16).repeat(len(labels), 3, 1).view(len(labels), 3, 16, 16) + offset

    model = Drawn(class_codes=["a", "b", "c"])
    assert model.class_codes == ["a", "b", "c"] and model.hparams.class_codes == ["a", "b", "c"]
    model.train()
    images = model.sample(torch.tensor([0, 2]), offset=-5.0)
    assert images.shape == (2, 3, 8, 8) and images.min() == 0 and images.max() == 0  # options reach _sample
    images = model.sample(torch.tensor([1]))
    assert images.min() == 0 and images.max() == 1 and not model.seen_training and model.training
    with pytest.raises(ValueError, match=r"\[3\] are outside the vocabulary"):
        model.sample(torch.tensor([3]))
    with pytest.raises(ConfigError, match="2 class codes"):
        Drawn(class_codes=["a", "b"])
    assert Drawn().class_codes == ["0", "1", "2"]
