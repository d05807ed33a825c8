"""Class-conditional DDPM: training steps, conditioning, guidance, samplers, EMA and checkpoints, bad input."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader

from skinsynth.callbacks.sample_grid import SampleGridCallback
from skinsynth.errors import ConfigError
from skinsynth.models.base import Generator
from skinsynth.models.ddpm.module import DDPMModule
from skinsynth.models.ddpm.networks import PRESETS, build_unet, resolve_preset
from skinsynth.models.ddpm.weights import ema_multi_avg_fn
from skinsynth.models.registry import load_generator, make_generator
from tests.helpers import BatchDataset

CODES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
SIZE = 8


def tiny_ddpm(**options: object) -> DDPMModule:
    torch.manual_seed(0)
    return DDPMModule(num_classes=7, class_codes=CODES, image_size=SIZE, preset="tiny", warmup_steps=1, **options)


def tiny_images(n: int = 14) -> BatchDataset:
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 7
    images = torch.rand(n, 3, SIZE, SIZE, generator=generator) * 0.3 + labels.view(-1, 1, 1, 1) / 10
    return BatchDataset(images, labels, is_synthetic=True)


def trainer(tmp_path: Path, steps: int, **options: object) -> L.Trainer:
    return L.Trainer(
        max_steps=steps, logger=False, enable_progress_bar=False, enable_model_summary=False,
        default_root_dir=tmp_path, **options,
    )  # fmt: skip


def loader() -> DataLoader:
    return DataLoader(tiny_images(), batch_size=7)


def seeds(*values: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(v) for v in values]


def test_two_training_steps_have_finite_loss_and_update_only_the_raw_unet(tmp_path: Path) -> None:
    model = tiny_ddpm()
    raw_before = [p.detach().clone() for p in model.unet.parameters()]
    losses: list[float] = []

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
            losses.append(float(outputs["loss"]))

    trainer(tmp_path, 2, callbacks=[Record()], enable_checkpointing=False).fit(model, loader())
    assert len(losses) == 2 and all(torch.isfinite(torch.tensor(losses)))
    assert all(not torch.equal(a, b) for a, b in zip(raw_before, model.unet.parameters(), strict=True))
    optimized = {id(p) for group in model.trainer.optimizers[0].param_groups for p in group["params"]}
    assert optimized == {id(p) for p in model.unet.parameters()}  # never the EMA copy
    assert int(model.ema.n_averaged) == 2
    assert all(not p.requires_grad for p in model.ema.parameters())
    assert isinstance(model, Generator)


def test_ema_update_follows_the_warmed_up_decay() -> None:
    averaged, current = [torch.zeros(3)], [torch.ones(3)]
    ema_multi_avg_fn(0.999)(averaged, current, torch.tensor(1))  # d = min(0.999, 2 / 11)
    assert torch.allclose(averaged[0], torch.full((3,), 1 - 2 / 11))
    averaged = [torch.zeros(3)]
    ema_multi_avg_fn(0.5)(averaged, current, torch.tensor(1000))  # warm-up over: d = 0.5
    assert torch.allclose(averaged[0], torch.full((3,), 0.5))


def test_class_conditioning_changes_the_prediction_and_the_samples() -> None:
    model = tiny_ddpm()
    x, t = torch.randn(1, 3, SIZE, SIZE), torch.tensor([500])
    with torch.no_grad():
        first = model.unet(x, t, class_labels=torch.tensor([0])).sample
        second = model.unet(x, t, class_labels=torch.tensor([4])).sample
    assert not torch.allclose(first, second)
    images = model.sample(torch.tensor([0, 4]), seeds(3, 3), steps=3)
    assert not torch.allclose(images[0], images[1])


def test_guidance_scale_one_is_the_conditional_prediction_and_others_extrapolate() -> None:
    model = tiny_ddpm()
    unet = model.unet.eval()
    x, t, labels = torch.randn(2, 3, SIZE, SIZE), torch.tensor(700), torch.tensor([1, 5])
    with torch.no_grad():
        conditional = unet(x, t, class_labels=labels).sample
        unconditional = unet(x, t, class_labels=torch.full_like(labels, 7)).sample
        assert torch.equal(model.predict_noise(unet, x, t, labels, 1.0), conditional)
        guided = model.predict_noise(unet, x, t, labels, 3.0)
    assert torch.allclose(guided, unconditional + 3.0 * (conditional - unconditional), atol=1e-5)
    assert not torch.allclose(guided, conditional)


@pytest.mark.parametrize(("sampler", "eta"), [("ddim", 0.0), ("ddim", 1.0), ("ddpm", 0.0), ("dpm", 0.0)])
def test_sampling_is_deterministic_per_seed_and_independent_of_the_batch(sampler: str, eta: float) -> None:
    model = tiny_ddpm(eta=eta)
    labels = torch.tensor([0, 3, 6])
    first = model.sample(labels, seeds(1, 2, 3), sampler=sampler, steps=4)
    again = model.sample(labels, seeds(1, 2, 3), sampler=sampler, steps=4)
    alone = model.sample(labels[1:2], seeds(2), sampler=sampler, steps=4)
    assert first.shape == (3, 3, SIZE, SIZE) and first.dtype == torch.float32
    assert first.min() >= 0 and first.max() <= 1
    assert torch.equal(first, again)
    assert torch.equal(model.sample(labels, tuple(seeds(1, 2, 3)), sampler=sampler, steps=4), first)
    # a sample depends on its own seed only (up to float summation order, which depends on the batch and threads)
    assert torch.allclose(first[1], alone[0], atol=1e-4)
    other = model.sample(labels, seeds(4, 5, 6), sampler=sampler, steps=4)
    assert not torch.allclose(first, other)


def test_ddim_eta_adds_noise_drawn_from_the_sample_seeds() -> None:
    model = tiny_ddpm()
    labels = torch.tensor([1, 4])
    deterministic = model.sample(labels, seeds(1, 2), sampler="ddim", steps=4)
    ancestral = model.sample(labels, seeds(1, 2), sampler="ddim", steps=4, eta=1.0)
    assert not torch.allclose(deterministic, ancestral)
    assert torch.equal(model.sample(labels, seeds(1, 2), sampler="ddim", steps=4, eta=0.0), deterministic)
    # the same initial noise and per-step noise give the same image whether η comes from the call or the model
    assert torch.equal(tiny_ddpm(eta=1.0).sample(labels, seeds(1, 2), sampler="ddim", steps=4), ancestral)


def test_ema_and_raw_weights_survive_a_checkpoint_and_resume(tmp_path: Path) -> None:
    model = tiny_ddpm()
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, save_top_k=0)
    trainer(tmp_path, 2, callbacks=[checkpoint]).fit(model, loader())
    path = tmp_path / "ckpt" / "last.ckpt"
    loaded = load_generator("ddpm", path, CODES, SIZE)
    for name, value in model.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[name]), name
    ema = dict(model.ema.module.named_parameters())
    assert any(not torch.equal(p, ema[n]) for n, p in model.unet.named_parameters())  # the copies differ
    assert torch.equal(
        loaded.sample(torch.tensor([2]), seeds(0), steps=3), model.sample(torch.tensor([2]), seeds(0), steps=3)
    )

    # its sampling options may change on loading, and sample as if passed to sample(); the rest may not
    guided = load_generator("ddpm", path, CODES, SIZE, sampling={"guidance_scale": 3.0})
    assert guided.hparams.guidance_scale == 3.0 and guided.hparams.lr == model.hparams.lr
    assert torch.equal(
        guided.sample(torch.tensor([2]), seeds(0), steps=3),
        model.sample(torch.tensor([2]), seeds(0), steps=3, guidance_scale=3.0),
    )
    with pytest.raises(ConfigError, match="cannot change lr of a trained checkpoint"):
        load_generator("ddpm", path, CODES, SIZE, sampling={"lr": 0.1})

    resumed = tiny_ddpm()
    raw_at_resume: dict[str, torch.Tensor] = {}

    class Capture(L.Callback):
        def on_train_start(self, trainer, module) -> None:
            raw_at_resume.update({n: p.detach().clone() for n, p in module.unet.named_parameters()})

    trainer(tmp_path, 3, callbacks=[Capture()], enable_checkpointing=False).fit(resumed, loader(), ckpt_path=path)
    assert all(torch.equal(raw_at_resume[n], p) for n, p in model.unet.named_parameters())  # raw, not EMA, resumes
    assert int(resumed.ema.n_averaged) == 3 and resumed.global_step == 3


def test_bf16_autocast_trains_and_samples(tmp_path: Path) -> None:
    model = tiny_ddpm()
    losses: list[float] = []

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
            losses.append(float(outputs["loss"]))

    fit = trainer(tmp_path, 1, precision="bf16-mixed", callbacks=[Record()], enable_checkpointing=False)
    fit.fit(model, loader())
    assert len(losses) == 1 and torch.isfinite(torch.tensor(losses[0]))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        images = model.sample(torch.tensor([0, 1]), seeds(0, 1), steps=2)
    assert images.dtype == torch.float32 and images.min() >= 0 and images.max() <= 1


def test_min_snr_weights_match_the_formula() -> None:
    model = tiny_ddpm(min_snr_gamma=5.0)
    t = torch.tensor([10, 500, 990])
    alphas = model.noise_scheduler.alphas_cumprod[t]
    snr = alphas / (1 - alphas)
    expected = torch.minimum(snr, torch.tensor(5.0)) / snr
    assert torch.allclose(model.loss_weights(t), expected)
    assert expected[0] < 1 and expected[2] == 1  # low-noise steps are down-weighted, high-noise ones kept
    v_model = tiny_ddpm(min_snr_gamma=5.0, prediction_type="v_prediction")
    assert torch.allclose(v_model.loss_weights(t), torch.minimum(snr, torch.tensor(5.0)) / (snr + 1))
    assert torch.equal(tiny_ddpm().loss_weights(t), torch.ones(3))


@pytest.mark.parametrize("options", [{"prediction_type": "v_prediction", "beta_schedule": "cosine"}, {"ema_decay": 0}])
def test_variants_train_and_sample(tmp_path: Path, options: dict) -> None:
    model = tiny_ddpm(**options)
    trainer(tmp_path, 1, enable_checkpointing=False).fit(model, loader())
    assert model.sample(torch.tensor([6]), seeds(0), steps=2).shape == (1, 3, SIZE, SIZE)


def test_preview_grids_use_a_short_sampler_and_the_last_grid_the_full_one(tmp_path: Path, monkeypatch) -> None:
    model = tiny_ddpm(sampling_steps=30)
    calls: list[dict] = []
    original = DDPMModule.sample

    def spy(self, labels, generator=None, **options):
        calls.append(options)
        return original(self, labels, generator, **{**options, "steps": 1})

    monkeypatch.setattr(DDPMModule, "sample", spy)
    grids = SampleGridCallback(tmp_path / "grids", CODES, every_n_epochs=1, per_class=1)
    L.Trainer(max_epochs=2, logger=False, enable_progress_bar=False, enable_model_summary=False,
              enable_checkpointing=False, limit_train_batches=1, callbacks=[grids]).fit(model, loader())  # fmt: skip
    assert calls == [{"sampler": "ddim", "steps": 20}, {}]
    assert [p.name for p in grids.saved] == ["samples_epoch0001.png", "samples_epoch0002.png"]


def test_bad_input_gets_specific_errors() -> None:
    model = tiny_ddpm()
    with pytest.raises(ValueError, match=r"class labels \[7\] are outside the vocabulary \(0..6\)"):
        model.sample(torch.tensor([0, 7]))
    with pytest.raises(ConfigError, match="label_dropout=0; sample with guidance_scale=1"):
        tiny_ddpm(label_dropout=0.0)  # the default guidance scale 2 needs the null class
    no_null = tiny_ddpm(label_dropout=0.0, guidance_scale=1.0)
    with pytest.raises(ConfigError, match="guidance scale 0.5 needs the null class"):
        no_null.sample(torch.tensor([0]), guidance_scale=0.5)
    with pytest.raises(ConfigError, match="unknown sampler 'euler'; choose one of ddpm, ddim, dpm"):
        model.sample(torch.tensor([0]), sampler="euler")
    with pytest.raises(ConfigError, match=r"DDIM eta must be in \[0, 1\] \(0 deterministic, 1 ancestral\), got 2"):
        model.sample(torch.tensor([0]), eta=2)
    with pytest.raises(ConfigError, match=r"DDIM eta must be in \[0, 1\]"):
        tiny_ddpm(eta=-0.5)
    with pytest.raises(ConfigError, match=r"sampling steps must be in 1..1000, got 5000"):
        model.sample(torch.tensor([0]), steps=5000)
    with pytest.raises(ConfigError, match=r"image size 30 px .* multiple of 4 \(e.g. 16, 32, 48, 64"):
        DDPMModule(image_size=30, preset="small")
    with pytest.raises(ConfigError, match="unknown U-Net preset 'huge'; choose one of tiny, small, base"):
        DDPMModule(preset="huge")
    with pytest.raises(ConfigError, match=r"channels \[12\] are not divisible by norm_num_groups=8"):
        resolve_preset("small", block_out_channels=[16, 12, 32])


def test_presets_build_the_documented_unets() -> None:
    small = build_unet(64, 8, resolve_preset("small"))
    assert small.config.block_out_channels == PRESETS["small"].block_out_channels
    # attention where the feature map is 16 or 8 px: at 64 px that is the third level only
    assert small.config.down_block_types == ("DownBlock2D", "DownBlock2D", "AttnDownBlock2D")
    assert small.class_embedding.num_embeddings == 8
    model = make_generator("ddpm", class_codes=CODES, image_size=SIZE, preset="tiny", label_dropout=0.0,
                           guidance_scale=1.0)  # fmt: skip
    assert model.unet.class_embedding.num_embeddings == 7 and model.null_class is None
    assert tiny_ddpm().unet.class_embedding.num_embeddings == 8 and tiny_ddpm().null_class == 7


def test_unconditional_pretraining_never_reads_labels(tmp_path: Path) -> None:
    model = tiny_ddpm(unconditional=True)
    seen: list[torch.Tensor] = []
    forward = model.unet.forward

    def spy(sample, timestep, class_labels=None, **kwargs):
        seen.append(class_labels.clone())
        return forward(sample, timestep, class_labels=class_labels, **kwargs)

    model.unet.forward = spy
    trainer(tmp_path, 2).fit(model, loader())
    assert seen and all((labels == 7).all() for labels in seen)  # 7 classes: index 7 is the null class
    images = model.sample(torch.tensor([0, 3]), seeds(1, 2), steps=2)
    assert images.shape == (2, 3, SIZE, SIZE) and (images >= 0).all() and (images <= 1).all()
    with pytest.raises(ConfigError, match="needs label_dropout > 0"):
        tiny_ddpm(unconditional=True, label_dropout=0.0)


def test_fine_tuning_starts_from_the_pretrained_weights_with_class_rows_at_the_null_row(tmp_path: Path) -> None:
    pretrained = tiny_ddpm(unconditional=True, ema_decay=0.0)
    run = trainer(tmp_path, 2, callbacks=[ModelCheckpoint(dirpath=tmp_path / "pre", filename="last")])
    run.fit(pretrained, loader())
    path = tmp_path / "pre" / "last.ckpt"
    model = tiny_ddpm(init_checkpoint=str(path))
    own, source = model.unet.state_dict(), pretrained.unet.state_dict()
    assert all(torch.equal(own[k], source[k]) for k in own if k != "class_embedding.weight")
    table = model.unet.class_embedding.weight
    assert torch.equal(table[:7], table[7].expand(7, -1))
    with pytest.raises(ConfigError, match="does not fit this U-Net"):
        DDPMModule(num_classes=7, image_size=SIZE, preset="tiny", block_out_channels=(4, 8), init_checkpoint=str(path))
    with pytest.raises(ConfigError, match="is not a file"):
        tiny_ddpm(init_checkpoint=str(tmp_path / "missing.ckpt"))


def test_lora_fine_tuning_trains_only_adapters_and_class_embeddings(tmp_path: Path) -> None:
    model = tiny_ddpm(finetune="lora", lora_rank=2, ema_decay=0.0)
    trainable = {n for n, p in model.unet.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("class_embedding.") for n in trainable)
    assert any(".to_q.lora_A" in n for n in trainable) and any("conv1.lora_A" in n for n in trainable)
    before = {n: p.detach().clone() for n, p in model.unet.named_parameters()}
    trainer(tmp_path, 2).fit(model, loader())
    changed = {n for n, p in model.unet.named_parameters() if not torch.equal(before[n], p)}
    assert changed and changed <= trainable
    assert model.sample(torch.tensor([1]), seeds(0), steps=2).shape == (1, 3, SIZE, SIZE)


def test_class_embeddings_train_at_their_own_learning_rate(tmp_path: Path) -> None:
    # AdamW's first step moves every weight with a gradient by its group's rate (m̂ / √v̂ = ±1), warm-up and decay off
    model = tiny_ddpm(lr=1e-4, class_embedding_lr=3e-3, ema_decay=0.0, grad_clip=0.0)
    before = {n: p.detach().clone() for n, p in model.unet.named_parameters()}
    trainer(tmp_path, 1).fit(model, loader())
    moved = {n: float((p.detach() - before[n]).abs().max()) for n, p in model.unet.named_parameters()}
    assert moved["class_embedding.weight"] == pytest.approx(3e-3, rel=1e-3)
    others = [v for n, v in moved.items() if not n.startswith("class_embedding.")]
    assert max(others) == pytest.approx(1e-4, rel=1e-3)
    groups = model.configure_optimizers()["optimizer"].param_groups
    assert [g["lr"] for g in groups] == [1e-4, 3e-3]
    assert sum(len(g["params"]) for g in groups) == len(list(model.unet.parameters()))
    with pytest.raises(ConfigError, match="class_embedding_lr"):
        tiny_ddpm(class_embedding_lr=0.0)
