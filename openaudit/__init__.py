"""openaudit: audit how open a published AI model really is."""

__version__ = "0.1.0"
