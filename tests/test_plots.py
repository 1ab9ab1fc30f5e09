import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from lucid_dreamer.book.plots import tracking_analysis  # noqa: E402
from lucid_dreamer.method.analyze import trajectory_metrics  # noqa: E402


def test_tracking_analysis_draws_trajectories_errors_and_metrics():
    t = np.linspace(0, 1, 30)
    truth = np.stack([np.stack([20 + 80 * t, 30 + 40 * t], -1), np.stack([100 - 60 * t, 90 - 0 * t], -1)])
    dream = truth + 2.0
    dream[1, -5:] = np.nan  # a dream that loses the cube
    m = trajectory_metrics(dream, truth, 128)
    fig = tracking_analysis(truth, dream, m, 128, title="demo", source="made by a test")
    top, bottom = fig.axes
    assert len(top.lines) == 2 * 3 + 3  # per episode: truth, dream, start marker; three legend proxies
    assert top.get_ylim() == (128, 0)  # image coordinates, y down
    text = " ".join(t.get_text() for t in top.texts)  # the metrics box, beside the trajectories
    assert f"{m['valid_frames']}/{m['total_frames']}" in text and "strict RMSE" in text
    np.testing.assert_allclose(bottom.lines[0].get_ydata(), np.hypot(2, 2))  # mean error per frame
    assert any("made by a test" in t.get_text() for t in fig.texts)


def test_tracking_analysis_accepts_a_single_trajectory():
    truth = np.stack([np.arange(10.0), np.arange(10.0)], -1)
    fig = tracking_analysis(truth, truth + 1, trajectory_metrics(truth + 1, truth, 64), 64)
    assert len(fig.axes[0].lines) == 3 + 3


def test_comparison_figures_draw_missing_rows_as_not_run_yet():
    from lucid_dreamer.book.grid_plots import interval_bars, inverted_u

    cell = {"mean": 2.0, "low": 1.0, "high": 3.0, "values": [1.5, 2.0, 2.5]}
    fig = interval_bars({"a": {"m": cell}, "b": {}}, [("m", "metric")], paper={"a": {"m": 2.5}})
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("not run yet" in t for t in texts)
    (interval,) = [line for line in fig.axes[0].lines if len(line.get_xdata()) == 2]
    assert list(interval.get_xdata()) == [1.0, 3.0]  # drawn as given: intervals stay in a metric's range
    assert inverted_u({}, "error").axes[0].texts[0].get_text() == "not run yet"
    fig = inverted_u({"family": [(10, cell), (100, cell)]}, "error")
    assert fig.axes[0].get_xscale() == "log" and len(fig.axes[0].lines) == 1


def test_interval_bars_draw_each_reference_as_a_labelled_line_across_the_rows():
    from lucid_dreamer.book.grid_plots import interval_bars

    cell = {"mean": 2.0, "low": 1.0, "high": 3.0, "values": [1.5, 2.0, 2.5]}
    references = {"copy-last": {"m": 4.0}, "oracle": {"m": 0.5}, "prior": {"other": 9.0}}
    fig = interval_bars({"a": {"m": cell}}, [("m", "metric")], references=references)
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    assert list(lines["copy-last"].get_xdata()) == [4.0, 4.0] and list(lines["oracle"].get_xdata()) == [0.5, 0.5]
    assert "prior" not in lines  # a reference without the panel's metric draws nothing


def test_the_animation_puts_at_most_three_panels_a_row(monkeypatch):
    from matplotlib import pyplot

    from lucid_dreamer.book.videos import animation_html

    shapes = []
    subplots = pyplot.subplots
    monkeypatch.setattr(pyplot, "subplots", lambda *a, **k: shapes.append(a[:2]) or subplots(*a, **k))
    frames = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    html = animation_html({f"panel {i}": frames for i in range(5)})
    assert shapes == [(2, 3)] and "<script" in html
    shapes.clear()
    animation_html({f"panel {i}": frames for i in range(4)})  # two by two: no empty slot widens the frames
    assert shapes == [(2, 2)]


def test_the_video_player_links_the_video_instead_of_embedding_it(tmp_path, monkeypatch):
    from lucid_dreamer.book import notebook
    from lucid_dreamer.pipeline import paths
    from lucid_dreamer.pipeline.presets import get_preset

    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path)
    monkeypatch.chdir(tmp_path)
    nb = notebook.Notebook("04_dreaming", get_preset("smoke"))
    html = nb.video_html(nb.figures / "demo.mp4", 640)
    assert 'preload="metadata"' in html and "base64" not in html  # the first frame shows, the rest waits
    # the built book's copy first, then the file beside the notebooks folder (Jupyter)
    assert html.index('src="../demo.mp4"') < html.index('src="../artifacts/smoke/figures/demo.mp4"')


def test_a_notebook_says_its_lines_wrapped_to_the_column(capsys):
    from lucid_dreamer.book import notebook
    from lucid_dreamer.pipeline.presets import get_preset

    nb = notebook.Notebook("04_dreaming", get_preset("smoke"))
    nb.say("models:", "word " * 40, "b", sep="\n  ")
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= notebook.HEADER_CHARS and lines[0] == "models:"
    assert lines[1].startswith("  word") and lines[2].startswith("    word") and lines[-1] == "  b"


def test_a_chapters_run_time_names_the_load_only_when_the_machine_was_busy(monkeypatch):
    from lucid_dreamer.book import notebook
    from lucid_dreamer.pipeline.presets import get_preset

    nb = notebook.Notebook("04_dreaming", get_preset("smoke"))
    monkeypatch.setattr(notebook.time, "monotonic", lambda: nb.started + 150)
    monkeypatch.setattr(notebook.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(notebook.os, "getloadavg", lambda: (9.0, 1.5, 1.0))
    assert nb.runtime() == "2 min"
    monkeypatch.setattr(notebook.os, "getloadavg", lambda: (1.0, 3.5, 1.0))
    assert nb.runtime() == "2 min, on a machine busy with other work (load 3.5 on 2 cores)"


def test_relative_to_trivial_draws_each_models_ratio_with_its_band_and_the_line_at_one():
    from lucid_dreamer.book.grid_plots import relative_to_trivial

    h = np.arange(1, 61)
    ratios = {
        "a": {"ratio": 1 + 1 / h, "low": 0.9 + 1 / h, "high": 1.1 + 1 / h},
        "b": {"ratio": h / 60, "low": h / 70, "high": h / 50},
    }
    fig = relative_to_trivial(ratios, source="test | commit abc")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.collections) == 2  # one band per model
    assert [line.get_label() for line in ax.lines] == ["a", "b", "the best trivial predictor"]
    assert list(ax.lines[-1].get_ydata()) == [1, 1]


def test_the_legend_explains_a_reference_drawn_only_below_the_first_panel():
    from lucid_dreamer.book.grid_plots import interval_bars

    cell = {"mean": 2.0, "low": 1.0, "high": 3.0, "values": [1.5, 2.0, 2.5]}
    references = {"copy-last": {"strict": 4.0}}  # the first panel's metric has no reference
    fig = interval_bars(
        {"a": {"rmse": cell, "strict": cell}}, [("rmse", "RMSE"), ("strict", "strict")], references=references
    )
    (legend,) = fig.legends
    assert "copy-last" in [text.get_text() for text in legend.get_texts()]
