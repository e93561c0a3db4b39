"""The one cleaner for untrusted text: what it removes, what it keeps, and that the list of
invisible characters it removes matches Python's own Unicode database."""

from __future__ import annotations

import json
import sys
import unicodedata

import pytest

from posture_gate.textutil import clean, json_escape_invisible, last_line, one_line


def _is_nonchar(c: int) -> bool:
    return 0xFDD0 <= c <= 0xFDEF or (c & 0xFFFE) == 0xFFFE


def _unwanted() -> list[str]:
    """Every code point the cleaner must never let through (all planes)."""
    out = []
    for c in range(sys.maxunicode + 1):
        ch = chr(c)
        cat = unicodedata.category(ch)
        if cat in ("Cf", "Cs") or _is_nonchar(c) or (cat == "Cc" and ch not in "\t\n"):
            out.append(ch)
    return out


def test_every_format_control_surrogate_and_nonchar_is_removed() -> None:
    unwanted = _unwanted()
    assert len(unwanted) > 2048 + 66 + 150  # surrogates, non-characters, Cf, controls
    left = [f"U+{ord(c):04X}" for c in unwanted
            if c in clean(f"x{c}y") or c in one_line(f"x{c}y")]
    assert left == []


@pytest.mark.parametrize(("raw", "want"), [
    ("\x1b[31mred\x1b[0m", "red"),
    ("\x1b[38;2;255;0;0mrgb", "rgb"),
    ("\x9b1mcsi8 \x9fapc", "1mcsi8 apc"),  # 8-bit forms: single controls
    ("\x1b]8;;http://x\x07link\x1b]8;;\x07", "link"),
    ("\x1b]0;title\x1b\\after", "after"),
    ("\x1bPdcs\x1b\\after", "after"),
    ("a\x1bb", "ab"),  # a lone ESC
    ("x\x1b]8;;unterminated", "x"),
    ("x\x1b]8;;unterminated\nnext line", "x next line"),
    ("a\u202eb\u2066c\u2067d\u2068e\u2069f\u200eg\u200fh\u061ci", "abcdefghi"),
    ("a\u200bb\u200cc\u200dd\u2060e\ufefff\u00adg", "abcdefg"),
    ("tag\U000e0041\U000e0001s", "tags"),
    ("a\ud800b\udc80c", "abc"),
    ("a\ufdd0b\ufffec\U0010ffffd", "abcd"),
    ("nul\x00bel\x07del\x7fc1\x85vt\x0bend", "nul bel del c1 vt end"),
    ("a\r\nb\rc\u2028d\u2029e", "a b c d e"),
    ("  lots \t of\n\n space ", "lots of space"),
    ("ünïcödé 漢字 😀", "ünïcödé 漢字 😀"),
])
def test_one_line(raw: str, want: str) -> None:
    assert one_line(raw) == want
    assert one_line(one_line(raw)) == one_line(raw)  # idempotent


def test_clean_keeps_newlines_and_tabs_only() -> None:
    assert clean(" a\r\nb\rc\u2028d\x85e\tf\x0bg \n") == "a\nb\nc\nd\ne\tf g"
    assert clean(None) == "" and clean(12) == "12"


def test_limit() -> None:
    assert one_line("x" * 10_000, 300) == "x" * 299 + "…"
    assert len(clean("y\n" * 10_000, 4000)) == 4000
    assert one_line("short", 300) == "short"
    assert clean("z" * 10_000) == "z" * 10_000  # no limit


def test_last_line() -> None:
    assert last_line("first\n\x1b[31msecond\u202e\n  \n") == "second"


def test_json_escape_invisible_keeps_the_data() -> None:
    data = {"p\u202ek": "a\u202eb\u2066\u200b\ufeff\x1b\x7f\x85\u2028\ud800\U000e0041\ufffe z"}
    text = json_escape_invisible(json.dumps(data, ensure_ascii=False))
    assert json.loads(text) == data
    assert all(c not in text for c in "\u202e\u2066\u200b\ufeff\x1b\x7f\x85\u2028\ufffe")
    assert "\\udb40\\udc41" in text  # U+E0041 as a surrogate pair
    text.encode("utf-8")  # a lone surrogate would not encode


def test_printable_text_needs_no_regex() -> None:
    """clean() skips its regexes for str.isprintable() text: no printable code point is
    one they (or the newline folding) would touch."""
    from posture_gate import textutil

    for c in range(sys.maxunicode + 1):
        ch = chr(c)
        if ch.isprintable():
            assert not (textutil._ANSI.match(ch) or textutil._REMOVE.match(ch)
                        or textutil._CONTROL.match(ch) or ch in "\r\x85\u2028\u2029"), hex(c)
    for text in ("  plain  text ", "検証 Überprüfung…", "a\u00a0b"):
        assert clean(text) == text.strip()
        assert one_line(text) == " ".join(text.split())
    assert clean("x" * 50, 10) == "x" * 9 + "…" and one_line("x  y", 2) == "x…"


@pytest.mark.parametrize("text", ["a b", " a", "a ", "a  b", "", " ", "x" * 301, "é ü 検",
                                  "a\u00a0b", "a\tb", "\u202eab", "a\u3000b"])
def test_one_line_fast_path_is_clean(text: str) -> None:
    for limit in (0, 1, 2, 300):
        assert one_line(text, limit) == clean(text, limit, newlines=False)
