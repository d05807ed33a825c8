"""A finished tiny study with a synthetic set (16 px, 1 epoch, CVAE), shared by the page and reader-study tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from skinsynth.cli.fewshot import main

CHROMIUM_FLAGS = "--no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking "
CHROMIUM_FLAGS += "--disable-component-update --disable-sync"


@pytest.fixture(scope="package")
def study_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The study runs at 16 px on 24 px images, so the reader study's resizing of real images is exercised."""
    from skinsynth.data.sources.toy import make_toy_dataset

    root = tmp_path_factory.mktemp("web")
    counts = {"akiec": 12, "bcc": 12, "bkl": 12, "df": 12, "mel": 12, "nv": 24, "vasc": 12}
    toy_dir = make_toy_dataset(root / "toy", counts=counts, image_size=24, seed=0)
    run = root / "run"
    options = "--dataset ham10000 --shots 4 --image-size 16 --epochs 1 --batch-size 8 --logger none "
    options += "--no-progress-bar --generator cvae --gen-epochs 1 --budget fixed:6"
    assert main(["--run-dir", str(run), "--data-dir", str(toy_dir), *options.split()]) == 0
    return run


@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    """Headless Chromium (the system's, never a download) driven by Playwright.

    Skipped when no Chromium is installed, unless ``SKINSYNTH_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes that a
    failure.
    """
    executable = os.environ.get("SKINSYNTH_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        if os.environ.get("SKINSYNTH_REQUIRE_BROWSER") == "1":
            pytest.fail("no Chromium found (install the Debian package chromium, or set SKINSYNTH_CHROMIUM)")
        pytest.skip("no Chromium installed (apt-get install chromium) for the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS.split())
        yield chromium
        chromium.close()
