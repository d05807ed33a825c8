"""ConditionalGANModule: a conditional DCGAN trained with Lightning manual optimization.

One discriminator step and one generator step per batch, non-saturating loss, Adam (lr 2e-4, betas (0.5, 0.999)).
The discriminator sees ``fake.detach()``; ``toggle_optimizer`` freezes the other network during each step. Lightning
counts one ``global_step`` per optimizer step, so the module counts its own generator and discriminator updates
(``g_steps``, ``d_steps``; saved in checkpoints). With ``per_class=True`` it trains one unconditional
generator/discriminator pair per class on that class's images only (the per-class DCGAN of the seeds).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skinsynth.errors import ConfigError
from skinsynth.models.base import GeneratorModule, RandomSource, randn
from skinsynth.models.gan.diff_augment import diff_augment, parse_policy
from skinsynth.models.gan.networks import ConditionalGenerator, ProjectionDiscriminator


class ConditionalGANModule(GeneratorModule):
    """Conditional (or per-class) DCGAN generator with the few-shot remedies on by default.

    A plain DCGAN collapses at few-shot sizes (issue 13: on 50-shot HAM10000 eight identical images per class row,
    within-class MS-SSIM diversity 0.005 against 0.06–0.12 for the real images, from the first 20 steps on). The
    defaults therefore add the mode-seeking term (the generator must turn different noise into different images),
    the discriminator's minibatch standard deviation (it can see a collapsed batch), an auxiliary classifier
    (AC-GAN: the class must be visible in the image, not only the noise) and nearest-neighbour up-sampling (no
    checkerboard). ``docs/results.md`` has the measurements behind the choice.

    Args:
        num_classes: number of classes.
        class_codes: class codes in label order.
        image_size: image side length (32–128).
        z_dim: noise size.
        base_channels: generator width.
        d_base_channels: discriminator width.
        conditioning: ``embedding`` or ``onehot`` class input of the generator.
        spectral_norm: spectral normalization in the discriminator.
        per_class: one unconditional generator/discriminator pair per class.
        lr_g: generator learning rate.
        lr_d: discriminator learning rate.
        beta1: Adam β1.
        beta2: Adam β2.
        diff_augment: DiffAugment transforms applied to everything the discriminator sees, e.g.
            ``"color,translation,cutout"`` (empty: none); recommended at few-shot data sizes.
        loss: ``nonsaturating`` (the original GAN loss, generator side non-saturating) or ``hinge``.
        minibatch_std_group: the discriminator also sees the minibatch standard deviation over groups of this many
            images (0: off).
        mode_seeking: weight of the mode-seeking term (Mao et al., 2019): the generator is rewarded for making two
            different images from two noise vectors of the same class (0: off).
        r1_gamma: R1 gradient penalty on real images (Mescheder et al., 2018), γ/2 · E‖∇D(x)‖² (0: off).
        auxiliary_classifier: weight of the AC-GAN class loss (Odena et al., 2017): the discriminator also learns to
            classify real images, and the generator is trained to make images it classifies as the intended class
            (0: off). Keeps the classes apart when the noise would otherwise dominate the image.
        upsample: generator up-sampling, ``transpose`` or ``nearest``.
        unconditional: pretraining on an unlabeled pool: every image is treated as class 0 and labels are never read
            (the auxiliary classifier is then off).
        init_checkpoint: a GAN checkpoint (e.g. pool-pretrained) whose generator and discriminator weights start this
            model; after an unconditional pretraining every class starts from its class-0 embedding.
    """

    # what checkpoints written before an option existed were trained with (they have no hyperparameter for it)
    LEGACY_DEFAULTS: ClassVar[dict[str, object]] = {
        "minibatch_std_group": 0, "mode_seeking": 0.0, "auxiliary_classifier": 0.0, "upsample": "transpose",
        "loss": "nonsaturating", "r1_gamma": 0.0, "unconditional": False, "init_checkpoint": None,
    }  # fmt: skip

    def __init__(
        self,
        num_classes: int = 7,
        class_codes: Sequence[str] | None = None,
        image_size: int = 64,
        z_dim: int = 100,
        base_channels: int = 16,
        d_base_channels: int = 32,
        conditioning: Literal["embedding", "onehot"] = "embedding",
        spectral_norm: bool = True,
        per_class: bool = False,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        beta1: float = 0.5,
        beta2: float = 0.999,
        diff_augment: str = "",
        loss: Literal["nonsaturating", "hinge"] = "nonsaturating",
        minibatch_std_group: int = 4,
        mode_seeking: float = 1.0,
        r1_gamma: float = 0.0,
        auxiliary_classifier: float = 1.0,
        upsample: Literal["transpose", "nearest"] = "nearest",
        unconditional: bool = False,
        init_checkpoint: str | None = None,
    ) -> None:
        try:
            self.augment_policy = parse_policy(diff_augment)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        if loss not in ("nonsaturating", "hinge") or upsample not in ("transpose", "nearest"):
            raise ConfigError(f"loss must be nonsaturating or hinge and upsample transpose or nearest; got {loss!r}, "
                              f"{upsample!r}")  # fmt: skip
        if minibatch_std_group < 0 or minibatch_std_group == 1:
            raise ConfigError(f"minibatch_std_group must be 0 (off) or at least 2, got {minibatch_std_group}")
        if not (mode_seeking >= 0 and r1_gamma >= 0 and auxiliary_classifier >= 0):  # also rejects nan
            raise ConfigError("mode_seeking, r1_gamma and auxiliary_classifier must be ≥ 0")
        if unconditional and per_class:
            raise ConfigError("unconditional pretraining trains one conditional pair; per_class trains one per class")
        if init_checkpoint is not None and not Path(init_checkpoint).expanduser().is_file():
            raise ConfigError(f"init_checkpoint {init_checkpoint!r} is not a file (a GAN checkpoint to start from)")
        super().__init__(num_classes, class_codes)
        self.automatic_optimization = False
        self.register_buffer("g_steps", torch.zeros((), dtype=torch.long))
        self.register_buffer("d_steps", torch.zeros((), dtype=torch.long))

    def trainer_arguments(self, processes: int, precision: str) -> dict[str, Any]:
        """No gradient clipping (Lightning's is for automatic optimization), and DDP that finds unused parameters.

        D and G take turns, so each backward leaves the other's parameters unused on several processes.
        """
        arguments: dict[str, Any] = {"gradient_clip_val": None}
        if processes > 1:
            arguments["strategy"] = "ddp_find_unused_parameters_true"
        return arguments

    def configure_models(self) -> None:
        """Generator(s) and discriminator(s)."""
        hp = self.hparams
        conditional_classes = 0 if hp.per_class else hp.num_classes
        pairs = hp.num_classes if hp.per_class else 1
        self.generators = nn.ModuleList(
            ConditionalGenerator(
                conditional_classes, hp.image_size, hp.z_dim, hp.base_channels, hp.conditioning, hp.upsample
            )
            for _ in range(pairs)
        )
        self.discriminators = nn.ModuleList(
            ProjectionDiscriminator(
                conditional_classes,
                hp.image_size,
                hp.d_base_channels,
                hp.spectral_norm,
                hp.minibatch_std_group,
                auxiliary_classifier=hp.auxiliary_classifier > 0,
            )
            for _ in range(pairs)
        )
        if hp.get("init_checkpoint"):
            self.load_initial_weights(hp.init_checkpoint)

    def load_initial_weights(self, path: str) -> None:
        """Start both networks from ``path``'s weights (a fresh auxiliary classifier); see ``init_checkpoint``."""
        from skinsynth.checkpoints import load_checkpoint

        saved = load_checkpoint(path)
        networks = ("generators.", "discriminators.")
        state = {k: v for k, v in saved.get("state_dict", {}).items() if k.startswith(networks)}
        if not state:
            raise ConfigError(f"init_checkpoint {path!r} holds no GAN weights")
        own = {k: v for k, v in self.state_dict().items() if k.startswith(networks)}
        fresh = {k for k in own if ".classifier." in k}  # the class head is learned on the few-shot labels
        mismatched = sorted(k for k in own if k not in fresh and (k not in state or state[k].shape != own[k].shape))
        if mismatched:
            raise ConfigError(
                f"init_checkpoint {path!r} does not fit this GAN ({len(mismatched)} tensors differ, e.g. "
                f"{mismatched[0]!r}); use the same image size, widths, z_dim and options as the pretraining run"
            )
        self.load_state_dict({k: state[k] for k in own if k not in fresh}, strict=False)
        if saved.get("hyper_parameters", {}).get("unconditional"):
            with torch.no_grad():  # only class 0 was trained: every class starts from it
                for name, tensor in self.named_parameters():
                    if name.endswith(("embed.weight", "embed.weight_orig")) and tensor.ndim == 2:
                        tensor[1:] = tensor[0]

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        """Adam for the generator(s), Adam for the discriminator(s)."""
        hp = self.hparams
        betas = (hp.beta1, hp.beta2)
        return [
            torch.optim.Adam(self.generators.parameters(), lr=hp.lr_g, betas=betas),
            torch.optim.Adam(self.discriminators.parameters(), lr=hp.lr_d, betas=betas),
        ]

    def _groups(self, labels: Tensor) -> list[tuple[int, Tensor]]:
        """(pair index, row mask) for every generator/discriminator pair the batch feeds."""
        if not self.hparams.per_class:
            return [(0, torch.ones_like(labels, dtype=torch.bool))]
        return [(int(c), labels == c) for c in labels.unique()]

    def _generate(self, pair: int, z: Tensor, labels: Tensor) -> Tensor:
        if self.hparams.get("unconditional"):
            labels = torch.zeros(len(z), dtype=torch.long, device=z.device)
        return self.generators[pair](z, None if self.hparams.per_class else labels)

    def _discriminate(self, pair: int, images: Tensor, labels: Tensor) -> Tensor:
        if self.hparams.get("unconditional"):
            labels = torch.zeros(len(images), dtype=torch.long, device=images.device)
        images = diff_augment(images, self.augment_policy)  # the same random transforms for real and fake
        return self.discriminators[pair](images, None if self.hparams.per_class else labels)

    def _class_loss(self, pair: int, labels: Tensor) -> Tensor:
        """Cross-entropy of the auxiliary classifier on the images the discriminator saw last (0 when off)."""
        logits = self.discriminators[pair].last_class_logits
        if logits is None or not self.hparams.auxiliary_classifier or self.hparams.get("unconditional"):
            return labels.new_zeros((), dtype=torch.float)
        return self.hparams.auxiliary_classifier * F.cross_entropy(logits, labels)

    def _d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        if self.hparams.loss == "hinge":
            return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()

    def _g_loss(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.mean() if self.hparams.loss == "hinge" else F.softplus(-fake_logits).mean()

    def _r1_penalty(self, pair: int, real: Tensor, labels: Tensor) -> Tensor:
        """γ/2 · mean ‖∇ₓ D(x)‖² on real images."""
        real = real.detach().requires_grad_(True)
        logits = self._discriminate(pair, real, labels)
        (grad,) = torch.autograd.grad(logits.sum(), real, create_graph=True)
        return self.hparams.r1_gamma / 2 * grad.pow(2).flatten(1).sum(1).mean()

    @staticmethod
    def _mode_seeking_loss(first: Tensor, second: Tensor, z1: Tensor, z2: Tensor) -> Tensor:
        """1 / (mean image distance / mean noise distance): small when two noises of a class give two images."""
        ratio = (first - second).abs().flatten(1).mean(1) / (z1 - z2).abs().mean(1)
        return 1 / (ratio.mean() + 1e-5)

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        hp = self.hparams
        real = batch["image"] * 2 - 1  # the datamodule gives [0, 1]; the generator works in [-1, 1]
        # unlabeled pretraining never reads the labels (they may be hidden, -1)
        labels = (
            torch.zeros(len(real), dtype=torch.long, device=self.device) if hp.get("unconditional") else batch["label"]
        )
        groups = self._groups(labels)
        z = torch.randn(len(real), hp.z_dim, device=self.device)

        # the fakes keep their graph into the generator(s); the discriminator only ever sees them detached
        fakes = {pair: self._generate(pair, z[rows], labels[rows]) for pair, rows in groups}

        # discriminator: real → 1, fake.detach() → 0; generator frozen
        self.toggle_optimizer(opt_d)
        loss_d = real.new_zeros(())
        penalty = real.new_zeros(())
        for pair, rows in groups:
            real_logits = self._discriminate(pair, real[rows], labels[rows])
            classified = self._class_loss(pair, labels[rows])  # the classifier learns from real images only
            fake_logits = self._discriminate(pair, fakes[pair].detach(), labels[rows])
            share = rows.float().mean()
            loss_d = loss_d + share * (self._d_loss(real_logits, fake_logits) + classified)
            if hp.r1_gamma:
                penalty = penalty + share * self._r1_penalty(pair, real[rows], labels[rows])
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(loss_d + penalty)
        opt_d.step()
        self.untoggle_optimizer(opt_d)
        self.d_steps += 1

        # generator: adversarial loss on the same fakes (+ mode seeking on a second draw), discriminator frozen
        self.toggle_optimizer(opt_g)
        loss_g = real.new_zeros(())
        seeking = real.new_zeros(())
        z2 = torch.randn_like(z) if hp.mode_seeking else None
        for pair, rows in groups:
            share = rows.float().mean()
            fooled = self._g_loss(self._discriminate(pair, fakes[pair], labels[rows]))
            loss_g = loss_g + share * (fooled + self._class_loss(pair, labels[rows]))
            if z2 is not None:
                second = self._generate(pair, z2[rows], labels[rows])
                seeking = seeking + share * self._mode_seeking_loss(fakes[pair], second, z[rows], z2[rows])
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(loss_g + hp.mode_seeking * seeking)
        opt_g.step()
        self.untoggle_optimizer(opt_g)
        self.g_steps += 1
        logged = {"train_loss_d": loss_d, "train_loss_g": loss_g}
        if hp.r1_gamma:
            logged["train_r1"] = penalty
        if hp.mode_seeking:
            logged["train_mode_seeking"] = seeking
        self.log_dict(logged, prog_bar=True, batch_size=len(real))

    def _sample(self, labels: Tensor, generator: RandomSource) -> Tensor:
        """The generator(s) in eval mode (running BN statistics), tanh output mapped to [0, 1]."""
        z = randn((len(labels), self.hparams.z_dim), generator, self.device)
        images = torch.empty(len(labels), 3, self.hparams.image_size, self.hparams.image_size, device=self.device)
        for pair, rows in self._groups(labels):
            images[rows] = self._generate(pair, z[rows], labels[rows]).float()
        return (images + 1) / 2
