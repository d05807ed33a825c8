"""A blinded real-vs-synthetic reader study over one study's images: its items, its answers and their scores.

The study lives in ``<run_dir>/reader_study/``:

* ``items.csv`` — every image shown: an opaque random id, the truth (``real`` / ``synthetic``), the class and the
  file it is read from. Written once; the web page only ever sees the ids.
* ``settings.json`` — the synthetic set, images per class and the seed it was drawn with; a study re-opened with
  other settings is refused instead of silently mixing two designs.
* ``answers.sqlite`` — one row per (rater, image): the answer, the class the rater named (optional) and the time.
  Rows are only inserted, never updated or deleted: a second answer to the same image is ignored.

Real images come from the study's **test** split (lesions no generator or classifier trained on) of the classes
that have synthetic images, and every image, real or synthetic, is shown resized to the study's resolution, so
size or sharpness from resizing cannot give the answer away. Each rater sees every image once, in an order of
their own (seeded by the study seed and the rater's name), and can stop and resume. Drawing the items and cleaning
raters' names is :mod:`skinsynth.web.reader_items`.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from skinsynth.errors import ConfigError, DataError
from skinsynth.io import atomic_write_csv, atomic_write_json
from skinsynth.web.reader_items import draw_items, sanitize_rater, synthetic_folder

FOLDER = "reader_study"
ANSWERS = ("real", "synthetic")
SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    rater TEXT NOT NULL, item TEXT NOT NULL, answer TEXT NOT NULL, code TEXT NOT NULL, answered_at TEXT NOT NULL,
    PRIMARY KEY (rater, item)
)
"""


class ReaderStudy:
    """One reader study's items and answers (see the module docstring for the files)."""

    def __init__(self, folder: Path, items: pd.DataFrame, settings: dict[str, Any]) -> None:
        self.folder = folder
        self.items = items.set_index("id", drop=False)
        self.settings = settings
        self.database = folder / "answers.sqlite"
        with closing(sqlite3.connect(self.database)) as db, db:
            db.execute(SCHEMA)

    @classmethod
    def open(cls, run_dir: str | Path, generator: str | None = None, per_class: int = 10, seed: int = 0) -> ReaderStudy:
        """Open the run directory's reader study, drawing its items the first time.

        Raises:
            ConfigError: the study exists with other settings (another generator, size or seed).
        """
        run_dir = Path(run_dir)
        folder = run_dir / FOLDER
        items_file, settings_file = folder / "items.csv", folder / "settings.json"
        if settings_file.is_file() and items_file.is_file():
            settings = json.loads(settings_file.read_text())
            asked = {"per_class": per_class, "seed": seed} | ({"generator": generator} if generator else {})
            differs = {k: v for k, v in asked.items() if settings.get(k) != v}
            if differs:
                raise ConfigError(
                    f"{str(folder)!r} holds a reader study with {settings}; it was asked for {differs}. Its answers "
                    "are kept: open it with its own settings, or move the folder away to start another study"
                )
            return cls(folder, pd.read_csv(items_file, dtype=str, keep_default_na=False), settings)
        database = folder / "answers.sqlite"
        if database.is_file():  # answers whose items are gone must not be scored against newly drawn ones
            with closing(sqlite3.connect(database)) as db:
                tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                answered = db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] if "answers" in tables else 0
            if answered:
                raise DataError(
                    f"{str(database)!r} holds {answered} answer(s) but items.csv or settings.json is missing beside "
                    "it: restore them, or move the folder away to start a new reader study"
                )
        items = draw_items(run_dir, generator, per_class, seed)
        config = run_dir / "config.yaml"
        image_size = None
        if config.is_file():
            import yaml

            saved = yaml.safe_load(config.read_text()) or {}
            image_size = (saved.get("data") or {}).get("image_size") or saved.get("image_size")  # an older, flat one
        if not image_size:  # show real images at the synthetic images' size, never at their own
            from PIL import Image

            with Image.open(items.loc[items["truth"] == "synthetic", "path"].iloc[0]) as first:
                image_size = first.size[0]
        settings = {
            "generator": synthetic_folder(run_dir, generator).name,
            "per_class": per_class,
            "seed": seed,
            "image_size": image_size,
            "classes": sorted(set(items["code"])),
        }
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_csv(items, items_file)
        atomic_write_json(settings, settings_file)
        return cls(folder, items, settings)

    @property
    def classes(self) -> list[str]:
        """The class codes of the study's images."""
        return list(self.settings["classes"])

    def order(self, rater: str) -> list[str]:
        """Item ids in ``rater``'s own order (the same order whenever they come back)."""
        digest = hashlib.sha256(f"{self.settings['seed']}:{rater}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        ids = sorted(self.items.index)
        return [ids[i] for i in rng.permutation(len(ids))]

    def answered(self, rater: str) -> set[str]:
        """The ids ``rater`` has answered."""
        with closing(sqlite3.connect(self.database)) as db:
            return {row[0] for row in db.execute("SELECT item FROM answers WHERE rater = ?", (rater,))}

    def progress(self, rater: str) -> tuple[int, int]:
        """(answered, total) for ``rater``."""
        return len(self.answered(rater)), len(self.items)

    def next_item(self, rater: str) -> str | None:
        """The first item in ``rater``'s order they have not answered, or ``None`` when they are done."""
        done = self.answered(rater)
        return next((item for item in self.order(rater) if item not in done), None)

    def record(self, rater: str, item: str, answer: str, code: str = "") -> bool:
        """Store one answer; returns ``False`` (and stores nothing) when ``rater`` already answered ``item``.

        Raises:
            ConfigError: an unknown item, an answer other than real/synthetic, or a class outside the study.
        """
        rater = sanitize_rater(rater)
        if item not in self.items.index:
            raise ConfigError(f"unknown image id {item!r}")
        if answer not in ANSWERS:
            raise ConfigError(f"answer must be one of {ANSWERS}, got {answer!r}")
        if code and code not in self.classes:
            raise ConfigError(f"class {code!r} is not one of this study's classes {self.classes}")
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with closing(sqlite3.connect(self.database)) as db, db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO answers VALUES (?, ?, ?, ?, ?)", (rater, item, answer, code, stamp)
            )
            return cursor.rowcount == 1

    def image_png(self, item: str, size: int | None = None) -> bytes:
        """The image of ``item`` as PNG bytes, resized to the study resolution (real and synthetic alike)."""
        from PIL import Image

        size = size or self.settings.get("image_size")
        with Image.open(self.items.loc[item, "path"]) as image:
            image = image.convert("RGB")
            if size:
                image = image.resize((int(size), int(size)), Image.Resampling.BILINEAR)
            buffer = io.BytesIO()
            image.save(buffer, format="PNG")
        return buffer.getvalue()

    def answers(self) -> pd.DataFrame:
        """Every answer joined with its item's truth and class (no file paths)."""
        with closing(sqlite3.connect(self.database)) as db:
            frame = pd.read_sql_query("SELECT * FROM answers ORDER BY answered_at, rater", db)
        truth = self.items[["truth", "code"]].rename(columns={"code": "true_code"})
        frame = frame.join(truth, on="item", how="inner")  # (open() refuses answers whose items are gone)
        frame["correct"] = frame["answer"] == frame["truth"]
        return frame

    def results(self) -> dict[str, Any]:
        """Per-rater and per-class accuracy of telling real from synthetic, and the raters' agreement.

        Agreement is Cohen's kappa (scikit-learn) of every pair of raters on the images both answered, and its mean
        over pairs; class accuracy (when raters named a class) is over the answers that named one.
        """
        from sklearn.metrics import cohen_kappa_score

        frame = self.answers()
        per_rater = {}
        for rater, rows in frame.groupby("rater"):
            named = rows[rows["code"] != ""]
            per_rater[rater] = {
                "answers": len(rows),
                "accuracy": float(rows["correct"].mean()),
                "synthetic_recall": float(rows.loc[rows["truth"] == "synthetic", "correct"].mean())
                if (rows["truth"] == "synthetic").any()
                else None,
                "class_accuracy": float((named["code"] == named["true_code"]).mean()) if len(named) else None,
            }
        per_class = {
            code: {"answers": len(rows), "accuracy": float(rows["correct"].mean())}
            for code, rows in frame.groupby("true_code")
        }
        pairs = []
        wide = frame.pivot(index="item", columns="rater", values="answer") if len(frame) else pd.DataFrame()
        for a, b in itertools.combinations(sorted(wide.columns), 2):
            both = wide[[a, b]].dropna()
            if len(both) >= 2:
                kappa = cohen_kappa_score(both[a], both[b], labels=list(ANSWERS))
                pairs.append({"raters": [a, b], "items": len(both), "kappa": float(kappa)})
        finite = [p["kappa"] for p in pairs if not np.isnan(p["kappa"])]
        return {
            "items": len(self.items),
            "answers": len(frame),
            "per_rater": per_rater,
            "per_class": per_class,
            "agreement": {"pairs": pairs, "mean_kappa": float(np.mean(finite)) if finite else None},
        }

    def results_markdown(self) -> str:
        """:meth:`results` as Markdown tables."""
        r = self.results()

        def fmt(x: float | None) -> str:
            return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.3f}"

        lines = [
            f"# Reader study: real or synthetic (`{self.settings['generator']}`)",
            "",
            f"{r['items']} images ({self.settings['per_class']} real and synthetic per class at most), "
            f"{r['answers']} answers. Accuracy 0.5 = the raters cannot tell.",
            "",
            "| rater | answers | accuracy | synthetic recall | class accuracy |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {v['answers']} | {fmt(v['accuracy'])} | {fmt(v['synthetic_recall'])} | "
            f"{fmt(v['class_accuracy'])} |"
            for name, v in r["per_rater"].items()
        ]
        lines += ["", "| class | answers | accuracy |", "|---|---|---|"]
        lines += [f"| {code} | {v['answers']} | {fmt(v['accuracy'])} |" for code, v in r["per_class"].items()]
        lines += ["", f"Agreement (Cohen's kappa, mean over rater pairs): {fmt(r['agreement']['mean_kappa'])}"]
        lines += [
            f"- {' / '.join(p['raters'])}: κ = {fmt(p['kappa'])} on {p['items']} images"
            for p in r["agreement"]["pairs"]
        ]
        return "\n".join(lines) + "\n"
