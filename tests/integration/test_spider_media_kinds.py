"""Every kind of medium t.me/s shows, through the spider, its hash worker and ingest."""

from __future__ import annotations

import hashlib
import io
import os
from typing import Any

from PIL import Image as PILImage

from crawler.hashing.keyed import keyed_value_hash, normalize_place
from sandbox.site import FixtureChannel, SiteModel
from sandbox.site.model import FixturePost, Location, Poll, Sticker, Voice, image_of
from tests.integration.spider_world import world_factory

__all__ = ["world_factory"]
KEY = "an installation key of 32 chars"


def webp() -> bytes:
    image = PILImage.new("RGB", (128, 128), (30, 90, 160))
    for x in range(0, 128, 16):
        image.paste((255, x * 2, 0), (x, x // 2, x + 8, 128 - x // 3))
    out = io.BytesIO()
    image.save(out, "WEBP")
    return out.getvalue()


def test_stickers_voice_polls_and_places_reach_the_database(world_factory: Any) -> None:
    sticker, ogg = webp(), os.urandom(3000)
    model = SiteModel()
    model.images["/img/st.webp"] = image_of(sticker, "image/webp")
    model.images["/media/voice.ogg"] = image_of(ogg, "audio/ogg")
    posts = [
        FixturePost(1, media=Sticker("/img/st.webp")),
        FixturePost(2, media=Voice("/media/voice.ogg", "0:07")),
        FixturePost(3, media=Poll("오늘 어느 방?", ("겹지인방", "다른 방"))),
        FixturePost(4, media=Location(37.56649, 126.97805)),
    ]
    model.add_channel(FixtureChannel("KindsRoom", 4242, "Kinds", posts=posts))
    world = world_factory(model)
    world.media = {"doxx_key": KEY}
    world.watch("tme_preview", "@kindsroom")

    result = world.crawl("@kindsroom")

    assert result.outcome.status == "ok", result.outcome
    rows = {
        r.message_id: r
        for r in world.rows(
            "SELECT i.message_id, i.text, m.kind, m.duration, m.sha256, m.pdq, m.hash_status "
            "FROM item i JOIN media m ON m.item_id = i.id"
        )
    }
    assert (rows[1].kind, rows[1].sha256) == ("sticker", hashlib.sha256(sticker).hexdigest())
    assert len(rows[1].pdq) == 64
    assert (rows[2].kind, rows[2].duration, rows[2].sha256) == (
        "voice", 7.0, hashlib.sha256(ogg).hexdigest()
    )  # fmt: skip
    assert (rows[3].kind, rows[3].hash_status) == ("poll", "no_file")
    assert rows[3].text == "오늘 어느 방?\n겹지인방\n다른 방"
    # The installation's key reaches the child: the place hashes as the API collector's would.
    expected = keyed_value_hash(KEY.encode(), normalize_place(37.56649, 126.97805))
    assert (rows[4].kind, rows[4].sha256, rows[4].hash_status) == ("location", expected, "hashed")
    assert world.site.beacon_hits == []
    assert not any("staticmap" in r.path_qs for r in world.site.requests)
