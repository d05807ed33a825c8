"""Latent-diffusion generator: Stable Diffusion (1.5 layout) fine-tuned with LoRA adapters (diffusers + peft)."""
