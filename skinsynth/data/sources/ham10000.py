"""HAM10000 reader: ``HAM10000_metadata.csv`` plus images anywhere under the root.

Works with the official layout (``HAM10000_images_part_1/`` and ``..._part_2/``), a single folder, or ``images/``;
images are found by ``image_id`` (``ISIC_0024306.jpg``). Groups are ``lesion_id`` so that images of one lesion never
span two splits.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from skinsynth.classes import HAM10000
from skinsynth.data.records import LesionRecords
from skinsynth.errors import DataError, preview

METADATA_FILE = "HAM10000_metadata.csv"
REQUIRED_COLUMNS = ("lesion_id", "image_id", "dx")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def require_dir(root: str | Path, what: str) -> Path:
    """Return ``root`` as a Path, or raise :class:`DataError` saying it does not exist."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataError(f"{what} folder {str(root)!r} does not exist (or is not a folder); check `data_dir`")
    return root


def read_csv_with_columns(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """Read a CSV, raising :class:`DataError` that names the file and any missing required columns."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception as error:
        raise DataError(f"cannot read {str(path)!r} as CSV: {error}") from error
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            f"{str(path)!r} is missing required column(s) {missing}; it has {list(frame.columns)}. "
            f"Expected at least {list(required)}."
        )
    return frame


def index_images(root: Path, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> dict[str, Path]:
    """Map every image file's stem under ``root`` (recursively) to its path."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in suffixes and path.is_file():
            found.setdefault(path.stem, path)
    return found


def locate_images(image_ids: list[str], images: dict[str, Path], where: Path, metadata: Path) -> list[str]:
    """Paths for ``image_ids``; raises :class:`DataError` naming images listed in ``metadata`` but not found."""
    missing = [i for i in image_ids if i not in images]
    if missing:
        raise DataError(
            f"{len(missing)} image(s) listed in {str(metadata)!r} were not found under {str(where)!r}: "
            f"{preview(missing)}. Restore them or remove their rows from the metadata."
        )
    return [str(images[i]) for i in image_ids]


def find_file(root: Path, name: str) -> Path | None:
    """Return ``root / name`` if it exists, else the shallowest file called ``name`` below ``root``, else None."""
    path = root / name
    if path.is_file():
        return path
    candidates = [p for p in root.rglob(name) if p.is_file()]
    return min(candidates, key=lambda p: (len(p.parts), str(p))) if candidates else None


def require_file(root: Path, name: str, what: str) -> Path:
    """Like :func:`find_file`, but raise :class:`DataError` naming the file and folder when it is not found."""
    path = find_file(root, name)
    if path is None:
        raise DataError(f"no {name} under {str(root)!r}; point `data_dir` at the {what} folder")
    return path


def read_ham10000(root: str | Path, source: str = "ham10000") -> LesionRecords:
    """Read a HAM10000 copy (metadata CSV at the root or below it, images anywhere under the root).

    Args:
        root: folder holding ``HAM10000_metadata.csv`` and the images.
        source: name stored in the ``source`` column (the toy set reuses this reader as ``toy``).
    """
    root = require_dir(root, "HAM10000")
    metadata = root / METADATA_FILE
    if not metadata.is_file():
        candidates = sorted(root.rglob(METADATA_FILE))
        if not candidates:
            raise DataError(f"no {METADATA_FILE} under {str(root)!r}; point `data_dir` at the HAM10000 folder")
        metadata = candidates[0]
    frame = read_csv_with_columns(metadata, REQUIRED_COLUMNS)
    if frame.empty:
        raise DataError(f"{str(metadata)!r} has no rows")
    frame["dx"] = frame["dx"].str.strip().str.lower()
    paths = locate_images(frame["image_id"].tolist(), index_images(root), root, metadata)
    extra = frame.drop(columns=["image_id"]).rename(columns={"lesion_id": "lesion_id"})
    return LesionRecords.build(
        image_ids=frame["image_id"].tolist(),
        paths=paths,
        codes=frame["dx"].tolist(),
        groups=frame["lesion_id"].tolist(),
        vocabulary=HAM10000,
        source=source,
        extra=extra,
    )
