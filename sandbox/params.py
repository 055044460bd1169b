"""Bot API call parameters, as they arrive in a query string, JSON, form or multipart body."""

from __future__ import annotations

import json
from typing import Any

from sandbox.errors import bad_request
from sandbox.records import Upload


class Params:
    """Bot API call parameters from a query string, a JSON body, a form or a multipart body."""

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.uploads = uploads or {}

    def has(self, name: str) -> bool:
        """Return whether the parameter was given (and is not null)."""
        return self.values.get(name) is not None or name in self.uploads

    def get_str(self, name: str, required: bool = False, empty_msg: str | None = None) -> str | None:
        """Return a string parameter."""
        v = self.values.get(name)
        if v is None or v == "":
            if required:
                raise bad_request(empty_msg or f"{name} is empty")
            return None
        return v if isinstance(v, str) else json.dumps(v) if isinstance(v, dict | list) else str(v)

    def get_int(self, name: str, required: bool = False) -> int | None:
        """Return an integer parameter."""
        v = self.values.get(name)
        if v is None or v == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        if isinstance(v, bool):
            return int(v)
        try:
            return int(v)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_float(self, name: str, required: bool = False) -> float | None:
        """Return a float parameter."""
        v = self.values.get(name)
        if v is None or v == "":
            if required:
                raise bad_request(f"{name} is empty")
            return None
        try:
            return float(v)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        """Return a boolean parameter ("true"/"false"/1/0 accepted)."""
        v = self.values.get(name)
        if v is None or v == "":
            return default
        if isinstance(v, bool):
            return v
        return str(v).lower() in ("true", "1", "yes")

    def get_json(self, name: str) -> Any:
        """Return a JSON-serialised parameter (reply_markup, entities, allowed_updates...)."""
        v = self.values.get(name)
        if v is None or v == "":
            return None
        if isinstance(v, str):
            try:
                return json.loads(v)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return v

    def get_file(self, name: str) -> Upload | str | None:
        """Return an uploaded file, or a file_id / URL string."""
        if name in self.uploads:
            return self.uploads[name]
        v = self.values.get(name)
        if isinstance(v, str) and v.startswith("attach://"):
            key = v.removeprefix("attach://")
            if key in self.uploads:
                return self.uploads[key]
            raise bad_request(f"file {key} for {name} not found in the request")
        return self.get_str(name)
