"""The run options of every command that starts a run, derived from RunConfig's fields.

`digitsum run`, `digitsum tui` and `digitsum-tui` decorate their typer command with
`run_options`: the options, their defaults and help text exist once, on RunConfig.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import Field, fields
from typing import Annotated, Any, Optional

import typer

from digitsum.config import RunConfig


def run_option_fields() -> list[Field]:
    """RunConfig's fields that are command-line options, in declaration order."""
    return [f for f in fields(RunConfig) if f.metadata.get("cli")]


def option_name(f: Field) -> str:
    return "--" + f.name.replace("_", "-")


def _cli_type(annotation: Any) -> Any:
    """`int | None` as typer understands it on every supported Python: Optional[int]."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return Optional[args[0]]  # noqa: UP045 - typer reads this spelling on Python 3.10+
    return annotation


def cli_scalar_type(f: Field) -> type:
    """The value type of an option (int for `int | None`), for parsers other than typer."""
    annotation = typing.get_type_hints(RunConfig)[f.name]
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return args[0] if args else annotation


def run_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Give a typer command every run option; it receives them as one validated `config: RunConfig`."""
    hints = typing.get_type_hints(RunConfig)
    own = [p for p in inspect.signature(func, eval_str=True).parameters.values() if p.name != "config"]
    added = [
        inspect.Parameter(
            f.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=f.default,
            annotation=Annotated[_cli_type(hints[f.name]), typer.Option(option_name(f), help=f.metadata["help"])],
        )
        for f in run_option_fields()
    ]
    names = [f.name for f in run_option_fields()]

    def command(**kwargs: Any) -> Any:
        config = RunConfig(**{name: kwargs.pop(name) for name in names}).validate()
        return func(config=config, **kwargs)

    command.__name__, command.__doc__ = func.__name__, func.__doc__
    params = added + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    return command
