"""A Text search attribute compared with `=` or `!=`, as the 1.32 dev server's SQLite
visibility store compares it: by words, not by the whole value.

The store keeps Text attributes in an FTS5 full-text table whose tokenizer is
`unicode61 remove_diacritics 2` (`schema/sqlite/v3/visibility/schema.sql`). The query
converter (`common/persistence/visibility/store/query/converter.go`) refuses a value
that is empty or only spaces; the SQL converter
(`common/persistence/visibility/store/sql/query_converter.go`) escapes the value as it
escapes every string; the SQLite converter
(`common/persistence/sql/sqlplugin/sqlite/query_converter.go`) splits it at spaces and
asks FTS5 for the rows whose column holds any of the pieces, each piece a quoted
phrase: `Col : ("piece1" OR "piece2")`. `=` keeps those rows, `!=` every other row,
a run without the attribute included (it is in no match).

So, measured on the dev server: `MyText = 'hello world'` selects "hello world",
"world hello", "Hello-World foo" and "HELLO", not "helloworld"; `= 'hello-world'` is the
phrase "hello world" (the two words adjacent, in order); case and Latin accents do not
count ("héllo" is "hello"); a piece with no word in it ("!") matches nothing.

The escaping is visible: a tab, newline, carriage return or backspace in the value
becomes a backslash and a letter (`'a\\tb'` looks for "a tb"), and a double quote becomes
a backslash and the quote, which ends FTS5's quoted phrase early: the statement fails
and the RPC answers UNAVAILABLE with SQLite's complaint (`failure` below).
"""

from __future__ import annotations

import unicodedata

# The combining accents unicode61 treats as part of a word and drops with
# remove_diacritics (measured with SQLite 3.40: "x" + accent + "y" is the one word "xy");
# every other combining mark separates words.
_ACCENTS = frozenset(
    (*range(0x300, 0x305), *range(0x306, 0x30D), 0x30F, 0x311, 0x31B, *range(0x323, 0x329))
) | {0x32D, 0x32E, 0x330, 0x331}
# What the SQL converter's escaping turns into two characters (escapeCharMap); its
# doubling of a single quote is undone by SQLite reading the string literal.
_ESCAPED = {'"': '\\"', "\b": "\\b", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
# Characters of an FTS5 query that are tokens of their own (fts5_expr.c).
_FTS5_SPECIAL = frozenset("(){}:,+*-^")

Phrase = tuple[str, ...]


def _in_word(char: str) -> bool:
    """unicode61's token characters: letters, digits, private use, and code points its
    tables do not know (unassigned here), plus the accents it drops."""
    category = unicodedata.category(char)
    return category[0] in "LN" or category in ("Co", "Cn") or ord(char) in _ACCENTS


def _fold(char: str) -> str:
    """A word character as the tokenizer keeps it: in lower case (simple case folding,
    so a final sigma is a sigma and "ß" stays), a Latin letter without its accents."""
    if ord(char) in _ACCENTS:
        return ""
    low = char.casefold()
    if len(low) != 1:
        low = char.lower()
    if len(low) != 1:  # "İ": its base letter
        low = unicodedata.normalize("NFD", char)[0].lower()
    parts = unicodedata.normalize("NFD", low)
    if len(parts) > 1 and parts[0].isascii() and all(ord(p) in _ACCENTS for p in parts[1:]):
        return parts[0]
    return low


def words(text: str) -> list[str]:
    """The words of `text` as the FTS5 table indexes them."""
    out: list[str] = []
    current: list[str] = []
    for char in text:
        if _in_word(char):
            current.append(_fold(char))
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return [w for w in out if w]


def _pieces(value: str) -> list[str]:
    escaped = "".join(_ESCAPED.get(char, char) for char in value)
    return [piece for piece in escaped.split(" ") if piece]


def phrases(value: str) -> list[Phrase]:
    """The phrases a compared value asks for, one per space-separated piece."""
    return [tuple(words(piece)) for piece in _pieces(value)]


def matches(stored: object, wanted: list[Phrase]) -> bool:
    """Whether a run's Text value holds one of the phrases: its words, adjacent and in
    order. An unset value, or a phrase with no word, matches nothing."""
    if not isinstance(stored, str):
        return False
    have = words(stored)
    for phrase in wanted:
        size = len(phrase)
        if size and any(tuple(have[i : i + size]) == phrase for i in range(len(have))):
            return True
    return False


def failure(value: str) -> str | None:
    """SQLite's complaint about the FTS5 query a value with a double quote makes, or
    None when the query is sound. The escaped quote ends the quoted phrase after its
    backslash, and FTS5's lexer then meets the backslash or an unclosed quote; this
    follows that lexer, so the message is the dev server's unless one of FTS5's own
    operator characters `( ) { } : , + * - ^` stands beside the quote, where FTS5's
    grammar may complain about another token first."""
    if '"' not in value:
        return None
    text = 'Col : ("' + '" OR "'.join(_pieces(value)) + '")'
    i = len("Col : (")
    while i < len(text):
        char = text[i]
        if char == '"':
            i += 1
            while i < len(text) and not (text[i] == '"' and text[i + 1 : i + 2] != '"'):
                i += 2 if text[i] == '"' else 1  # a doubled quote is a quote in the phrase
            if i >= len(text):
                return "unterminated string"
            i += 1
        elif char in " \t\n\r\f\v" or char in _FTS5_SPECIAL:
            i += 1
        elif char.isascii() and not (char.isalnum() or char in "_\x1a"):
            return f'fts5: syntax error near "{char}"'
        else:  # a bare word
            i += 1
    return None
