"""The file's text: where each entry lies in it (without decoding entries this writer does
not own), and the document written back, those entries exactly as they were."""

import json
import json.encoder
import json.scanner
import re

from ._base import VERSION, HbmonError, _dumps, _loads, _number


class _Raw(str):
    """An entry as the JSON text it had in the file. Entries a writer does not own stay so:
    never decoded, written back as they were (as hbmon does), so one that is not valid JSON
    is its own writer's problem, not every writer's."""


# A UTF-8 byte order mark, which some editors put first; JSON readers skip it.
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Text that is all white space (Unicode's, as hbmon's str::trim): an empty document.
_BLANK = re.compile("[\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*\\Z")
# A string to its closing quote, escapes stepped over; a line break ends the match: a
# string never holds one, so it is a string running on into what follows.
_STRING = re.compile(r'"(?:[^"\\\n]|\\[^\n])*"')
_QUOTE_OR_BRACKET = re.compile(r'["{}\[\]]')
_SCALAR = re.compile(r'[^,:{}\[\]" \t\n\r]+')
# A key without escapes or control characters, its colon and the space up to its value.
_PLAIN_KEY = re.compile(r'"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*')
# After a member: the object's end (group 1), or a comma and the space up to the next key.
_AFTER_MEMBER = re.compile(r'[ \t\n\r]*(?:(\})|,[ \t\n\r]*)')


def _skip(text, i):
    return _WHITESPACE.match(text, i).end()


def _value_end(text, i):
    """Where the value at ``i`` ends: a string at its closing quote, an array or object at its
    matching bracket (strings inside followed), anything else at the next delimiter. The
    value itself is not checked; ValueError if even its extent cannot be found."""
    if text.startswith('"', i):
        string = _STRING.match(text, i)
        if not string:
            raise ValueError("a string that runs on at char %d" % i)
        return string.end()
    if not text.startswith(("{", "["), i):
        scalar = _SCALAR.match(text, i)
        if not scalar:
            raise ValueError("expected a value at char %d" % i)
        return scalar.end()
    closers = []
    while True:
        found = _QUOTE_OR_BRACKET.search(text, i)
        if not found:
            raise ValueError("unexpected end of file")
        i, c = found.start(), found.group()
        if c == '"':
            i = _value_end(text, i)
            continue
        if c in "{[":
            closers.append("}" if c == "{" else "]")
        elif not closers or closers.pop() != c:
            raise ValueError("mismatched bracket at char %d" % i)
        i += 1
        if not closers:
            return i


# The json module's scanner (its C one where there is one): it finds where a valid array
# or object ends at C speed, where _value_end walks every string inside it in Python.
_SCAN = json.scanner.make_scanner(json.JSONDecoder())


def _extent(text, i):
    """Where the value at ``i`` ends, as _value_end finds it: an array or object that is
    valid JSON by the C scanner, anything else (and whatever it refuses: a broken entry is
    its own writer's problem) by _value_end, so both agree wherever the scanner answers."""
    if text.startswith(("{", "["), i):
        try:
            return _SCAN(text, i)[1]
        except (StopIteration, ValueError, RecursionError):
            pass
    return _value_end(text, i)


def _members(text, i, inner=None):
    """The (key, value text) pairs of the object at ``i``, and where it ends. Keys are read
    exactly (a key that is not a valid string, or not valid UTF-8, is a broken file). The
    value of the key ``inner``, if an object, is its entries instead of its text (see
    _entries): they are walked once, not once inside the document and again on their own."""
    members = []
    i = _skip(text, i + 1)
    if text.startswith("}", i):
        return members, i + 1
    while True:
        key, start = _member_key(text, i)
        if key == inner and text.startswith("{", start):
            value, i = _entries(text, start)
        else:
            i = _extent(text, start)
            value = text[start:i]
        members.append((key, value))
        i, closed = _after_member(text, i)
        if closed:
            return members, i


def _member_key(text, i):
    """A member's key and where its value starts. Most keys hold no escape: one match reads
    one and its colon; the rest are decoded."""
    plain = _PLAIN_KEY.match(text, i)
    return (plain.group(1), plain.end()) if plain else _key(text, i)


def _after_member(text, i):
    """Where the next member starts, and whether the object closed instead."""
    after = _AFTER_MEMBER.match(text, i)
    if not after:
        raise ValueError("expected ',' or '}' at char %d" % _skip(text, i))
    return after.end(), bool(after.group(1))


#: Files up to this size keep their entries' texts in memory between beats (see _entries):
#: the cache costs about twice the file, so a planted huge file does not make it grow.
CACHE_LIMIT = 16 * 1024 * 1024

# name -> _Raw of each entry the last parse found, for the next parse to recognise.
_known = {}
# Between entries: the object's end (group 1), or a comma and the next key, if it holds no
# escape (group 2), its colon and the space up to its value.
_NEXT_ENTRY = re.compile(r'[ \t\n\r]*(?:(\})|,[ \t\n\r]*(?:"([^"\\\x00-\x1f]*)"[ \t\n\r]*:[ \t\n\r]*)?)')


def _entries(text, i):
    """The (name, _Raw) pairs of the ``processes`` object at ``i``, and where it ends.

    A beat costs what changed since the last, not what exists: an entry whose text is where
    the last parse found it, byte for byte, is taken from ``_known`` with one comparison,
    not scanned again. That is exact, not a guess: the value is an array or object, whose end
    the text from its first byte alone decides, so the same bytes end at the same place. Other
    entries are scanned (_extent) and remembered for the next beat. One regex match steps
    from an entry's end over the comma to the next one's value."""
    global _known
    known, seen, members = _known, {}, []
    i = _skip(text, i + 1)
    if text.startswith("}", i):
        return members, i + 1
    name, start = _member_key(text, i)
    while True:
        raw = known.get(name)
        if raw is not None and text.startswith(raw, start):
            i = start + len(raw)
        else:
            i = _extent(text, start)
            raw = _Raw(text[start:i])
            # The line it is written back as (see _document), made once per entry text.
            raw.line = "    %s: %s" % (json.encoder.encode_basestring(name), raw)
        members.append((name, raw))
        if raw.startswith(("{", "[")):
            seen[name] = raw
        after = _NEXT_ENTRY.match(text, i)
        if not after:
            raise ValueError("expected ',' or '}' at char %d" % _skip(text, i))
        closed, name = after.group(1, 2)
        if closed:
            break
        start = after.end()
        if name is None:
            name, start = _key(text, start)
    _known = seen if len(text) <= CACHE_LIMIT else {}
    return members, after.end()


def _key(text, i):
    """A key with escapes (or a broken one) and where its value starts."""
    if not text.startswith('"', i):
        raise ValueError("expected a string key at char %d" % i)
    key, i = json.decoder.scanstring(text, i + 1)
    key.encode("utf-8")  # UnicodeEncodeError (a ValueError) for a lone surrogate
    i = _skip(text, i)
    if not text.startswith(":", i):
        raise ValueError("expected ':' at char %d" % i)
    return key, _skip(text, i + 1)


def _parse(text):
    """(processes, other top-level items) of a document; ValueError if its structure is not
    one. Entries stay ``_Raw`` text; the other top-level values are checked in full."""
    if _BLANK.match(text):
        return {}, {}
    start = _skip(text, 0)
    if not text.startswith("{", start):
        raise ValueError("expected a JSON object with \"processes\"")
    members, end = _members(text, start, inner="processes")
    if _skip(text, end) != len(text):
        raise ValueError("trailing characters at char %d" % _skip(text, end))
    processes, other, version = {}, {}, None
    for key, value in members:
        if key == "processes":
            if not isinstance(value, list):
                raise ValueError("\"processes\" is not an object of entries")
            processes = dict(value)
        elif key == "version":
            version = _loads(value)
        elif key == "last_updated":
            _loads(value)
        else:
            other[key] = _loads(value)
    if _number(version) and version == VERSION:  # 1.0 and 1e0 are 1 to any JSON reader
        version = VERSION
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 0):
        raise ValueError("\"version\" is not a version number")
    if version is not None and version > VERSION:
        raise HbmonError(
            "protocol version %d is newer than this hbmon package (it reads version %d)" % (version, VERSION)
        )
    return processes, other


def _document(processes, other, now):
    """The file's text as hbmon writes it: the top level pretty, each entry on one line
    (``grep NAME`` shows it whole, and a beat rewrites fewer bytes); entries read from the
    file go back exactly as they were, in the line _entries made for them."""
    # encode_basestring is what _dumps does with a str, without its per-call set-up.
    name_text = json.encoder.encode_basestring
    entries = ",\n".join(
        [
            entry.line if entry.__class__ is _Raw else "    %s: %s" % (name_text(name), _dumps(entry))
            for name, entry in processes.items()
        ]
    )
    text = '{\n  "version": %d,\n  "last_updated": %s,\n  "processes": {' % (VERSION, _dumps(now))
    text += "\n%s\n  }" % entries if processes else "}"
    for key, value in other.items():
        text += ",\n  %s: %s" % (_dumps(key), _dumps(value))
    return text + "\n}\n"
