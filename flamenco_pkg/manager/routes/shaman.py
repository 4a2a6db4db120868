"""The `shaman` API tag, and the add-on download.

Uploads are mounted here rather than through HANDLERS: an upload streams to
disk (files can be gigabytes), is hashed on the way, and stops reading once
a parallel upload of the same file has been stored, so its answer (200, 208,
417) is decided while reading. The request is still checked against the
spec first, like every API call.
"""

from __future__ import annotations

import email.errors
import email.header
import logging
from importlib import resources
from typing import Any

import bottle

from flamenco_pkg.api import spec as api_spec
from flamenco_pkg.api.validation import RequestInvalid, RequestValidator

from .. import shaman
from ..context import Manager
from ..disk_full import is_disk_full
from ..http_peer import client_address
from .common import ManagerError, ApiRequest, error_response

log = logging.getLogger("flamenco.shaman")

ADDON_FILENAME = "flamenco-addon.zip"
UPLOAD_ROUTE = "/api/v3/shaman/files/<checksum>/<filesize>"


def _shaman(m: Manager) -> shaman.Shaman:
    try:
        return shaman.for_config(m.config)
    except shaman.ShamanUnavailable as exc:
        raise ManagerError(503, str(exc)) from None


def _specs(r: ApiRequest) -> list[shaman.FileSpec]:
    try:
        return shaman.specs.parse_specs(r.body["files"], check_paths=True)
    except shaman.SpecError as exc:
        raise ManagerError(400, str(exc)) from None


def _key(checksum: str, filesize: str) -> shaman.BlobKey:
    try:
        return shaman.check_blob_key(checksum, int(filesize))
    except (shaman.SpecError, ValueError) as exc:
        raise ManagerError(400, str(exc)) from None


def checkout_requirements(m: Manager, r: ApiRequest) -> dict[str, Any]:
    store = _shaman(m)
    return {"files": store.requirements(_specs(r))}


def file_store_check(m: Manager, r: ApiRequest) -> dict[str, Any]:
    store = _shaman(m)
    return {"status": store.status(_key(r.path["checksum"], r.path["filesize"]))}


def checkout(m: Manager, r: ApiRequest) -> dict[str, Any]:
    store = _shaman(m)
    try:
        result = store.checkouts.create(r.body["checkoutPath"], _specs(r))
    except shaman.SpecError as exc:
        raise ManagerError(400, str(exc)) from None
    except shaman.CheckoutError as exc:
        raise ManagerError(exc.status, str(exc)) from None
    except OSError as exc:
        if is_disk_full(exc):
            raise m.disk.full(store.layout.checkouts, "Shaman checkouts") from None
        log.error("cannot create checkout %r: %s", r.body["checkoutPath"], exc)
        raise ManagerError(500, f"cannot create the checkout: {exc.strerror or exc}") from None
    return {"checkoutPath": result.path}


HANDLERS = {
    "shamanCheckoutRequirements": checkout_requirements,
    "shamanFileStoreCheck": file_store_check,
    "shamanCheckout": checkout,
}


# ---------------------------------------------------------------- uploads

def original_filename(raw: str | None) -> str:
    """Decode X-Shaman-Original-Filename (ASCII or RFC 2047 UTF-8); ValueError if neither."""
    if not raw:
        return ""
    if not raw.isascii():
        raise ValueError("X-Shaman-Original-Filename must be ASCII or RFC 2047 encoded UTF-8")
    try:
        return str(email.header.make_header(email.header.decode_header(raw)))
    except (email.errors.HeaderParseError, UnicodeDecodeError, LookupError) as exc:
        raise ValueError(f"X-Shaman-Original-Filename cannot be decoded: {exc}") from None


def _upload(m: Manager, validator: RequestValidator, checksum: str, filesize: str) -> bottle.HTTPResponse:
    req = bottle.request
    has_body = req.content_length > 0 or req.chunked
    stream = req.environ["wsgi.input"]
    try:
        valid = validator.validate("shamanFileStore", path={"checksum": checksum, "filesize": filesize},
                                   query=dict(req.query.items()), headers=req.headers,
                                   content_type=req.content_type or None, body=stream if has_body else b"")
        name = original_filename(req.headers.get("X-Shaman-Original-Filename"))
    except RequestInvalid as exc:
        return error_response(400, exc.message)
    except ValueError as exc:
        return error_response(400, str(exc))
    try:
        store = _shaman(m)
        key = _key(checksum, filesize)
    except ManagerError as exc:
        return error_response(exc.status, exc.message)
    origin = f" from {client_address(req.environ, m.config.trusted_proxies)}" + (f" ({name!r})" if name else "")
    length = req.content_length if req.content_length >= 0 else None  # None: chunked
    try:
        outcome = store.uploads.receive(key, stream if has_body else _Empty(), content_length=length,
                                        can_defer=bool(valid.headers.get("X-Shaman-Can-Defer-Upload")),
                                        origin=origin)
    except shaman.UploadRejected as exc:
        log.warning("upload of %s%s refused: %s", key.short(), origin, exc)
        return error_response(417, str(exc))
    except OSError as exc:
        if is_disk_full(exc):
            full = m.disk.full(store.layout.file_store, "Shaman file store")
            return error_response(full.status, full.message)
        log.error("upload of %s%s failed: %s", key.short(), origin, exc)
        return error_response(500, f"the Manager could not store the file: {exc.strerror or exc}")
    return bottle.HTTPResponse(status=outcome.value)


class _Empty:
    @staticmethod
    def read(_size: int = -1) -> bytes:
        return b""


# ---------------------------------------------------------------- add-on download

def addon_zip() -> bytes | None:
    """The add-on built into this Manager (package data), or None when it was not built."""
    resource = resources.files("flamenco_pkg.manager").joinpath("addon_dist", ADDON_FILENAME)
    try:
        return resource.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _download_addon() -> bottle.HTTPResponse:
    data = addon_zip()
    if data is None:
        return error_response(404, "the Blender add-on was not built into this Manager; run `make addon` and restart")
    return bottle.HTTPResponse(data, status=200, headers={
        "Content-Type": "application/zip",
        "Content-Disposition": f'attachment; filename="{ADDON_FILENAME}"',
        "Cache-Control": "no-cache",
    })


def mount(app: bottle.Bottle, manager: Manager) -> None:
    validator = RequestValidator(api_spec.load_spec())

    @app.post(UPLOAD_ROUTE)
    def shaman_file_store(checksum: str, filesize: str) -> bottle.HTTPResponse:
        return _upload(manager, validator, checksum, filesize)

    @app.get("/" + ADDON_FILENAME)
    def download_addon() -> bottle.HTTPResponse:
        return _download_addon()

    @app.get("/flamenco3-addon.zip")
    def old_addon_name() -> bottle.HTTPResponse:
        return bottle.HTTPResponse(status=308, headers={"Location": "/" + ADDON_FILENAME})
