"""Files known to the sandbox: stored by file_id and file_path, photos recompressed into sizes."""

from __future__ import annotations

import base64
import dataclasses
import secrets

from sandbox import media
from sandbox.core import SandboxCore
from sandbox.errors import bad_request
from sandbox.records import JSON, StoredFile


class FileStore(SandboxCore):
    """Storing and finding files (used by both the Bot API and the user actions)."""

    def _file_ids(self, kind_prefix: str) -> tuple[str, str]:
        n = next(self._file_counter)
        raw = secrets.token_bytes(24)
        fid = kind_prefix + base64.urlsafe_b64encode(n.to_bytes(4, "big") + raw).decode().rstrip("=")
        fuid = "AQAD" + base64.urlsafe_b64encode(n.to_bytes(4, "big") + raw[:6]).decode().rstrip("=")
        return fid, fuid

    def store_file(
        self,
        data: bytes,
        kind: str,
        mime_type: str,
        file_name: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> StoredFile:
        """Store bytes as a new file and return it."""
        prefixes = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI", "sticker": "CAACAgIAAxkBAAI"}
        folder = {"photo": "photos", "document": "documents", "sticker": "stickers"}.get(kind, "documents")
        ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}.get(
            mime_type
        )
        if ext is None and file_name and "." in file_name:
            ext = file_name.rsplit(".", 1)[1][:8]
        with self.lock:
            fid, fuid = self._file_ids(prefixes.get(kind, "BQACAgIAAxkBAAI"))
            path = f"{folder}/file_{next(self._file_counter)}.{ext or 'bin'}"
            stored = StoredFile(fid, fuid, data, path, mime_type, file_name, kind, width, height)
            self.files[fid] = stored
            self.paths[path] = fid
            self._persist_file(stored)
            return stored

    def _persist_file(self, f: StoredFile) -> None:
        """Keeps the file in the state file (when there is one): its file_id outlives a restart."""
        if self.state is None:
            return
        meta = {k: v for k, v in dataclasses.asdict(f).items() if k not in ("file_id", "data")}
        self.state.save_file(f.file_id, f.data, meta)

    def store_photo(self, data: bytes) -> list[JSON]:
        """Recompress an image into PhotoSize entries (smallest first), stored as files."""
        try:
            variants = media.photo_variants(data)
        except media.NotAnImage:
            raise bad_request("IMAGE_PROCESS_FAILED") from None
        sizes: list[JSON] = []
        stored: list[StoredFile] = []
        for v in variants:
            f = self.store_file(v.data, "photo", "image/jpeg", None, v.width, v.height)
            stored.append(f)
            sizes.append(
                {
                    "file_id": f.file_id,
                    "file_unique_id": f.file_unique_id,
                    "file_size": len(f.data),
                    "width": v.width,
                    "height": v.height,
                }
            )
        for f in stored:
            f.photo_group = sizes
            self._persist_file(f)
        return sizes

    def store_document(
        self, data: bytes, file_name: str | None, mime_type: str | None = None, kind: str = "document"
    ) -> JSON:
        """Store bytes unchanged as a Document (with a thumbnail for images) and return its JSON."""
        mime = mime_type or media.sniff_mime(data, file_name)
        f = self.store_file(data, kind, mime, file_name)
        doc: JSON = {}
        if file_name:
            doc["file_name"] = file_name
        doc["mime_type"] = mime
        thumb = media.thumbnail(data) if mime.startswith("image/") else None
        if thumb is not None:
            t = self.store_file(thumb.data, "photo", "image/jpeg", None, thumb.width, thumb.height)
            tjson = {
                "file_id": t.file_id,
                "file_unique_id": t.file_unique_id,
                "file_size": len(t.data),
                "width": thumb.width,
                "height": thumb.height,
            }
            doc["thumbnail"] = tjson
            doc["thumb"] = tjson
        doc.update({"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": len(data)})
        return doc

    def file_by_id(self, file_id: str) -> StoredFile:
        """Return a stored file by file_id (400 wrong file_id if unknown)."""
        with self.lock:
            f = self.files.get(file_id)
            if f is None:
                raise bad_request("wrong file_id or the file is temporarily unavailable")
            return f

    def file_by_path(self, path: str) -> StoredFile | None:
        """Return a stored file by its file_path."""
        with self.lock:
            fid = self.paths.get(path)
            return self.files.get(fid) if fid else None
