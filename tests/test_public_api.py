"""The package's public names: importable from the top level without loading torch until used."""

from __future__ import annotations

import subprocess
import sys

import pytest

import skinsynth
import skinsynth.callbacks
import skinsynth.models


@pytest.mark.parametrize("package", [skinsynth, skinsynth.models, skinsynth.callbacks])
def test_every_exported_name_resolves(package: object) -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    assert set(package.__all__) <= set(dir(package)) | {"__version__"}


def test_top_level_names_are_the_real_classes() -> None:
    from skinsynth.callbacks.synthetic_dataset import SyntheticDatasetCallback
    from skinsynth.data.datamodule import SkinLesionDataModule
    from skinsynth.models.gan.module import ConditionalGANModule
    from skinsynth.pipeline import FewShotStudy as FormerPath
    from skinsynth.study.runner import FewShotStudy

    assert FormerPath is FewShotStudy  # the module before the study became a package still imports
    assert skinsynth.SkinLesionDataModule is SkinLesionDataModule
    assert skinsynth.ConditionalGANModule is ConditionalGANModule
    assert skinsynth.callbacks.SyntheticDatasetCallback is SyntheticDatasetCallback
    assert skinsynth.FewShotStudy is FewShotStudy


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = skinsynth.Nope


def test_importing_the_package_does_not_import_torch() -> None:
    code = "import sys, skinsynth, skinsynth.models, skinsynth.callbacks; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
