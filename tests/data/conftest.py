"""Tiny datasets in each real on-disk layout, written by seeded fixtures (8×8 images, a handful of rows)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

IMAGE_SIZE = 8


def random_pixels(seed: int, size: int = IMAGE_SIZE) -> np.ndarray:
    """A seeded random RGB image as an ``(size, size, 3)`` uint8 array."""
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def write_image(path: Path, seed: int = 0) -> Path:
    """Write a seeded image; the format follows the suffix (``.jpg`` → JPEG, ``.png`` → PNG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(random_pixels(seed)).save(path)
    return path


def jpeg_bytes(seed: int) -> bytes:
    """Encoded JPEG bytes of a seeded image (what ISIC 2024 stores per ``isic_id`` in its HDF5 file)."""
    buffer = io.BytesIO()
    Image.fromarray(random_pixels(seed)).save(buffer, format="JPEG")
    return buffer.getvalue()


def write_csv(path: Path, rows: list[dict[str, object]]) -> Path:
    """Write ``rows`` as a CSV with a header (columns in first-row order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def one_hot_row(image: str, label: str, columns: tuple[str, ...]) -> dict[str, object]:
    """A one-hot ground-truth row with ``"1.0"`` under ``label`` and ``"0.0"`` elsewhere, as the ISIC CSVs have."""
    return {"image": image, **{c: "1.0" if c == label else "0.0" for c in columns}}


@pytest.fixture
def make_image() -> Callable[..., Path]:
    """Return :func:`write_image` so tests can add images to a fixture dataset."""
    return write_image


@pytest.fixture
def make_csv() -> Callable[..., Path]:
    """Return :func:`write_csv` so tests can write their own (broken) tables."""
    return write_csv


# -- HAM10000: metadata CSV + HAM10000_images_part_1/ and HAM10000_images_part_2/ --------------------------------------
HAM10000_ROWS = [
    # lesion_id, image_id, dx, image folder
    ("HAM_0000118", "ISIC_0027419", "bkl", "HAM10000_images_part_1"),
    ("HAM_0000118", "ISIC_0031633", "bkl", "HAM10000_images_part_2"),  # same lesion, second image, other part
    ("HAM_0002730", "ISIC_0026769", "mel", "HAM10000_images_part_1"),
    ("HAM_0001466", "ISIC_0031200", "nv", "HAM10000_images_part_2"),
]


@pytest.fixture
def ham10000_root(tmp_path: Path) -> Path:
    """HAM10000 in the official layout: four images, two of them of one lesion, split over the two image parts."""
    root = tmp_path / "ham10000"
    rows = []
    for seed, (lesion_id, image_id, dx, folder) in enumerate(HAM10000_ROWS):
        write_image(root / folder / f"{image_id}.jpg", seed)
        rows.append(
            {
                "lesion_id": lesion_id,
                "image_id": image_id,
                "dx": dx,
                "dx_type": "histo",
                "age": "60.0",
                "sex": "male",
                "localization": "back",
            }
        )
    write_csv(root / "HAM10000_metadata.csv", rows)
    return root


# -- ISIC 2019: ground truth (one-hot) + metadata + ISIC_2019_Training_Input/ ------------------------------------------
ISIC2019_COLUMNS = ("MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC", "UNK")
ISIC2019_ROWS = [
    # image, one-hot column, lesion_id in the metadata ("" = blank, None = no metadata row)
    ("ISIC_0000000", "NV", "HAM_0000118"),
    ("ISIC_0000001", "MEL", "BCN_0000002"),
    ("ISIC_0000002", "AK", ""),
    ("ISIC_0000003", "SCC", ""),
    ("ISIC_0000004", "BCC", ""),
    ("ISIC_0000005", "BKL", ""),
    ("ISIC_0000006", "DF", ""),
    ("ISIC_0000007", "VASC", ""),
    ("ISIC_0000008", "NV", "HAM_0000118"),  # second image of lesion HAM_0000118
    ("ISIC_0000009_downsampled", "NV", None),  # real ids carry this suffix; no metadata row
]


@pytest.fixture
def isic2019_root(tmp_path: Path) -> Path:
    """ISIC 2019 training layout with one image per class, a shared lesion and an image without metadata."""
    root = tmp_path / "isic2019"
    truth, metadata = [], []
    for seed, (image, label, lesion_id) in enumerate(ISIC2019_ROWS):
        write_image(root / "ISIC_2019_Training_Input" / f"{image}.jpg", seed)
        truth.append(one_hot_row(image, label, ISIC2019_COLUMNS))
        if lesion_id is not None:
            metadata.append(
                {
                    "image": image,
                    "age_approx": "55.0",
                    "anatom_site_general": "anterior torso",
                    "lesion_id": lesion_id,
                    "sex": "female",
                }
            )
    write_csv(root / "ISIC_2019_Training_GroundTruth.csv", truth)
    write_csv(root / "ISIC_2019_Training_Metadata.csv", metadata)
    return root


# -- ISIC 2024: train-metadata.csv + train-image/image/*.jpg or train-image.hdf5 ---------------------------------------
ISIC2024_ROWS = [
    # isic_id, target, patient_id
    ("ISIC_0015670", 0, "IP_1235828"),
    ("ISIC_0015845", 0, "IP_1235828"),
    ("ISIC_0015864", 1, "IP_1235828"),
    ("ISIC_0015902", 0, "IP_8170065"),
    ("ISIC_0024200", 0, "IP_8170065"),
    ("ISIC_0035502", 1, "IP_6724798"),
]


def write_isic2024_metadata(root: Path) -> Path:
    """``train-metadata.csv`` with the required columns, a few extras and a TBP column the reader leaves out."""
    rows = [
        {
            "isic_id": isic_id,
            "target": target,
            "patient_id": patient,
            "age_approx": 60,
            "sex": "male",
            "anatom_site_general": "lower extremity",
            "clin_size_long_diam_mm": 3.04,
            "tbp_lv_A": 20.24,
            "iddx_1": "Malignant" if target else "Benign",
        }
        for isic_id, target, patient in ISIC2024_ROWS
    ]
    return write_csv(root / "train-metadata.csv", rows)


def write_isic2024_hdf5(path: Path, encoding: str = "bytes", ids: list[str] | None = None) -> Path:
    """``train-image.hdf5``: one dataset per ``isic_id`` holding the encoded JPEG.

    ``encoding="bytes"`` is the real file's layout: a scalar fixed-length byte string (h5py dtype ``|S<n>``, read back
    as ``bytes``). ``"void"`` (scalar opaque ``|V<n>``) and ``"uint8"`` (a 1-D byte array) are other common layouts.
    """
    import h5py

    ids = [r[0] for r in ISIC2024_ROWS] if ids is None else ids
    with h5py.File(path, "w") as handle:
        for seed, isic_id in enumerate(ids):
            data = jpeg_bytes(seed)
            if encoding == "bytes":
                handle.create_dataset(isic_id, data=np.bytes_(data))
            elif encoding == "void":
                handle.create_dataset(isic_id, data=np.void(data))
            elif encoding == "uint8":
                handle.create_dataset(isic_id, data=np.frombuffer(data, dtype=np.uint8))
            else:
                raise ValueError(encoding)
    return path


@pytest.fixture
def make_isic2024_hdf5() -> Callable[..., Path]:
    """Return :func:`write_isic2024_hdf5` so tests can write other encodings or leave ids out."""
    return write_isic2024_hdf5


@pytest.fixture
def isic2024_folder_root(tmp_path: Path) -> Path:
    """ISIC 2024 with JPEG files in ``train-image/image/``."""
    root = tmp_path / "isic2024_folder"
    write_isic2024_metadata(root)
    for seed, (isic_id, _, _) in enumerate(ISIC2024_ROWS):
        write_image(root / "train-image" / "image" / f"{isic_id}.jpg", seed)
    return root


@pytest.fixture
def isic2024_hdf5_root(tmp_path: Path) -> Path:
    """ISIC 2024 as distributed on Kaggle: ``train-metadata.csv`` next to ``train-image.hdf5``."""
    root = tmp_path / "isic2024_hdf5"
    write_isic2024_metadata(root)
    write_isic2024_hdf5(root / "train-image.hdf5")
    return root


# -- Image folder: one sub-folder per class code ----------------------------------------------------------------------
@pytest.fixture
def imagefolder_root(tmp_path: Path) -> Path:
    """Class folders in mixed case with JPEGs and PNGs, a nested folder, and hidden files that must be skipped."""
    root = tmp_path / "imagefolder"
    write_image(root / "mel" / "a.jpg", 0)
    write_image(root / "mel" / "b.jpg", 1)
    write_image(root / "mel" / "clinic2" / "c.jpg", 2)
    write_image(root / "NV" / "d.png", 3)
    write_image(root / "NV" / "e.png", 4)
    write_image(root / "bcc" / "f.jpg", 5)
    write_image(root / ".ipynb_checkpoints" / "g.jpg", 6)
    write_image(root / "mel" / ".hidden.jpg", 7)
    (root / "README.txt").write_text("one folder per class\n")
    return root


# -- DermaMNIST: MedMNIST npz ----------------------------------------------------------------------------------------
DERMAMNIST_COUNTS = {"train": 7, "val": 3, "test": 4}


def make_dermamnist_arrays(seed: int = 0, size: int = IMAGE_SIZE) -> dict[str, np.ndarray]:
    """The six MedMNIST arrays: ``<split>_images`` uint8 (N, H, W, 3) and ``<split>_labels`` int (N, 1)."""
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    for split, count in DERMAMNIST_COUNTS.items():
        arrays[f"{split}_images"] = rng.integers(0, 256, (count, size, size, 3), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(count) % 7).reshape(count, 1).astype(np.uint8)
    return arrays


@pytest.fixture
def dermamnist_arrays() -> dict[str, np.ndarray]:
    """The arrays written to ``dermamnist.npz`` by :func:`dermamnist_root` (tests compare decoded pixels to them)."""
    return make_dermamnist_arrays()


@pytest.fixture
def dermamnist_root(tmp_path: Path, dermamnist_arrays: dict[str, np.ndarray]) -> Path:
    """A folder with one ``dermamnist.npz`` (compressed, like the MedMNIST downloads)."""
    root = tmp_path / "medmnist"
    root.mkdir()
    np.savez_compressed(root / "dermamnist.npz", **dermamnist_arrays)
    return root


# -- ISIC 2018 Task 3 test: one-hot ground truth + ISIC2018_Task3_Test_Input/ ------------------------------------------
ISIC2018_COLUMNS = ("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC")
ISIC2018_TEST_ROWS = [
    ("ISIC_0034524", "NV"),
    ("ISIC_0034525", "NV"),
    ("ISIC_0034526", "BKL"),
    ("ISIC_0034527", "MEL"),
    ("ISIC_0034528", "AKIEC"),
    ("ISIC_0034529", "BCC"),
    ("ISIC_0034530", "DF"),
    ("ISIC_0034531", "VASC"),
]


@pytest.fixture
def isic2018_test_root(tmp_path: Path) -> Path:
    """The ISIC 2018 Task 3 test set: ground truth in its own folder, images in ``ISIC2018_Task3_Test_Input/``."""
    root = tmp_path / "isic2018_test"
    truth = [one_hot_row(image, label, ISIC2018_COLUMNS) for image, label in ISIC2018_TEST_ROWS]
    write_csv(root / "ISIC2018_Task3_Test_GroundTruth" / "ISIC2018_Task3_Test_GroundTruth.csv", truth)
    for seed, (image, _) in enumerate(ISIC2018_TEST_ROWS):
        write_image(root / "ISIC2018_Task3_Test_Input" / f"{image}.jpg", seed)
    return root
