"""Sphinx configuration of lucid's documentation (built by ``nox -s docs``, offline, warnings as errors)."""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the lucid package of this checkout
sys.path.insert(0, os.path.join(HERE, "_ext"))

import lucid  # noqa: E402

project = "lucid"
author = "the lucid developers"
copyright = "the lucid developers"  # noqa: A001
release = lucid.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "lucid_apigen",  # writes reference/generated/ from the live package (docs/_ext/lucid_apigen.py)
]

root_doc = "index"
exclude_patterns = ["_build", "reference/notes", "Thumbs.db", ".DS_Store"]

# autodoc: signatures (with type hints) from the code, members in source order
autodoc_member_order = "bysource"
autodoc_typehints = "signature"  # in the signature: most docstrings describe parameters in prose
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autoclass_content = "class"
autodoc_inherit_docstrings = False  # a subclass method without a docstring does not repeat its base's
toc_object_entries = False  # objects are not sidebar entries (hundreds per page would swamp it and the build)

napoleon_google_docstring = True
napoleon_numpy_docstring = True
napoleon_use_rtype = False

# doctest flags (``# doctest: +SKIP``) are for the test run, not for readers
trim_doctest_flags = True
pygments_style = "sphinx"
pygments_dark_style = "monokai"

html_theme = "furo"
html_title = f"lucid {release}"
html_theme_options = {"navigation_with_keys": True}
html_static_path = []
html_show_sourcelink = False
