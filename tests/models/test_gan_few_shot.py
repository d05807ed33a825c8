"""The GAN's few-shot remedies: minibatch std, mode seeking, the auxiliary classifier, pool pretraining, and a
diversity check on the toy set (the default GAN keeps within-class diversity; the plain DCGAN of earlier versions
collapses)."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from torch.utils.data import DataLoader

from skinsynth.errors import ConfigError
from skinsynth.models.gan.module import ConditionalGANModule
from skinsynth.models.gan.networks import minibatch_std
from skinsynth.models.registry import check_checkpoint_options, effective_options, load_generator, saved_settings
from tests.helpers import BatchDataset
from tests.models.test_generators import CODES, SIZE, fit, tiny_images

TINY = {"image_size": SIZE, "base_channels": 8, "d_base_channels": 8}


def test_minibatch_std_is_the_mean_feature_std_of_each_group() -> None:
    features = torch.tensor([[0.0, 0.0], [2.0, 2.0], [1.0, 1.0], [1.0, 1.0]])
    # groups of 2: rows 0-1 differ by 2 in each feature (std 1), rows 2-3 are equal (std ~0)
    assert torch.allclose(minibatch_std(features, 2).squeeze(1), torch.tensor([1.0, 1.0, 0.0, 0.0]), atol=1e-3)
    assert minibatch_std(features[:3], 2).shape == (3, 1)  # a batch that does not divide: one group


def test_mode_seeking_loss_is_the_inverse_image_to_noise_distance_ratio() -> None:
    first, second = torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4)
    z1, z2 = torch.zeros(2, 8), torch.full((2, 8), 2.0)
    loss = ConditionalGANModule._mode_seeking_loss(first, second, z1, z2)
    assert loss.item() == pytest.approx(1 / (1 / 2 + 1e-5))  # mean |Δimage| 1, mean |Δz| 2
    assert ConditionalGANModule._mode_seeking_loss(first, first, z1, z2) > 1e4  # a collapsed pair costs a lot


@pytest.mark.parametrize("options", [{"loss": "hinge", "r1_gamma": 1.0}, {"upsample": "transpose"}])
def test_options_train_both_networks(tmp_path: Path, options: dict) -> None:
    torch.manual_seed(0)
    gan = ConditionalGANModule(7, CODES, **TINY, **options)
    before = {k: v.clone() for k, v in gan.state_dict().items()}
    trainer = fit(gan, tmp_path, steps=2)
    logged = set(trainer.callback_metrics)
    assert {"train_loss_d", "train_loss_g", "train_mode_seeking"} <= logged
    assert ("train_r1" in logged) == bool(options.get("r1_gamma"))
    changed = {k.split(".")[0] for k, v in gan.state_dict().items() if v.is_floating_point() and
               not torch.equal(before[k], v)}  # fmt: skip
    assert {"generators", "discriminators"} <= changed
    classifier = gan.discriminators[0].classifier
    assert classifier is not None and classifier.out_features == 7


def test_bad_options_are_named() -> None:
    with pytest.raises(ConfigError, match="minibatch_std_group must be 0"):
        ConditionalGANModule(7, CODES, **TINY, minibatch_std_group=1)
    with pytest.raises(ConfigError, match="loss must be nonsaturating or hinge"):
        ConditionalGANModule(7, CODES, **TINY, loss="wasserstein")
    with pytest.raises(ConfigError, match="must be ≥ 0"):
        ConditionalGANModule(7, CODES, **TINY, mode_seeking=float("nan"))


def test_unconditional_pretraining_ignores_hidden_labels_and_starts_every_class_from_it(tmp_path: Path) -> None:
    torch.manual_seed(0)
    pretrain = ConditionalGANModule(7, CODES, **TINY, unconditional=True)
    images = tiny_images().images
    hidden = BatchDataset(images, torch.full((len(images),), -1), is_synthetic=False)
    trainer = L.Trainer(max_steps=2, logger=False, enable_progress_bar=False, enable_model_summary=False,
                        enable_checkpointing=False, default_root_dir=tmp_path)  # fmt: skip
    trainer.fit(pretrain, DataLoader(hidden, batch_size=7))  # label -1 would fail in an embedding if it were read
    path = tmp_path / "pretrained.ckpt"
    trainer.save_checkpoint(path)
    tuned = ConditionalGANModule(7, CODES, **TINY, init_checkpoint=str(path))
    g_embed = tuned.generators[0].embed.weight
    assert torch.equal(g_embed[0], pretrain.generators[0].embed.weight[0])
    assert torch.equal(g_embed[6], g_embed[0])  # every class starts from the one the pool trained
    d_embed = tuned.discriminators[0].embed.weight_orig
    assert torch.equal(d_embed[3], d_embed[0])
    decoder = "generators.0.decoder.project.0.weight"
    assert torch.equal(tuned.state_dict()[decoder], pretrain.state_dict()[decoder])
    with pytest.raises(ConfigError, match="does not fit this GAN"):
        ConditionalGANModule(7, CODES, **{**TINY, "base_channels": 16}, init_checkpoint=str(path))


def test_checkpoints_from_before_the_new_defaults_load_as_they_were_trained(tmp_path: Path) -> None:
    legacy = dict(ConditionalGANModule.LEGACY_DEFAULTS)
    old = ConditionalGANModule(7, CODES, **TINY, **legacy)
    trainer = fit(old, tmp_path, steps=1)
    path = tmp_path / "old.ckpt"
    trainer.save_checkpoint(path)
    saved = torch.load(path, map_location="cpu", weights_only=True)
    for key in legacy:  # as written by a version without these options
        del saved["hyper_parameters"][key]
    torch.save(saved, path)
    loaded = load_generator("gan", path, CODES, SIZE)
    assert loaded.hparams.upsample == "transpose" and loaded.hparams.minibatch_std_group == 0
    # a study resuming it with today's defaults is told which settings it was trained with
    hparams = saved["hyper_parameters"]
    tiny = {k: v for k, v in TINY.items() if k != "image_size"}
    with pytest.raises(ConfigError, match="upsample: checkpoint 'transpose', now 'nearest'"):
        check_checkpoint_options(path, saved_settings("gan", hparams), effective_options("gan", tiny))
    check_checkpoint_options(path, saved_settings("gan", hparams), effective_options("gan", {**tiny, **legacy}))
    labels = torch.tensor([0, 5])
    assert torch.equal(loaded.sample(labels, torch.Generator().manual_seed(0)),
                       old.sample(labels, torch.Generator().manual_seed(0)))  # fmt: skip


def within_class_diversity(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean pairwise pixel distance within each class (one value per class)."""
    return torch.stack([torch.pdist(images[labels == c].flatten(1)).mean() for c in labels.unique()])


def test_default_gan_keeps_within_class_diversity_where_the_plain_dcgan_collapses(toy_dir: Path) -> None:
    from skinsynth.data.datamodule import SkinLesionDataModule
    from skinsynth.data.sources import read_source

    records = read_source("ham10000", toy_dir)
    dm = SkinLesionDataModule(records=records, mode="fewshot", shots=8, image_size=SIZE, batch_size=28, seed=0,
                              augment="dihedral", normalize=False)  # fmt: skip
    dm.setup("fit")
    real = next(iter(DataLoader(dm.datasets["train"], batch_size=56)))
    real_diversity = within_class_diversity(real["image"], real["label"])
    ratios = {}
    for name, options in (("default", {}), ("plain", ConditionalGANModule.LEGACY_DEFAULTS)):
        L.seed_everything(0, verbose=False)
        gan = ConditionalGANModule(7, CODES, **TINY, **options)
        L.Trainer(max_steps=160, logger=False, enable_progress_bar=False, enable_model_summary=False,
                  enable_checkpointing=False).fit(gan, datamodule=dm)  # fmt: skip
        labels = torch.arange(7).repeat_interleave(8)
        fake = gan.sample(labels, torch.Generator().manual_seed(1))
        ratios[name] = within_class_diversity(fake, labels) / real_diversity
    assert (ratios["default"] >= 0.5).all(), ratios  # the criterion, in pixel space, every class
    assert ratios["plain"].mean() < 0.5 * ratios["default"].mean(), ratios
