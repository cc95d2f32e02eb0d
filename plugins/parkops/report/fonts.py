"""The Chinese font of the reports: Noto Sans SC, shipped by the project itself, never the host's.

Charts and the rendered report HTML carry Simplified Chinese text. A fresh machine (a CI runner, a
new Airflow worker, a slim container) usually has no CJK font at all, and a developer's machine has
some arbitrary one: left to the host, matplotlib draws missing-glyph boxes ("tofu") or the charts
look different on every machine. So the font comes from the project's own dependencies: the PyPI
package ``pylopdf-fonts-zh-cn`` bundles Noto Sans SC Regular (SIL Open Font License 1.1, which
allows bundling and embedding it in the images and documents we produce).

:func:`use_cjk_font` makes matplotlib use that file and only that file for every text;
:func:`write_fontconfig` writes a fontconfig configuration that exposes only the bundled font folder,
for renderers driven by fontconfig (headless Chromium in the report's screenshot test).
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from pathlib import Path

FONT_PACKAGE = "pylopdf-fonts-zh-cn"

# Family names that report HTML or mail clients commonly ask for; in a fontconfig set up by
# write_fontconfig they all resolve to the bundled family, so no request can fall through to nothing.
GENERIC_FAMILIES = ("sans-serif", "serif", "monospace", "system-ui")
COMMON_CJK_FAMILIES = (
    "PingFang SC",
    "Hiragino Sans GB",
    "Microsoft YaHei",
    "微软雅黑",
    "SimHei",
    "黑体",
    "SimSun",
    "宋体",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "思源黑体",
    "WenQuanYi Micro Hei",
)

_MATPLOTLIB_GENERIC_FAMILIES = ("sans-serif", "serif", "monospace", "cursive", "fantasy")
_register_lock = threading.Lock()


class CjkFontMissingError(RuntimeError):
    """The bundled Chinese font is not installed."""


def cjk_font_path() -> Path:
    """The bundled Noto Sans SC Regular (``NotoSansSC-Regular.otf`` of ``pylopdf-fonts-zh-cn``)."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError as error:
        raise CjkFontMissingError(
            f"the Chinese report font comes from the PyPI package {FONT_PACKAGE!r}, which is not installed; "
            "install the project's dependencies (uv sync)"
        ) from error
    path = Path(pylopdf_fonts_zh_cn.sans_path()).resolve()
    if not path.is_file():
        raise CjkFontMissingError(f"the package {FONT_PACKAGE!r} is installed but its font file {path} is missing")
    return path


def cjk_font_family() -> str:
    """The family name stored in the bundled font file ("Noto Sans SC"), as matplotlib reads it."""
    from matplotlib import ft2font

    return ft2font.FT2Font(str(cjk_font_path())).family_name


def use_cjk_font() -> str:
    """Make matplotlib draw every text with the bundled font; returns its family name. Idempotent.

    The font is registered from its file (never looked up among host fonts), moved ahead of any host
    font that happens to share its family name, and made the only family of ``font.family`` and the
    first of each generic family list, so no text can resolve to a host font.
    """
    import matplotlib
    from matplotlib import font_manager

    path = cjk_font_path()
    family = cjk_font_family()
    with _register_lock:
        manager = font_manager.fontManager
        bundled = [entry for entry in manager.ttflist if Path(entry.fname) == path]
        if not bundled:
            manager.addfont(str(path))
            bundled = [entry for entry in manager.ttflist if Path(entry.fname) == path]
        if manager.ttflist[: len(bundled)] != bundled:
            # findfont keeps the first of equally scored fonts: a host copy of "Noto Sans SC" listed
            # earlier would win, so the bundled entries go first.
            manager.ttflist = bundled + [entry for entry in manager.ttflist if Path(entry.fname) != path]
            manager._findfont_cached.cache_clear()

        rc = matplotlib.rcParams
        rc["font.family"] = [family]
        for generic in _MATPLOTLIB_GENERIC_FAMILIES:
            key = f"font.{generic}"
            rc[key] = [family, *(name for name in rc[key] if name != family)]
        # U+2212 MINUS SIGN is in Noto Sans SC, but the ASCII hyphen keeps numbers as leadership
        # reads them elsewhere (Excel, the HTML).
        rc["axes.unicode_minus"] = False

        resolved = Path(font_manager.findfont(font_manager.FontProperties(family=[family]), fallback_to_default=False))
        if resolved != path:
            raise CjkFontMissingError(f"matplotlib resolves {family!r} to {resolved}, not the bundled {path}")
    return family


def write_fontconfig(folder: Path) -> Path:
    """Write ``folder/fonts.conf``: fontconfig sees only the bundled font folder; returns its path.

    No system configuration is included, so with ``FONTCONFIG_FILE`` pointing here a renderer such as
    Chromium cannot use host fonts; its cache goes to ``folder/fontconfig-cache``. Generic families and
    the CJK families pages commonly name resolve to the bundled family.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    font_folder = cjk_font_path().parent
    family = cjk_font_family()

    root = ET.Element("fontconfig")
    ET.SubElement(root, "dir").text = str(font_folder)
    ET.SubElement(root, "cachedir").text = str((folder / "fontconfig-cache").resolve())
    for requested in (*GENERIC_FAMILIES, *COMMON_CJK_FAMILIES):
        if requested == family:
            continue
        alias = ET.SubElement(root, "alias", binding="same")
        ET.SubElement(alias, "family").text = requested
        ET.SubElement(ET.SubElement(alias, "prefer"), "family").text = family
    ET.indent(root)

    config_path = folder / "fonts.conf"
    config_path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n' + ET.tostring(root, encoding="unicode") + "\n",
        encoding="utf-8",
    )
    return config_path
