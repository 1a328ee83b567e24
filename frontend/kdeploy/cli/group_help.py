"""`help [SUBCOMMAND]` in every command group, as Thor gives each Kamal subcommand class.

`kdeploy build help push` is `kdeploy build push --help`; `kdeploy build help` is the group's
own help. `kdeploy help build push` (cli/main.py) walks the same way from the top.
"""

from __future__ import annotations

import click

from kdeploy.errors import UsageError


def command_help(context: click.Context, words: tuple[str, ...], *,
                 namespace: str | None = None) -> str:
    """The help of the command `words` name below `context`'s command (its own without words).

    Args:
        context: the context of the command the words start from (a group).
        words: subcommand names, outermost first.
        namespace: the group's name, said in the error as Thor says it for a subcommand class.

    Raises:
        UsageError: a word names no command there, in Thor's words (exit 2).
    """
    command = context.command
    for word in words:
        found = (command.get_command(context, word)
                 if isinstance(command, click.Group) else None)
        if found is None:
            where = f" in {_quoted(namespace)} namespace." if namespace else "."
            raise UsageError(f"Could not find command {_quoted(' '.join(words))}{where}")
        context = click.Context(found, info_name=word, parent=context)
        command = found
    return command.get_help(context)


def _quoted(text: str) -> str:
    return f'"{text}"'  # Ruby's `inspect` of a string, as Thor prints it


@click.command("help")
@click.argument("subcommand", required=False)
@click.pass_context
def _group_help(ctx: click.Context, subcommand: str | None) -> None:
    """Describe subcommands or one specific subcommand."""
    group = ctx.parent
    assert group is not None  # a subcommand always has its group's context
    words = (subcommand,) if subcommand else ()
    click.echo(command_help(group, words, namespace=group.info_name))


class CommandGroup(click.Group):
    """A command group (`kdeploy build`, `kdeploy app`, …) with its own `help [SUBCOMMAND]`."""

    group_class = type  # its own subgroups are CommandGroups too

    def __init__(self, *args: object, **kwargs: object) -> None:
        """A click group, plus the `help` subcommand."""
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.add_command(_group_help)
