"""Models: the classifier and the generators, each a plain network plus the LightningModule that trains it."""
