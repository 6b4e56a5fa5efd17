"""The command line: the only module that imports Click."""

from .main import cli

__all__ = ["cli"]
