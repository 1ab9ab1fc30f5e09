"""What a reader would trip over in the built book, checked on its HTML (run after `jupyter-book build`).

Usage: python .ci/check_book.py _build/test/_build/html
- no glue left unresolved (a key shown instead of its value);
- every table is styled: a result table (`lucid-table`) or a Markdown table the theme styles (`table`);
- no embedded video wider than the book's column;
- no code-cell output longer than a screen;
- no command-line flag typeset as a dash ("--frames" shown as an en dash);
- no placeholder read as a number ("not run yet px", "nan px", "(0 seeds)") and no pasted object repr.
"""

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

COLUMN_PX = 690
SCREEN_LINES = 40


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tables, self.videos, self.outputs, self._pre, self._divs = [], [], [], None, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div":
            self._divs.append(a.get("class") or "")
        elif tag == "table":
            self.tables.append(a.get("class") or "")
        elif tag == "video":
            self.videos.append(a)
        elif tag == "pre" and self._pre is None and any("cell_output" in c for c in self._divs):
            self._pre = []

    def handle_endtag(self, tag):
        if tag == "div" and self._divs:
            self._divs.pop()
        elif tag == "pre" and self._pre is not None:
            self.outputs.append("".join(self._pre))
            self._pre = None

    def handle_data(self, data):
        if self._pre is not None:
            self._pre.append(data)


def problems(html_root: Path) -> list[str]:
    found = []
    for path in sorted(html_root.rglob("*.html")):
        if "_static" in path.parts or path.name in ("genindex.html", "search.html"):
            continue
        text = path.read_text(errors="replace")
        page = Page()
        page.feed(text)
        name = path.relative_to(html_root)
        if re.search(r"glue:(text|md|any|figure|math)|unresolved glue", text):
            found.append(f"{name}: glue left unresolved")
        if flag := re.search(r"(?<![\w-])[\u2013\u2014][a-z]\w*", text):
            found.append(f"{name}: a command-line flag typeset as a dash ({flag.group()})")
        words = " ".join(re.sub(r"<[^>]+>", " ", text).split())
        if placeholder := re.search(r"not run yet px|\bnan\b ?(px|%)|\(0 seeds\)|&lt;[\w.]+ object", words):
            found.append(f"{name}: a placeholder read as a number ({placeholder.group()})")
        for classes in page.tables:
            if "lucid-table" not in classes and "table" not in classes.split():
                found.append(f"{name}: an unstyled table (class {classes!r})")
        for video in page.videos:
            width = int(re.sub(r"\D", "", video.get("width") or "") or 0)  # "680" or "680px"
            if width > COLUMN_PX or "max-width" not in video.get("style", ""):
                found.append(f"{name}: a video {width} px wide without max-width (the column is {COLUMN_PX} px)")
        for output in page.outputs:
            if output.count("\n") > SCREEN_LINES:
                found.append(f"{name}: an output of {output.count(chr(10))} lines")
    return found


if __name__ == "__main__":
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "_build/html")
    if not root.is_dir():
        sys.exit(f"error: no built book at {root}")
    issues = problems(root)
    print("\n".join(issues) or f"book HTML checked: {len(list(root.rglob('*.html')))} pages, nothing found")
    sys.exit(1 if issues else 0)
