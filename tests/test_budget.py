from __future__ import annotations

import pytest

from skinsynth.budget import PAPER_SCHEDULE, check_budget, format_budget, make_budget
from skinsynth.classes import HAM10000, ISIC2019
from skinsynth.errors import ConfigError

FIFTY = dict.fromkeys(HAM10000.codes, 50)


def test_paper_schedule_adds_up_to_1200() -> None:
    budget = make_budget("paper", FIFTY, HAM10000)
    assert budget == PAPER_SCHEDULE and sum(budget.values()) == 1200
    assert budget["nv"] == 0 and budget["df"] == 350


def test_max_ratio_caps_every_strategy() -> None:
    capped = make_budget("paper", FIFTY, HAM10000, max_ratio=3)
    assert capped == {"akiec": 150, "bcc": 150, "bkl": 100, "df": 150, "mel": 100, "nv": 0, "vasc": 150}
    assert make_budget("fixed:1000", {"mel": 7}, HAM10000)["mel"] == 70  # default 10:1
    assert make_budget("fixed:1000", {"mel": 7}, HAM10000)["nv"] == 0  # no real images, no synthetic ones
    assert make_budget("fixed:1000", {"mel": 7}, HAM10000, max_ratio=None)["nv"] == 1000


def test_balance_fixed_ratio_and_custom() -> None:
    real = {"akiec": 10, "bcc": 30, "bkl": 60, "df": 5, "mel": 40, "nv": 100, "vasc": 8}
    balance = make_budget("balance:60", real, HAM10000)
    assert {c: balance[c] + real[c] for c in real} == {"akiec": 60, "bcc": 60, "bkl": 60, "df": 55, "mel": 60,
                                                       "nv": 100, "vasc": 60}  # fmt: skip  # df capped at 10:1
    assert set(make_budget("fixed:4", real, HAM10000).values()) == {4}
    assert make_budget("ratio:1.5", real, HAM10000) == {c: int(1.5 * n) for c, n in real.items()}
    assert make_budget("custom:mel=20, df=30", real, HAM10000) == {**dict.fromkeys(real, 0), "mel": 20, "df": 30}


@pytest.mark.parametrize(
    ("strategy", "message"),
    [
        ("custom:mela=10", "names class 'mela'"),
        ("fixed:-3", "must not be negative"),
        ("ratio:-1", "must not be negative"),
        ("fixed:lots", "is not a int"),
        ("sometimes", "unknown budget 'sometimes'; choose one of paper"),
        ("balance", "unknown budget"),
        ("ratio:nan", "'nan' is not a finite number"),
        ("ratio:inf", "'inf' is not a finite number"),
        ("paper:3", "'paper' takes no value"),
        ("custom:mel", "'mel' is not code=N"),
    ],
)
def test_bad_budgets(strategy: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_budget(strategy, FIFTY, HAM10000)


def test_paper_schedule_refuses_a_vocabulary_it_does_not_cover() -> None:
    with pytest.raises(ConfigError, match=r"no count for \['scc'\]"):
        make_budget("paper", {}, ISIC2019)
    with pytest.raises(ConfigError, match=r"class\(es\) \['xyz'\]"):
        make_budget("fixed:3", {"xyz": 4}, HAM10000)


def test_format_budget_lists_totals() -> None:
    text = format_budget(make_budget("paper", FIFTY, HAM10000), FIFTY)
    assert "df" in text and "350" in text and text.splitlines()[-1].split() == ["total", "350", "1200"]


@pytest.mark.parametrize("max_ratio", [float("nan"), float("inf"), -1.0])
def test_bad_max_ratio_is_refused_before_any_data(max_ratio: float) -> None:
    with pytest.raises(ConfigError, match="maximum synthetic:real ratio must be a finite number"):
        check_budget("paper", max_ratio)
    with pytest.raises(ConfigError, match="maximum synthetic:real ratio"):
        make_budget("paper", FIFTY, HAM10000, max_ratio)


def test_check_budget_accepts_every_valid_spec() -> None:
    for spec in ("paper", "balance:60", "fixed:0", "ratio:0.5", "custom:mel=20,df=30", "custom:anything=3"):
        check_budget(spec, None)  # class names are checked against the vocabulary later
