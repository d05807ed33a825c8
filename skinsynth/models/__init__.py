"""Models: the classifier and the generators, each a plain network plus the LightningModule that trains it."""

from skinsynth.lazy import lazy_exports

_EXPORTS = {
    "BaseModule": "skinsynth.models.base:BaseModule",
    "Generator": "skinsynth.models.base:Generator",
    "LesionClassifier": "skinsynth.models.classifier:LesionClassifier",
    "CVAEModule": "skinsynth.models.cvae.module:CVAEModule",
    "ConditionalGANModule": "skinsynth.models.gan.module:ConditionalGANModule",
    "DDPMModule": "skinsynth.models.ddpm.module:DDPMModule",
    "LDMLoRAModule": "skinsynth.models.ldm_lora.module:LDMLoRAModule",
    "GENERATORS": "skinsynth.models.registry:GENERATORS",
    "make_generator": "skinsynth.models.registry:make_generator",
    "load_generator": "skinsynth.models.registry:load_generator",
}
__all__ = list(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
