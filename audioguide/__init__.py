"""audioguide: turn a YAML session script into timed, calming audio."""

__version__ = "0.1.0"
