"""Label vocabularies: which classes a dataset has, in which order, and which are malignant.

A :class:`ClassVocabulary` is the single source of truth for the mapping between class codes (``"mel"``), label
indices (``4``) and human-readable names. Every reader, split, model and report takes one, so a checkpoint trained on
one vocabulary can be checked against another.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LesionClass:
    """One diagnostic class.

    Attributes:
        code: short lowercase code used in files and tables (``"mel"``).
        name: full diagnosis name used in prompts and reports.
        malignant: whether the class counts as malignant in a binary benign/malignant view.
    """

    code: str
    name: str
    malignant: bool


@dataclass(frozen=True)
class ClassVocabulary:
    """An ordered set of classes; a class's position is its label index."""

    name: str
    classes: tuple[LesionClass, ...]

    def __post_init__(self) -> None:
        codes = [c.code for c in self.classes]
        if len(set(codes)) != len(codes):
            raise ValueError(f"vocabulary {self.name!r} has duplicate class codes: {codes}")

    def __len__(self) -> int:
        return len(self.classes)

    @property
    def codes(self) -> tuple[str, ...]:
        """Class codes in label-index order."""
        return tuple(c.code for c in self.classes)

    @property
    def names(self) -> tuple[str, ...]:
        """Full class names in label-index order."""
        return tuple(c.name for c in self.classes)

    def index(self, code: str) -> int:
        """Label index of ``code``; raises ``KeyError`` naming the known codes when it is not in the vocabulary."""
        try:
            return self.codes.index(code)
        except ValueError:
            raise KeyError(
                f"unknown class code {code!r} for vocabulary {self.name!r}; known codes: {', '.join(self.codes)}"
            ) from None

    def code(self, index: int) -> str:
        """Class code of label ``index``."""
        if not 0 <= index < len(self.classes):
            raise IndexError(f"label {index} is outside vocabulary {self.name!r} (0..{len(self.classes) - 1})")
        return self.classes[index].code

    def __getitem__(self, code: str) -> LesionClass:
        return self.classes[self.index(code)]


HAM10000 = ClassVocabulary(
    "ham10000",
    (
        LesionClass("akiec", "actinic keratosis or intraepithelial carcinoma", True),
        LesionClass("bcc", "basal cell carcinoma", True),
        LesionClass("bkl", "benign keratosis-like lesion", False),
        LesionClass("df", "dermatofibroma", False),
        LesionClass("mel", "melanoma", True),
        LesionClass("nv", "melanocytic nevus", False),
        LesionClass("vasc", "vascular lesion", False),
    ),
)

# ISIC 2019 adds squamous cell carcinoma; its "UNK" column is not a training class.
ISIC2019 = ClassVocabulary(
    "isic2019",
    (
        LesionClass("akiec", "actinic keratosis", True),
        LesionClass("bcc", "basal cell carcinoma", True),
        LesionClass("bkl", "benign keratosis-like lesion", False),
        LesionClass("df", "dermatofibroma", False),
        LesionClass("mel", "melanoma", True),
        LesionClass("nv", "melanocytic nevus", False),
        LesionClass("scc", "squamous cell carcinoma", True),
        LesionClass("vasc", "vascular lesion", False),
    ),
)

BINARY = ClassVocabulary(
    "binary",
    (
        LesionClass("benign", "benign skin lesion", False),
        LesionClass("malignant", "malignant skin lesion", True),
    ),
)

VOCABULARIES: dict[str, ClassVocabulary] = {v.name: v for v in (HAM10000, ISIC2019, BINARY)}


def get_vocabulary(name: str) -> ClassVocabulary:
    """Return the vocabulary called ``name`` (``ham10000``, ``isic2019`` or ``binary``)."""
    try:
        return VOCABULARIES[name]
    except KeyError:
        raise KeyError(f"unknown class vocabulary {name!r}; choose one of {', '.join(VOCABULARIES)}") from None
