"""Stable Diffusion + LoRA generator on a tiny Stable Diffusion written to disk and loaded by path."""

from __future__ import annotations

import shutil
from pathlib import Path

import lightning as L
import pandas as pd
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader

from skinsynth.errors import ConfigError, DataError
from skinsynth.models.base import Generator
from skinsynth.models.ldm_lora.adapters import (
    base_reference,
    check_two_phase_strategy,
    is_trainable,
    restore_frozen_weights,
)
from skinsynth.models.ldm_lora.module import LDMLoRAModule
from skinsynth.models.ldm_lora.prompts import batch_prompts, build_captions, class_names, class_prompts
from skinsynth.models.ldm_lora.tiny import write_tiny_stable_diffusion
from skinsynth.models.registry import load_generator
from tests.helpers import BatchDataset

CODES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
SIZE = 32


def ldm(base: Path, **options: object) -> LDMLoRAModule:
    torch.manual_seed(0)
    return LDMLoRAModule(num_classes=7, class_codes=CODES, image_size=SIZE, pretrained_model=str(base),
                         sampling_steps=2, **options)  # fmt: skip


def loader(n: int = 7) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(n, 3, SIZE, SIZE, generator=generator)
    return DataLoader(BatchDataset(images, torch.arange(n) % 7), batch_size=7)


def fit(model: LDMLoRAModule, tmp_path: Path, steps: int = 1, **options: object) -> L.Trainer:
    options = {"enable_checkpointing": False, **options}
    trainer = L.Trainer(max_steps=steps, logger=False, enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=tmp_path, **options)  # fmt: skip
    trainer.fit(model, loader())
    return trainer


def seeds(*values: int) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(v) for v in values]


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_adapters_are_the_only_trainable_parameters_and_a_step_changes_only_them(
    tiny_sd_dir: Path, tmp_path: Path
) -> None:
    model = ldm(tiny_sd_dir, text_encoder_lora=True, class_tokens=True,
                prompt_template="a dermoscopic image of {token}")  # fmt: skip
    assert isinstance(model, Generator)
    trainable = set(model.trainable_names())
    assert trainable and all("lora_" in n or n.endswith("token_embedding.new") for n in trainable)
    assert any(n.startswith("unet.") for n in trainable) and any(n.startswith("text_encoder.") for n in trainable)
    assert {n for n, p in model.named_parameters() if p.requires_grad} == trainable
    before = snapshot(model)
    trainer = fit(model, tmp_path)
    optimized = {id(p) for group in trainer.optimizers[0].param_groups for p in group["params"]}
    assert optimized == {id(p) for p in model.trainable_parameters()}
    after = snapshot(model)
    changed = {n for n in before if not torch.equal(before[n], after[n])}
    assert changed == trainable  # every adapter tensor moved, nothing frozen did
    unet_total = sum(p.numel() for n, p in model.named_parameters() if n.startswith("unet.") and "lora_" not in n)
    unet_lora = sum(p.numel() for n, p in model.named_parameters() if n.startswith("unet.") and "lora_" in n)
    assert 0 < unet_lora < unet_total / 5


def test_adapter_checkpoint_holds_only_adapters_and_reproduces_samples(tiny_sd_dir: Path, tmp_path: Path) -> None:
    model = ldm(tiny_sd_dir, class_tokens=True, prompt_template="{token} lesion")
    fit(model, tmp_path, callbacks=[ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, save_top_k=0)],
        enable_checkpointing=True)  # fmt: skip
    path = tmp_path / "ckpt" / "last.ckpt"
    saved = torch.load(path, map_location="cpu", weights_only=True)
    assert set(saved["state_dict"]) == set(model.trainable_names())
    assert saved["base_model"]["pretrained_model"] == str(tiny_sd_dir)
    labels = torch.tensor([0, 4, 6])
    expected = model.sample(labels, seeds(1, 2, 3))
    loaded = load_generator("ldm-lora", path, CODES, SIZE)
    assert torch.equal(loaded.sample(labels, seeds(1, 2, 3)), expected)  # bit for bit
    assert expected.shape == (3, 3, SIZE, SIZE) and expected.min() >= 0 and expected.max() <= 1
    assert torch.allclose(loaded.sample(labels[1:2], seeds(2))[0], expected[1], atol=1e-5)  # per-sample seeds
    moved = shutil.copytree(tiny_sd_dir, tmp_path / "moved-sd")  # the base model may move: its fingerprint counts
    relocated = load_generator("ldm-lora", path, CODES, SIZE, {"pretrained_model": str(moved)})
    assert relocated.hparams.pretrained_model == str(moved)
    assert torch.equal(relocated.sample(labels, seeds(1, 2, 3)), expected)


def test_an_adapter_for_another_base_model_is_refused(tiny_sd_dir: Path, tmp_path: Path) -> None:
    model = ldm(tiny_sd_dir)
    fit(model, tmp_path, callbacks=[ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True, save_top_k=0)],
        enable_checkpointing=True)  # fmt: skip
    other = write_tiny_stable_diffusion(tmp_path / "other-sd", sample_size=8, seed=1)
    with pytest.raises(DataError, match="trained on base model .* fingerprint"):
        LDMLoRAModule.load_from_checkpoint(tmp_path / "ckpt" / "last.ckpt", weights_only=True,
                                           pretrained_model=str(other))  # fmt: skip


def test_fresh_adapters_change_the_output_only_when_initialized_non_zero(tiny_sd_dir: Path) -> None:
    latents, t = torch.randn(1, 4, 16, 16), torch.tensor([500])
    hidden = torch.randn(1, 77, 32)
    outputs = {}
    for init in (True, False):
        unet = ldm(tiny_sd_dir, init_lora_weights=init).unet
        with torch.no_grad():
            adapted = unet(latents, t, encoder_hidden_states=hidden).sample
            unet.disable_adapters()
            base = unet(latents, t, encoder_hidden_states=hidden).sample
        outputs[init] = torch.equal(adapted, base)
    assert outputs == {True: True, False: False}


def test_class_tokens_are_added_and_learned(tiny_sd_dir: Path, tmp_path: Path) -> None:
    model = ldm(tiny_sd_dir, class_tokens=True, prompt_template="a dermoscopic image of {token}")
    assert model.prompts[4] == "a dermoscopic image of <mel>"
    token_id = model.tokenizer.convert_tokens_to_ids("<mel>")
    assert token_id >= model.text_encoder.get_input_embeddings().first_new
    assert token_id in model.tokenizer(model.prompts[4]).input_ids  # one token, not split into characters
    embedding = model.text_encoder.get_input_embeddings()
    base_before, new_before = embedding.weight.detach().clone(), embedding.new.detach().clone()
    fit(model, tmp_path)
    assert not torch.equal(embedding.new, new_before) and torch.equal(embedding.weight, base_before)
    with pytest.raises(ConfigError, match=r"no \{token\} placeholder"):
        ldm(tiny_sd_dir, class_tokens=True)


def test_two_phase_schedule_trains_the_text_encoder_only_from_its_start_step(tiny_sd_dir: Path, tmp_path: Path) -> None:
    model = ldm(tiny_sd_dir, text_encoder_lora=True, text_encoder_start_step=1)
    text = {n for n in model.trainable_names() if n.startswith("text_encoder.")}
    history: list[dict[str, torch.Tensor]] = [snapshot(model)]

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
            history.append(snapshot(module))

    fit(model, tmp_path, steps=2, callbacks=[Record()])
    first = {n for n in text if not torch.equal(history[0][n], history[1][n])}
    second = {n for n in text if not torch.equal(history[1][n], history[2][n])}
    assert first == set() and second == text
    # on several processes the idle adapters need DDP's unused-parameter search, which the study then merges
    assert model.trainer_arguments(2, "32-true") == {"strategy": "ddp_find_unused_parameters_true"}
    assert model.trainer_arguments(1, "32-true") == {} and ldm(tiny_sd_dir).trainer_arguments(2, "32-true") == {}


def test_frozen_weights_in_bf16_keep_trainable_tensors_in_fp32(tiny_sd_dir: Path, tmp_path: Path) -> None:
    model = ldm(tiny_sd_dir, base_dtype="bfloat16", text_encoder_lora=True)
    trainable = set(model.trainable_names())

    def dtypes() -> tuple[set, set]:
        frozen = {p.dtype for n, p in model.named_parameters() if n not in trainable}
        return {p.dtype for p in model.trainable_parameters()}, frozen

    assert dtypes() == ({torch.float32}, {torch.bfloat16})
    losses: list[float] = []

    class Record(L.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
            losses.append(float(outputs["loss"]))

    fit(model, tmp_path, precision="bf16-mixed", callbacks=[Record()])
    assert dtypes() == ({torch.float32}, {torch.bfloat16})
    assert len(losses) == 1 and torch.isfinite(torch.tensor(losses[0]))
    with pytest.raises(ConfigError, match="precision 'bf16-true' would cast the LoRA adapters"):
        fit(ldm(tiny_sd_dir), tmp_path, precision="bf16-true")
    with pytest.raises(ConfigError, match="precision '16-true' would cast"):  # the study asks before building a Trainer
        model.trainer_arguments(1, "16-true")


def test_structured_captions_from_metadata_and_an_attributes_csv(tmp_path: Path) -> None:
    prompts = class_prompts("a dermoscopic image of {class_name}", ["mel", "nv"], ["melanoma", "nevus"], False)
    records = pd.DataFrame({
        "image_id": ["a", "b"], "label": [0, 1], "localization": ["back", None], "age": [45.0, 60.0],
        "sex": ["male", "female"],
    })  # fmt: skip
    attributes = pd.DataFrame({"image_id": ["b"], "colour": ["brown"]}).set_index("image_id")
    captions = build_captions(records, prompts, "{prompt}, {localization}, {age} year old {sex}, {colour}", attributes)
    assert captions == [
        "a dermoscopic image of melanoma, back, 45 year old male, unknown",
        "a dermoscopic image of nevus, unknown, 60 year old female, brown",
    ]
    with pytest.raises(ConfigError, match=r"unknown placeholder\(s\) \['\{skin_tone\}'\]; available: \{prompt\}"):
        build_captions(records, prompts, "{prompt} {skin_tone}")


def test_training_uses_structured_captions_by_batch_index(tiny_sd_dir: Path, tmp_path: Path) -> None:
    from skinsynth.classes import HAM10000
    from skinsynth.data.records import LesionRecords

    csv = tmp_path / "attributes.csv"
    csv.write_text("image_id,border\n" + "".join(f"i{k},{'irregular' if k % 2 else 'regular'}\n" for k in range(7)))
    model = ldm(tiny_sd_dir, caption_template="{prompt}, {border} border", attributes_csv=str(csv))
    frame = pd.DataFrame({"image_id": [f"i{k}" for k in range(7)], "label": list(range(7))})
    records = LesionRecords.build(
        image_ids=list(frame.image_id), paths=[f"/x/{i}.jpg" for i in frame.image_id], codes=CODES,
        groups=list(frame.image_id), vocabulary=HAM10000, source="memory",
    )  # fmt: skip
    model.set_training_records(records)
    assert batch_prompts(model.prompts, model.captions, torch.tensor([3, 4]), torch.tensor([3, 4])) == [
        "a dermoscopic image of dermatofibroma, irregular border",
        "a dermoscopic image of melanoma, regular border",
    ]
    encoded: list[list[str]] = []
    original = model.encode_prompts
    model.encode_prompts = lambda prompts: encoded.append(list(prompts)) or original(prompts)
    fit(model, tmp_path)
    assert encoded == [[f"{model.prompts[k]}, {'irregular' if k % 2 else 'regular'} border" for k in range(7)]]


def test_bad_input_gets_specific_errors(tiny_sd_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_sd_dir, broken)
    (broken / "unet" / "config.json").unlink()
    shutil.rmtree(broken / "tokenizer")
    with pytest.raises(DataError, match=r"missing: unet/config.json, tokenizer/tokenizer.json .*model_index.json"):
        ldm(broken)
    with pytest.raises(ConfigError, match="needs a base model: set `pretrained_model`"):
        LDMLoRAModule(pretrained_model="")
    with pytest.raises(ConfigError, match=r"unknown placeholder\(s\) \['\{diagnosis\}'\]"):
        ldm(tiny_sd_dir, prompt_template="a photo of {diagnosis}")
    with pytest.raises(ConfigError, match="resolution 30 px does not fit .* multiple of 4"):
        ldm(tiny_sd_dir, resolution=30)
    model = ldm(tiny_sd_dir)
    with pytest.raises(ValueError, match=r"class labels \[9\] are outside the vocabulary"):
        model.sample(torch.tensor([9]))
    with pytest.raises(ConfigError, match="2 class names for 7 classes"):
        ldm(tiny_sd_dir, class_names=["nevus", "melanoma"])
    with pytest.raises(ConfigError, match="base_dtype must be one of float32, bfloat16, float16, got 'int8'"):
        LDMLoRAModule(pretrained_model=str(tiny_sd_dir), base_dtype="int8")
    with pytest.raises(DataError, match="structured captions need the datamodule's 'index' key"):
        batch_prompts(["p0", "p1"], ["caption 0", "caption 1"], None, [0, 1])


def test_an_adapter_checkpoint_lacking_tensors_is_refused_and_a_full_one_gets_the_frozen_weights() -> None:
    full = {"unet.conv.weight": torch.zeros(1), "unet.attn.lora_A.weight": torch.ones(1),
            "text.token_embedding.new": torch.ones(2)}  # fmt: skip
    reference = base_reference("sd", "abc")
    trainable = [name for name in full if is_trainable(name)]
    assert trainable == ["unet.attn.lora_A.weight", "text.token_embedding.new"]
    partial = {"base_model": reference, "state_dict": {"unet.attn.lora_A.weight": torch.ones(1)}}
    with pytest.raises(DataError, match=r"lacks 1 adapter tensor\(s\), e.g. \['text.token_embedding.new'\]"):
        restore_frozen_weights(partial, full, trainable, "sd", "abc")
    complete = {"base_model": reference, "state_dict": {k: v + 1 for k, v in full.items() if is_trainable(k)}}
    restore_frozen_weights(complete, full, trainable, "sd", "abc")
    assert set(complete["state_dict"]) == set(full)
    assert complete["state_dict"]["unet.conv.weight"].item() == 0.0  # frozen: the base model's own
    assert complete["state_dict"]["unet.attn.lora_A.weight"].item() == 2.0  # trained: the checkpoint's


def test_the_two_phase_schedule_on_several_processes_needs_ddp_that_finds_unused_parameters() -> None:
    check_two_phase_strategy(1, None)  # one process: nothing to reject
    check_two_phase_strategy(2, {"find_unused_parameters": True})
    with pytest.raises(ConfigError, match="use strategy 'ddp_find_unused_parameters_true'"):
        check_two_phase_strategy(2, {})


def test_class_names_default_to_the_vocabulary_and_unknown_codes_name_themselves() -> None:
    assert class_names(["mel", "xyz"]) == ["melanoma", "xyz"]
    assert class_names(["mel"], ["black lesion"]) == ["black lesion"]
