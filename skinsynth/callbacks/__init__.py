"""Lightning callbacks and the image-grid helpers they use."""
