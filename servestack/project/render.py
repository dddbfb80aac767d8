"""Rendering the project's files from the jinja2 templates shipped in `servestack/project/templates`.

Templates hold the text of every generated file; Python only computes the values they show. The environment
is strict (an undefined name is an error, not an empty string) and keeps trailing newlines, so a template
change shows up as a plain diff of the generated file.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

__all__ = ["render", "money"]


def money(value: float) -> str:
    """USD per month as people read it: `$12,345`."""
    return f"${value:,.0f}"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("servestack.project", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # the outputs are YAML, Python, Markdown and JSON, not HTML
    )
    env.filters["money"] = money
    return env


def render(template: str, **values: Any) -> str:
    """The text of `templates/<template>` with `values`."""
    return _environment().get_template(template).render(**values)
