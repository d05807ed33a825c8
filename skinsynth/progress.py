"""The training progress bar a study shows: Lightning's own, labelled correctly under a step budget.

Under the fair step budget (``--train-budget steps``) a classifier arm trains for ``max_steps`` with no epoch limit
(``max_epochs = -1``); Lightning's Rich bar then reads "Epoch 39/-2". This bar says "Epoch 39 · 1200-step budget".
"""

from __future__ import annotations

from typing import Any


def progress_bar() -> Any:
    """A Rich progress bar that names the step budget when there is no epoch limit (TQDM's bar without rich)."""
    from lightning.pytorch.callbacks import RichProgressBar, TQDMProgressBar
    from lightning.pytorch.utilities.imports import _RICH_AVAILABLE

    if not _RICH_AVAILABLE:
        return TQDMProgressBar()  # shows "Epoch N" without a maximum: nothing to correct

    class StepBudgetProgressBar(RichProgressBar):
        """Rich bar whose training description shows the step budget instead of a negative epoch maximum."""

        def _get_train_description(self, current_epoch: int) -> str:
            trainer = self.trainer
            if (trainer.max_epochs is None or trainer.max_epochs < 0) and trainer.max_steps > 0:
                return f"Epoch {current_epoch} · {trainer.max_steps}-step budget"
            return super()._get_train_description(current_epoch)

    return StepBudgetProgressBar()
