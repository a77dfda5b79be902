"""Hatch build hook: ship a git bundle of the template's history inside the wheel.

`fastgen new` records a canonical template URL and a version tag in each project;
`fastgen update` maps that URL to this bundle, so both work offline. The bundle's
version tags are derived from the `version` pyproject.toml held across history
(see cli/fastgen/bundle.py, loaded by path: the build environment lacks fastgen), and
the templates precompiled by cli/fastgen/render.py (whose imports the build requires).
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TemplateBundleHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return  # an editable install builds the bundle on the fly from git
        package = Path(self.root) / "cli" / "fastgen"
        module = _load("_fastgen_bundle", package / "bundle.py")
        render = _load("_fastgen_render", package / "render.py")
        self._tmp = tempfile.TemporaryDirectory(prefix="fastgen-wheel-bundle-")
        # Templates compiled once here rather than on a user's first run (see render.py).
        compiled = Path(self._tmp.name) / "compiled"
        render.compile_templates(Path(self.root), compiled)
        build_data["force_include"][str(compiled)] = "fastgen/_template/compiled"
        out = Path(self._tmp.name) / "template.bundle"
        module.build_bundle(Path(self.root), out)
        build_data["force_include"][str(out)] = "fastgen/_template/template.bundle"
        build_data["force_include"][str(out.parent / module.MANIFEST)] = (
            f"fastgen/_template/{module.MANIFEST}"
        )
        # The choices' records, which copier.yml includes (a fork may not have them).
        if (Path(self.root) / "profiles.yml").is_file():
            profiles = Path(self.root) / "profiles.yml"
            build_data["force_include"][str(profiles)] = "fastgen/_template/profiles.yml"
        # The resource template (resource/): its files, which `fastgen add resource` renders,
        # and a template of its own with the same versions, which Copier updates from.
        if (Path(self.root) / "resource").is_dir():
            files = Path(self.root) / "resource"
            build_data["force_include"][str(files)] = "fastgen/_template/resource"
            compiled = Path(self._tmp.name) / "resource-compiled"
            render.compile_templates(files, compiled)
            build_data["force_include"][str(compiled)] = "fastgen/_template/resource/compiled"
            resource = Path(self._tmp.name) / "resource.bundle"
            module.build_subtree_bundle(out, "resource", resource)
            build_data["force_include"][str(resource)] = "fastgen/_template/resource.bundle"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        if hasattr(self, "_tmp"):
            self._tmp.cleanup()
