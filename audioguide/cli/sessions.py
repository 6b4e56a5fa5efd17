"""`list`, `show`, `where`, `new` and `schema`: the built-in sessions, and scripts to start from."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..jobs.library import builtin_catalogue
from ..script import find_script, new_session
from ..script.editor import install_schema, schema_text
from ..script.schema import KINDS
from ..units import format_seconds
from .main import Reporter, cli


@cli.command()
@click.option("--install", "scripts", multiple=True, metavar="SCRIPT",
              type=click.Path(path_type=Path),
              help="Write the schema beside SCRIPT and point SCRIPT's first line at it "
                   "(for editors using yaml-language-server, such as VS Code's YAML). "
                   "Repeatable.")
def schema(scripts: tuple[Path, ...]) -> None:
    """Print the JSON Schema of the script format (for editor help and autocompletion).

    \b
    Examples:
      audioguide schema > audioguide.schema.json
      audioguide schema --install my-session.yaml
    """
    if not scripts:
        click.echo(schema_text(), nl=False)
    for script in scripts:
        click.echo(f"{script}: uses {install_schema(script)}")


@cli.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_sessions(as_json: bool) -> None:
    """List the built-in sessions you can render or play by name, grouped by kind.

    Lengths are with the default voice (the first listing makes and caches its speech).

    \b
    Examples:
      audioguide list
      audioguide list --json
    """
    with Reporter(sys.stderr.isatty() and not as_json) as reporter:
        entries = builtin_catalogue(reporter)
    if as_json:
        click.echo(json.dumps([entry.to_json() for entry in entries], indent=2,
                              ensure_ascii=False))
        return
    for kind in KINDS:
        group = [entry for entry in entries if entry.kind == kind]
        if not group:
            continue
        click.echo(f"{kind.capitalize()}:")
        for entry in group:
            length = format_seconds(entry.seconds)[:-4]
            click.echo(f"  {entry.name:<22} {length:>6}  {entry.title}: {entry.description}")


@cli.command()
@click.argument("name")
def show(name: str) -> None:
    """Print a session's script (a built-in name or a file), to read or copy.

    \b
    Example:
      audioguide show safe-place
    """
    click.echo(find_script(name).read_text(encoding="utf-8"), nl=False)


@cli.command()
@click.argument("name")
@click.option("--from", "source", default="box-breathing", show_default=True,
              help="The session to start from (a built-in name or a file).")
@click.option("--force", is_flag=True, help="Replace NAME.yaml if it is there.")
@click.option("-o", "--folder", type=click.Path(file_okay=False, path_type=Path),
              help="The folder to write NAME.yaml in (default: this one).")
def new(name: str, source: str, force: bool, folder: Path | None) -> None:
    """Start a new session NAME.yaml here (or in -o FOLDER), as a copy of another to edit.

    \b
    Examples:
      audioguide new my-safe-place --from safe-place
      audioguide new evening -o ~/sessions
      audioguide render my-safe-place.yaml
    """
    path = new_session(name, source, force, folder)
    click.echo(str(path))


@cli.command()
@click.argument("script")
def where(script: str) -> None:
    """Print the file a script name refers to (a built-in session's YAML, to copy and edit).

    \b
    Example:
      cp "$(audioguide where box-breathing)" my-breathing.yaml
    """
    click.echo(str(find_script(script)))
