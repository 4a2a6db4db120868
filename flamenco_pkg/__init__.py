"""Flamenco render farm: Manager and Worker speaking Flamenco 3 API v3."""

__version__ = "3.9.0"
API_VERSION = "3.9"
