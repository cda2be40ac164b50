"""The one entry point: ``biodeep VERB ...`` runs the command line, ``biodeep gui`` or ``--self-test`` the app.

``python -m biodeep_gui``, the ``biodeep`` console script and the frozen executable all come here, so the command
line never imports Qt and the app never parses CLI verbs.
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["gui"] or args[:1] == ["--self-test"]:
        from biodeep_gui.gui.app import main as gui_main

        return gui_main(args[1:] if args[0] == "gui" else args)
    from biodeep_gui.cli.main import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
