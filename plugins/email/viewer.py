"""Showing a message safely: its HTML sanitised (nh3), served alone into a sandboxed frame.

Three layers, each enough on its own against script: nh3 keeps only inert tags and
attributes; the frame is ``sandbox`` without ``allow-scripts`` or ``allow-same-origin``; the
frame's document answers with its own Content-Security-Policy allowing no script, no
connection and no image but ``data:`` ones. Remote images are dropped (and their count shown)
until the viewer asks for them, message by message.

The frame runs no script and has an opaque origin, so the page cannot measure its document:
``frame_height`` estimates its height from the sanitised HTML (the page sizes the frame by it,
and the reader may drag it taller), and ``sets_colours`` tells whether the sender chose colours
(then the frame stays light in dark mode, so their dark text never lands on a dark ground).
"""

import math
import re
from html.parser import HTMLParser

import nh3

TAGS = set(nh3.ALLOWED_TAGS) - {"area", "map"}
ATTRIBUTES = {
    **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"style", "title", "lang", "dir"},
}
STYLE_PROPERTIES = {
    "color",
    "background-color",
    "font",
    "font-family",
    "font-size",
    "font-style",
    "font-weight",
    "line-height",
    "text-align",
    "text-decoration",
    "text-transform",
    "margin",
    "margin-top",
    "margin-bottom",
    "margin-left",
    "margin-right",
    "padding",
    "padding-top",
    "padding-bottom",
    "padding-left",
    "padding-right",
    "border",
    "border-collapse",
    "border-color",
    "border-radius",
    "border-style",
    "border-width",
    "width",
    "max-width",
    "height",
    "vertical-align",
    "white-space",
    "display",
}
LINK_SCHEMES = ("http://", "https://", "mailto:")
DATA_IMAGE = re.compile(r"^data:image/(png|gif|jpeg|webp);base64,[A-Za-z0-9+/=\s]+$", re.I)
REMOTE = re.compile(r"^https?://", re.I)

BASE_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:{remote}; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'; sandbox"
)


def frame_policy(remote_images=False):
    """Return the Content-Security-Policy of a message's frame document."""
    return BASE_POLICY.format(remote=" https: http:" if remote_images else "")


def sanitise(html, remote_images=False):
    """Return ``(safe_html, blocked)``: the message's HTML with only inert markup left, and how
    many remote images were dropped (kept when ``remote_images``)."""
    blocked = []

    def keep(tag, attribute, value):
        if tag == "img" and attribute == "src":
            if DATA_IMAGE.match(value):
                return value
            if REMOTE.match(value):
                if remote_images:
                    return value
                blocked.append(value)
            return None
        if attribute == "href":
            return value if value.lower().startswith(LINK_SCHEMES) else None
        if attribute == "cite":
            return None  # a URL nobody needs to follow inside a message
        return value

    safe = nh3.clean(
        html or "",
        tags=TAGS,
        clean_content_tags={"script", "style", "template", "noscript", "title"},
        attributes=ATTRIBUTES,
        attribute_filter=keep,
        url_schemes={"http", "https", "mailto", "data"},
        filter_style_properties=STYLE_PROPERTIES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return safe, len(blocked)


# Sizing the frame: the frame is about 900 px wide on a desktop, where a line holds about 100
# characters of the default 16 px font; a sender's column (``max-width: 560px``) holds fewer,
# about one per 8 px. A line is 20 px; each block adds its margins. Too tall leaves blank space
# below the message, too short gives the frame a scrollbar: the estimate leans tall.
CHARS_PER_LINE = 100
PX_PER_CHAR = 8
MIN_CHARS_PER_LINE = 40
LINE_PX = 20
BLOCK_PX = 16
IMAGE_PX = 150  # an image without a height attribute
FRAME_PADDING_PX = 40
MIN_FRAME_PX = 120
MAX_FRAME_PX = 2400
COLUMN = re.compile(r"(?<![-\w])(?:max-)?width\s*:\s*(\d+)px", re.I)
BLOCKS = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "blockquote", "pre", "table",
    "ul", "ol", "dl", "dt", "dd", "hr", "section", "article", "header", "footer", "center",
}  # fmt: skip
COLOUR = re.compile(r"(?:^|;)\s*(?:color|background-color|background)\s*:", re.I)


class _Layout(HTMLParser):
    """Counts the lines and blocks of a message's HTML, roughly as a browser would lay it out."""

    def __init__(self, chars_per_line=CHARS_PER_LINE):
        super().__init__(convert_charrefs=True)
        self.chars_per_line = chars_per_line
        self.px = 0
        self.line = 0  # characters on the current line
        self.pre = 0  # inside <pre>: line breaks are kept
        self.colours = False

    def flush(self):
        if self.line:
            self.px += math.ceil(self.line / self.chars_per_line) * LINE_PX
            self.line = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if COLOUR.search(attrs.get("style") or "") or "bgcolor" in attrs or "color" in attrs:
            self.colours = True
        if tag in BLOCKS:
            self.flush()
            self.px += BLOCK_PX
        if tag == "pre":
            self.pre += 1
        if tag == "br":
            self.flush()
            self.px += 0 if self.line else LINE_PX // 2
        if tag == "img":
            height = (attrs.get("height") or "").strip().removesuffix("px")
            self.flush()
            self.px += min(int(height), MAX_FRAME_PX) if height.isdigit() else IMAGE_PX

    def handle_endtag(self, tag):
        if tag in BLOCKS:
            self.flush()
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if self.pre:
            *whole, last = data.split("\n")
            for text in whole:
                self.line += len(text)
                self.flush()
                self.px += 0 if text else LINE_PX
            self.line += len(last)
        else:
            self.line += len(" ".join(data.split()))


def _layout(safe_html):
    # The narrowest column the sender set (a style's width or max-width in px) sets the line.
    widths = [int(width) for width in COLUMN.findall(safe_html or "")]
    chars = CHARS_PER_LINE
    if widths:
        chars = max(MIN_CHARS_PER_LINE, min(chars, min(widths) // PX_PER_CHAR))
    layout = _Layout(chars)
    layout.feed(safe_html or "")
    layout.close()
    layout.flush()
    return layout


def frame_height(safe_html):
    """Return the height in CSS pixels to give the frame of ``safe_html`` (sanitised), so a
    usual message shows whole, without a scrollbar of its own: an estimate, at most 2400."""
    estimate = _layout(safe_html).px * 1.05 + FRAME_PADDING_PX
    return int(min(max(estimate, MIN_FRAME_PX), MAX_FRAME_PX))


def sets_colours(safe_html):
    """Tell whether the sender's HTML (sanitised) sets a text or background colour."""
    return _layout(safe_html).colours
