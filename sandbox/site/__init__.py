"""A local site that serves t.me/s-shaped channel pages (with the real markup's traps),
ordinary pages, images, robots.txt, redirects and faults, on 127.0.0.1 only.

`model` says what the site holds; `render` (a message), `render_media` (its media), `markup`
(what both use) and `pages` make the HTML, `images` the image bytes, `server` serves it all and
records every request; `traps` is a channel with every trap.
(Hypothesis strategies for hostile preview-flavoured HTML live in tests/hostile_html.py.)
"""

from sandbox.site.model import (
    AlbumItem,
    Fault,
    FixtureChannel,
    FixturePost,
    Forward,
    Image,
    LinkPreview,
    Photo,
    Reaction,
    Reply,
    SiteModel,
    TextLink,
    Video,
    WebPage,
    bomb_image,
    challenge,
    hashtag,
    hidden_link,
    image_of,
    mention,
    numbered_posts,
    oversized_image,
    server_error,
    throttle,
)
from sandbox.site.pages import page_of, render_channel_page
from sandbox.site.server import FixtureSite, RecordedRequest

__all__ = [
    "AlbumItem",
    "Fault",
    "FixtureChannel",
    "FixturePost",
    "FixtureSite",
    "Forward",
    "Image",
    "LinkPreview",
    "Photo",
    "Reaction",
    "RecordedRequest",
    "Reply",
    "SiteModel",
    "TextLink",
    "Video",
    "WebPage",
    "bomb_image",
    "challenge",
    "hashtag",
    "hidden_link",
    "image_of",
    "mention",
    "numbered_posts",
    "oversized_image",
    "page_of",
    "render_channel_page",
    "server_error",
    "throttle",
]
