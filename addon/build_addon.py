"""Build flamenco-addon.zip: the add-on plus the blender-asset-tracer it bundles.

Writes ./flamenco-addon.zip and the copy the Manager serves at
/flamenco-addon.zip (flamenco_pkg/manager/addon_dist/). The zip holds one
`flamenco/` folder, which Blender 3.x installs as an add-on and 4.2+ also as
an extension (blender_manifest.toml). Entries are sorted and dated 1980, so
building twice gives the same bytes.

Run with the project's venv Python: BAT is taken from its site-packages.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "addon" / "flamenco"
OUTPUTS = [ROOT / "flamenco-addon.zip", ROOT / "flamenco_pkg" / "manager" / "addon_dist" / "flamenco-addon.zip"]
BAT_VERSION = "1.23"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def fail(message: str) -> None:
    print(f"build_addon: {message}", file=sys.stderr)
    sys.exit(1)


def project_versions() -> tuple[str, str]:
    text = (ROOT / "flamenco_pkg" / "__init__.py").read_text("utf-8")
    version = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    api = re.search(r'^API_VERSION = "([^"]+)"', text, re.M)
    if not version or not api:
        fail("cannot read __version__ and API_VERSION from flamenco_pkg/__init__.py")
    return version.group(1), api.group(1)


def check_versions() -> None:
    """One number everywhere: the Manager, bl_info, the manifest and version.py."""
    version, api = project_versions()
    init = ast.parse((SOURCE / "__init__.py").read_text("utf-8"))
    bl_info = next(ast.literal_eval(node.value) for node in init.body
                   if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "bl_info")
    found = {
        "bl_info": ".".join(map(str, bl_info["version"])),
        "__init__.__version__": re.search(r'^__version__ = "([^"]+)"', (SOURCE / "__init__.py").read_text(), re.M)[1],
        "version.ADDON_VERSION": re.search(r'^ADDON_VERSION = "([^"]+)"', (SOURCE / "version.py").read_text(), re.M)[1],
        "blender_manifest.toml": re.search(r'^version = "([^"]+)"', (SOURCE / "blender_manifest.toml").read_text(),
                                           re.M)[1],
    }
    wrong = {where: v for where, v in found.items() if v != version}
    if wrong:
        fail(f"add-on versions {wrong} differ from the Manager's {version}")
    addon_api = re.search(r'^API_VERSION = "([^"]+)"', (SOURCE / "version.py").read_text(), re.M)[1]
    if addon_api != api:
        fail(f"the add-on speaks API {addon_api}, the Manager {api}")


def bat_package() -> tuple[Path, Path | None]:
    """BAT's package folder and its licence file, from this Python's site-packages."""
    try:
        dist = importlib.metadata.distribution("blender-asset-tracer")
    except importlib.metadata.PackageNotFoundError:
        fail("blender-asset-tracer is not installed; run `make venv` first")
    if dist.version != BAT_VERSION:
        fail(f"blender-asset-tracer {dist.version} is installed, the add-on bundles {BAT_VERSION}")
    package = Path(dist.locate_file("blender_asset_tracer"))
    licence = next((Path(dist.locate_file(f)) for f in dist.files or [] if f.name.startswith("LICENSE")), None)
    return package, licence


def entries() -> list[tuple[str, Path]]:
    """(name in the zip, file on disk), sorted."""
    found = []
    for path in SOURCE.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            found.append((f"flamenco/{path.relative_to(SOURCE).as_posix()}", path))
    package, licence = bat_package()
    for path in package.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            found.append((f"flamenco/vendor/blender_asset_tracer/{path.relative_to(package).as_posix()}", path))
    if licence is not None:
        found.append(("flamenco/vendor/blender_asset_tracer-LICENSE.txt", licence))
    return sorted(found)


def build(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_suffix(".zip~")
    with zipfile.ZipFile(temp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in entries():
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    temp.replace(target)


def main() -> None:
    check_versions()
    build(OUTPUTS[0])
    for copy in OUTPUTS[1:]:
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(OUTPUTS[0], copy)
    print(f"built {OUTPUTS[0].relative_to(ROOT)} ({OUTPUTS[0].stat().st_size // 1024} KiB) "
          f"with blender-asset-tracer {BAT_VERSION}")


if __name__ == "__main__":
    main()
