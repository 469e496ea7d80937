"""Usage batches posted over HTTP for a source the cluster's lakehouse holds: landed as files on the object store,
then ingested by Spark like any other file (:func:`thuocdo.ingest.spark_ingest.ingest_usage_spark`), so that a
record posted and the same record in a delivered file meet the same rules, the same keys and the same
exactly-once gate (the records' ``MERGE``).

A landed batch is an NDJSON file named by the SHA-256 of its content, under ``landing/<source>/`` of the
lakehouse's bucket: the same batch posted twice (a client's retry) is one file, and a file landed but not yet
ingested is never lost (the object store keeps it until an ingestion has committed its records and moved it to
``landing/<source>/done/``). A record's line in the file is its number in the answer to the request (its
position in a JSON array, or its NDJSON line), so the quarantine names it as the answer did.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson

from thuocdo.ingest.bodies import decompressed
from thuocdo.store.lakehouse import Lakehouse
from thuocdo.store.services import s3_filesystem

if TYPE_CHECKING:
    from pyarrow import fs

#: the folder of landed batches in the lakehouse's bucket, and the sub-folder of those already ingested
LANDING = "landing"
DONE = "done"


@dataclass(frozen=True)
class Landing:
    """Where batches land: a filesystem (the object store's, through PyArrow) and the landing folder in it
    (``BUCKET/landing``); `scheme` is how Spark names its files (``s3://``)."""

    filesystem: fs.FileSystem
    root: str
    scheme: str = "s3://"

    def folder(self, source: str) -> str:
        return f"{self.root}/{source}"

    def uri(self, path: str) -> str:
        return f"{self.scheme}{path}"


def landing_of(lake: Lakehouse) -> Landing:
    """The landing folder of a lakehouse, on its object store (``FOLDER/landing`` for a local lakehouse)."""
    if lake.local_folder:
        from pyarrow import fs

        return Landing(fs.LocalFileSystem(), f"{lake.local_folder}/{LANDING}", scheme="")
    return Landing(s3_filesystem(lake.s3_endpoint, lake.access_key, lake.secret_key, lake.region),
                   f"{lake.bucket}/{LANDING}")


def landing_bytes(body: bytes, name: str, *, gzipped: bool = False) -> bytes:
    """A posted body as the NDJSON file that lands: a JSON array one record per line (line n: record n), NDJSON
    as it was sent (its lines keep their numbers, unreadable ones included). InputError for a broken gzip."""
    text = decompressed(body, name, gzipped=gzipped)
    stripped = text.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        items = orjson.loads(stripped)
        return b"".join(orjson.dumps(item) + b"\n" for item in items)
    return text if text.endswith(b"\n") else text + b"\n"


def land(landing: Landing, source: str, data: bytes) -> tuple[str, bool]:
    """Write a batch's file under the source's landing folder unless the same content is there already (landed
    or ingested); its URI and whether it was written now."""
    from pyarrow import fs

    name = hashlib.sha256(data).hexdigest()[:40] + ".ndjson"
    path = f"{landing.folder(source)}/{name}"
    infos = landing.filesystem.get_file_info([path, f"{landing.folder(source)}/{DONE}/{name}"])
    if any(info.type == fs.FileType.File for info in infos):
        return landing.uri(path), False
    landing.filesystem.create_dir(landing.folder(source), recursive=True)
    temporary = f"{path}.part"  # a reader never sees half a file: S3 objects appear whole, local files moved
    with landing.filesystem.open_output_stream(temporary) as out:
        out.write(data)
    landing.filesystem.move(temporary, path)
    return landing.uri(path), True


def landed(landing: Landing, source: str | None = None) -> dict[str, list[str]]:
    """The files landed and not yet ingested, per source (one source, or every one)."""
    from pyarrow import fs

    folders = [landing.folder(source)] if source else [
        i.path for i in landing.filesystem.get_file_info(fs.FileSelector(landing.root, allow_not_found=True))
        if i.type == fs.FileType.Directory]
    found: dict[str, list[str]] = {}
    for folder in folders:
        files = landing.filesystem.get_file_info(fs.FileSelector(folder, allow_not_found=True))
        paths = sorted(landing.uri(i.path) for i in files if i.type == fs.FileType.File and i.path.endswith(".ndjson"))
        if paths:
            found[folder.rsplit("/", 1)[-1]] = paths
    return found


def mark_ingested(landing: Landing, source: str, uris: list[str]) -> None:
    """Move ingested files to the source's ``done/`` folder (run again, an ingestion finds nothing new in them:
    their records are in the lakehouse once)."""
    done = f"{landing.folder(source)}/{DONE}"
    landing.filesystem.create_dir(done, recursive=True)
    for uri in uris:
        path = uri[len(landing.scheme):]
        landing.filesystem.move(path, f"{done}/{path.rsplit('/', 1)[-1]}")
