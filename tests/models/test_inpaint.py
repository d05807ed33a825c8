"""The inpainting generator: lesion masks, RePaint keeping the context, a tiny model painting into toy images."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from PIL import Image

from skinsynth.data.sources import read_source
from skinsynth.errors import ConfigError, DataError
from skinsynth.models.inpaint.masks import ellipse_mask, lesion_mask, mask_path, otsu_lesion_mask, read_mask_file
from skinsynth.models.inpaint.module import InpaintModule
from skinsynth.models.registry import load_generator

CODES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]


def skin_with_disc(
    size: int = 64, centre: tuple[int, int] = (30, 36), radius: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """A skin-coloured image with a dark brown disc, and the disc's true mask."""
    rows, cols = np.mgrid[:size, :size]
    disc = (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2
    image = np.empty((size, size, 3), dtype=np.uint8)
    image[:] = (224, 182, 160)
    image[disc] = (96, 60, 40)
    noise = np.random.default_rng(0).integers(-6, 7, image.shape)
    return np.clip(image.astype(int) + noise, 0, 255).astype(np.uint8), disc


def test_the_segmenter_finds_a_dark_lesion_on_skin_and_nothing_on_flat_skin() -> None:
    image, disc = skin_with_disc()
    mask = otsu_lesion_mask(image, margin=0)
    assert mask is not None and mask.shape == disc.shape and mask.dtype == bool
    iou = (mask & disc).sum() / (mask | disc).sum()
    assert iou > 0.85
    wider = otsu_lesion_mask(image, margin=0.05)  # the margin grows the mask around the lesion
    assert wider is not None and wider.sum() > mask.sum() and (wider | mask).sum() == wider.sum()
    flat = np.full((32, 32, 3), 200, dtype=np.uint8)
    assert otsu_lesion_mask(flat) is None
    fallback, kind = lesion_mask(flat, "otsu", np.random.default_rng(0))
    assert kind == "ellipse-fallback" and 0 < fallback.mean() < 0.5


def test_ellipse_masks_are_seeded_and_inside_the_image() -> None:
    a = ellipse_mask(32, np.random.default_rng(4))
    b = ellipse_mask(32, np.random.default_rng(4))
    c = ellipse_mask(32, np.random.default_rng(5))
    assert a.shape == (32, 32) and np.array_equal(a, b) and not np.array_equal(a, c)
    # radii between 0.15 and 0.35 of the side: the area lies between pi * 0.15^2 and pi * 0.35^2 of the image
    for seed in range(20):
        area = ellipse_mask(64, np.random.default_rng(seed)).mean()
        assert np.pi * 0.15**2 * 0.8 < area < np.pi * 0.35**2 * 1.05


def test_mask_files_follow_the_isic_layout_and_bad_ones_are_named(tmp_path: Path) -> None:
    big = np.zeros((40, 40), dtype=np.uint8)
    big[10:30, 5:25] = 255
    path = mask_path(tmp_path, "ISIC_0000001")
    assert path.name == "ISIC_0000001_segmentation.png"
    Image.fromarray(big).save(path)
    mask = read_mask_file(path, 20)
    assert mask.shape == (20, 20) and mask[5:15, 3:12].all() and not mask[:4].any() and mask.sum() == 100
    with pytest.raises(DataError, match="ISIC_0000002_segmentation.png.*mask_mode 'otsu'"):
        read_mask_file(mask_path(tmp_path, "ISIC_0000002"), 20)
    Image.fromarray(np.zeros((8, 8), dtype=np.uint8)).save(tmp_path / "empty_segmentation.png")
    with pytest.raises(DataError, match="empty_segmentation.png' has no lesion pixel"):
        read_mask_file(tmp_path / "empty_segmentation.png", 8)
    (tmp_path / "broken_segmentation.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match="cannot read the lesion mask"):
        read_mask_file(tmp_path / "broken_segmentation.png", 8)


def tiny_inpainter(**options: object) -> InpaintModule:
    settings = {"preset": "tiny", "num_train_timesteps": 100, "inpaint_steps": 5, "jump_length": 2,
                "jump_n_sample": 2, "warmup_steps": 1} | options  # fmt: skip
    return InpaintModule(num_classes=7, class_codes=CODES, image_size=16, **settings)


def test_only_the_masked_region_changes_and_samples_are_seeded(toy_dir: Path) -> None:
    model = tiny_inpainter()
    model.set_training_records(read_source("ham10000", toy_dir))
    labels = torch.tensor([0, 3, 6, 4])
    images = model.sample(labels, [torch.Generator().manual_seed(i) for i in range(4)])
    assert images.shape == (4, 3, 16, 16) and images.min() >= 0 and images.max() <= 1
    draw = model.last_draw
    assert draw.context.shape == (4, 3, 16, 16) and draw.masks.shape == (4, 1, 16, 16)
    assert set(draw.mask_kinds) <= {"otsu", "ellipse-fallback"} and (draw.masks.mean((1, 2, 3)) > 0).all()
    outside, inside = draw.masks == 0, draw.masks == 1
    difference = (images - draw.context).abs()
    assert difference.masked_select(outside.expand_as(images)).max() < 1e-5  # the real context, unchanged
    assert difference.masked_select(inside.expand_as(images)).mean() > 0.05  # a new lesion painted in
    again = model.sample(labels, [torch.Generator().manual_seed(i) for i in range(4)])
    alone = model.sample(labels[2:3], [torch.Generator().manual_seed(2)])  # a sample depends on its own seed only
    assert torch.equal(images, again) and torch.allclose(alone[0], images[2], atol=1e-5)
    assert model.last_draw.context_ids == [draw.context_ids[2]]


def test_user_masks_and_ellipses_decide_the_painted_region(toy_dir: Path, tmp_path: Path) -> None:
    records = read_source("ham10000", toy_dir)
    masks = tmp_path / "masks"
    masks.mkdir()
    square = np.zeros((16, 16), dtype=np.uint8)
    square[4:12, 2:10] = 255
    for image_id in records.frame["image_id"]:
        Image.fromarray(square).save(mask_path(masks, image_id))
    model = tiny_inpainter(mask_mode="files", mask_dir=str(masks))
    model.set_training_records(records)
    images = model.sample(torch.tensor([1, 5]), torch.Generator().manual_seed(0))
    draw = model.last_draw
    assert draw.mask_kinds == ["file", "file"] and torch.equal(
        draw.masks[:, 0], torch.from_numpy(square > 127).float()[None].expand(2, -1, -1)
    )
    assert (images - draw.context).abs()[:, :, :4].max() < 1e-5  # rows above the square are the source's
    ellipses = tiny_inpainter(mask_mode="ellipse")
    ellipses.set_training_records(records)
    ellipses.sample(torch.tensor([1, 1]), [torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)])
    first, second = ellipses.last_draw.masks
    assert ellipses.last_draw.mask_kinds == ["ellipse", "ellipse"] and not torch.equal(first, second)


def test_bad_settings_and_a_missing_context_are_named(toy_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mask_mode 'files' needs mask_dir"):
        tiny_inpainter(mask_mode="files")
    with pytest.raises(ConfigError, match="unknown mask_mode 'grabcut'"):
        tiny_inpainter(mask_mode="grabcut")
    with pytest.raises(ConfigError, match="inpaint_steps must divide num_train_timesteps \\(100\\)"):
        tiny_inpainter(inpaint_steps=30)
    with pytest.raises(ConfigError, match="prediction_type='epsilon'"):
        tiny_inpainter(prediction_type="v_prediction")
    model = tiny_inpainter()
    with pytest.raises(ConfigError, match="no context images: call set_training_records"):
        model.sample(torch.tensor([0]))
    model.set_training_records(read_source("ham10000", toy_dir))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        model.sample(torch.tensor([7]))


def test_the_pool_is_the_context_when_asked_for(toy_dir: Path) -> None:
    records = read_source("ham10000", toy_dir)
    train, pool = records.subset(np.arange(len(records)) < 10), records.subset(np.arange(len(records)) >= 10)
    model = tiny_inpainter(context="pool")
    model.set_training_records(train, pool=pool)
    model.sample(torch.tensor([0, 1, 2]), torch.Generator().manual_seed(0))
    assert set(model.last_draw.context_ids) <= set(pool.frame["image_id"])
    model.set_training_records(train, pool=None)  # no pool in the split: the training images
    model.sample(torch.tensor([0]), torch.Generator().manual_seed(0))
    assert set(model.last_draw.context_ids) <= set(train.frame["image_id"])


def test_the_figure_shows_source_mask_and_result_per_class(toy_dir: Path, tmp_path: Path) -> None:
    model = tiny_inpainter(jump_n_sample=1)
    model.set_training_records(read_source("ham10000", toy_dir))
    (path,) = model.write_figures(tmp_path, seed=0)
    assert path == tmp_path / "inpaint_examples.png"
    with Image.open(path) as figure:
        assert figure.size[0] > figure.size[1] > 100  # 7 class rows, 9 panels each
    assert len(model.last_draw.context_ids) == 7 * 3


def test_a_saved_inpainter_loads_again_to_materialize_another_selection(tmp_path: Path) -> None:
    """A study reloads its trained inpainter for a second post-selection arm; earlier checkpoints saved ``ignore``."""
    model = tiny_inpainter()
    assert "ignore" not in model.hparams  # the base class's argument, not a setting of the model
    for name, hparams in (("new", dict(model.hparams)), ("earlier", {**model.hparams, "ignore": None})):
        path = tmp_path / f"{name}.ckpt"
        torch.save({"state_dict": model.state_dict(), "hyper_parameters": hparams, "pytorch-lightning_version":
                    L.__version__}, path)  # fmt: skip
        loaded = load_generator("inpaint", path, CODES, 16)
        assert isinstance(loaded, InpaintModule) and "ignore" not in loaded.hparams
        assert loaded.hparams.jump_n_sample == 2 and loaded.hparams.image_size == 16
        state = loaded.state_dict()
        assert state.keys() == model.state_dict().keys()
        assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
