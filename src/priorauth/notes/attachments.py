"""Decode base64 text attachments (FHIR ``Attachment.data``) to the plain text the extractor reads.

Offsets of the resulting mentions refer to the *decoded* text, which is what a reviewer is shown.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from html.parser import HTMLParser

from priorauth.errors import PriorAuthError

_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "section", "pre"}
)
_SKIP_TAGS = frozenset({"script", "style", "head", "title"})
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w-]+)", re.IGNORECASE)


class AttachmentError(PriorAuthError):
    """An attachment that is not decodable text."""

    code = "note-attachment"


class _TextCollector(HTMLParser):
    """Collect the text of an HTML document, one line per block element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    """The visible text of an HTML (or XHTML narrative) document, blocks on their own lines."""
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    text = html.unescape("".join(collector.parts))
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def decode_attachment(content_type: str, data_base64: str) -> str:
    """Decode a base64 ``text/plain`` or ``text/html`` attachment to plain text.

    Raises :class:`AttachmentError` for other content types or undecodable data.
    """
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in {"text/plain", "text/html", "application/xhtml+xml"}:
        raise AttachmentError(f"unsupported attachment content type: {content_type!r}")
    try:
        raw = base64.b64decode(data_base64, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise AttachmentError(f"attachment is not valid base64: {exc}") from exc
    charset_match = _CHARSET.search(content_type)
    charset = charset_match.group(1) if charset_match else "utf-8"
    try:
        text = raw.decode(charset)
    except (LookupError, UnicodeDecodeError):
        text = raw.decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff")
    return text if media == "text/plain" else html_to_text(text)
