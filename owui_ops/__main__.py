import sys

from owui_ops.cli import main

sys.exit(main(sys.argv[1:]))
