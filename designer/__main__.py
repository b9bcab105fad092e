"""``python -m designer [FILE]`` opens the designer (optionally with FILE)."""
from __future__ import annotations

import sys

from designer.app import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
