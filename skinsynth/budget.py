"""Class-aware synthetic budgets: how many images to generate for each class.

Strategies (``--budget``):

* ``paper`` — the per-class schedule of the few-shot HAM10000 seeds: nv 0, mel 100, bkl 100, bcc 150, akiec 200,
  vasc 300, df 350 (1,200 images; rarer classes get more);
* ``balance:N`` — top every class up to N images (real + synthetic);
* ``fixed:N`` — N images for every class;
* ``ratio:R`` — R × the class's real count;
* ``custom:mel=100,df=200`` — explicit counts (classes not named get 0).

Every strategy then respects a maximum synthetic:real ratio per class (``--max-ratio``, default 10): a class with
50 real images gets at most 500 synthetic ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from skinsynth.classes import ClassVocabulary
from skinsynth.errors import ConfigError

PAPER_SCHEDULE: dict[str, int] = {"nv": 0, "mel": 100, "bkl": 100, "bcc": 150, "akiec": 200, "vasc": 300, "df": 350}
STRATEGIES = ("paper", "balance:N", "fixed:N", "ratio:R", "custom:code=N,...")


def _number(strategy: str, text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"budget {strategy!r}: {text!r} is not a {kind.__name__}") from None
    if not math.isfinite(value):
        raise ConfigError(f"budget {strategy!r}: {text!r} is not a finite number")
    if value < 0:
        raise ConfigError(f"budget {strategy!r}: counts and ratios must not be negative, got {value}")
    return value


def check_budget(strategy: str, max_ratio: float | None = 10.0) -> None:
    """Reject a budget spec or maximum ratio that cannot work, before any data is read.

    Class names of ``custom:`` are checked later, against the dataset's vocabulary (:func:`make_budget`).

    Raises:
        ConfigError: unknown strategy, a missing, non-numeric, non-finite or negative number, ``paper`` with an
            argument, or a maximum ratio that is negative or not finite.
    """
    name, sep, argument = strategy.partition(":")
    if name == "paper" and sep:
        raise ConfigError(f"budget {strategy!r}: 'paper' takes no value (it is a fixed schedule); use 'paper'")
    if name in ("balance", "fixed") and argument:
        _number(strategy, argument, int)
    elif name == "ratio" and argument:
        _number(strategy, argument, float)
    elif name == "custom" and argument:
        for item in filter(None, (p.strip() for p in argument.split(","))):
            code, eq, count = item.partition("=")
            if not eq or not code.strip():
                raise ConfigError(f"budget {strategy!r}: {item!r} is not code=N")
            _number(strategy, count.strip(), int)
    elif name != "paper":
        raise ConfigError(f"unknown budget {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if max_ratio is not None and (not math.isfinite(max_ratio) or max_ratio < 0):
        raise ConfigError(f"the maximum synthetic:real ratio must be a finite number ≥ 0, got {max_ratio}")


def _custom(strategy: str, text: str, vocabulary: ClassVocabulary) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(vocabulary.codes, 0)
    for item in filter(None, (p.strip() for p in text.split(","))):
        code, _, count = item.partition("=")
        code = code.strip()
        if code not in vocabulary.codes:
            raise ConfigError(
                f"budget {strategy!r} names class {code!r}, which is not in the {vocabulary.name} vocabulary "
                f"({', '.join(vocabulary.codes)})"
            )
        counts[code] = int(_number(strategy, count.strip(), int))
    return counts


def make_budget(
    strategy: str, real_counts: Mapping[str, int], vocabulary: ClassVocabulary, max_ratio: float | None = 10.0
) -> dict[str, int]:
    """Synthetic images per class code for ``strategy`` given the real training counts.

    Raises:
        ConfigError: unknown strategy, negative numbers, a class that is not in the vocabulary, or ``paper`` for a
            vocabulary it does not cover.
    """
    check_budget(strategy, max_ratio)
    name, _, argument = strategy.partition(":")
    unknown = sorted(set(real_counts) - set(vocabulary.codes))
    if unknown:
        raise ConfigError(f"real counts name class(es) {unknown} that are not in the {vocabulary.name} vocabulary")
    real = {code: int(real_counts.get(code, 0)) for code in vocabulary.codes}
    if name == "paper":
        missing = [c for c in vocabulary.codes if c not in PAPER_SCHEDULE]
        if missing:
            raise ConfigError(
                f"the paper schedule covers {', '.join(PAPER_SCHEDULE)}; it has no count for {missing}. "
                "Use balance:N, fixed:N, ratio:R or custom:code=N,..."
            )
        budget = {c: PAPER_SCHEDULE[c] for c in vocabulary.codes}
    elif name == "balance" and argument:
        target = int(_number(strategy, argument, int))
        budget = {c: max(target - n, 0) for c, n in real.items()}
    elif name == "fixed" and argument:
        budget = dict.fromkeys(vocabulary.codes, int(_number(strategy, argument, int)))
    elif name == "ratio" and argument:
        ratio = _number(strategy, argument, float)
        budget = {c: math.floor(ratio * n) for c, n in real.items()}
    elif name == "custom" and argument:
        budget = _custom(strategy, argument, vocabulary)
    else:
        raise ConfigError(f"unknown budget {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if max_ratio is not None:
        budget = {c: min(n, math.floor(max_ratio * real[c])) for c, n in budget.items()}
    return budget


def format_budget(budget: Mapping[str, int], real_counts: Mapping[str, int]) -> str:
    """A small text table: class, real, synthetic, synthetic:real."""
    lines = [f"{'class':<8}{'real':>6}{'synthetic':>11}{'ratio':>7}"]
    for code, count in budget.items():
        real = int(real_counts.get(code, 0))
        ratio = f"{count / real:.1f}" if real else "-"
        lines.append(f"{code:<8}{real:>6}{count:>11}{ratio:>7}")
    lines.append(f"{'total':<8}{sum(int(real_counts.get(c, 0)) for c in budget):>6}{sum(budget.values()):>11}")
    return "\n".join(lines)
