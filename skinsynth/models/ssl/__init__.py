"""Self-supervised pretraining of the classifier backbone on unlabeled images (the fair baseline for a pool)."""
