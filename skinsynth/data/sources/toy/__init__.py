"""A procedural, deterministic, 7-class dermoscopy-like dataset that needs no download.

:func:`make_toy_dataset` paints a HAM10000-shaped set (``HAM10000_metadata.csv`` + ``images/TOY_0000123.jpg``) with the
HAM10000 class imbalance, and :func:`read_toy` reads it back through :func:`~skinsynth.data.sources.ham10000.
read_ham10000`, so the demo and the tests exercise the real reader, splits grouped by ``lesion_id`` included (about a
quarter of the lesions have a second view: the same lesion slightly shifted, rotated and re-lit).

Every image is a skin-tone background (light to dark tones, smooth low-frequency shading, fine texture noise, sometimes
hairs and the dark corners of a dermoscope's round field) with one lesion. The lesion outline is an ellipse whose radius
is perturbed by a few random Fourier harmonics; colours and inner structures are loosely inspired by dermoscopy:

========= =======================================================================================================
``nv``    round/oval, regular border, fairly uniform tan to dark brown; often a regular pigment network or evenly
          spread globules. Sub-types: atypical (bumpier border, two shades, uneven globules), dermal (pale pink-tan,
          soft border, sometimes a few comma vessels), blue (homogeneous blue-grey).
``mel``   larger, asymmetric, irregular border blurred on one side; several colours (light/dark brown, black,
          blue-grey, red, white) in blotches, irregular dots (some beyond the border), sometimes an atypical network,
          a blue-white veil or a white regression area. Sub-types: early (small, fairly regular, one or two extra
          colours), hypomelanotic (pink/red with little pigment).
``bkl``   tan to brown, sharply demarcated ("stuck-on"): waxy seborrheic keratoses with cerebriform ridges,
          dark comedo-like openings and white milia-like cysts (a quarter are dark brown); flat solar lentigines with
          a moth-eaten border (sometimes a faint network); grey-brown lichen-planus-like keratoses with peppering.
``bcc``   pinkish, translucent, shiny white areas, arborizing red vessels (branching lines); sometimes blue-grey or
          brown ovoid nests (pigmented BCC) or a dark red ulceration; superficial ones are faint and ill-defined.
``akiec`` red/pink, ill-defined border, scaly rough surface (white-yellow scale); sometimes a "strawberry" pattern
          of white follicular openings or a brown (pigmented) component.
``df``    small, round; a central white scar-like patch with a faint brown ring (sometimes a delicate network); a
          quarter have no white patch and look like a small nevus.
``vasc``  red to purple lobules (red lacunae) separated by lighter septa; some are dark, thrombosed, almost black,
          some faint and brownish-pink.
========= =======================================================================================================

Within a class, every parameter (size, position, rotation, aspect ratio, colours, how many dots or vessels) is drawn
from wide ranges, and each lesion has a random *strength* that scales how clearly its class structures show; images
also vary in focus, contrast, lighting and colour cast. Classes therefore overlap (atypical nevi vs. early melanomas,
dark keratoses vs. nevi, superficial BCC vs. AK, pigmented BCC/AK vs. melanoma, a df without its white patch vs. a
nevus): with 20 images per class a small CNN gets roughly half of a balanced test set right, with all the data clearly
more.

Generation is deterministic: a lesion's look comes from a numpy ``Generator`` seeded with ``(seed, lesion index)`` and
an image's view and noise from one seeded with ``(seed, image index)``; JPEGs use a fixed quality (the bytes are the
same for the same arguments and Pillow version). Images are painted at ``max(image_size, 64)`` pixels and downsampled
when smaller, so any size from 8 px up works.

The package: :mod:`~skinsynth.data.sources.toy.canvas` (skin, hairs, colours), :mod:`~.lesions` (one painter per
class), :mod:`~.painter` (:func:`render_toy_image`), :mod:`~.plan` (class counts, lesions and their views, metadata) and
:mod:`~.reader` (the set on disk: :func:`make_toy_dataset`, :func:`read_toy`, :func:`default_toy_dir`).
"""

from skinsynth.data.sources.toy.painter import MIN_IMAGE_SIZE, RENDER_MIN_SIZE, render_toy_image
from skinsynth.data.sources.toy.plan import HAM10000_COUNTS, toy_class_counts
from skinsynth.data.sources.toy.reader import (
    CACHE_VARIABLE,
    CONFIG_FILE,
    GENERATOR_VERSION,
    IMAGE_DIR,
    JPEG_QUALITY,
    default_toy_dir,
    make_toy_dataset,
    read_toy,
)

__all__ = [
    "CACHE_VARIABLE",
    "CONFIG_FILE",
    "GENERATOR_VERSION",
    "HAM10000_COUNTS",
    "IMAGE_DIR",
    "JPEG_QUALITY",
    "MIN_IMAGE_SIZE",
    "RENDER_MIN_SIZE",
    "default_toy_dir",
    "make_toy_dataset",
    "read_toy",
    "render_toy_image",
    "toy_class_counts",
]
