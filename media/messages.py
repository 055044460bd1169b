"""Small zh-CN/en message catalog for media errors and verdict reasons.

Codes are stable identifiers (stored, matched in tests and mapped by the edges); the wording may
change. Placeholders use ``str.format`` names.
"""

from __future__ import annotations

from typing import Final, Literal

Lang = Literal["zh-CN", "en"]
LANGS: Final[tuple[Lang, ...]] = ("zh-CN", "en")

CATALOG: Final[dict[str, dict[str, str]]] = {
    # --- rejections (MediaError codes) ---
    "empty": {"zh-CN": "文件为空。", "en": "The file is empty."},
    "too_large": {
        "zh-CN": "文件过大（{size_mb} MB），上限为 {limit_mb} MB。",
        "en": "The file is too large ({size_mb} MB); the limit is {limit_mb} MB.",
    },
    "not_image": {
        "zh-CN": "不是可识别的图片文件。",
        "en": "The file is not a recognisable image.",
    },
    "unsupported_format": {
        "zh-CN": "不支持的图片格式 {format}，请发送 JPEG、PNG、WebP 或 HEIC 照片。",
        "en": "Unsupported image format {format}; send a JPEG, PNG, WebP or HEIC photo.",
    },
    "too_many_pixels": {
        "zh-CN": "图片像素过多（{width}×{height}），上限为 {limit_mp} 百万像素。",
        "en": "The image has too many pixels ({width}×{height}); the limit is {limit_mp} megapixels.",
    },
    "truncated": {
        "zh-CN": "图片数据不完整（文件被截断）。",
        "en": "The image data is incomplete (the file is truncated).",
    },
    "corrupt": {
        "zh-CN": "图片数据已损坏，无法解码。",
        "en": "The image data is corrupt and cannot be decoded.",
    },
    "animated": {
        "zh-CN": "不接受动图（{frames} 帧），请发送一张静态照片。",
        "en": "Animated images are not accepted ({frames} frames); send a single still photo.",
    },
    "blob_missing": {"zh-CN": "存储中找不到该文件。", "en": "The file is not in the store."},
    # --- verdict reasons ---
    "on_site": {
        "zh-CN": "在户附近：距离 {distance_m} 米（位置来源：{source_zh}，半径 {radius_m} 米）。",
        "en": "On site: {distance_m} m from the household (position from {source_en}, radius {radius_m} m).",
    },
    "off_site": {
        "zh-CN": "不在户附近：距离 {distance_m} 米，超出 {radius_m} 米（位置来源：{source_zh}）。",
        "en": "Off site: {distance_m} m from the household, beyond {radius_m} m (position from {source_en}).",
    },
    "no_position": {
        "zh-CN": "无法确定拍摄位置（照片无 GPS，也没有同时段的位置信息）。",
        "en": "The position is unknown (no GPS in the photo and no location shared at the time).",
    },
    "no_household_position": {
        "zh-CN": "该户没有登记坐标，无法判断是否在现场。",
        "en": "The household has no recorded coordinates, so on-site cannot be judged.",
    },
    "position_too_vague": {
        "zh-CN": "定位精度太差（±{accuracy_m} 米），无法判断是否在现场。",
        "en": "The fix is too vague (±{accuracy_m} m) to judge on-site.",
    },
    "weak_position": {
        "zh-CN": "位置来自静态位置消息，可在地图上任意选点，证明力较弱。",
        "en": "The position comes from a static location message, which can be picked on the map: weak.",
    },
    "fresh": {
        "zh-CN": "拍摄时间 {captured} 在走访时段内。",
        "en": "Captured at {captured}, inside the visit window.",
    },
    "stale": {
        "zh-CN": "拍摄时间 {captured} 不在走访时段 {start} 至 {end} 内。",
        "en": "Captured at {captured}, outside the visit window {start} to {end}.",
    },
    "no_capture_time": {
        "zh-CN": "照片没有拍摄时间，无法判断是否为本次走访所拍。",
        "en": "The photo has no capture time, so freshness cannot be judged.",
    },
    "no_window": {
        "zh-CN": "未提供走访时段，无法判断拍摄时间。",
        "en": "No visit window was given, so freshness cannot be judged.",
    },
    "capture_in_future": {
        "zh-CN": "拍摄时间 {captured} 晚于当前时间，时间不可信。",
        "en": "The capture time {captured} is in the future: the time cannot be trusted.",
    },
    "reused": {
        "zh-CN": "这张照片已在 {date} 的走访 {visit} 中使用过（相似度差异 {distance}）。",
        "en": "This photo was already used in visit {visit} on {date} (hash distance {distance}).",
    },
    "not_reused": {"zh-CN": "未发现重复使用。", "en": "No earlier use found."},
    "edited_software": {
        "zh-CN": "照片经过编辑软件处理：{software}。",
        "en": "The photo was processed by editing software: {software}.",
    },
    "edited_time_after_gps": {
        "zh-CN": "EXIF 拍摄时间比 GPS 时间晚 {minutes} 分钟，时间可能被修改。",
        "en": "The EXIF capture time is {minutes} min after the GPS time: the time may have been changed.",
    },
    "edited_dimensions": {
        "zh-CN": "EXIF 记录的尺寸为 {exif_w}×{exif_h}，实际为 {width}×{height}，照片被缩放或裁剪过。",
        "en": "EXIF says {exif_w}×{exif_h} but the pixels are {width}×{height}: resized or cropped.",
    },
    "not_edited": {"zh-CN": "未发现编辑痕迹。", "en": "No sign of editing found."},
    "forwarded": {
        "zh-CN": "转发的消息不能作为证据，请在现场直接拍摄发送。",
        "en": "A forwarded message is never evidence; take and send the photo on site.",
    },
    "telegram_photo_no_exif": {
        "zh-CN": "以“照片”方式发送，Telegram 已去除 EXIF；请以“文件”方式发送原图以保留时间和位置。",
        "en": "Sent as a photo, so Telegram stripped EXIF; send the original as a file to keep time and GPS.",
    },
}

SOURCE_NAMES: Final[dict[str, dict[str, str]]] = {
    "exif_gps": {"zh-CN": "照片 GPS", "en": "photo GPS"},
    "live_location": {"zh-CN": "实时位置", "en": "live location"},
    "static_location": {"zh-CN": "位置消息", "en": "location message"},
    "none": {"zh-CN": "无", "en": "none"},
}


class _Missing(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(code: str, lang: Lang = "zh-CN", **params: object) -> str:
    """Render the catalog message for ``code`` in ``lang`` (unknown codes render as the code)."""
    entry = CATALOG.get(code)
    if entry is None:
        return code
    template = entry.get(lang) or entry["en"]
    return template.format_map(_Missing(params))


class MediaError(Exception):
    """A rejected input: a stable ``code``, its parameters, and ``message(lang)`` in zh-CN or en."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params: dict[str, object] = dict(params)
        super().__init__(f"{code}: {render(code, 'en', **params)}")

    def message(self, lang: Lang = "zh-CN") -> str:
        """The human message in ``lang``."""
        return render(self.code, lang, **self.params)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description of the error."""
        return {
            "code": self.code,
            "params": {
                k: v if isinstance(v, int | float | str | None) else str(v) for k, v in self.params.items()
            },
            "message": {lang: self.message(lang) for lang in LANGS},
        }
