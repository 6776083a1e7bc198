"""Reports: PPM compliance by class (chart and table) and its trend, time in each state per
class from the utilisation report, and the appliance's PDF report saved to a file."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QDateTimeAxis,
    QLineSeries,
    QStackedBarSeries,
    QValueAxis,
)
from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import ApiError, ApplianceUnreachable, ConsoleError
from floki_console.models import STATE_COLOURS, Column, RecordTable, humanise
from floki_console.session import ApplianceSession

TREND_DAYS = 90
HEADLINE_STATES = ("in_use", "available", "dirty", "in_maintenance", "missing")


def _percent(value: Any) -> str:
    return f"{float(value):.1f} %" if value is not None else "no schedules"


def compliance_table() -> RecordTable[dict[str, Any]]:
    return RecordTable(
        [
            Column("Class", lambda g: str(g.get("key") or "")),
            Column("With a schedule", lambda g: str(g.get("total", 0)), sort=lambda g: g["total"]),
            Column("In date", lambda g: str(g.get("in_date", 0)), sort=lambda g: g["in_date"]),
            Column(
                "Overdue",
                lambda g: str(g.get("overdue", 0)),
                sort=lambda g: g["overdue"],
                colour=lambda g: "#b00020" if g.get("overdue") else None,
            ),
            Column(
                "Compliance",
                lambda g: _percent(g.get("percent")),
                sort=lambda g: g.get("percent") if g.get("percent") is not None else -1.0,
            ),
        ],
        key=lambda g: g.get("key"),
    )


def state_shares_by_class(report: dict[str, Any]) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Per class (over its departments), the percentage of asset time in each state, with
    the report's headline states first."""
    hours: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for group in report.get("groups") or []:
        name = str(group.get("class_name") or "(no class)")
        for state, value in (group.get("hours") or {}).items():
            hours[name][str(state)] += float(value)
    seen = {state for by_state in hours.values() for state in by_state}
    states = [s for s in HEADLINE_STATES if s in seen] + sorted(seen - set(HEADLINE_STATES))
    shares: dict[str, dict[str, float]] = {}
    for name, by_state in hours.items():
        total = sum(by_state.values())
        shares[name] = {
            state: round(100.0 * by_state.get(state, 0.0) / total, 2) if total else 0.0
            for state in states
        }
    return states, shares


def _chart(title: str) -> tuple[QChart, QChartView]:
    chart = QChart()
    chart.setTitle(title)
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    view = QChartView(chart)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.setMinimumHeight(220)
    return chart, view


def _clear(chart: QChart) -> None:
    chart.removeAllSeries()
    for axis in chart.axes():
        chart.removeAxis(axis)


def _percent_axis(title: str) -> QValueAxis:
    axis = QValueAxis()
    axis.setRange(0.0, 100.0)
    axis.setLabelFormat("%d")
    axis.setTitleText(title)
    return axis


def _day_msecs(day: str) -> float:
    # Midday local time, so that the axis (which shows local time) labels the right day.
    return float(QDateTime(QDate.fromString(day, "yyyy-MM-dd"), QTime(12, 0)).toMSecsSinceEpoch())


class ReportsView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ApplianceSession | None = None
        self.compliance: dict[str, Any] = {}
        self.trend: dict[str, Any] = {}
        self.utilisation: dict[str, Any] = {}

        self.compliance_chart, compliance_view = _chart("PPM compliance by class")
        self.compliance_model = compliance_table()
        self.compliance_table = QTableView()
        self.compliance_table.setModel(self.compliance_model)
        self.compliance_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.compliance_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.compliance_table.verticalHeader().hide()
        self.compliance_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.compliance_table.horizontalHeader().setStretchLastSection(True)
        compliance_split = QSplitter(Qt.Orientation.Vertical)
        compliance_split.addWidget(compliance_view)
        compliance_split.addWidget(self.compliance_table)

        self.trend_chart, trend_view = _chart(f"PPM compliance, last {TREND_DAYS} days")
        self.utilisation_chart, utilisation_view = _chart("Time in each state, by class")

        self.sections = QTabWidget()
        self.sections.addTab(compliance_split, "PPM compliance")
        self.sections.addTab(trend_view, "Compliance trend")
        self.sections.addTab(utilisation_view, "Utilisation")

        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(lambda *_: self.reload())
        self.pdf_button = QPushButton("Save PDF report\u2026")
        self.pdf_button.clicked.connect(lambda *_: self._choose_pdf())
        self.summary = QLabel("Log in to see the reports.")
        self.summary.setWordWrap(True)
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.pdf_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.sections, 1)

        self.loading = False
        self._tasks: set[asyncio.Future[Any]] = set()

    # --- session ---------------------------------------------------------------------

    def attach(self, session: ApplianceSession) -> None:
        self.session = session
        session.reconnected.connect(self.reload)
        self.reload()

    def detach(self) -> None:
        if self.session is not None:
            self.session.reconnected.disconnect(self.reload)
        self.session = None
        for task in list(self._tasks):
            task.cancel()
        self.compliance, self.trend, self.utilisation = {}, {}, {}
        self.compliance_model.set_records([])
        for chart in (self.compliance_chart, self.trend_chart, self.utilisation_chart):
            _clear(chart)
        self.summary.setText("Log in to see the reports.")

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def reload(self) -> None:
        if self.session is not None:
            self._spawn(self.load())

    async def load(self) -> None:
        session = self.session
        if session is None:
            return
        self.loading = True
        client = session.client
        try:
            compliance = await client.get_json("/ppm/compliance", {"by": "class"})
            trend = await client.get_json("/ppm/compliance/trend", {"days": str(TREND_DAYS)})
            utilisation = await client.get_json("/reports/utilisation")
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return
        except ConsoleError as exc:
            self.summary.setText(f"Cannot load the reports: {exc}")
            return
        finally:
            self.loading = False
        if session is not self.session:
            return
        self.show_compliance(dict(compliance or {}))
        self.show_trend(dict(trend or {}))
        self.show_utilisation(dict(utilisation or {}))
        self.summary.setText(
            f"PPM compliance {_percent(self.compliance.get('percent'))} on "
            f"{self.compliance.get('today', '')}; utilisation "
            f"{str(self.utilisation.get('period_from', ''))[:10]} to "
            f"{str(self.utilisation.get('period_to', ''))[:10]} "
            f"({self.utilisation.get('fleet', 0)} assets)."
        )

    # --- the charts ------------------------------------------------------------------

    def show_compliance(self, compliance: dict[str, Any]) -> None:
        self.compliance = compliance
        groups = [g for g in compliance.get("groups") or [] if isinstance(g, dict)]
        self.compliance_model.set_records(groups)
        chart = self.compliance_chart
        _clear(chart)
        bars = QBarSet("In date (%)")
        bars.setColor(QColor("#2e7d32"))
        for group in groups:
            bars.append(float(group.get("percent") or 0.0))
        series = QBarSeries()
        series.append(bars)
        series.setLabelsVisible(True)
        chart.addSeries(series)
        categories = QBarCategoryAxis()
        categories.append([str(g.get("key") or "") for g in groups])
        chart.addAxis(categories, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(categories)
        values = _percent_axis("% in date")
        chart.addAxis(values, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(values)

    def show_trend(self, trend: dict[str, Any]) -> None:
        self.trend = trend
        chart = self.trend_chart
        _clear(chart)
        days = QDateTimeAxis()
        days.setFormat("dd MMM")
        days.setTitleText("Day")
        chart.addAxis(days, Qt.AlignmentFlag.AlignBottom)
        values = _percent_axis("% with PPM in date")
        chart.addAxis(values, Qt.AlignmentFlag.AlignLeft)
        first: float | None = None
        last: float | None = None
        for entry in trend.get("series") or []:
            line = QLineSeries()
            line.setName("All assets" if entry.get("key") == "all" else str(entry.get("key")))
            line.setPointsVisible(True)
            for point in entry.get("points") or []:
                if point.get("percent") is None:
                    continue
                x = _day_msecs(str(point["day"]))
                line.append(x, float(point["percent"]))
                first = x if first is None else min(first, x)
                last = x if last is None else max(last, x)
            chart.addSeries(line)
            line.attachAxis(days)
            line.attachAxis(values)
        if first is not None and last is not None:
            pad = 86_400_000.0
            days.setTickCount(min(8, int((last - first) / pad) + 3))
            days.setRange(
                QDateTime.fromMSecsSinceEpoch(int(first - pad)),
                QDateTime.fromMSecsSinceEpoch(int(last + pad)),
            )

    def show_utilisation(self, report: dict[str, Any]) -> None:
        self.utilisation = report
        chart = self.utilisation_chart
        _clear(chart)
        states, shares = state_shares_by_class(report)
        classes = sorted(shares)
        series = QStackedBarSeries()
        for state in states:
            bars = QBarSet(humanise(state))
            colour = STATE_COLOURS.get(state)
            if colour:
                bars.setColor(QColor(colour))
            for name in classes:
                bars.append(shares[name][state])
            series.append(bars)
        chart.addSeries(series)
        categories = QBarCategoryAxis()
        categories.append(classes)
        chart.addAxis(categories, Qt.AlignmentFlag.AlignBottom)
        series.attachAxis(categories)
        values = _percent_axis("% of asset time")
        chart.addAxis(values, Qt.AlignmentFlag.AlignLeft)
        series.attachAxis(values)

    # --- the PDF ---------------------------------------------------------------------

    def _choose_pdf(self) -> None:
        dialog = QFileDialog(
            self, "Save the utilisation report", "floki-utilisation.pdf", "PDF (*.pdf)"
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(lambda path: self._spawn(self.save_pdf(Path(path))))
        dialog.open()

    async def save_pdf(self, path: Path) -> bool:
        """Save the appliance's PDF report (charts, tables and method; the export is
        audited there) to ``path``."""
        session = self.session
        if session is None:
            return False
        self.pdf_button.setEnabled(False)
        try:
            raw = await session.client.get_bytes("/reports/utilisation.pdf")
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return False
        except ApiError as exc:
            self.summary.setText(
                "Your role cannot export reports (engineer or above can)."
                if exc.status == 403
                else f"Not saved: {exc.reason}"
            )
            return False
        except ConsoleError as exc:
            self.summary.setText(f"Not saved: {exc}")
            return False
        finally:
            self.pdf_button.setEnabled(True)
        path.write_bytes(raw)
        self.summary.setText(f"Saved the utilisation report to {path}.")
        return True
