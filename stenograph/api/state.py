"""What the API's routes share: the service (:class:`~stenograph.service.Stenograph`, built once per app by
``create_app``) and the path and query parameters of many routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request
from pydantic import AfterValidator

from stenograph.recordings.store import MAX_SEARCH_CHARS, MAX_SEARCH_WORDS
from stenograph.service import Stenograph


def get_service(request: Request) -> Stenograph:
    service: Stenograph = request.app.state.stenograph
    return service


ServiceDep = Annotated[Stenograph, Depends(get_service)]


#: The largest id a database integer holds (64-bit signed).
MAX_ID = 2**63 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A positive id.")]
IdQuery = Annotated[int, Query(ge=1, le=MAX_ID, description="A positive id.")]
OffsetQuery = Annotated[int, Query(ge=0, le=2**31, description="Rows to skip.")]


def _bounded_search(q: str | None) -> str | None:
    """A search of at most ``MAX_SEARCH_CHARS`` characters and ``MAX_SEARCH_WORDS`` words.

    Raises:
        ValueError: longer (a 422 at the API, naming the limit).
    """
    if q is None:
        return None
    if len(q) > MAX_SEARCH_CHARS:
        raise ValueError(f"the search is {len(q)} characters long; at most {MAX_SEARCH_CHARS} are allowed")
    words = len(q.split())
    if words > MAX_SEARCH_WORDS:
        raise ValueError(f"the search has {words} words; at most {MAX_SEARCH_WORDS} are allowed")
    return q


SearchQuery = Annotated[
    str | None,
    Query(
        description=f"Words that must all appear in the name or transcript (at most {MAX_SEARCH_WORDS} words, "
        f"{MAX_SEARCH_CHARS} characters); words without a letter or digit are ignored.",
    ),
    AfterValidator(_bounded_search),
]
