"""Every word of the wall page in both languages (issue 23, item 5): the page's dictionary
(agents/wall/static/i18n.js) has the same keys in English and French, and every key the page
asks for exists. The page falls back to English for a missing French word, so without this
test a new label would show in English on a French screen and nobody would notice."""

from __future__ import annotations

import re

from ccmon.agents.wall.tiles import CONTACT_PRIORITY, TICKET_PRIORITY
from ccmon.streams.contract.agentevents import AGENT_STATES, CONTACT_CHANNELS
from tests.support.paths import ROOT

STATIC = ROOT / "agents" / "wall" / "static"


def dictionary() -> dict[str, dict[str, str]]:
    source = (STATIC / "i18n.js").read_text(encoding="utf-8")
    labels = source[source.index("const LABELS = {") : source.index("const LOCALES")]
    out: dict[str, dict[str, str]] = {}
    for lang in ("en", "fr"):
        body = labels[labels.index(f"    {lang}: {{") :]
        body = body[: body.index("\n    },")]
        pairs = re.findall(r"\b([a-z0-9_]+):\s*\"((?:[^\"\\]|\\.)*)\"", body)
        out[lang] = dict(pairs)
    return out


def asked_for() -> set[str]:
    """The keys the page looks up: its static labels, the literal keys of its scripts, and
    the ones it builds from a state, a channel, an agent state or a tile's metric."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    keys = set(re.findall(r'data-label="([a-z0-9_]+)"', html))
    for script in ("wall.js", "tiles.js", "board.js"):
        text = (STATIC / script).read_text(encoding="utf-8")
        keys |= set(re.findall(r"\bt\(\s*\"([a-z0-9_]+)\"", text))
        keys |= set(re.findall(r"\?\s*\"([a-z0-9_]+)\"\s*:", text))  # t(x ? "a" : "b")
        keys |= set(re.findall(r":\s*\"((?:why|sound)_[a-z0-9_]+)\"", text))
    keys |= {"ok", "warn", "alarm", "none", "connecting", "live", "delayed", "no_data"}
    keys |= set(CONTACT_CHANNELS) | set(AGENT_STATES)
    keys |= {f"short_{m}" for m in (*CONTACT_PRIORITY, *TICKET_PRIORITY)}
    return {k for k in keys if not k.endswith("_")}  # t("short_" + metric): built above


def test_english_and_french_have_the_same_words() -> None:
    words = dictionary()
    assert len(words["en"]) > 60
    assert sorted(set(words["en"]) ^ set(words["fr"])) == []
    assert all(words["fr"].values()), "no empty French word"


def test_every_word_the_page_asks_for_is_in_the_dictionary() -> None:
    words = dictionary()
    asked = asked_for()
    assert {"sl_30m", "sound_on", "why_source", "short_oldest_open", "on_contact"} <= asked
    assert sorted(asked - set(words["en"])) == []
