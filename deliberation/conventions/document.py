"""A convention's text as data: numbered clauses grouped in chapters. Pure functions only (no
Flask, no database): reading the text an author types, keeping each clause's identity from one
version to the next, numbering, comparing two versions, and applying amendments.

A clause is ``{"key": "c7", "chapter": "第二章 文明遛狗", "text": "..."}``. The key never changes
while the clause lives, so comments, amendments and reviews stay attached to it when clauses
are inserted, removed or moved and the numbers shift.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from markupsafe import Markup, escape

CLAUSE_MAX = 2000
CHAPTER_MAX = 100
MAX_CLAUSES = 200
# Below this likeness an edited clause counts as a new clause (the old one deleted).
SAME_CLAUSE_RATIO = 0.5

_ZH_DIGITS = "零一二三四五六七八九"
_NUM = r"[0-9０-９零〇一二三四五六七八九十百两]+"
_CHAPTER_LINE = re.compile(rf"^第{_NUM}章")
_CHAPTER_NUMBER = re.compile(rf"^(?:第{_NUM}章|Chapter\s+\d+\.?)\s*", re.IGNORECASE)
# A number the author typed in front of a clause: the app numbers clauses itself.
_CLAUSE_NUMBER = re.compile(rf"^(?:第{_NUM}条|Art\.?\s*\d+\.?|Article\s+\d+\.?|\d+[、．)）]|\d+\.(?!\d))\s*",
                            re.IGNORECASE)
_TOKENS = re.compile(r"[A-Za-z0-9]+|\s+|.", re.DOTALL)


class DocumentError(ValueError):
    """The text cannot be read as a convention; ``code`` says why (the service words it)."""

    def __init__(self, code: str, **params) -> None:
        self.code = code
        self.params = params
        super().__init__(code)


def zh_number(n: int) -> str:
    """1 -> 一, 10 -> 十, 21 -> 二十一, 105 -> 一百零五 (as clauses are numbered in Chinese)."""
    if n < 10:
        return _ZH_DIGITS[n]
    if n < 20:
        return "十" + (_ZH_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _ZH_DIGITS[n // 10] + "十" + (_ZH_DIGITS[n % 10] if n % 10 else "")
    rest = n % 100
    head = _ZH_DIGITS[n // 100] + "百"
    if not rest:
        return head
    return head + ("零" + _ZH_DIGITS[rest] if rest < 10 else ("一" + zh_number(rest) if rest < 20 else zh_number(rest)))


def parse(text: str) -> list[tuple[str, str]]:
    """The (chapter, text) of each clause an author typed: one clause per line; a line starting
    with ``#`` or ``第…章`` starts a chapter; numbers typed in front of clauses are dropped."""
    chapter = ""
    clauses: list[tuple[str, str]] = []
    for raw in (text or "").splitlines():
        line = " ".join(raw.split())
        if not line:
            continue
        if line.startswith("#") or _CHAPTER_LINE.match(line):
            chapter = line.lstrip("#").strip()
            if len(chapter) > CHAPTER_MAX:
                raise DocumentError("chapter_too_long", n=CHAPTER_MAX)
            continue
        body = _CLAUSE_NUMBER.sub("", line, count=1).strip() or line
        if len(body) > CLAUSE_MAX:
            raise DocumentError("clause_too_long", n=CLAUSE_MAX, number=len(clauses) + 1)
        clauses.append((chapter, body))
    if not clauses:
        raise DocumentError("empty")
    if len(clauses) > MAX_CLAUSES:
        raise DocumentError("too_many", n=MAX_CLAUSES)
    return clauses


def editable_text(clauses: list[dict]) -> str:
    """The text an author edits: chapters as ``# title`` lines, one clause per line."""
    lines: list[str] = []
    chapter = None
    for clause in clauses:
        if clause["chapter"] != chapter:
            chapter = clause["chapter"]
            if chapter:
                if lines:
                    lines.append("")
                lines.append(f"# {chapter}")
        lines.append(clause["text"])
    return "\n".join(lines)


def keep_identity(old: list[dict], new: list[tuple[str, str]], new_key: Callable[[], str]) -> list[dict]:
    """Give each new clause the key of the old clause it continues: first the same text, then
    the most alike edited text (at least SAME_CLAUSE_RATIO alike); the rest are new clauses."""
    keys: list[str | None] = [None] * len(new)
    free = {c["key"]: c["text"] for c in old}
    for i, (_chapter, text) in enumerate(new):
        for key, old_text in free.items():
            if old_text == text:
                keys[i] = key
                del free[key]
                break
    pairs = []
    for i, (_chapter, text) in enumerate(new):
        if keys[i] is None:
            for key, old_text in free.items():
                ratio = SequenceMatcher(None, old_text, text, autojunk=False).ratio()
                if ratio >= SAME_CLAUSE_RATIO:
                    pairs.append((-ratio, i, key))
    for _ratio, i, key in sorted(pairs):
        if keys[i] is None and key in free:
            keys[i] = key
            del free[key]
    return [{"key": keys[i] or new_key(), "chapter": chapter, "text": text}
            for i, (chapter, text) in enumerate(new)]


def numbered(clauses: list[dict]) -> list[dict]:
    """The clauses with their number (1, 2, ...) in document order."""
    return [{**c, "number": n} for n, c in enumerate(clauses, start=1)]


def numbers(clauses: list[dict]) -> dict[str, int]:
    return {c["key"]: n for n, c in enumerate(clauses, start=1)}


def plain_text(title: str, clauses: list[dict]) -> str:
    """The numbered text as it is printed and recorded: 第一条 … under each chapter heading."""
    lines = [title, ""]
    chapter = None
    for n, clause in enumerate(clauses, start=1):
        if clause["chapter"] != chapter:
            chapter = clause["chapter"]
            if chapter:
                lines += [chapter] if lines[-1] == "" else ["", chapter]
        lines.append(f"第{zh_number(n)}条　{clause['text']}")
    return "\n".join(lines).strip()


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------- comparing two versions


@dataclass
class DiffRow:
    """One line of the side-by-side comparison. ``old``/``new``: (number, clause) or None."""

    key: str
    old: tuple[int, dict] | None
    new: tuple[int, dict] | None
    moved: bool = False
    old_html: Markup = field(default_factory=Markup)
    new_html: Markup = field(default_factory=Markup)
    chapter: str | None = None  # a chapter heading starts above this row

    @property
    def kind(self) -> str:
        if self.old is None:
            return "added"
        if self.new is None:
            return "deleted"
        if self.old[1]["text"] != self.new[1]["text"]:
            return "changed"
        return "moved" if self.moved else "same"


@dataclass
class Diff:
    rows: list[DiffRow]
    chapters_added: list[str]
    chapters_removed: list[str]

    @property
    def counts(self) -> dict[str, int]:
        counts = {"added": 0, "deleted": 0, "changed": 0, "moved": 0}
        for row in self.rows:
            if row.kind != "same":
                counts[row.kind] += 1
            if row.moved and row.kind == "changed":
                counts["moved"] += 1
        return counts

    @property
    def unchanged(self) -> bool:
        return not any(self.counts.values()) and not self.chapters_added and not self.chapters_removed


def _marked(old: str, new: str) -> tuple[Markup, Markup]:
    """Both texts with what was removed in <del> and what was added in <ins> (word by word for
    Latin letters and digits, character by character for Chinese)."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    left: list[Markup] = []
    right: list[Markup] = []
    for op, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        removed, added = escape("".join(a[i1:i2])), escape("".join(b[j1:j2]))
        if op == "equal":
            left.append(removed)
            right.append(added)
            continue
        if removed:
            left.append(Markup("<del>{}</del>").format(removed))
        if added:
            right.append(Markup("<ins>{}</ins>").format(added))
    return Markup("").join(left), Markup("").join(right)


def compare(old: list[dict], new: list[dict]) -> Diff:
    """Old and new side by side, clause by clause (matched by key): added, deleted, changed
    (with the words marked), and moved (a clause whose place in the order changed)."""
    old_pos = {c["key"]: i for i, c in enumerate(old)}
    new_keys = {c["key"] for c in new}
    common_old = [c["key"] for c in old if c["key"] in new_keys]
    common_new = [c["key"] for c in new if c["key"] in old_pos]
    # The longest run of clauses kept in the same order stays put; the others moved.
    in_place: set[str] = set()
    for block in SequenceMatcher(None, common_old, common_new, autojunk=False).get_matching_blocks():
        in_place.update(common_old[block.a:block.a + block.size])
    rows: list[DiffRow] = []
    emitted_old: set[str] = set()

    def deleted_row(i: int) -> None:
        clause = old[i]
        emitted_old.add(clause["key"])
        rows.append(DiffRow(key=clause["key"], old=(i + 1, clause), new=None,
                            old_html=Markup("<del>{}</del>").format(clause["text"])))

    def flush_deleted(until: int) -> None:
        for i, clause in enumerate(old[:until]):
            if clause["key"] not in new_keys and clause["key"] not in emitted_old:
                deleted_row(i)

    def deleted_after(position: int) -> None:
        """Deleted clauses that directly followed this one stay next to it."""
        i = position + 1
        while i < len(old) and old[i]["key"] not in new_keys:
            if old[i]["key"] not in emitted_old:
                deleted_row(i)
            i += 1

    chapter = None
    for j, clause in enumerate(new):
        key = clause["key"]
        if key in in_place:
            flush_deleted(old_pos[key])
        row = DiffRow(key=key, old=None, new=(j + 1, clause))
        if clause["chapter"] != chapter:
            chapter = clause["chapter"]
            row.chapter = chapter
        if key in old_pos:
            previous = old[old_pos[key]]
            row.old = (old_pos[key] + 1, previous)
            row.moved = key not in in_place or chapter_name(previous["chapter"]) != chapter_name(clause["chapter"])
            row.old_html, row.new_html = _marked(previous["text"], clause["text"])
        else:
            row.new_html = Markup("<ins>{}</ins>").format(clause["text"])
        rows.append(row)
        if key in in_place:
            deleted_after(old_pos[key])
    flush_deleted(len(old))
    old_chapters = _chapters(old)
    new_chapters = _chapters(new)
    old_names = {chapter_name(c) for c in old_chapters}
    new_names = {chapter_name(c) for c in new_chapters}
    return Diff(rows=rows, chapters_added=[c for c in new_chapters if chapter_name(c) not in old_names],
                chapters_removed=[c for c in old_chapters if chapter_name(c) not in new_names])


def chapter_name(chapter: str) -> str:
    """A chapter without its number: renumbering chapters moves no clause."""
    return _CHAPTER_NUMBER.sub("", chapter or "").strip()


def _chapters(clauses: Iterable[dict]) -> list[str]:
    seen: list[str] = []
    for clause in clauses:
        if clause["chapter"] and clause["chapter"] not in seen:
            seen.append(clause["chapter"])
    return seen


# ---------------------------------------------------------------- amendments


@dataclass(frozen=True)
class Change:
    """A change to one clause: an amendment (``amendment_id``) or the vote on keeping a clause
    (``amendment_id`` None, kind "delete"). ``support`` is the yes vote it won, used to choose
    between two passed changes of the same clause."""

    kind: str  # replace / insert_after / delete
    clause_key: str
    text: str = ""
    amendment_id: int | None = None
    support: float = 0.0


@dataclass
class Applied:
    clauses: list[dict]
    applied: list[Change]
    superseded: list[Change]  # passed, but another change of the same clause prevailed
    lapsed: list[Change]  # its clause is no longer in the text


def inserted_key(amendment_id: int) -> str:
    """The key of the clause an insert amendment adds: fixed by the amendment, so the history can
    name the amendment behind each clause."""
    return f"m{amendment_id}"


def apply_changes(clauses: list[dict], changes: list[Change]) -> Applied:
    """The text with the changes applied. Inserts are all kept (in the order proposed, after
    their clause). For one clause, a failed vote on keeping it deletes it; otherwise of several
    replacements or deletions the one with the most support prevails (the earlier on a tie)."""
    present = {c["key"] for c in clauses}
    lapsed = [c for c in changes if c.clause_key not in present]
    live = [c for c in changes if c.clause_key in present]
    chosen: dict[str, Change] = {}
    superseded: list[Change] = []
    for change in sorted((c for c in live if c.kind != "insert_after"),
                         key=lambda c: (c.amendment_id is not None, -c.support, c.amendment_id or 0)):
        if change.clause_key in chosen:
            superseded.append(change)
        else:
            chosen[change.clause_key] = change
    inserts: dict[str, list[Change]] = {}
    for change in sorted((c for c in live if c.kind == "insert_after"), key=lambda c: c.amendment_id or 0):
        inserts.setdefault(change.clause_key, []).append(change)
    result: list[dict] = []
    for clause in clauses:
        change = chosen.get(clause["key"])
        if change is None:
            result.append(dict(clause))
        elif change.kind == "replace":
            result.append({**clause, "text": change.text})
        for insert in inserts.get(clause["key"], []):
            result.append({"key": inserted_key(insert.amendment_id), "chapter": clause["chapter"], "text": insert.text})
    applied = [c for c in live if c not in superseded]
    return Applied(clauses=result, applied=applied, superseded=superseded, lapsed=lapsed)
