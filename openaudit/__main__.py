"""The `openaudit` command (and `python -m openaudit`): the collector is tuned before anything is imported."""

from __future__ import annotations


def main() -> None:
    import os

    # pydantic looks for plugins in every installed distribution's entry points when the first model
    # is built (~10 ms of a cold start); the command uses none. A user who sets the variable decides.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if os.environ["PYDANTIC_DISABLE_PLUGINS"] in ("__all__", "1", "true"):
        _no_plugin_loader()
    from openaudit import gctune

    gctune.tune()  # before the imports: they are most of the start-up's allocations (openaudit.gctune)
    from openaudit.cli import main as cli_main

    cli_main()


def _no_plugin_loader() -> None:
    """With every plugin disabled, pydantic's plugin loader gives no plugins, yet importing it imports
    importlib.metadata, and with it email, csv and zipfile (~13 ms of a ~0.3 CPU-s start). It is stood
    in for by a module giving the same answer; any other name asked of it loads the real one."""
    import sys
    import types

    name = "pydantic.plugin._loader"
    if name in sys.modules:
        return
    stub = types.ModuleType(name)

    def get_plugins() -> tuple[()]:
        return ()

    def real(attr: str) -> object:
        if attr.startswith("__"):  # the import system asks for __path__ and the like
            raise AttributeError(attr)
        import importlib

        sys.modules.pop(name, None)
        return getattr(importlib.import_module(name), attr)

    stub.get_plugins = get_plugins  # type: ignore[attr-defined]
    stub.__getattr__ = real  # type: ignore[method-assign]
    sys.modules[name] = stub


if __name__ == "__main__":
    main()
