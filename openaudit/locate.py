"""Where the package's data is: the built-in criteria folder, found once here (a leaf module, so that
the criteria loader, the compiled cache and the extractors that read data files need not import
each other)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from openaudit.errors import ConfigFileError


def criteria_folder() -> Path | None:
    """The built-in criteria: packaged as openaudit/_criteria in a wheel, criteria/ in a checkout;
    None when neither is there (an incomplete installation)."""
    try:
        packaged = resources.files("openaudit").joinpath("_criteria")
        if packaged.is_dir():
            return Path(str(packaged))
    except (ModuleNotFoundError, NotADirectoryError):  # pragma: no cover - an unusual installation
        pass
    here = Path(__file__).resolve().parent.parent / "criteria"
    return here if here.is_dir() else None


def criteria_dir() -> Path:
    """`criteria_folder()`, or a ConfigFileError saying the installation is incomplete."""
    found = criteria_folder()
    if found is None:
        raise ConfigFileError("criteria/", "built-in criteria not found: the installation is incomplete")
    return found
