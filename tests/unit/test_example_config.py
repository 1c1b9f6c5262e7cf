"""The example settings file is what `chanwatch init` installs: it must load as it is and
document every key the settings know, so that a new key cannot ship undocumented."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from crawler.settings import Settings
from crawler.settings_loading import load_settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "chanwatch.example.toml"


def _keys(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(_keys(annotation, name))
        else:
            keys.append((prefix, name))
    return keys


def test_the_example_settings_load_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in [v for v in os.environ if v.upper().startswith("CHANWATCH_")]:
        monkeypatch.delenv(var)
    assert load_settings(EXAMPLE) == Settings()


@pytest.mark.parametrize(("section", "key"), _keys(Settings))
def test_every_setting_is_documented_in_the_example(section: str, key: str) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    body = text if not section else text.split(f"[{section}]", 1)[-1].split("\n[", 1)[0]
    assert not section or f"[{section}]" in text, f"no [{section}] section"
    assert re.search(rf"^#?\s*{re.escape(key)}\s*=", body, re.M), f"{section}.{key} undocumented"
