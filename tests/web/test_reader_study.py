"""The reader study: blinded items, answers that are only ever added, scores, and raters in a real browser."""

from __future__ import annotations

import io
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from skinsynth.cli.reader_study import main as reader_main
from skinsynth.errors import ConfigError, DataError
from skinsynth.web.reader_app import create_app
from skinsynth.web.reader_items import sanitize_rater
from skinsynth.web.reader_study import ReaderStudy


@pytest.fixture
def run_copy(study_run: Path, tmp_path: Path) -> Path:
    """The study's files a reader study needs, in a fresh folder (each test starts with no answers)."""
    import shutil

    run = tmp_path / "run"
    run.mkdir()
    for name in ("split.csv", "config.yaml"):
        shutil.copy(study_run / name, run / name)
    shutil.copytree(study_run / "synthetic", run / "synthetic")
    return run


def test_rater_names_are_sanitized() -> None:
    assert sanitize_rater("  Alice  <b>O'Neil</b> ") == "Alice bONeilb"
    assert sanitize_rater("../../etc/passwd") == "etcpasswd"
    assert sanitize_rater("Zoë_2") == "Zoë_2"
    assert len(sanitize_rater("x" * 100)) == 40
    with pytest.raises(ConfigError, match="no letters or digits"):
        sanitize_rater("<>/;")


def test_items_are_balanced_blinded_and_from_the_test_split(run_copy: Path) -> None:
    study = ReaderStudy.open(run_copy, per_class=3, seed=0)
    items = study.items
    synthetic = pd.read_csv(run_copy / "synthetic" / "cvae" / "manifest.csv")
    split = pd.read_csv(run_copy / "split.csv")
    test_paths = {str(Path(p).resolve()) for p in split.loc[split["split"] == "test", "path"]}
    counts = items.groupby(["code", "truth"]).size().unstack()
    assert (counts["real"] == counts["synthetic"]).all() and counts.to_numpy().max() == 3
    assert set(items["code"]) == set(synthetic["code"])
    assert set(items.loc[items["truth"] == "real", "path"]) <= test_paths  # never a training image
    assert all(re.fullmatch(r"[0-9a-f]{16}", i) for i in items["id"]) and items["id"].is_unique
    real = items[items["truth"] == "real"]["id"].iloc[0]
    with Image.open(items.loc[real, "path"]) as original:
        assert original.size == (24, 24)  # real files are larger than the 16 px synthetic images
    for item in [real, items[items["truth"] == "synthetic"]["id"].iloc[0]]:  # both shown at the study's resolution
        png = study.image_png(item)
        assert png.startswith(b"\x89PNG")
        with Image.open(io.BytesIO(png)) as image:
            assert image.size == (16, 16)
    assert sorted(study.order("alice")) == sorted(items["id"]) and study.order("alice") == study.order("alice")
    assert study.order("alice") != study.order("bob")


def test_answers_are_only_added_and_scored_by_hand(run_copy: Path) -> None:
    study = ReaderStudy.open(run_copy, per_class=2, seed=1)
    ids = list(study.items["id"][:4])
    truth = study.items.loc[ids, "truth"].tolist()
    flip = {"real": "synthetic", "synthetic": "real"}
    # alice is right on all four; bob is right on the first two and wrong on the last two
    for item, t in zip(ids, truth, strict=True):
        assert study.record("alice", item, t, code=study.items.loc[item, "code"])
    for i, (item, t) in enumerate(zip(ids, truth, strict=True)):
        assert study.record("bob", item, t if i < 2 else flip[t])
    assert not study.record("alice", ids[0], flip[truth[0]])  # a second answer is ignored, not an overwrite
    with pytest.raises(ConfigError, match="answer must be one of"):
        study.record("alice", ids[1], "maybe")
    with pytest.raises(ConfigError, match="unknown image id"):
        study.record("alice", "deadbeef", "real")
    results = study.results()
    assert results["per_rater"]["alice"]["accuracy"] == 1.0 and results["per_rater"]["alice"]["class_accuracy"] == 1.0
    assert results["per_rater"]["bob"]["accuracy"] == 0.5 and results["per_rater"]["bob"]["class_accuracy"] is None
    # Cohen's kappa by hand: agreement on 2 of 4 items (p_o = 0.5); p_e from each rater's answer shares
    a, b = truth, [truth[0], truth[1], flip[truth[2]], flip[truth[3]]]
    p_e = sum((a.count(k) / 4) * (b.count(k) / 4) for k in ("real", "synthetic"))
    expected = (0.5 - p_e) / (1 - p_e)
    assert results["agreement"]["mean_kappa"] == pytest.approx(expected)
    rows = sqlite3.connect(study.database).execute("SELECT rater, COUNT(*) FROM answers GROUP BY rater").fetchall()
    assert sorted(rows) == [("alice", 4), ("bob", 4)]
    assert reader_main([str(run_copy), "--per-class", "2", "--seed", "1", "--report"]) == 0
    exported = pd.read_csv(run_copy / "reader_study" / "answers.csv")
    assert len(exported) == 8 and exported["correct"].sum() == 6
    assert "| alice | 4 | 1.000 |" in (run_copy / "reader_study" / "results.md").read_text()


def test_reopening_with_other_settings_is_refused_and_keeps_the_answers(run_copy: Path) -> None:
    study = ReaderStudy.open(run_copy, per_class=2, seed=0)
    study.record("alice", study.items["id"].iloc[0], "real")
    items = (run_copy / "reader_study" / "items.csv").read_bytes()
    with pytest.raises(ConfigError, match="per_class"):
        ReaderStudy.open(run_copy, per_class=5, seed=0)
    again = ReaderStudy.open(run_copy, per_class=2, seed=0)
    assert (run_copy / "reader_study" / "items.csv").read_bytes() == items
    assert len(again.answers()) == 1


def test_a_run_directory_without_a_synthetic_set_is_a_named_error(tmp_path: Path, capsys) -> None:
    with pytest.raises(DataError, match="no synthetic set"):
        ReaderStudy.open(tmp_path)
    assert reader_main([str(tmp_path), "--report"]) == 2
    assert "synthetic/<generator>/manifest.csv" in capsys.readouterr().err
    assert reader_main([str(tmp_path), "--per-class", "0"]) == 2  # the library's `per_class`, in the command's words
    assert "error: --per-class must be at least 1, got 0" in capsys.readouterr().err


@pytest.fixture
def server(run_copy: Path) -> Iterator[tuple[str, ReaderStudy]]:
    from werkzeug.serving import make_server

    study = ReaderStudy.open(run_copy, per_class=3, seed=0)
    httpd = make_server("127.0.0.1", 0, create_app(study, ask_class=True), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", study
    httpd.shutdown()
    thread.join()


def test_two_raters_complete_the_study_in_a_browser(server: tuple[str, ReaderStudy], browser: object) -> None:
    url, study = server
    assert len(study.items) >= 12
    page = browser.new_page()
    page.goto(url + "/")
    page.fill("#rater", "Alice <x>")
    page.click("#start")
    shown = []
    for i in range(10):
        assert page.inner_text("#progress") == f"Alice x · image {i + 1} of {len(study.items)}"
        src = page.get_attribute("#item", "src")
        assert re.fullmatch(r"/image/[0-9a-f]{16}", src)
        assert page.evaluate("document.querySelector('#item').naturalWidth") == 16  # the image loaded
        shown.append(src.rsplit("/", 1)[1])
        html = page.content()
        assert not any(p in html for p in study.items["path"]) and "synthetic/" not in html  # no path, no truth
        page.select_option("#code", study.classes[0])
        page.click("#answer-synthetic" if i % 2 else "#answer-real")
    answers = study.answers()
    alice = answers[answers["rater"] == "Alice x"]
    assert len(alice) == 10 and list(alice["item"]) == shown == study.order("Alice x")[:10]
    assert list(alice["answer"]) == ["real", "synthetic"] * 5 and set(alice["code"]) == {study.classes[0]}

    second = browser.new_page()
    second.goto(url + "/rate?rater=bob")
    for _ in range(3):
        second.click("#answer-real")
    answers = study.answers()
    assert answers.groupby("rater").size().to_dict() == {"Alice x": 10, "bob": 3}
    assert (answers.loc[answers["rater"] == "bob", "code"] == "").all()  # bob named no class

    page.goto(url + "/done?rater=Alice%20x")  # not finished: no score yet (it would unblind her), back to rating
    assert page.inner_text("#progress").startswith("Alice x · image 11 of")
    assert page.goto(url + "/results").status == 404  # the results are the owner's (--report), not the raters'
    assert page.goto(url + "/image/0123456789abcdef").status == 404
    assert page.goto(url + "/rate?rater=%3C%3E").status == 400
    page.close()
    second.close()


def test_a_rater_who_finishes_sees_their_score(run_copy: Path) -> None:
    study = ReaderStudy.open(run_copy, per_class=1, seed=0)
    client = create_app(study).test_client()
    for _ in range(len(study.items)):
        item = study.next_item("carol")
        assert client.post("/answer", data={"rater": "carol", "item": item, "answer": "real"}).status_code == 302
    response = client.get("/rate?rater=carol")
    assert response.status_code == 302 and "/done" in response.headers["Location"]
    assert "50 % of your answers" in client.get("/done?rater=carol").get_data(as_text=True)


def test_requests_for_another_host_or_from_another_origin_are_refused(run_copy: Path) -> None:
    study = ReaderStudy.open(run_copy, per_class=1, seed=0)
    client = create_app(study).test_client()
    item = study.next_item("dana")
    assert client.get("/", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    assert client.get(f"/image/{item}", headers={"Host": "evil.example:8000"}).status_code == 403  # DNS rebinding
    form = {"rater": "dana", "item": item, "answer": "real"}
    posted = client.post("/answer", data=form, headers={"Host": "127.0.0.1:8000", "Origin": "http://evil.example"})
    assert posted.status_code == 403 and study.answered("dana") == set()
    same = client.post("/answer", data=form, headers={"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:8000"})
    assert same.status_code == 302 and study.answered("dana") == {item}


def test_synthetic_paths_resolve_in_their_folder_only(run_copy: Path, tmp_path: Path, monkeypatch) -> None:
    manifest = pd.read_csv(run_copy / "synthetic" / "cvae" / "manifest.csv")
    decoy = tmp_path / "elsewhere"  # the working directory holds a file under the same relative path
    (decoy / manifest["path"][0]).parent.mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(decoy / manifest["path"][0])
    monkeypatch.chdir(decoy)
    items = ReaderStudy.open(run_copy, per_class=100, seed=0).items
    synthetic = set(items.loc[items["truth"] == "synthetic", "path"])
    assert str((run_copy / "synthetic" / "cvae" / manifest["path"][0]).resolve()) in synthetic
    assert not any(p.startswith(str(decoy)) for p in synthetic)


def test_answers_without_their_items_are_not_rescored_against_new_ones(run_copy: Path) -> None:
    study = ReaderStudy.open(run_copy, per_class=1, seed=0)
    study.record("erin", study.items["id"].iloc[0], "real")
    (run_copy / "reader_study" / "items.csv").unlink()
    with pytest.raises(DataError, match="holds 1 answer"):
        ReaderStudy.open(run_copy, per_class=1, seed=0)
    assert (run_copy / "reader_study" / "answers.sqlite").is_file()
