"""``python -m lucid.torch_compat script.py [args]``: run a PyTorch script with ``import torch`` resolving
to lucid. The script sees ``sys.argv == ["script.py", *args]`` and its own folder first on ``sys.path``,
as under ``python script.py args``."""

from __future__ import annotations

import os
import runpy
import sys

from . import install

USAGE = "usage: python -m lucid.torch_compat script.py [args ...]\n" \
        "runs a PyTorch script with `import torch` resolving to lucid"


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    script = argv[0]
    if not os.path.isfile(script):
        print(f"lucid.torch_compat: can't open file {script!r}: no such file\n{USAGE}", file=sys.stderr)
        return 2
    sys.argv[:] = argv  # as `python script.py args` sets it
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    install()
    runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
