"""Where the resource template lives, and how Copier reaches it.

The resource template (`resource/` in this repository) is versioned with the main
template. A wheel ships its files next to the main template's (`fastgen add resource`
renders them with fastgen.render), and `resource.bundle` next to `template.bundle` for
Copier's updates: the same version tags, each re-rooted at `resource/` (see
hatch_build.py); a development checkout derives that bundle from the main one on the fly.
Projects record the canonical `RESOURCE_URL`, which git maps to the bundle, as for the
main template.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fastgen.source
from fastgen.bundle import build_subtree_bundle
from fastgen.source import BundledTemplate, bundled_template

RESOURCE_URL = "https://github.com/fastgen-copier/fastgen-resource.git"
RESOURCE_DIR = "resource"
BUNDLE = "resource.bundle"


def resource_root() -> Path:
    """The directory holding the resource template's `copier.yml`, of this fastgen's version."""
    return fastgen.source.template_root() / RESOURCE_DIR


@contextmanager
def resource_template(main: BundledTemplate | None = None) -> Iterator[BundledTemplate]:
    """The bundled resource template, at the same version as `main` (the bundled one)."""
    if main is None:
        with bundled_template() as bundled, resource_template(bundled) as resource:
            yield resource
        return
    shipped = fastgen.source.template_root() / BUNDLE
    if shipped.is_file():
        yield dataclasses.replace(main, url=RESOURCE_URL, bundle=shipped)
        return
    with tempfile.TemporaryDirectory(prefix="fastgen-resource-bundle-") as tmp:
        bundle = Path(tmp) / BUNDLE
        build_subtree_bundle(main.bundle, RESOURCE_DIR, bundle)
        yield dataclasses.replace(main, url=RESOURCE_URL, bundle=bundle)
