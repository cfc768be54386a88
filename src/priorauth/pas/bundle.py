"""Reference resolution inside a Bundle, following FHIR R4's rules (fullUrl, relative ``Type/id``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]


@dataclass
class BundleIndex:
    """Entries by fullUrl and by ``Type/id``, so a reference resolves in O(1)."""

    entries: list[Json]
    by_full_url: dict[str, int] = field(default_factory=dict)
    by_type_id: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, bundle: Json) -> BundleIndex:
        """Index a Bundle whose entries were already checked to be objects with a resource."""
        entries: list[Json] = bundle.get("entry") or []
        index = cls(entries)
        for position, entry in enumerate(entries):
            resource = entry.get("resource") or {}
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str):
                index.by_full_url.setdefault(full_url, position)
            rtype, rid = resource.get("resourceType"), resource.get("id")
            if isinstance(rtype, str) and isinstance(rid, str):
                index.by_type_id.setdefault(f"{rtype}/{rid}", position)
        return index

    def position(self, reference: str) -> int | None:
        """The entry index a reference points to, or None when it dangles."""
        if reference in self.by_full_url:
            return self.by_full_url[reference]
        if reference.startswith(("urn:uuid:", "urn:oid:")):
            return None
        parts = reference.rstrip("/").split("/")
        if len(parts) >= 2:
            # Relative or absolute "…/Type/id[/_history/n]": match on Type/id, as servers resolving a
            # Bundle against its base do.
            if len(parts) >= 4 and parts[-2] == "_history":
                parts = parts[:-2]
            return self.by_type_id.get(f"{parts[-2]}/{parts[-1]}")
        return None

    def resolve(self, reference: str) -> Json | None:
        """The referenced resource, or None."""
        position = self.position(reference)
        if position is None:
            return None
        resource: Json = self.entries[position]["resource"]
        return resource


def references(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every ``Reference.reference`` string under ``node``, with the FHIRPath of its Reference."""
    found: list[tuple[str, str]] = []
    # Path segments (a key, or a list position) are kept on a stack and turned into text only for a
    # Reference found: formatting a segment for every element of a large Claim dominated the check.
    parts: list[str | int] = []

    def here() -> str:
        return path + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)

    def walk(value: Any) -> None:
        if type(value) is dict:
            ref = value.get("reference")
            if isinstance(ref, str):
                found.append((here(), ref))
            for key, child in value.items():
                kind = type(child)
                if (kind is dict or kind is list) and key not in _NOT_WALKED:
                    parts.append(key)
                    walk(child)
                    parts.pop()
        else:
            for position, child in enumerate(value):
                kind = type(child)
                if kind is dict or kind is list:
                    parts.append(position)
                    walk(child)
                    parts.pop()

    if isinstance(node, dict | list):
        walk(node)
    return iter(found)


_NOT_WALKED = frozenset({"reference", "contained", "text"})
