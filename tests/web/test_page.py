"""The static study page: written by every study, complete, escaped, and rendered by a real browser."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from skinsynth.cli.page import main as page_main
from skinsynth.errors import DataError
from skinsynth.stats import aggregate
from skinsynth.web.page import study_page_context, write_study_page

CODES = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]


class Sources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values["src"] or "")
        if tag == "a":
            self.links.append(values["href"] or "")


def sources(html: str) -> Sources:
    parser = Sources()
    parser.feed(html)
    return parser


def test_every_study_writes_a_page_with_its_arms_and_synthetic_evidence(study_run: Path) -> None:
    html = (study_run / "index.html").read_text()
    metrics = json.loads((study_run / "metrics.json").read_text())
    for arm in metrics["arms"]:
        assert f"<td>{arm}</td>" in html
    real, mixed = metrics["arms"]["real"], metrics["arms"]["real+cvae"]
    assert f"({mixed['balanced_accuracy'] - real['balanced_accuracy']:+.3f})" in html  # the change against real
    assert 'id="synthetic-cvae"' in html and "penultimate layer" in html  # the evidence table names its space
    images = sources(html).images
    assert {f"confusion_{arm}.png" for arm in metrics["arms"]} <= set(images)
    assert "quality/cvae/real_vs_synthetic.png" in images and "quality/cvae/closest_pairs.png" in images
    for src in images:  # every figure is a relative path to a file in the run directory
        assert not src.startswith(("/", "http")) and (study_run / src).is_file(), src


def test_the_page_renders_in_a_browser_with_every_image_loaded(study_run: Path, browser: object) -> None:
    page = browser.new_page()
    page.goto((study_run / "index.html").resolve().as_uri())
    arms = json.loads((study_run / "metrics.json").read_text())["arms"]
    assert page.locator("#arms tr").count() == 1 + len(arms)
    assert page.locator("#per-class tr").count() == 1 + len(arms)
    widths = page.eval_on_selector_all("img", "images => images.map(i => i.complete ? i.naturalWidth : 0)")
    assert len(widths) >= len(arms) + 3 and min(widths) > 0  # all decoded from disk, none broken
    page.close()


def fake_metrics(balanced: float, f1: float) -> dict:
    return {"balanced_accuracy": balanced, "macro_f1": f1, "accuracy": balanced, "f1": dict.fromkeys(CODES, f1)}


def test_a_multi_seed_root_shows_the_paired_comparison_and_links_each_seed(tmp_path: Path) -> None:
    per_seed = {
        0: {"real": fake_metrics(0.50, 0.30), "real+gan": fake_metrics(0.55, 0.28)},
        1: {"real": fake_metrics(0.60, 0.40), "real+gan": fake_metrics(0.58, 0.41)},
    }
    (tmp_path / "aggregate.json").write_text(json.dumps(aggregate(per_seed, CODES)))
    for seed, arms in per_seed.items():
        seed_dir = tmp_path / f"seed-{seed}"
        seed_dir.mkdir()
        (seed_dir / "metrics.json").write_text(json.dumps({"class_codes": CODES, "arms": arms}))
    html = write_study_page(tmp_path).read_text()
    assert "Over 2 seeds (0, 1)" in html
    assert "+0.050, -0.020" in html  # per-seed differences of balanced accuracy against real
    assert "+0.015 [" in html  # their mean
    assert "0.550 ± 0.071" in html  # mean ± sample std of real: (0.50, 0.60)
    assert sources(html).links == ["seed-0/index.html", "seed-1/index.html"]
    assert (tmp_path / "seed-1" / "index.html").is_file()
    assert '<td class="delta worse">-0.005</td>' in html  # per-class F1 change: the mean of -0.02 and +0.01
    context = study_page_context(tmp_path)
    assert context["aggregate"]["codes"] == CODES and context["study"] is None


def test_names_from_the_run_directory_are_escaped(tmp_path: Path) -> None:
    arms = {"real": fake_metrics(0.5, 0.3), "<script>alert(1)</script>": fake_metrics(0.4, 0.2)}
    (tmp_path / "metrics.json").write_text(json.dumps({"class_codes": CODES, "arms": arms}))
    html = write_study_page(tmp_path).read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_folder_without_a_finished_study_is_a_named_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(DataError, match="metrics.json or aggregate.json"):
        write_study_page(tmp_path)
    assert page_main([str(tmp_path)]) == 2
    assert "skinsynth page" in capsys.readouterr().err
    assert not (tmp_path / "index.html").exists()
