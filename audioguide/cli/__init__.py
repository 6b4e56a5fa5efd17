"""The command line: the only package that imports Click, a module per command group."""

# Importing a command module registers its commands on the group.
from . import live, playlist, render, sessions, voices  # noqa: F401
from .main import cli

__all__ = ["cli"]
