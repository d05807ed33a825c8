"""Class-conditional DDPM generator (diffusers U-Net and schedulers, classifier-free guidance, EMA)."""
