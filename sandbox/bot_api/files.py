"""Bot API files: sendPhoto, sendDocument and getFile."""

from __future__ import annotations

from sandbox.bot_api.sending import BotSending
from sandbox.errors import bad_request
from sandbox.files import FileStore
from sandbox.params import Params
from sandbox.records import JSON, BotRecord, Upload


class FilesApi(FileStore, BotSending):
    """Methods that send or look up files."""

    def _input_photo(self, params: Params) -> list[JSON]:
        photo = params.get_file("photo")
        if photo is None:
            raise bad_request("there is no photo in the request")
        if isinstance(photo, Upload):
            return self.store_photo(photo.data)
        f = self.files.get(photo)
        if f is None:
            raise bad_request(
                "wrong remote file identifier specified: Wrong string length"
                if not photo.startswith("http")
                else "failed to get HTTP URL content"
            )
        if f.kind != "photo" or f.photo_group is None:
            raise bad_request(f"can't use file of type {f.kind.capitalize()} as Photo")
        return f.photo_group

    def _m_sendphoto(self, bot: BotRecord, params: Params) -> JSON:
        content: JSON = {"photo": self._input_photo(params)}
        content.update(self._text_content(params, "caption", "caption_entities"))
        if params.get_bool("has_spoiler"):
            content["has_media_spoiler"] = True
        return self._bot_send(bot, params, content)

    def _m_senddocument(self, bot: BotRecord, params: Params) -> JSON:
        doc = params.get_file("document")
        if doc is None:
            raise bad_request("there is no document in the request")
        if isinstance(doc, Upload):
            djson = self.store_document(doc.data, doc.file_name or "document", None)
        else:
            f = self.files.get(doc)
            if f is None:
                raise bad_request("wrong remote file identifier specified: Wrong string length")
            djson = {"file_name": f.file_name or f.file_path.rsplit("/", 1)[-1], "mime_type": f.mime_type}
            djson.update({"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": len(f.data)})
        content: JSON = {"document": djson}
        content.update(self._text_content(params, "caption", "caption_entities"))
        return self._bot_send(bot, params, content)

    def _m_getfile(self, bot: BotRecord, params: Params) -> JSON:
        fid = params.get_str("file_id", required=True, empty_msg="file_id is empty")
        assert fid is not None
        if fid not in self.files:
            raise bad_request("invalid file_id")
        return self.files[fid].info()
