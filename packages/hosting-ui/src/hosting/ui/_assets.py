"""The page's files: shipped in the wheel under ``static/``, read once, served with strict headers.

The page is plain JavaScript modules, CSS and one HTML file: no build step, nothing
fetched from another host, so it works offline and a user installing the wheel needs
no Node.js. Every file goes out with a Content-Security-Policy that allows scripts,
styles and requests from the page's own origin only, and no inline script at all:
whatever an agent answers, the browser will not run it.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from importlib import resources

from starlette.responses import Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
"""Own origin only; no inline scripts or styles; the page may not be framed."""

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    # A new release changes the files: revalidate every time (the ETag makes that cheap).
    "cache-control": "no-cache",
}

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


@dataclass(frozen=True, slots=True)
class Asset:
    """One file of the page, with its media type and an ETag of its content."""

    content: bytes
    media_type: str
    etag: str

    @classmethod
    def of(cls, content: bytes, media_type: str) -> Asset:
        return cls(content, media_type, '"' + hashlib.sha256(content).hexdigest()[:32] + '"')

    def response(self, *, if_none_match: str | None = None) -> Response:
        headers = {**SECURITY_HEADERS, "etag": self.etag}
        if if_none_match is not None and self.etag in {tag.strip() for tag in if_none_match.split(",")}:
            return Response(status_code=304, headers=headers)
        return Response(self.content, media_type=self.media_type, headers=headers)


def load_assets() -> dict[str, Asset]:
    """The scripts and styles of the page, by file name (the HTML page is `render_page`'s)."""
    assets: dict[str, Asset] = {}
    for entry in resources.files(__package__).joinpath("static").iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.name == "index.html" or suffix not in _TYPES:
            continue
        assets[entry.name] = Asset.of(entry.read_bytes(), _TYPES[suffix])
    return assets


def render_page(*, title: str, base: str, api: str, assets: str) -> Asset:
    """The HTML page, with where the page, its files and the API live (escaped, in ``<meta>`` tags)."""
    template = resources.files(__package__).joinpath("static", "index.html").read_text("utf-8")
    page = (
        template.replace("{{title}}", html.escape(title))
        .replace("{{base}}", html.escape(base))
        .replace("{{api}}", html.escape(api))
        .replace("{{assets}}", html.escape(assets))
    )
    return Asset.of(page.encode("utf-8"), _TYPES[".html"])
