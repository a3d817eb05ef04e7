"""Runnable examples: ``python -m lucid.examples.train`` trains a small CNN on the bundled digits."""
