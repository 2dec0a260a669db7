"""The gradients tab of the training TUI, read off the screen while the Pilot trains."""

from __future__ import annotations

import asyncio

import pytest
from test_tui import make_app, pilot_test, press, wait_for
from test_tui_display import screen_lines

from ac_play.tui.charts import ReturnChart, SparkBars
from ac_play.tui.gradients import LEGEND, GradientPanel, UpdateSpark

ROW_TITLES = ("W1", "b1", "Wa", "ba", "Wc", "bc", "dead", "Δθ/|θ|")


def panel_rows(app) -> dict[str, str]:
    """Each row of the gradients tab as drawn on screen, by its title (the text after the title)."""
    found = {}
    for line in screen_lines(app):
        inside = line.split("│")
        for cell in inside:
            words = cell.strip().split(" ", 1)
            if words[0] in ROW_TITLES and len(words) == 2:
                found[words[0]] = words[1].strip()
    return found


def drawn_bars(row_text: str) -> int:
    return sum(ch in "▁▂▃▄▅▆▇█" for ch in row_text)


@pilot_test
async def test_the_gradient_panel_updates_while_training(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        await press(app, "g")
        rows = panel_rows(app)
        assert sorted(rows) == sorted(ROW_TITLES)
        assert all(text == "–" for text in rows.values())  # nothing trained yet
        await press(app, "space")
        await wait_for(pilot, lambda: drawn_bars(panel_rows(app).get("W1", "")) >= 5)
        first = panel_rows(app)
        updates = app.session.trainer.progress.updates
        await wait_for(pilot, lambda: app.session.trainer.progress.updates >= updates + 20)
        assert app.state == "training"
        await press(app, "space")  # paused, so that the screen and the rows' values can be compared
        await asyncio.sleep(0.8)
        later = panel_rows(app)
        for title in ROW_TITLES:
            assert later[title] != "–"
            assert drawn_bars(later[title]) >= drawn_bars(first[title])
        assert later["W1"] != first["W1"]
        w1 = app.query_one(GradientPanel).rows[0]
        width = w1.query_one(SparkBars).size.width
        assert drawn_bars(later["W1"]) == min(len(w1.values), width)  # a bar per update, until the row is full
        value = later["W1"].split()[-1]
        assert float(value) > 0
        assert later["dead"].endswith("%")


@pilot_test
async def test_g_swaps_the_return_chart_and_the_gradients_and_back(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        chart, panel = app.query_one(ReturnChart), app.query_one(GradientPanel)
        assert chart.region.height > 0 and panel.region.height == 0
        await press(app, "g")
        await pilot.pause()
        assert chart.region.height == 0
        # every row and the legend fit inside the panel at 80x24
        inside = panel.content_region
        for row in panel.query(UpdateSpark):
            assert inside.contains_region(row.region) and row.region.height == 1, row.title
        assert any(LEGEND in line for line in screen_lines(app))
        await press(app, "g")
        await pilot.pause()
        assert chart.region.height > 0 and panel.region.height == 0


@pilot_test
async def test_the_hidden_tab_keeps_one_value_per_update_and_shows_them_when_opened(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=(100, 32)) as pilot:
        w1 = app.query_one(UpdateSpark)
        for update in range(1, 6):
            await press(app, "n")
            await wait_for(pilot, lambda update=update: len(w1.values) == update)
        assert app.session.trainer.progress.updates == 5
        assert "W1" not in panel_rows(app)  # hidden, yet it kept every update's value
        await press(app, "g")
        await pilot.pause()
        rows = panel_rows(app)
        assert drawn_bars(rows["W1"]) == 5
        assert float(rows["W1"].split()[-1]) == pytest.approx(w1.values[-1], rel=0.05)
