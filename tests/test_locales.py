"""The one language layer: complete catalogs in both languages, matching placeholders, known codes,
one loader, and the configured default language."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from setuptools import find_namespace_packages

from locales import lang as layer
from locales.lang import DOMAINS, LANGS, catalog, default_lang, from_accept_language, normalize

ROOT = Path(__file__).resolve().parent.parent
SOURCE_PACKAGES = (
    "api",
    "bot",
    "contracts",
    "models",
    "services",
    "checklists",
    "media",
    "cli",
    "sandbox",
    "locales",
)
# Domains whose message ids are stable codes (both languages translate every id); the bot's ids are
# its English texts, which en may leave untranslated.
CODE_DOMAINS = ("services", "media", "checklists", "console")

PLACEHOLDER = re.compile(r"(?<!\{)\{(\w+)(?:[!:][^{}]*)?\}")

# Every code the catalogs held when they were Python dicts; they are stored and matched, so none may go.
KNOWN_CODES: dict[str, tuple[str, ...]] = {
    "console": ("login.failed", "error.403", "error.404", "nav.dashboard", "audit.chain_ok"),
    "services": (
        *("bad_request", "validation_failed", "not_found", "forbidden", "out_of_scope", "unauthorized"),
        *("bad_credentials", "token_invalid", "conflict", "too_large", "unsupported_media_type"),
        *("login_taken", "unknown_region", "bad_cursor", "internal", "idempotency_mismatch"),
        *("invite_invalid", "bind_throttled", "telegram_already_bound", "telegram_not_bound"),
        *("idempotency_in_progress", "import_empty", "import_encoding", "import_format"),
        *("import_missing_columns", "import_invalid_rows", "row_required", "row_id_format"),
        *("row_id_checksum", "row_id_birthdate", "row_unknown_village", "row_not_village"),
        *("row_coords_range", "row_coords_swapped", "row_coords_partial", "row_unknown_datum"),
        *("row_bad_number", "row_bad_date", "row_bad_choice", "row_bad_phone", "row_too_long"),
        *("row_duplicate", "audit_ok", "audit_broken", "round_bad_status", "round_empty_frame"),
        *("coverage_short", "witness_required", "too_few_inspectors", "team_too_small"),
        *("unknown_inspector", "swap_violates", "swap_not_pending", "dispatch_future_day"),
        *("assignment_bad_transition", "draw_verified", "draw_verify_failed", "not_revealed"),
        *("media_rejected", "visit_already_done", "visit_not_in_progress", "visit_incomplete"),
        *("evidence_file_missing", "media_store_unavailable"),
    ),
    "media": (
        *("empty", "too_large", "not_image", "unsupported_format", "too_many_pixels", "truncated"),
        *("corrupt", "animated", "blob_missing", "on_site", "off_site", "no_position"),
        *("no_household_position", "position_too_vague", "weak_position", "fresh", "stale"),
        *("no_capture_time", "no_window", "capture_in_future", "reused", "not_reused"),
        *("edited_software", "edited_time_after_gps", "edited_dimensions", "not_edited", "forwarded"),
        *("telegram_photo_no_exif", "source.exif_gps", "source.live_location"),
        *("source.static_location", "source.none", "store_unavailable"),
    ),
    "checklists": (
        *("required", "not_yes_no", "unknown_choice", "not_a_list", "exclusive_choice"),
        *("too_few_choices", "too_many_choices", "not_a_number", "not_an_integer", "too_small"),
        *("too_large", "not_text", "too_short", "too_long", "pattern_mismatch", "constraint_failed"),
        *("not_photos", "too_few_photos", "too_many_photos", "not_location", "evidence_required"),
        *("bad_evidence", "not_current_step", "finished", "wrong_checklist", "unknown_checklist"),
        *("bad_answer_record", "nothing_to_undo", "display.yes", "display.no", "display.skipped"),
        *("display.photos", "display.evidence", "display.outcome", "display.findings"),
        *("display.no_findings", "display.in_progress", "display.list_sep"),
    ),
}

# Where codes are written literally in code: (packages, pattern whose group 1 is a code, domain).
CODE_USES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("services", "api", "cli"),
        r"\b(?:DomainError|ValidationFailed|NotFound|Forbidden|Unauthorized|Conflict|TooLarge)"
        r"\(\s*\"([a-z_]+)\"",
        "services",
    ),
    (("services",), r"^\s+code = \"([a-z_]+)\"", "services"),
    (("services", "api", "cli"), r"\btranslate\(\s*[\"']([a-z_]+)[\"']", "services"),
    (("media", "services", "cli"), r"\bMediaError\(\s*\"([a-z_]+)\"", "media"),
    (("media",), r"\breason\(\s*\"([a-z_]+)\"", "media"),
    (("checklists",), r"\bChecklistError\(\s*\"([a-z_]+)\"", "checklists"),
    (("checklists",), r"\bcatalog_text\(\s*\"([a-z_]+)\"", "checklists"),
)


def _sources(packages: tuple[str, ...]) -> list[Path]:
    return [p for pkg in packages for p in sorted((ROOT / pkg).rglob("*.py"))]


def _placeholders(text: str) -> set[str]:
    # A parameter may be passed once per language (source_zh / source_en): it is one placeholder.
    return {re.sub(r"_(zh|en)$", "", name) for name in PLACEHOLDER.findall(text)}


@pytest.mark.parametrize("domain", DOMAINS)
def test_both_languages_declare_the_same_ids(domain: str) -> None:
    zh, en = catalog(domain, "zh-CN"), catalog(domain, "en")
    assert zh.declared, f"{domain}: no zh_CN catalog"
    assert zh.declared == en.declared, f"{domain}: ids differ: {sorted(zh.declared ^ en.declared)}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_id_is_translated(domain: str) -> None:
    zh, en = catalog(domain, "zh-CN"), catalog(domain, "en")
    assert sorted(zh.declared - zh.msgids) == [], f"{domain}: zh_CN leaves ids untranslated"
    if domain in CODE_DOMAINS:
        assert sorted(en.declared - en.msgids) == [], f"{domain}: en leaves codes untranslated"
    for msgid in zh.declared:
        assert zh.translations.gettext(msgid).strip(), (domain, msgid)
        # Untranslated English falls back to the id, which in the bot domain is the English text.
        assert en.translations.gettext(msgid).strip(), (domain, msgid)


@pytest.mark.parametrize("domain", DOMAINS)
def test_placeholders_match_between_languages(domain: str) -> None:
    zh, en = catalog(domain, "zh-CN"), catalog(domain, "en")
    for msgid in zh.declared:
        zh_text, en_text = zh.translations.gettext(msgid), en.translations.gettext(msgid)
        assert _placeholders(zh_text) == _placeholders(en_text), (domain, msgid, zh_text, en_text)
        if domain not in CODE_DOMAINS:
            assert _placeholders(msgid) == _placeholders(zh_text), (domain, msgid, zh_text)


@pytest.mark.parametrize("domain", CODE_DOMAINS)
def test_known_codes_exist(domain: str) -> None:
    for lang in LANGS:
        missing = sorted(set(KNOWN_CODES[domain]) - catalog(domain, lang).msgids)
        assert missing == [], f"{domain} {lang}: {missing}"


def test_codes_used_in_code_exist() -> None:
    seen = 0
    for packages, pattern, domain in CODE_USES:
        ids = catalog(domain, "en").msgids & catalog(domain, "zh-CN").msgids
        for path in _sources(packages):
            for code in re.findall(pattern, path.read_text(encoding="utf-8"), flags=re.M):
                seen += 1
                assert code in ids, f"{path.relative_to(ROOT)}: code {code!r} is not in the {domain} catalogs"
    assert seen > 50  # the patterns still find the codes


def test_display_words_used_by_the_engine_exist() -> None:
    engine = (ROOT / "checklists" / "engine.py").read_text(encoding="utf-8")
    words = set(re.findall(r"display_text\(\s*\"([a-z_]+)\"", engine))
    assert words
    assert {f"display.{w}" for w in words} <= catalog("checklists", "en").msgids


def test_one_loader_and_one_language_definition() -> None:
    loaders, definitions = [], []
    for path in _sources(SOURCE_PACKAGES):
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(ROOT))
        if re.search(r"\b(read_po|write_mo|GNUTranslations)\b", text):
            loaders.append(rel)
        for name in ("LANGS", "Lang"):
            if re.search(rf"^{name}\b[^=\n]*=(?!=)", text, flags=re.M):
                definitions.append((name, rel))
    assert loaders == ["locales/lang.py"]
    # the type is shared vocabulary (contracts import nothing of the project); the rest is the layer's
    assert sorted(definitions) == [("LANGS", "locales/lang.py"), ("Lang", "contracts/vocab.py")]


def test_catalogs_ship_in_the_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    found = find_namespace_packages(str(ROOT), include=config["packages"]["find"]["include"])
    for lang in ("zh_CN", "en"):
        assert f"locales.{lang}.LC_MESSAGES" in found
    assert "*.po" in config["package-data"]["*"]
    for domain in DOMAINS:
        for lang in LANGS:
            assert layer.po_path(domain, lang).is_file(), (domain, lang)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("zh", "zh-CN"),
        ("zh_CN", "zh-CN"),
        ("zh-Hans", "zh-CN"),
        ("zh-TW", "zh-CN"),
        ("en", "en"),
        ("en-US", "en"),
        ("EN_gb", "en"),
        ("fr", "zh-CN"),
        (None, "zh-CN"),
        ("", "zh-CN"),
    ],
)
def test_normalize(tag: str | None, expected: str) -> None:
    assert normalize(tag) == expected


def test_accept_language() -> None:
    assert from_accept_language("fr, en;q=0.5") == "en"
    assert from_accept_language("zh-TW,en") == "zh-CN"
    assert from_accept_language("de") == "zh-CN"
    assert from_accept_language(None, "en") == "en"


def test_configured_default_decides_when_no_language_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.i18n import t
    from bot.settings import BotSettings
    from checklists.messages import ChecklistError
    from services.config import Settings
    from services.messages import pick_language, translate

    monkeypatch.setenv("FEIJIAN_DEFAULT_LANGUAGE", "en-US")
    default_lang.cache_clear()
    try:
        assert default_lang() == "en"
        assert normalize(None) == "en"
        assert normalize("zh") == "zh-CN"  # an explicit choice still wins
        assert Settings().default_language == "en"
        assert BotSettings().default_language == "en"
        assert pick_language(None) == "en"
        assert translate("bad_cursor") == "Invalid page cursor."
        assert t(None, "Yes") == "Yes"
        assert ChecklistError("required").message() == "This step is required; please answer it."
        monkeypatch.setenv("FEIJIAN_DEFAULT_LANGUAGE", "zh")
        assert Settings().default_language == "zh-CN"
    finally:
        monkeypatch.delenv("FEIJIAN_DEFAULT_LANGUAGE")
        default_lang.cache_clear()
    assert normalize(None) == "zh-CN"
    assert t(None, "Yes") == "是"


def test_module_texts_come_from_the_catalogs() -> None:
    from checklists.messages import display_text
    from media.messages import SOURCE_NAMES, MediaError, render
    from services.messages import translate

    assert translate("not_found", "zh-CN", entity="轮次") == "未找到轮次。"
    assert translate("not_found", "en", entity="Round") == "Round not found."
    assert translate("no_such_code", "en") == "no_such_code"
    assert render("on_site", "en", distance_m=3, source_en="photo GPS", radius_m=150).startswith("On site")
    assert render("stale", "zh-CN", captured="c") == "拍摄时间 c 不在走访时段 {start} 至 {end} 内。"
    assert MediaError("empty").to_dict()["message"] == {"zh-CN": "文件为空。", "en": "The file is empty."}
    assert SOURCE_NAMES["exif_gps"] == {"zh-CN": "照片 GPS", "en": "photo GPS"}
    assert set(SOURCE_NAMES) == {"exif_gps", "live_location", "static_location", "none"}
    assert display_text("list_sep", "zh-CN") == "、"
    assert display_text("list_sep", "en") == ", "
    with pytest.raises(KeyError):
        display_text("no_such_word", "en")


def test_every_catalog_file_is_well_formed() -> None:
    from babel.messages.pofile import read_po

    for po in sorted(ROOT.joinpath("locales").rglob("*.po")):
        with po.open("rb") as fh:
            read_po(fh, abort_invalid=True)  # a msgid without msgstr, a broken quote: PoFileError
