"""Every worker and wall setting is documented in docs/configuration.md, and nothing stale
is."""

from __future__ import annotations

import re

from ccmon.agents.wall.settings import WallSettings
from ccmon.streams.settings import Settings
from tests.support.paths import ROOT

DOC = ROOT / "docs" / "configuration.md"


def test_every_setting_is_documented_and_no_ghost_is() -> None:
    text = DOC.read_text()
    documented = set(re.findall(r"`CCMON_([A-Z0-9_]+)`", text))
    fields = {name.upper() for name in Settings.model_fields}
    fields |= {f"WALL_{name.upper()}" for name in WallSettings.model_fields}
    assert fields - documented == set()
    assert {d for d in documented - fields if not d.startswith(("TEST_", "DEMO_"))} <= {
        "TANSU_BIN",
        "VALKEY_BIN",
        "CACHE_DIR",
        "UPDATE_GOLDEN",
        "KUSTOMIZE",
    }
