"""The public API is explicit (as httpx tests its exported members)."""

from __future__ import annotations

import priorauth


def test_exported_members() -> None:
    assert priorauth.__all__ == [
        "ENGINE_VERSION",
        "Determination",
        "Outcome",
        "PolicyRegistry",
        "RequestFacts",
        "Truth",
        "decide",
        "extract_request",
        "load_registry",
    ]
    for name in priorauth.__all__:
        assert getattr(priorauth, name) is not None
