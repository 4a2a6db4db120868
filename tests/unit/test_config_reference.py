"""docs/configuration.md is generated from the settings tree and kept up to date (`make docs`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flamenco_pkg.manager.config import reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_reference_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == reference.render(), "run `make docs` and commit docs/configuration.md"


def test_every_setting_has_a_description_and_no_description_is_stale():
    keys = [path for path, _kind, _value, _what in reference.settings()]
    missing = [k for k in keys if not reference.DESCRIPTIONS.get(k, "").strip()]
    assert not missing, f"describe these settings in config/reference.py: {missing}"
    stale = sorted(set(reference.DESCRIPTIONS) - set(keys))
    assert not stale, f"these descriptions name no setting: {stale}"
    assert set(reference.DEFAULT_TEXT) <= set(keys) and set(reference.READ_AT_START) <= set(keys)


def test_reference_lists_every_key_with_its_default():
    text = reference.render()
    for path, _kind, _value, what in reference.settings():
        if what == "value":
            assert f"| `{path}` |" in text
    assert "| `task_timeout` | duration | `10m` | at once |" in text
    assert "| `listen` | text | `:8080` | at restart |" in text
    assert "value: blender.exe" in text


def test_a_new_field_shows_up_in_the_reference(monkeypatch):
    """The reference walks the dataclasses, so a new field cannot silently go missing."""
    from flamenco_pkg.manager import config as config_mod

    @dataclass
    class Bigger(config_mod.Config):
        render_budget: int = field(default=7)

    monkeypatch.setattr(reference, "Config", Bigger)
    keys = [path for path, *_ in reference.settings()]
    assert "render_budget" in keys
    assert "| `render_budget` | whole number | `7` |" in reference.render()
