"""Showing a message safely: its HTML sanitised (nh3), served alone into a sandboxed frame.

Three layers, each enough on its own against script: nh3 keeps only inert tags and
attributes; the frame is ``sandbox`` without ``allow-scripts`` or ``allow-same-origin``; the
frame's document answers with its own Content-Security-Policy allowing no script, no
connection and no image but ``data:`` ones. Remote images are dropped (and their count shown)
until the viewer asks for them, message by message.
"""

import re

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
