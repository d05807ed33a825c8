"""The study's progress bar under a step budget."""

from __future__ import annotations

import lightning as L
import pytest

from skinsynth.progress import progress_bar


def test_step_budget_is_named_instead_of_a_negative_epoch_maximum() -> None:
    pytest.importorskip("rich")  # without rich Lightning's TQDM bar shows no epoch maximum at all
    bar = progress_bar()
    trainer = L.Trainer(max_epochs=-1, max_steps=120, callbacks=[bar], logger=False, enable_checkpointing=False)
    bar.setup(trainer, L.LightningModule(), "fit")
    assert trainer.progress_bar_callback is bar
    assert bar._get_train_description(39).strip() == "Epoch 39 · 120-step budget"
    epochs = L.Trainer(max_epochs=5, callbacks=[progress_bar()], logger=False, enable_checkpointing=False)
    epochs.progress_bar_callback.setup(epochs, L.LightningModule(), "fit")
    assert epochs.progress_bar_callback._get_train_description(3).strip() == "Epoch 3/4"
