"""Image-folder reader: one sub-folder per class, named by its class code (``mel/``, ``NV/``; case does not matter).

Useful for data that comes without a metadata table (a hand-curated set, an exported subset). Images may sit in
nested folders inside a class folder. The image id is the path relative to the root without its suffix
(``mel/ISIC_0024310``), so it is unique; with no lesion information, each image is its own group. Hidden files and
folders (names starting with ``.``) are skipped.
"""

from __future__ import annotations

from pathlib import Path

from skinsynth.classes import ClassVocabulary, get_vocabulary
from skinsynth.data.records import LesionRecords
from skinsynth.data.sources.ham10000 import IMAGE_SUFFIXES, require_dir
from skinsynth.errors import ConfigError, DataError, preview


def _resolve_vocabulary(vocabulary: str | ClassVocabulary) -> ClassVocabulary:
    if isinstance(vocabulary, ClassVocabulary):
        return vocabulary
    try:
        return get_vocabulary(vocabulary)
    except KeyError as error:
        raise ConfigError(error.args[0]) from None


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def read_imagefolder(
    root: str | Path, source: str = "imagefolder", vocabulary: str | ClassVocabulary = "ham10000"
) -> LesionRecords:
    """Read a folder with one sub-folder of images per class.

    Args:
        root: folder whose sub-folders are named by class code.
        source: name stored in the ``source`` column.
        vocabulary: the class vocabulary the folder names belong to, by name (``ham10000``, ``isic2019``,
            ``binary``) or as a :class:`~skinsynth.classes.ClassVocabulary`.

    Returns:
        Records with ``image_id`` = relative path without suffix and ``group`` = ``image_id``.

    Raises:
        ConfigError: ``vocabulary`` is not a known vocabulary name.
        DataError: the root is missing or holds no images, a sub-folder is not a class code, images sit directly in
            the root, or two files differ only in their suffix.

    """
    vocab = _resolve_vocabulary(vocabulary)
    root = require_dir(root, "image")
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    stray = [p.name for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if stray:
        raise DataError(
            f"{len(stray)} image(s) sit directly in {str(root)!r} instead of a class sub-folder: {preview(stray)}. "
            f"Move each image into a folder named by its class code ({', '.join(vocab.codes)})."
        )
    class_dirs = [p for p in entries if p.is_dir()]
    if not class_dirs:
        raise DataError(
            f"{str(root)!r} has no class sub-folders; expected one folder per class code ({', '.join(vocab.codes)})"
        )
    unknown = [d.name for d in class_dirs if d.name.lower() not in vocab.codes]
    if unknown:
        raise DataError(
            f"sub-folder(s) {unknown} of {str(root)!r} are not class codes of vocabulary {vocab.name!r}; known codes: "
            f"{', '.join(vocab.codes)}. Rename or remove them, or choose another vocabulary."
        )

    image_ids: list[str] = []
    paths: list[str] = []
    codes: list[str] = []
    for class_dir in class_dirs:
        for path in sorted(class_dir.rglob("*")):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file() and not _is_hidden(path, root):
                image_ids.append(path.relative_to(root).with_suffix("").as_posix())
                paths.append(str(path))
                codes.append(class_dir.name.lower())
    if not image_ids:
        raise DataError(
            f"no images ({', '.join(IMAGE_SUFFIXES)}) in the class sub-folders of {str(root)!r}: "
            f"{preview([d.name for d in class_dirs])}"
        )
    seen: dict[str, str] = {}
    clashes = []
    for image_id, path in zip(image_ids, paths, strict=True):
        if image_id in seen:
            clashes.append(f"{seen[image_id]} and {path}")
        seen.setdefault(image_id, path)
    if clashes:
        raise DataError(
            f"{len(clashes)} image(s) in {str(root)!r} differ only in their suffix, so their ids clash: "
            f"{preview(clashes)}. Keep one file per image."
        )
    return LesionRecords.build(image_ids=image_ids, paths=paths, codes=codes, vocabulary=vocab, source=source)
