"""The `openaudit` command (and `python -m openaudit`): the collector is tuned before anything is imported."""

from __future__ import annotations


def main() -> None:
    from openaudit import gctune

    gctune.tune()  # before the imports: they are most of the start-up's allocations (openaudit.gctune)
    from openaudit.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
