"""Object storage behind one interface: MinIO/S3 through the `minio` SDK, or local disk under DATA_DIR.

Keys are relative paths such as `videos/2026/12/<uuid>.mp4`. `url()` turns a key into the absolute URL a
phone fetches: on local disk the app serves `/media/<key>` (with Range support), on S3 the bucket's public
address (S3_PUBLIC_URL, else the endpoint and bucket) or, with S3_PRESIGN_SECONDS, a presigned GET URL
(path style, on the host of S3_PUBLIC_URL when it is set).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import mimetypes
import os
import shutil
from collections.abc import Callable, Coroutine
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import Any, ParamSpec, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import urllib3
from minio import Minio
from minio.error import S3Error

from core import pools, telemetry
from settings import Settings
from storage.media import CONTENT_TYPES

P = ParamSpec("P")
R = TypeVar("R")

MEDIA_ROUTE = "/media"
# Keys are unique per upload, so a stored object never changes: caches may keep it for good.
IMMUTABLE = "public, max-age=31536000, immutable"


class ObjectStoreError(Exception):
    """Storing, reading or removing an object failed."""


def content_type_for(key: str) -> str:
    """The Content-Type an object is served with, from its key's extension."""
    extension = PurePosixPath(key).suffix.lstrip(".").lower()
    return CONTENT_TYPES.get(extension) or mimetypes.guess_type(key)[0] or "application/octet-stream"


class ObjectStore(Protocol):
    name: str

    async def put_file(self, key: str, path: Path, content_type: str) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def exists(self, key: str) -> bool: ...
    async def read(self, key: str) -> bytes: ...
    def url(self, key: str, base_url: str) -> str: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


def _traced(
    operation: str,
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """An object-store call in an `objects <operation>` span (backend and key) when tracing is on."""

    def decorate(method: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
        @functools.wraps(method)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if not telemetry.STATE.enabled:
                return await method(*args, **kwargs)
            attributes = {
                "objects.backend": str(getattr(args[0], "name", "objects")),
                "objects.key": str(args[1]),
            }
            with telemetry.span(f"objects {operation}", attributes):
                return await method(*args, **kwargs)

        return wrapper

    return decorate


def safe_key(key: str) -> str:
    """`key` when it is a relative path with no way out of its root (plain string work: this runs for
    every media URL in every response)."""
    if not key or any(part in ("", ".", "..") for part in key.split("/")):
        raise ObjectStoreError(f"invalid object key: {key!r}")
    return key


class LocalObjectStore:
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def path_of(self, key: str) -> Path:
        return self.root.joinpath(*safe_key(key).split("/"))

    @_traced("put_file")
    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        target = self.path_of(key)

        def _store() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".partial")
            try:
                try:
                    # On the same file system a second name costs nothing, where a copy of a video
                    # writes it all again. Safe: neither the stored object nor the caller's file changes.
                    os.link(path, partial)
                except OSError:
                    shutil.copyfile(path, partial)
                os.replace(partial, target)  # readers never see half a file
            finally:
                with contextlib.suppress(OSError):
                    partial.unlink(missing_ok=True)

        try:
            await asyncio.to_thread(_store)
        except OSError as error:
            raise ObjectStoreError(f"could not store {key}: {error}") from error

    @_traced("delete")
    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self.path_of(key).unlink, missing_ok=True)
        except OSError as error:
            raise ObjectStoreError(f"could not delete {key}: {error}") from error

    @_traced("exists")
    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_of(key).is_file)

    @_traced("read")
    async def read(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self.path_of(key).read_bytes)
        except OSError as error:
            raise ObjectStoreError(f"could not read {key}: {error}") from error

    def url(self, key: str, base_url: str) -> str:
        return f"{base_url.rstrip('/')}{MEDIA_ROUTE}/{quote(safe_key(key))}"

    async def ping(self) -> None:
        def _check() -> None:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK):
                raise ObjectStoreError(f"{self.root} is not writable")

        await asyncio.to_thread(_check)

    async def close(self) -> None:
        return None


def _client(
    settings: Settings,
    endpoint: str,
    secure: bool,
    *,
    read_timeout: float,
    retries: urllib3.Retry,
    connections: int,
) -> Minio:
    return Minio(
        endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key,
        secure=secure,
        region=settings.s3_region,
        http_client=urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=settings.s3_connect_timeout_seconds, read=read_timeout),
            retries=retries,
            maxsize=connections,
        ),
    )


class S3ObjectStore:
    name = "s3"

    def __init__(self, settings: Settings) -> None:
        endpoint = settings.s3_endpoint
        secure = settings.s3_secure
        if "://" in endpoint:
            parts = urlsplit(endpoint)
            secure = parts.scheme == "https"
            endpoint = parts.netloc
        self.bucket = settings.s3_bucket
        self.presign_seconds = settings.s3_presign_seconds
        # Fail fast when the endpoint is down or frozen: the SDK's defaults hold a call for minutes.
        # The read timeout bounds each wait for the server (not a whole upload).
        self.client = _client(
            settings,
            endpoint,
            secure,
            read_timeout=settings.s3_read_timeout_seconds,
            retries=urllib3.Retry(
                total=settings.s3_retries, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504)
            ),
            connections=settings.object_store_threads,
        )
        # Readiness asks one cheap question and must not hold a thread for long: no retries, and the
        # connect timeout as its read timeout too.
        self.probe_client = _client(
            settings,
            endpoint,
            secure,
            read_timeout=settings.s3_connect_timeout_seconds,
            retries=urllib3.Retry(total=0),
            connections=1,
        )
        scheme = "https" if secure else "http"
        self.public_url = (settings.s3_public_url or f"{scheme}://{endpoint}/{self.bucket}").rstrip("/")
        # A presigned URL signs its host, so phones that reach S3 by another name than this server does
        # (S3_PUBLIC_URL) get URLs signed for that name. Signing needs no request when the region is known.
        self.signer = self.client
        if settings.s3_public_url:
            public = urlsplit(settings.s3_public_url)
            self.signer = Minio(
                public.netloc,
                access_key=settings.s3_access_key,
                secret_key=settings.s3_secret_key,
                secure=public.scheme == "https",
                region=settings.s3_region,
            )
        self._ready = False

    def _public_read_policy(self) -> str:
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": ["*"]},
                        "Action": ["s3:GetObject"],
                        "Resource": [f"arn:aws:s3:::{self.bucket}/*"],
                    }
                ],
            }
        )

    async def ensure_bucket(self) -> None:
        if self._ready:
            return

        def _ensure() -> None:
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket)
                except S3Error as error:
                    if error.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
            if self.presign_seconds <= 0:
                self.client.set_bucket_policy(self.bucket, self._public_read_policy())

        try:
            await pools.OBJECTS.run(_ensure)
        except Exception as error:  # the SDK raises S3Error, urllib3 and OS errors alike
            raise ObjectStoreError(f"bucket {self.bucket} unavailable: {error}") from error
        self._ready = True

    @_traced("put_file")
    async def put_file(self, key: str, path: Path, content_type: str) -> None:
        safe_key(key)
        await self.ensure_bucket()
        try:
            try:
                await self._put(key, path, content_type)
            except S3Error as error:
                if error.code != "NoSuchBucket":
                    raise
                # The store came back empty (restarted, or the bucket was removed): make the bucket
                # again now, on the failing call, rather than when a readiness probe happens to run.
                self._ready = False
                await self.ensure_bucket()
                await self._put(key, path, content_type)
        except ObjectStoreError:
            raise
        except Exception as error:
            raise ObjectStoreError(f"could not store {key}: {error}") from error

    async def _put(self, key: str, path: Path, content_type: str) -> None:
        await pools.OBJECTS.run(
            self.client.fput_object,
            self.bucket,
            key,
            str(path),
            content_type=content_type,
            metadata={"Cache-Control": IMMUTABLE},
        )

    @_traced("delete")
    async def delete(self, key: str) -> None:
        try:
            await pools.OBJECTS.run(self.client.remove_object, self.bucket, key)
        except Exception as error:
            raise ObjectStoreError(f"could not delete {key}: {error}") from error

    @_traced("exists")
    async def exists(self, key: str) -> bool:
        try:
            await pools.OBJECTS.run(self.client.stat_object, self.bucket, key)
        except S3Error as error:
            if error.code in ("NoSuchKey", "NoSuchObject", "NoSuchBucket"):
                return False
            raise ObjectStoreError(str(error)) from error
        except Exception as error:
            raise ObjectStoreError(str(error)) from error
        return True

    @_traced("read")
    async def read(self, key: str) -> bytes:
        def _read() -> bytes:
            response = self.client.get_object(self.bucket, key)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        try:
            return await pools.OBJECTS.run(_read)
        except Exception as error:
            raise ObjectStoreError(f"could not read {key}: {error}") from error

    def url(self, key: str, base_url: str) -> str:
        if self.presign_seconds > 0:
            return self.signer.presigned_get_object(
                self.bucket, key, expires=timedelta(seconds=self.presign_seconds)
            )
        return f"{self.public_url}/{quote(safe_key(key))}"

    async def ping(self) -> None:
        try:
            found = await pools.OBJECTS.run(self.probe_client.bucket_exists, self.bucket)
        except Exception as error:
            raise ObjectStoreError(f"S3 endpoint unreachable: {error}") from error
        if not found:
            # The store came back empty: make the bucket now (publishing would on its first failure).
            self._ready = False
            await self.ensure_bucket()

    async def close(self) -> None:
        return None


def create_object_store(settings: Settings) -> ObjectStore:
    if settings.s3_endpoint:
        return S3ObjectStore(settings)
    return LocalObjectStore(settings.media_dir)
