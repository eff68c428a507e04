"""The repository stands alone: a reader of a fresh clone can follow every pointer in it.

The scan reads every text file git tracks, or would track (new files that are not
ignored), and reports two kinds of problem:

- a reference that leaves the repository: a path into a notes folder next to it, a
  top-level architecture or style file that does not exist here, the numbered sections
  of notes that are not here, an absolute path of one machine, or a relative path that
  climbs above the repository's root;
- a reference into the repository that does not resolve: a path such as
  ``docs/replay.md`` or ``core/statemachine/fsm.py`` that names no file or folder, a
  relative Markdown link to a missing file, or a ``#anchor`` that is not a heading of the
  Markdown page it follows.

Recorded histories (``tests/fixtures/histories/``, ``tests/fixtures/found-histories/``,
the export forms of recorded runs in ``tests/fixtures/forms/``, and the copy with one
value changed in ``docs/examples/conformance/``) are data, not prose: the real SDK
wrote the recording machine's file paths into the failures' stack traces, and they stay
as recorded. Paths under a build-output folder that ``.gitignore`` lists (such as
``docs/generated/``) are allowed to be absent, since a build writes them.

The tests of the scanner plant each kind of bad reference in a temporary tree. Their
bad strings are assembled at run time, so this file does not trip its own scan.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Recorded data, kept byte for byte as the real server and SDK wrote it (the
# conformance example is a recorded history with one value changed).
EXEMPT = (
    "tests/fixtures/histories/",
    "tests/fixtures/found-histories/",
    "tests/fixtures/unseen-histories/",
    "tests/fixtures/forms/",
    "docs/examples/conformance/",
)

# A reference that points outside the repository: (pattern, what it points at).
OUTSIDE: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\.\./shared\b|(?<![\w/.-])shared/(?:ARCHITECTURE|STYLE|reference)\b"),
        "the shared notes folder next to the repository",
    ),
    (
        re.compile(r"(?<![\w/.-])(?:ARCHITECTURE|STYLE)\.md\b"),
        "a top-level notes file that is not in the repository (see docs/)",
    ),
    (
        re.compile(r"(?<![\w/.-])reference[/]"),
        "the reference notes folder, which is not in the repository",
    ),
    (
        re.compile(r"\b(?:reference|seed)\s+section\s*\d", re.IGNORECASE),
        "a numbered section of notes that are not in the repository",
    ),
    (
        re.compile(r"§\s*\d"),
        "a numbered section (§N); docs/ pages are cited by page and #anchor",
    ),
    (
        re.compile(r"(?<![\w.~-])/(?:work|home|root|Users|tmp)/"),
        "an absolute path on one machine",
    ),
)

# A relative path that starts by going up one folder or more.
CLIMB = re.compile(r"(?<![\w.])((?:\.\./)+[^\s`'\"<>()\[\]{}*|,;:]*)")

# A path into the repository, as prose and comments write it, with an optional #anchor.
# A prefix such as `temporal:` or `https://x/` marks a path of another repository.
TOP_FOLDERS = ("adapters", "core", "docs", "proofs", "scripts", "sim", "spec", "tests")
MENTION = re.compile(r"(?<![\w/:.@-])((?:" + "|".join(TOP_FOLDERS) + r")/[\w./-]*)(?:#([\w-]+))?")

# A Markdown link or image, `[text](target "title")`; and MyST's include directive.
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^)]*)?\)")
INCLUDE = re.compile(r"^```\{include\}\s+(\S+)", re.MULTILINE)
FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
TARGET = re.compile(r"^\(([\w-]+)\)=[ \t]*$", re.MULTILINE)
SCHEME = re.compile(r"^[A-Za-z][\w+.-]*:")


def repo_files(root: Path) -> list[str]:
    """Tracked files and new files git would track, as POSIX paths from the root."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return _walk(root)
    return sorted(name for name in listed.split("\0") if name and (root / name).is_file())


def _walk(root: Path) -> list[str]:
    """Without git (an unpacked archive): every file outside build and cache folders."""
    skip = {".git", "_build", "generated", "__pycache__", ".venv", "build", "dist"}
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip and not d.endswith(("_cache", ".egg-info"))]
        found += [Path(folder, f).relative_to(root).as_posix() for f in files]
    return sorted(found)


def read_text(path: Path) -> str | None:
    """The file's text, or None for a binary file."""
    data = path.read_bytes()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def slug(title: str) -> str:
    """A heading's anchor as GitHub and MyST make it (myst_parser.slugs.github_slugify)."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every anchor a Markdown page defines: heading slugs, numbered duplicates, targets."""
    found: set[str] = set(TARGET.findall(markdown))
    counts: dict[str, int] = {}
    for title in HEADING.findall(FENCE.sub("", markdown)):
        base = slug(title)
        seen = counts.get(base, 0)
        counts[base] = seen + 1
        found.add(base if seen == 0 else f"{base}-{seen}")
    return found


class Tree:
    """The files of one tree, and what may be absent because a build writes it."""

    def __init__(self, root: Path, files: Iterable[str]) -> None:
        self.root = root
        self.files = set(files)
        self.folders = {p.as_posix() for f in self.files for p in Path(f).parents}
        ignore = root / ".gitignore"
        lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.is_file() else []
        self.built = tuple(
            entry.strip("/") + "/"
            for entry in (line.strip() for line in lines)
            if "/" in entry.strip("/") and not any(c in entry for c in "*?[!#")
        )
        self._anchors: dict[str, set[str]] = {}

    def exists(self, path: str) -> bool:
        path = path.rstrip("/")
        return path in self.files or path in self.folders or (path + "/").startswith(self.built)

    def anchors_of(self, path: str) -> set[str]:
        if path not in self._anchors:
            text = read_text(self.root / path) if path in self.files else None
            self._anchors[path] = anchors(text or "")
        return self._anchors[path]

    def resolve(self, path: str, anchor: str | None) -> str | None:
        """Why `path#anchor` (relative to the root) does not resolve, or None if it does."""
        if not self.exists(path):
            return f"{path} does not exist"
        if anchor and path.endswith(".md") and anchor not in self.anchors_of(path):
            return f"{path} has no heading with the anchor #{anchor}"
        return None


def scan(root: Path, files: Iterable[str]) -> list[str]:
    """Every problem found, as `file:line: message`."""
    names = sorted(files)
    tree = Tree(root, names)
    problems: list[str] = []
    for name in names:
        if name.startswith(EXEMPT):
            continue
        text = read_text(root / name)
        if text is None:
            continue
        for offset, message in sorted(_problems_in(tree, name, text)):
            problems.append(f"{name}:{text.count(chr(10), 0, offset) + 1}: {message}")
    return problems


def _problems_in(tree: Tree, name: str, text: str) -> Iterator[tuple[int, str]]:
    for pattern, what in OUTSIDE:
        for match in pattern.finditer(text):
            yield match.start(), f"{match.group(0)!r} points outside the repository: {what}"
    here = Path(name).parent
    for match in CLIMB.finditer(text):
        target = os.path.normpath(here / match.group(1))
        if target == ".." or target.startswith("../"):
            yield match.start(), f"{match.group(1)!r} climbs out of the repository"
    for match in MENTION.finditer(text):
        path = match.group(1).rstrip(".")
        why = tree.resolve(path, match.group(2))
        if why:
            yield match.start(), why
    if name.endswith(".md"):
        yield from _link_problems(tree, here, text)


def _link_problems(tree: Tree, here: Path, text: str) -> Iterator[tuple[int, str]]:
    """Relative Markdown links and includes, resolved from the page's own folder."""
    targets = [(m.start(), m.group(1)) for m in INCLUDE.finditer(text)]
    prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    targets += [(m.start(), m.group(1)) for m in LINK.finditer(prose)]
    for offset, target in targets:
        if SCHEME.match(target):
            continue
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(here / path) if path else str(here / "?")
        if not path:
            continue
        if resolved == ".." or resolved.startswith("../"):
            yield offset, f"link {target!r} climbs out of the repository"
            continue
        why = tree.resolve(Path(resolved).as_posix(), anchor or None)
        if why:
            yield offset, f"link {target!r}: {why}"


def test_every_reference_stays_inside_the_repository_and_resolves() -> None:
    problems = scan(ROOT, repo_files(ROOT))
    assert problems == [], "\n".join(problems)


def test_the_scan_reads_the_whole_tree() -> None:
    """Guard against a scan that passes because it read nothing."""
    files = repo_files(ROOT)
    for expected in ("README.md", "docs/architecture.md", "core/event_sets.py", "spec/history.md"):
        assert expected in files
    assert len(files) > 200


def test_same_page_anchors_resolve_and_heading_slugs_match_myst() -> None:
    page = "# Title\n\n## Matching\n\n### Sync match and backlog\n\n## Matching\n\n(extra)=\n"
    assert anchors(page) == {"title", "matching", "matching-1", "sync-match-and-backlog", "extra"}
    assert slug("Continue-as-new") == "continue-as-new"
    assert slug("`INV-NO-LOST-TASK`") == "inv-no-lost-task"


def _dots(n: int) -> str:
    return "../" * n


def _real(text: str) -> str:
    """Temporary trees are written with upper-case folder names (`DOCS/page.md`), so that
    this file names no path of the real tree that does not exist."""
    return text.replace("DOCS/", "docs/").replace("CORE/", "core/").replace("TESTS/", "tests/")


def _tree(tmp_path: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        path = tmp_path / _real(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_real(text), encoding="utf-8")
    return sorted(_real(name) for name in files)


GOOD_PAGE = "# Page\n\n## Matching\n\nText.\n"

PLANTED = {
    "shared folder": "See `" + _dots(1) + "shared/" + "ARCHITECTURE" + ".md`.",
    "top-level notes file": "Follows " + "STYLE" + ".md rule 8.",
    "reference folder": "From " + "reference" + "/temporal-semantics.md section 5.",
    "reference section": "(Reference " + "§" + "2.3)",
    "bare section sign": "as in " + "§" + "6, the outbox",
    "seed section": "(seed " + "§" + "3.9)",
    "seed section in words": "(seed " + "section 3.9)",
    "absolute path": "Run /" + "work" + "/main/scripts/x.py first.",
    "climbing path": "Read " + _dots(2) + "elsewhere/notes.md",
    "missing file": "See `DOCS/nowhere.md`.",
    "missing anchor": "See `DOCS/page.md#no-such-heading`.",
    "missing source file": "Encoded in CORE/gone.py.",
}


@pytest.mark.parametrize("kind", sorted(PLANTED))
def test_the_scan_reports_a_planted_reference(tmp_path: Path, kind: str) -> None:
    files = _tree(tmp_path, {"DOCS/page.md": GOOD_PAGE, "CORE/x.py": f'"""{PLANTED[kind]}"""\n'})
    problems = scan(tmp_path, files)
    assert len(problems) >= 1, kind
    assert all(p.startswith(_real("CORE/x.py:1: ")) for p in problems), problems


def test_the_scan_reports_broken_markdown_links(tmp_path: Path) -> None:
    files = _tree(
        tmp_path,
        {
            "DOCS/page.md": GOOD_PAGE,
            "DOCS/links.md": "\n".join(
                [
                    "# Links",
                    "[fine](page.md#matching) [fine](#links) [web](https://example.org/x.md)",
                    "[no file](missing.md)",
                    "[no anchor](page.md#nothing)",
                    "[escapes](" + _dots(2) + "outside.md)",
                    "```",
                    "[in code, ignored](missing-too.md)",
                    "```",
                    "",
                ]
            ),
        },
    )
    problems = scan(tmp_path, files)
    lines = [_real(f"DOCS/links.md:{n}") for n in (3, 4, 5, 5)]
    assert [p.split(": ", 1)[0] for p in problems] == lines, problems
    assert "missing.md" in problems[0] and "#nothing" in problems[1]


def test_the_scan_accepts_good_references(tmp_path: Path) -> None:
    files = _tree(
        tmp_path,
        {
            ".gitignore": "docs/generated/\n",
            "DOCS/page.md": GOOD_PAGE + "![t](generated/timeline.svg)\n",
            "DOCS/sub/child.md": "# Child\n[up](../page.md#matching)\n",
            "CORE/x.py": (
                '"""See DOCS/page.md#matching and DOCS/sub/, not temporal:DOCS/gone.md;\n'
                '`service/history/workflow/util.go`; docs/generated/machines.md."""\n'
            ),
        },
    )
    assert scan(tmp_path, files) == []


def test_recorded_histories_are_exempt_and_nothing_else(tmp_path: Path) -> None:
    trace = '{"stackTrace": "File /' + 'work/main/scripts/recorder_workflows.py"}'
    files = _tree(
        tmp_path,
        {"TESTS/fixtures/histories/a.json": trace, "TESTS/fixtures/legacy/a.json": trace},
    )
    problems = scan(tmp_path, files)
    assert len(problems) == 1, problems
    assert problems[0].startswith(_real("TESTS/fixtures/legacy/a.json:1:"))
