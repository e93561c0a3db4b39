"""The one cleaner for untrusted text (file names, rule ids, messages, scanner output),
shared by the runner, the CLI and every reporter.

`clean` makes text inert for any renderer: a terminal, a Markdown or HTML page, an XML
or JSON viewer, a code-review diff. Each format then applies only its own escaping
(Markdown metacharacters, XML/HTML entities, JSON string escapes) to the cleaned text.
What it does, in order:
* ANSI escape sequences out: CSI (`ESC [` ... final byte), OSC / DCS / SOS / PM / APC
  strings (`ESC ]`, `ESC P`, ... up to BEL or ST, or the end of the line), any lone ESC;
* U+2028 / U+2029 (line / paragraph separators) become newlines, CR LF and CR become LF;
* C0 controls, DEL and C1 controls become a space (LF and TAB stay when `newlines`);
* invisible format characters out: every Unicode `Cf` code point, which covers the bidi
  embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F,
  U+061C: "Trojan Source"), zero-width characters (U+200B-U+200D, U+2060, U+FEFF), the
  soft hyphen and the tag characters (U+E0000 block); lone surrogates (from undecodable
  file names) and non-characters (U+FDD0-U+FDEF, U+nFFFE/U+nFFFF) out too;
* whitespace folded to single spaces (`one_line`) or only the ends stripped (`newlines`);
* at most `limit` characters, the last one an ellipsis when cut.
"""

from __future__ import annotations

import re

_CSI = r"\x1b\[[0-?]*[ -/]*[@-~]"
# OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \ or U+009C); unterminated, up to
# the end of its line. (The 8-bit C1 forms are single controls here: UTF-8 terminals do
# not start sequences with them, and a stray U+009F must not swallow a message.)
_STRING = r"\x1b[\]PX^_][^\x07\x1b\x9c\r\n]*(?:\x07|\x1b\\|\x9c)?"
_ANSI = re.compile(f"{_CSI}|{_STRING}|\\x1b")
# Unicode 15 general category Cf (tests/test_textutil.py checks it against unicodedata).
_FORMAT = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
           "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
           "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
           "\U000e0020-\U000e007f")
_NONCHAR = "\ufdd0-\ufdef" + "".join(f"{chr(p * 0x10000 + 0xfffe)}{chr(p * 0x10000 + 0xffff)}"
                                     for p in range(17))
_REMOVE = re.compile(f"[{_FORMAT}{_NONCHAR}\\ud800-\\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # all but TAB and LF
# What json.dumps leaves raw but the cleaner would remove (it escapes C0 itself).
_JSON_RAW = re.compile(f"[\\x7f-\\x9f\\u2028\\u2029{_FORMAT}{_NONCHAR}\\ud800-\\udfff]")


def clean(text: object, limit: int | None = None, *, newlines: bool = True) -> str:
    """Untrusted text made inert (see the module docstring); LF and TAB kept unless
    `newlines=False`, which folds every whitespace run into one space."""
    s = "" if text is None else str(text)
    # A printable string has no Cc (ESC, CR, C1), Cf, Cs, Cn (non-characters), Zl or Zp:
    # only the whitespace and the limit below apply (most report strings; 100k findings
    # spent ~10 s in these regexes).
    if not s.isprintable():
        s = _REMOVE.sub("", _ANSI.sub("", s))
        s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n") \
            .replace("\u2029", "\n").replace("\x85", "\n")
        s = _CONTROL.sub(" ", s)
    s = s.strip() if newlines else " ".join(s.split())
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)] + "…"
    return s


def one_line(text: object, limit: int = 300) -> str:
    """Untrusted text as one inert line: `clean` with every whitespace run one space."""
    if (type(text) is str and text.isprintable() and "  " not in text
            and text[:1] != " " and text[-1:] != " "):
        # already one inert line (printable: its only whitespace is the space); a SARIF
        # or GitLab report makes ~13 of these a finding
        return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"
    return clean(text, limit, newlines=False)


def json_escape_invisible(dumped: str) -> str:
    """JSON text (json.dumps output) with every character the cleaner would remove that
    json.dumps leaves raw (DEL, C1, Cf, U+2028/9, non-characters, lone surrogates) written
    as a \\u escape: the same data once parsed, but no invisible character in the file.
    Valid only on json.dumps output, where such characters occur only inside strings."""
    def esc(m: re.Match[str]) -> str:
        code = ord(m.group())
        if code > 0xFFFF:  # a UTF-16 surrogate pair, as JSON spells astral characters
            code -= 0x10000
            return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
        return f"\\u{code:04x}"
    return _JSON_RAW.sub(esc, dumped)


def last_line(text: str) -> str:
    for line in reversed(text.splitlines()):
        if line.strip():
            return one_line(line, 200)
    return ""
