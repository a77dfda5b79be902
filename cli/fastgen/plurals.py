"""Singulars of resource names, from inflect (`fastgen add resource`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inflect import engine


def _unchecked(target: Any = None, **options: Any) -> Any:
    """typeguard's `typechecked` as a no-op, in both of its forms."""
    return target if target is not None else (lambda function: function)


@cache
def _engine() -> engine:
    """inflect's engine, imported without typeguard's run-time checks.

    inflect decorates its methods with typeguard's `@typechecked`, which re-parses inflect's
    source for each of them at import: 1.3-2 s of `fastgen add resource` here, against
    0.1 s without (jaraco/inflect#212). The checks guard inflect's API against callers that
    are not type-checked; this one passes a `str` and is checked by mypy.
    """
    import typeguard

    checked: Callable[..., Any] = typeguard.typechecked
    typeguard.typechecked = _unchecked  # read by inflect's `from typeguard import typechecked`
    try:
        from inflect import engine
    finally:
        typeguard.typechecked = checked
    return engine()


def singular_of(plural: str) -> str:
    """The singular English makes of a plural name: people -> person, categories -> category,
    analyses -> analysis, order_items -> order_item; a name inflect takes for a singular
    already (status, series, news) stays as it is. `--singular` overrides it."""
    return _engine().singular_noun(plural) or plural
