"""`.ci/check_book.py`: what it flags in built pages, so a reader never meets it."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent.parent / ".ci" / "check_book.py"
spec = importlib.util.spec_from_file_location("check_book", SCRIPT)
check_book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_book)


@pytest.mark.parametrize(
    "body, problem",
    [
        ("<p>ok: pass <code>--frames</code> and 3 seeds</p>", None),
        ("<p>error: \u2013frames needs \u2013output</p>", "a command-line flag typeset as a dash"),
        ("<p>its strict RMSE <strong>not run yet</strong> px</p>", "a placeholder read as a number"),
        ("<p>held out (0 seeds)</p>", "a placeholder read as a number"),
        ("<p>detected in <strong>nan</strong>%</p>", "a placeholder read as a number"),
        ("<p>{glue:text}`key`</p>", "glue left unresolved"),
        ("<p>&lt;IPython.core.display.Markdown object&gt;</p>", "a placeholder read as a number"),
        ("<table><tr><td>1</td></tr></table>", "an unstyled table"),
    ],
)
def test_a_page_is_flagged_for_what_a_reader_would_trip_over(tmp_path, body, problem):
    (tmp_path / "page.html").write_text(f"<html><body>{body}</body></html>")
    found = check_book.problems(tmp_path)
    assert found == [] if problem is None else (len(found) == 1 and problem in found[0])
