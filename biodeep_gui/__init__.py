"""BioDeep: deep learning for biologists (DNA sequences and brain scans) in one desktop window."""

__version__ = "0.1.0"
