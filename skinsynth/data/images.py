"""Reading one image, from a file or from inside a container file, as an RGB ``numpy`` array.

Most datasets are folders of JPEG/PNG files and a record's ``path`` is simply the file. Two formats keep images inside
one big file; their records use an *image reference* ``"<container>::<key>"``:

* ``train-image.hdf5::ISIC_0015670`` — ISIC 2024, a dataset of encoded JPEG bytes per ``isic_id`` (read with h5py);
* ``dermamnist_64.npz::train_images/12`` — DermaMNIST, row 12 of the ``train_images`` array.

:class:`ImageReader` keeps container files open (one handle per process, so it is safe with DataLoader workers).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from skinsynth.errors import DataError, preview

if TYPE_CHECKING:
    from skinsynth.data.records import LesionRecords

CONTAINER_SEPARATOR = "::"


def split_reference(ref: str) -> tuple[str, str | None]:
    """Split an image reference into ``(file path, key inside the file or None)``."""
    if CONTAINER_SEPARATOR in ref:
        path, key = ref.split(CONTAINER_SEPARATOR, 1)
        return path, key
    return ref, None


def reference_file(ref: str) -> str:
    """The file on disk that holds the image ``ref`` (the container for container references)."""
    return split_reference(ref)[0]


class ImageReader:
    """Decode images by reference, keeping container files open per process.

    Args:
        draft_size: when set, JPEG files are decoded with PIL's draft mode at the smallest DCT scale that is still at
            least this many pixels on each side. Decoding a 224 px JPEG for a 64 px model this way is several times
            faster and gives the same result after the resize that follows.
    """

    def __init__(self, draft_size: int | None = None) -> None:
        self.draft_size = draft_size
        self._containers: dict[str, Any] = {}
        self._pid = os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        # Open h5py / npz handles must not travel to DataLoader workers; each worker opens its own.
        state = self.__dict__.copy()
        state["_containers"] = {}
        return state

    def read(self, ref: str) -> np.ndarray:
        """Return the image as an ``(H, W, 3)`` uint8 array; raises :class:`DataError` naming the file on failure."""
        path, key = split_reference(ref)
        try:
            image = self._read_file(path) if key is None else self._read_container(path, key)
            return np.asarray(image.convert("RGB"))
        except DataError:
            raise
        except Exception as error:  # PIL, h5py and numpy raise many types for a bad file
            raise DataError(
                f"cannot read image {ref!r}: {type(error).__name__}: {error}. Replace or remove the file, or leave "
                "unreadable images out with a warning: set `on_bad_image` to 'skip'."
            ) from error

    def _read_file(self, path: str) -> Image.Image:
        image = Image.open(path)
        if self.draft_size and image.format == "JPEG":
            image.draft("RGB", (self.draft_size, self.draft_size))
        image.load()
        return image

    def _container(self, path: str) -> Any:
        if os.getpid() != self._pid:  # forked worker: handles from the parent are not safe to share
            self._containers, self._pid = {}, os.getpid()
        handle = self._containers.get(path)
        if handle is None:
            suffix = Path(path).suffix.lower()
            if suffix in {".hdf5", ".h5"}:
                import h5py

                handle = h5py.File(path, "r")
            elif suffix == ".npz":
                handle = np.load(path)
            else:
                raise DataError(f"unknown container type for {path!r}: expected .hdf5/.h5 or .npz")
            self._containers[path] = handle
        return handle

    def _read_container(self, path: str, key: str) -> Image.Image:
        container = self._container(path)
        if Path(path).suffix.lower() == ".npz":
            array_name, _, row = key.rpartition("/")
            cache_key = f"{path}{CONTAINER_SEPARATOR}{array_name}"
            if cache_key not in self._containers:  # NpzFile decompresses the whole array on every access
                self._containers[cache_key] = container[array_name]
            array = self._containers[cache_key][int(row)]
            if array.ndim == 2:
                array = np.stack([array] * 3, axis=-1)
            return Image.fromarray(np.asarray(array, dtype=np.uint8))
        if key not in container:
            raise DataError(f"image {key!r} is not in {path!r}")
        return Image.open(io.BytesIO(bytes(np.asarray(container[key])))).convert("RGB")

    def close(self) -> None:
        """Close any open container files."""
        for handle in self._containers.values():  # arrays cached from npz files have no close()
            close = getattr(handle, "close", None)
            if close is not None:
                close()
        self._containers = {}


def drop_unreadable(records: LesionRecords, image_size: int) -> LesionRecords:
    """``records`` without the images that cannot be decoded, with a warning that counts and names them.

    Every image is decoded once (at ``image_size``, JPEG draft mode); ``records`` itself is returned when all are
    readable.
    """
    import warnings

    reader = ImageReader(draft_size=image_size)
    readable = []
    for path in records.frame["path"]:
        try:
            reader.read(path)
            readable.append(True)
        except DataError:
            readable.append(False)
    reader.close()
    bad = records.frame.loc[[not ok for ok in readable], ["image_id", "path"]]
    if len(bad):
        listed = [f"{row.image_id} ({row.path})" for row in bad.itertuples()]
        warnings.warn(f"skipped {len(bad)} unreadable image(s): {preview(listed)}", stacklevel=2)
        return records.subset(readable)
    return records
