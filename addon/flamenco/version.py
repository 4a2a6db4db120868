"""Versions of this add-on and of the Manager API it speaks.

build_addon.py checks that these agree with bl_info, blender_manifest.toml
and the Manager's own version, so one release ships one number.
"""

ADDON_VERSION = "3.9.0"
API_VERSION = "3.9"  # the Manager's `shortversion` this add-on was made for
USER_AGENT = f"Flamenco/{ADDON_VERSION} (Blender add-on)"


def version_mismatch(manager_shortversion: str) -> bool:
    """Whether the Manager speaks another API version (major.minor differ).

    Upstream compares the whole string; a patch release of either side does
    not change the API, so only major.minor count here.
    """
    def major_minor(text: str) -> tuple[str, ...]:
        return tuple(text.strip().lstrip("v").split("-")[0].split(".")[:2])

    return major_minor(manager_shortversion) != major_minor(API_VERSION)
