"""The inpainting generator: lesions of a class painted into real images with RePaint (``--generator inpaint``)."""
