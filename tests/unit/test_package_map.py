"""docs/architecture.md's package map lists every module of ccmon, and only those."""

from __future__ import annotations

import pkgutil
import re

import ccmon
from tests.support.paths import DOCS

ROW = re.compile(r"^\| `(ccmon(?:\.[A-Za-z_][\w]*)*)` \|", re.M)


def test_every_module_is_in_the_package_map_and_nothing_else() -> None:
    documented = set(ROW.findall((DOCS / "architecture.md").read_text(encoding="utf-8")))
    modules = {"ccmon"} | {m.name for m in pkgutil.walk_packages(ccmon.__path__, "ccmon.")}
    assert sorted(modules - documented) == [], "add these to docs/architecture.md, Packages"
    assert sorted(documented - modules) == [], "these are in the package map but do not exist"
