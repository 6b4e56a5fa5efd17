"""The `audioguide` group: error reporting, logging, progress bars and the script options
every command that reads a script shares. The commands are in the modules beside it."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from .. import __version__
from ..errors import AudioguideError, Issue, ScriptError
from ..jobs.options import RenderOptions
from ..script import load_variables
from ..script.schema import STYLES
from ..voices import ENGINES

DEBUG_ENV = "AUDIOGUIDE_DEBUG"


class Reporter:
    """A progress bar per stage (elapsed and remaining time) on a terminal.

    A stage gets a bar only once it has run for a second, so quick work stays quiet;
    nothing at all is drawn when stderr is not a terminal. Use it in a `with` block,
    which closes the last bar.
    """

    LABELS = {"speech": "Speaking lines", "measure": "Measuring loudness", "render": "Rendering",
              "mix": "Mixing"}

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.stage = ""
        self.started = 0.0
        self.done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        if stage != self.stage:
            self.close()
            self.stage, self.started, self.done = stage, time.monotonic(), 0
        if self.bar is None:
            if time.monotonic() - self.started < 1.0 or done >= total:
                return
            self.bar = click.progressbar(
                length=total, label=self.LABELS.get(stage, stage), file=sys.stderr,
                show_eta=True, item_show_func=lambda _: self._elapsed())
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def _elapsed(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"elapsed {seconds // 60}:{seconds % 60:02d}"

    def close(self) -> None:
        """Finish the bar being drawn, if there is one."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
        self.stage = ""

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _debug_enabled(ctx: click.Context | None) -> bool:
    if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
        return True
    while ctx is not None:
        if ctx.obj and ctx.obj.get("debug"):
            return True
        ctx = ctx.parent
    return False


def report(error: AudioguideError, context: str = "") -> None:
    """Print an error as its script issues, one per line, or as one `error:` line."""
    if isinstance(error, ScriptError):
        for issue in error.issues:
            click.echo(str(issue), err=True)
    else:
        click.echo(f"error: {context}{error}", err=True)


def fail(error: AudioguideError) -> NoReturn:
    """Report `error` and exit with its code."""
    report(error)
    sys.exit(error.exit_code)


def print_warnings(warnings: Iterable[Issue]) -> None:
    """A script's warnings, one a line on stderr."""
    for warning in warnings:
        click.echo(str(warning), err=True)


class _Group(click.Group):
    """Turns library errors into one clear line each and an exit code (1 runtime, 2 input)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AudioguideError as error:
            if _debug_enabled(ctx):
                raise
            fail(error)
        except KeyboardInterrupt:
            if _debug_enabled(ctx):
                raise
            click.echo("interrupted; nothing was written", err=True)
            sys.exit(130)


class _WarningHandler(logging.Handler):
    """Library log records as one line each on stderr: `warning: ...` or `note: ...`."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "warning" if record.levelno >= logging.WARNING else "note"
        click.echo(f"{prefix}: {record.getMessage()}", err=True)


def _setup_logging(verbose: bool) -> None:
    logger = logging.getLogger("audioguide")
    if not any(isinstance(h, _WarningHandler) for h in logger.handlers):
        logger.addHandler(_WarningHandler())
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="audioguide")
@click.option("--debug", is_flag=True, help="Show tracebacks (or set AUDIOGUIDE_DEBUG=1).")
@click.option("-v", "--verbose", is_flag=True, help="Say which engines and tools are used.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: bool) -> None:
    """Turn a YAML session script into timed, calming audio.

    \b
    Examples:
      audioguide list
      audioguide render box-breathing
      audioguide render my-session.yaml -o calm.mp3 --set place="a quiet beach"
      audioguide inspect my-session.yaml
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    _setup_logging(verbose)


def parse_sets(values: Sequence[str]) -> dict[str, str]:
    """`--set NAME=VALUE` options as a dict."""
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"'{value}' is not name=value", param_hint="--set")
        pairs[name.strip()] = text
    return pairs


def script_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options of every command that reads a script (see `render_options`)."""
    options = [
        click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                     help="Fill a {NAME} placeholder (overrides vars: and --vars)."),
        click.option("--vars", "vars_file", type=click.Path(exists=True, dir_okay=False,
                                                            path_type=Path),
                     help="A YAML file of NAME: VALUE to fill placeholders with."),
        click.option("--engine", type=click.Choice(ENGINES), help="Speech engine for every line."),
        click.option("--voice", "voice_id", metavar="ID", help="The engine's voice id."),
        click.option("--rate", type=click.FloatRange(40, 500), help="Words per minute."),
        click.option("--style", type=click.Choice(STYLES), help="calm: slower, with a soft "
                     "tail (eSpeak: lower, warmer, a small room); plain: the engine as it is."),
        click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Speech cache folder (default: $AUDIOGUIDE_CACHE or your cache dir)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def render_options(sets: Sequence[str], vars_file: Path | None, engine: str | None,
                   voice_id: str | None, rate: float | None, style: str | None,
                   cache_dir: Path | None, **extra: Any) -> RenderOptions:
    """The library's RenderOptions from `script_options` (and `extra` fields)."""
    variables = load_variables(vars_file) if vars_file is not None else {}
    variables.update(parse_sets(sets))
    return RenderOptions(variables=variables, engine=engine, voice_id=voice_id,
                         rate_wpm=rate, style=style, cache_dir=cache_dir, **extra)
