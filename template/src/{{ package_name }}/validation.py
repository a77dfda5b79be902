"""Field types that make bad input a 422 at the schema boundary, never a database error.

Every string that reaches a column is checked by `storable`, through `StoredText` or after
its own constraints: PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded
as UTF-8 by any driver. A stripped string gives its constraints before `storable`: given after
a validator, pydantic checks them against the string before it is stripped, so a blank one
would pass as empty.
"""

from typing import Annotated

from pydantic import AfterValidator


def storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (U+0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must not contain unpaired surrogates (U+D800 to U+DFFF)") from None
    return value


StoredText = Annotated[str, AfterValidator(storable)]
