"""Shared fixtures: in-memory records with lesion groups, and a tiny toy dataset on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skinsynth.data.records import LesionRecords
from tests.helpers import grouped_records


@pytest.fixture(scope="session", autouse=True)
def toy_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The default toy-set folder of every test (and the processes it starts): a session folder, never ~/.cache."""
    from skinsynth.data.sources.toy import CACHE_VARIABLE

    with pytest.MonkeyPatch.context() as patch:
        root = tmp_path_factory.mktemp("toy-cache")
        patch.setenv(CACHE_VARIABLE, str(root))
        yield root


@pytest.fixture
def ham_like_records() -> LesionRecords:
    """HAM10000-like imbalance, two images per lesion, 7 classes."""
    return grouped_records({"akiec": 40, "bcc": 50, "bkl": 90, "df": 24, "mel": 80, "nv": 400, "vasc": 30})


@pytest.fixture(scope="session")
def toy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny imbalanced toy set on disk (16 px, 16–64 images per class), made once per test session."""
    from skinsynth.data.sources.toy import make_toy_dataset

    root = tmp_path_factory.mktemp("toy")
    counts = {"akiec": 16, "bcc": 18, "bkl": 20, "df": 16, "mel": 24, "nv": 64, "vasc": 16}
    make_toy_dataset(root, counts=counts, image_size=16, seed=0)
    return root


@pytest.fixture(scope="session")
def tiny_sd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Stable Diffusion directory (diffusers layout, 16 px latents → 32 px images), written once."""
    from skinsynth.models.ldm_lora.tiny import write_tiny_stable_diffusion

    return write_tiny_stable_diffusion(tmp_path_factory.mktemp("tiny-sd") / "sd", sample_size=8, seed=0)
