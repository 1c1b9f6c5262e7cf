"""Hypothesis strategies for hostile, preview-flavoured HTML (parser robustness tests)."""

from __future__ import annotations

from hypothesis import strategies as st

_TAGS = [
    "div",
    "a",
    "span",
    "i",
    "b",
    "time",
    "video",
    "link",
    "section",
    "br",
    "tg-emoji",
    "script",
]
_ATTRS = [
    "href",
    "style",
    "data-post",
    "data-view",
    "datetime",
    "src",
    "rel",
    "data-before",
    "emoji-id",
]
_CLASSES = [
    "tgme_widget_message", "tgme_widget_message_text", "js-message_text", "js-message_reply_text",
    "tgme_widget_message_reply", "tgme_widget_message_views", "tgme_widget_message_date",
    "tgme_widget_message_grouped_wrap", "tgme_widget_message_photo_wrap", "tgme_reaction",
    "tgme_widget_message_reactions", "tgme_widget_message_video_player", "service_message",
    "tgme_channel_info", "tgme_channel_info_counter", "counter_value", "counter_type",
    "tme_messages_more", "tgme_widget_message_forwarded_from_name", "tgme_widget_message_meta",
]  # fmt: skip
_ATTR_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["RoomWatch/12", "a/b/c", "/0", "x/99999999999999999999999", "?single", "prev"]
    ),
    st.sampled_from(["background-image:url('", "url(x)", "?before=", "https://t.me/+", "tg://"]),
)


@st.composite
def html_fragments(draw: st.DrawFn, depth: int = 0) -> str:
    """Nested elements using preview class names and attribute values that look like ids,
    URLs and styles: closer to what breaks a parser than uniformly random text."""
    if depth > 4 or draw(st.booleans()):
        return draw(st.text(max_size=20))
    tag = draw(st.sampled_from(_TAGS))
    names = draw(st.lists(st.sampled_from(_ATTRS), max_size=4))
    attrs = "".join(f' {name}="{draw(_ATTR_VALUES)}"' for name in names)
    cls = " ".join(draw(st.lists(st.sampled_from(_CLASSES), max_size=3)))
    children = "".join(draw(st.lists(html_fragments(depth + 1), max_size=4)))
    return f'<{tag} class="{cls}"{attrs}>{children}</{tag}>'
