"""The oracle control: pool images of the asked-for class, written as a synthetic set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skinsynth.data import SkinLesionDataModule, SyntheticDataset
from skinsynth.data.oracle import materialize_oracle, plan_oracle
from skinsynth.errors import DataError


@pytest.fixture
def pooled(toy_dir: Path) -> SkinLesionDataModule:
    dm = SkinLesionDataModule("ham10000", toy_dir, mode="fewshot", shots=4, image_size=16, seed=0, pool_fraction=1.0)
    dm.setup("fit")
    return dm


def test_plan_uses_each_pool_image_once_before_repeating(pooled: SkinLesionDataModule) -> None:
    pool = pooled.pool_records
    available = pool.frame["code"].value_counts()
    df_pool = int(available["df"])
    plan = plan_oracle(pool, {"df": df_pool + 2, "mel": 3}, seed=0)
    df = plan[plan["code"] == "df"]
    assert len(df) == df_pool + 2 and df["row"].iloc[:df_pool].is_unique
    assert df["repeat"].tolist() == [0] * df_pool + [1, 1]
    assert (pool.frame.reset_index(drop=True).loc[plan["row"], "code"].to_numpy() == plan["code"].to_numpy()).all()
    assert plan_oracle(pool, {"df": 3}, seed=0).equals(plan_oracle(pool, {"df": 3}, seed=0))
    assert not plan_oracle(pool, {"mel": 5}, seed=0)["row"].equals(plan_oracle(pool, {"mel": 5}, seed=1)["row"])


def test_materialized_oracle_is_a_valid_synthetic_set_of_pool_images(
    pooled: SkinLesionDataModule, tmp_path: Path
) -> None:
    folder = materialize_oracle(pooled.pool_records, {"df": 2, "vasc": 3}, tmp_path / "oracle", 16, seed=0)
    dataset = SyntheticDataset(folder, pooled.vocabulary)
    manifest = dataset.manifest
    assert manifest["code"].value_counts().to_dict() == {"vasc": 3, "df": 2}
    assert set(manifest["generator"]) == {"oracle"}
    pool_ids = set(pooled.pool_records.frame["image_id"])
    assert set(manifest["source_image_id"]) <= pool_ids  # never a few-shot, val or test image
    image = np.asarray(Image.open(folder / manifest["path"].iloc[0]))
    assert image.shape == (16, 16, 3) and image.dtype == np.uint8
    stamp = (folder / "manifest.csv").stat().st_mtime_ns
    materialize_oracle(pooled.pool_records, {"df": 2, "vasc": 3}, folder, 16, seed=0)  # finished: left alone
    assert (folder / "manifest.csv").stat().st_mtime_ns == stamp


def test_oracle_without_pool_images_of_a_class_names_it(pooled: SkinLesionDataModule) -> None:
    no_df = pooled.pool_records.subset(pooled.pool_records.frame["code"].to_numpy() != "df")
    with pytest.raises(DataError, match="class 'df'.*the pool has none"):
        plan_oracle(no_df, {"df": 1}, seed=0)
