import sys

from graph_compiler.cli import main

sys.exit(main())
