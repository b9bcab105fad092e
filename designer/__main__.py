"""``python -m designer [FILE]`` opens the designer (optionally with FILE)."""
from __future__ import annotations

import sys

from designer.app import main
from designer.xcb_check import check_display_libraries

if __name__ == "__main__":
    # Qt aborts the process when its xcb plugin's libraries are missing: say what to install.
    sys.exit(main(sys.argv) if check_display_libraries() else 2)
