"""Message entities as Telegram computes them: parse_mode parsing and auto-detected entities.

Offsets and lengths are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

Entity = dict[str, Any]


class EntityParseError(ValueError):
    """Raised when text cannot be parsed with the requested parse_mode."""


def utf16_len(text: str) -> int:
    """Return the length of text in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


_COMMAND_RE = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}(?!\w)")
_HASHTAG_RE = re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")
_URL_RE = re.compile(r"(?<![\w@/.])(?:https?://)?(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}(?::\d{1,5})?(?:/[^\s]*)?")


def detect_entities(text: str) -> list[Entity]:
    """Return the entities Telegram detects by itself: bot_command, mention, hashtag and url."""
    found: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in taken)

    for kind, rx in (("bot_command", _COMMAND_RE), ("mention", _MENTION_RE), ("url", _URL_RE)):
        for m in rx.finditer(text):
            if free(m.start(), m.end()):
                found.append((m.start(), m.end(), kind))
                taken.append((m.start(), m.end()))
    for m in _HASHTAG_RE.finditer(text):
        if free(m.start(), m.end()):
            found.append((m.start(), m.end(), "hashtag"))
            taken.append((m.start(), m.end()))
    found.sort()
    return [
        {"offset": utf16_len(text[:start]), "length": utf16_len(text[start:end]), "type": kind}
        for start, end, kind in found
    ]


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "span": "spoiler",
}


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.stack: list[tuple[str, int, Entity]] = []
        self.entities: list[Entity] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.handle_data("\n")
            return
        kind = _HTML_TAGS.get(tag)
        a = dict(attrs)
        if kind is None or (tag == "span" and a.get("class") != "tg-spoiler"):
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {self.getpos()[1]}')
        entity: Entity = {"type": kind}
        if tag == "a":
            href = a.get("href") or ""
            m = re.fullmatch(r"tg://user\?id=(\d+)", href)
            if m:
                entity = {
                    "type": "text_mention",
                    "user": {"id": int(m.group(1)), "is_bot": False, "first_name": ""},
                }
            else:
                entity["url"] = href
        elif tag == "blockquote" and "expandable" in a:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = a.get("emoji-id") or ""
        elif tag == "code" and self.stack and self.stack[-1][0] == "pre":
            lang = (a.get("class") or "").removeprefix("language-")
            if lang:
                self.stack[-1][2]["language"] = lang
        self.stack.append((tag, self.length, entity))

    def handle_endtag(self, tag: str) -> None:
        if tag == "br":
            return
        if not self.stack or self.stack[-1][0] != tag:
            raise EntityParseError(f'Unexpected end tag "{tag}" at byte offset {self.getpos()[1]}')
        _, start, entity = self.stack.pop()
        if self.length > start:
            if entity["type"] == "code" and self.stack and self.stack[-1][0] == "pre":
                return
            entity["offset"] = start
            entity["length"] = self.length - start
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.length += utf16_len(data)


def _ordered(entities: list[Entity]) -> list[Entity]:
    out = []
    for e in sorted(entities, key=lambda e: (e["offset"], -e["length"])):
        out.append(
            {
                "offset": e["offset"],
                "length": e["length"],
                **{k: v for k, v in e.items() if k not in ("offset", "length")},
            }
        )
    return out


def parse_html(text: str) -> tuple[str, list[Entity]]:
    """Parse Telegram-flavoured HTML into plain text and entities."""
    p = _TelegramHTML()
    p.feed(text)
    p.close()
    if p.stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{p.stack[-1][0]}"')
    return "".join(p.parts), _ordered(p.entities)


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")


def parse_markdown_v2(text: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2 into plain text and entities, rejecting unescaped reserved characters."""
    return _MarkdownV2(text).parse()


class _MarkdownV2:
    """A MarkdownV2 parser: each construct's method consumes it and returns the index after it."""

    MARKERS = (("||", "spoiler"), ("__", "underline"), ("*", "bold"), ("_", "italic"), ("~", "strikethrough"))

    def __init__(self, text: str) -> None:
        self.text = text
        self.out: list[str] = []
        self.length = 0  # in UTF-16 code units, like entity offsets
        self.entities: list[Entity] = []
        self.stack: list[tuple[str, int]] = []
        self.line_start = True

    def parse(self) -> tuple[str, list[Entity]]:
        """Return the plain text and its entities."""
        i = 0
        while i < len(self.text):
            i = self._step(i)
        if self.stack:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {self.stack[-1][1]}"
            )
        return "".join(self.out), _ordered(self.entities)

    def _emit(self, s: str) -> None:
        self.out.append(s)
        self.length += utf16_len(s)

    def _step(self, i: int) -> int:
        text, c = self.text, self.text[i]
        if c == "\\":
            return self._escaped(i)
        if text.startswith("```", i):
            return self._pre(i)
        if c == "`":
            return self._code(i)
        if c == "[":
            self.stack.append(("[", self.length))
            return i + 1
        if c == "]" and self.stack and self.stack[-1][0] == "[" and text.startswith("(", i + 1):
            return self._link(i)
        if c == ">" and self.line_start:
            return self._quote(i)
        for mark, kind in self.MARKERS:
            if text.startswith(mark, i):
                self._marker(mark, kind)
                self.line_start = False
                return i + len(mark)
        if c in _MDV2_RESERVED:
            raise EntityParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        self._emit(c)
        self.line_start = c == "\n"
        return i + 1

    def _escaped(self, i: int) -> int:
        if i + 1 < len(self.text) and ord(self.text[i + 1]) <= 126:
            self._emit(self.text[i + 1])
            self.line_start = False
            return i + 2
        raise EntityParseError("Character '\\' is reserved and must be escaped with the preceding '\\'")

    def _pre(self, i: int) -> int:
        end = self.text.find("```", i + 3)
        if end < 0:
            raise EntityParseError(f"Can't find end of PreCode entity at byte offset {i}")
        body = self.text[i + 3 : end]
        lang = ""
        if "\n" in body:
            first, rest = body.split("\n", 1)
            if first and " " not in first:
                lang, body = first, rest
        body = re.sub(r"\\([`\\])", r"\1", body)
        start = self.length
        self._emit(body)
        ent: Entity = {"type": "pre", "offset": start, "length": self.length - start}
        if lang:
            ent["language"] = lang
        self.entities.append(ent)
        return end + 3

    def _code(self, i: int) -> int:
        text, n = self.text, len(self.text)
        end = i + 1
        while end < n and text[end] != "`":
            end += 2 if text[end] == "\\" else 1
        if end >= n:
            raise EntityParseError(f"Can't find end of Code entity at byte offset {i}")
        body = re.sub(r"\\([`\\])", r"\1", text[i + 1 : end])
        start = self.length
        self._emit(body)
        self.entities.append({"type": "code", "offset": start, "length": self.length - start})
        return end + 1

    def _link(self, i: int) -> int:
        end = self.text.find(")", i + 2)
        if end < 0:
            raise EntityParseError(f"Can't find end of a URL at byte offset {i}")
        url = self.text[i + 2 : end].replace("\\)", ")").replace("\\\\", "\\")
        _, start = self.stack.pop()
        self.entities.append(
            {"type": "text_link", "offset": start, "length": self.length - start, "url": url}
        )
        return end + 1

    def _quote(self, i: int) -> int:
        start = self.length
        end = self.text.find("\n", i)
        end = len(self.text) if end < 0 else end
        inner_text, inner = parse_markdown_v2(self.text[i + 1 : end].lstrip(" "))
        for e in inner:
            e["offset"] += start
        self._emit(inner_text)
        self.entities.append({"type": "blockquote", "offset": start, "length": self.length - start})
        self.entities.extend(inner)
        return end

    def _marker(self, mark: str, kind: str) -> None:
        if self.stack and self.stack[-1][0] == mark:
            _, start = self.stack.pop()
            if self.length > start:
                self.entities.append({"type": kind, "offset": start, "length": self.length - start})
        else:
            self.stack.append((mark, self.length))


def parse_markdown(text: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown (*bold*, _italic_, `code`, ```pre```, [text](url))."""
    out: list[str] = []
    length = 0
    entities: list[Entity] = []
    i = 0
    n = len(text)
    pairs = {"*": "bold", "_": "italic", "`": "code"}
    while i < n:
        c = text[i]
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {i}")
            body = text[i + 3 : end]
            entities.append({"type": "pre", "offset": length, "length": utf16_len(body)})
            out.append(body)
            length += utf16_len(body)
            i = end + 3
            continue
        if c in pairs:
            end = text.find(c, i + 1)
            if end < 0:
                raise EntityParseError(f"Can't find end of the entity starting at byte offset {i}")
            body = text[i + 1 : end]
            if body:
                entities.append({"type": pairs[c], "offset": length, "length": utf16_len(body)})
            out.append(body)
            length += utf16_len(body)
            i = end + 1
            continue
        m = re.match(r"\[([^\]]*)\]\(([^)]*)\)", text[i:])
        if c == "[" and m:
            body = m.group(1)
            entities.append(
                {"type": "text_link", "offset": length, "length": utf16_len(body), "url": m.group(2)}
            )
            out.append(body)
            length += utf16_len(body)
            i += m.end()
            continue
        out.append(c)
        length += utf16_len(c)
        i += 1
    return "".join(out), _ordered(entities)


def format_text(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Apply parse_mode (HTML, MarkdownV2, Markdown or none) and add auto-detected entities."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        plain, entities = parse_html(text)
    elif mode == "markdownv2":
        plain, entities = parse_markdown_v2(text)
    elif mode == "markdown":
        plain, entities = parse_markdown(text)
    elif mode:
        raise EntityParseError(f"unsupported parse_mode {parse_mode!r}")
    else:
        plain, entities = text, []
    covered = [
        (e["offset"], e["offset"] + e["length"])
        for e in entities
        if e["type"] in ("code", "pre", "text_link")
    ]
    for e in detect_entities(plain):
        if all(e["offset"] + e["length"] <= a or e["offset"] >= b for a, b in covered):
            entities.append(e)
    return plain, _ordered(entities)
