"""The `openaudit` command (and `python -m openaudit`): the collector is tuned before anything is imported."""

from __future__ import annotations


def main() -> None:
    import os

    # pydantic looks for plugins in every installed distribution's entry points when the first model
    # is built (~10 ms of a cold start); the command uses none. A user who sets the variable decides.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from openaudit import gctune

    gctune.tune()  # before the imports: they are most of the start-up's allocations (openaudit.gctune)
    from openaudit.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
