import sys

from biodeep_gui.cli import main

sys.exit(main())
