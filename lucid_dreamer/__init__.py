"""lucid-dreamer: latent world models of a red cube, built and audited against the paper 'Cosmic Dreams'."""

__version__ = "0.2.0"
"""The package's version, its one source: pyproject.toml reads it, provenance records it."""
