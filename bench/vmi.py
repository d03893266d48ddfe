"""VMI forecasts: 10,000 item-location series of 104 weeks through the forecast engine
(concord.vmi.forecast: statsforecast's models, every competing candidate fitted on a 13-week
holdout, the winner refitted on the whole history), beside one statsmodels
ExponentialSmoothing fitted per series in the same run, and the
accuracy (MASE) of the chosen models against seasonal naive on the same holdout, on synthetic
series of known shape and on the real monthly demand series pmdarima ships. Start-up first:
the library's import and the first forecast in a fresh process (what a worker pays once).

Synthetic shapes, a quarter each, seeded: seasonal (a 52-week sine around 100), trending
(+1.2 a week), intermittent (about 70 % of weeks without consumption) and mixed (trend, season
and noise). statsmodels fits ExponentialSmoothing with an additive damped trend per series
on the first 91 weeks (it refuses a 52-week season on fewer than two seasons) and forecasts the
last 13; 10,000 such fits take minutes, so it fits a seeded random sample of `--sample` series
and the total is extrapolated (said so in the output). MASE is the holdout mean absolute error
over the in-sample mean absolute error of the seasonal naive forecast (below 1: better than
last year's same week was in-sample); the figures are means over the series of a shape.

Ingest: stock records a buyer shares, per second, through the API (the test client posting
batches of 1,000 records) and through a CSV upload of the same number of rows (the request
that checks and stores the file, then the worker's job reading it a chunk of 1,000 rows per
transaction), side by side on SQLite, and on PostgreSQL when a URL is given; then the same
API batches sent again (every record answered "unchanged").

Run: `make bench` (or `.venv/bin/python bench/vmi.py [--series 10000] [--sample 400]
[--ingest-records 50000] [--database-url postgresql://postgres@127.0.0.1:5432/test]`).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
import warnings
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))  # run from anywhere, without installing
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests.…` and `bench.orders`

import subprocess

import numpy as np
from concord.vmi import forecast as engine
from concord.vmi.forecast import CANDIDATES, Model, forecast_arrays, forecast_batch

WEEKS, HORIZON, SEASON = 104, 13, 52
SHAPES = ("seasonal", "trending", "intermittent", "mixed")
BASELINE = CANDIDATES.index(Model.SEASONAL_NAIVE)


def synthetic(count: int, seed: int = 13) -> tuple[np.ndarray, np.ndarray]:
    """`count` series of `WEEKS` weeks, shapes in turn; returns (series, shape index)."""
    rng = np.random.default_rng(seed)
    t = np.arange(WEEKS)
    shape = np.arange(count) % len(SHAPES)
    level = rng.uniform(20, 200, count)[:, None]
    noise = rng.normal(0, 1, (count, WEEKS))
    season = np.sin(2 * np.pi * (t[None, :] + rng.integers(0, SEASON, count)[:, None]) / SEASON)
    series = np.empty((count, WEEKS))
    series[shape == 0] = (level + 0.4 * level * season + 0.08 * level * noise)[shape == 0]
    series[shape == 1] = (level + 0.012 * level * t + 0.06 * level * noise)[shape == 1]
    demand = (rng.random((count, WEEKS)) < 0.3) * (rng.poisson(level / 10, (count, WEEKS)) + 1)
    series[shape == 2] = demand[shape == 2]
    series[shape == 3] = (level + 0.006 * level * t + 0.25 * level * season + 0.1 * level * noise)[shape == 3]
    return np.maximum(np.round(series), 0), shape


def statsmodels_fit(history: np.ndarray, horizon: int, season: int | None = None) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    model = ExponentialSmoothing(
        history, trend="add", damped_trend=True, seasonal="add" if season else None, seasonal_periods=season, initialization_method="estimated"
    )
    return np.maximum(model.fit().forecast(horizon), 0)


def mase(actual: np.ndarray, predicted: np.ndarray, train: np.ndarray, season: int) -> float:
    scale = np.mean(np.abs(train[season:] - train[:-season]))
    return float(np.mean(np.abs(actual - predicted)) / scale) if scale > 0 else float("nan")


START_UP = """
import time
started = time.perf_counter()
import statsforecast.models
imported = time.perf_counter()
from concord.vmi.forecast import forecast
forecast([5, 0, 7, 9, 4, 6, 8, 5, 7, 6, 9, 4, 6, 8, 7, 5, 6, 9, 8, 7], 4)
print(imported - started, time.perf_counter() - imported)
"""


def start_up_section(runs: int = 3) -> None:
    """Import and first forecast in fresh processes (the first run also fills Python's bytecode cache)."""
    print("start-up in a fresh process (seconds): import statsforecast.models, then the first forecast")
    for run in range(runs):
        answer = subprocess.run(
            [sys.executable, "-c", START_UP], capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        )
        imported, first = (float(value) for value in answer.stdout.split())
        print(f"  run {run + 1}: import {imported:.2f}, first forecast {first:.3f}")
    print()


def engine_section(arguments) -> None:
    start_up_section()
    series, shape = synthetic(arguments.series)
    histories = [row.astype(int).tolist() for row in series]
    print(f"VMI forecasts, {arguments.series} series x {WEEKS} weeks, horizon {HORIZON}, {os.cpu_count()} CPUs", flush=True)

    started = time.perf_counter()
    arrays = forecast_arrays(histories, HORIZON)
    ours_arrays = time.perf_counter() - started
    started = time.perf_counter()
    [engine._to_forecast(arrays, i, Decimal(1)) for i in range(arguments.series)]
    ours_full = ours_arrays + time.perf_counter() - started

    rng = np.random.default_rng(7)
    sample = rng.choice(arguments.series, size=min(arguments.sample, arguments.series), replace=False)
    train_weeks = WEEKS - HORIZON
    statsmodels_mase: dict[int, list[float]] = {k: [] for k in range(len(SHAPES))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        started = time.perf_counter()
        for i in sample:
            predicted = statsmodels_fit(series[i, :train_weeks], HORIZON)
            statsmodels_mase[shape[i]].append(mase(series[i, train_weeks:], predicted, series[i, :train_weeks], SEASON))
        statsmodels_seconds = time.perf_counter() - started
    per_fit = statsmodels_seconds / len(sample)
    extrapolated = per_fit * arguments.series

    print(f"{'engine':<62} {'seconds':>8} {'ms/series':>9}")
    print(f"{'statsforecast, every candidate on the holdout + winner refit':<62} {ours_arrays:8.2f} {ours_arrays / arguments.series * 1000:9.2f}")
    print(f"{'the same, then as Forecast objects (Decimal quantities)':<62} {ours_full:8.2f} {ours_full / arguments.series * 1000:9.2f}")
    label = f"statsmodels, one damped-trend ETS per series ({len(sample)} fitted, x{arguments.series / len(sample):.0f})"
    print(f"{label:<62} {extrapolated:8.2f} {per_fit * 1000:9.2f}  (extrapolated from {statsmodels_seconds:.1f} s)")
    print(f"ratio statsmodels (one model) / engine (every candidate): {extrapolated / ours_arrays:.1f}x, {extrapolated / ours_full:.1f}x (Forecast objects)")
    print()
    print("holdout MASE (mean over series; scale: in-sample seasonal naive, 52 weeks)")
    print(f"{'shape':<13} {'series':>6} {'chosen':>7} {'seasonal naive':>15} {'statsmodels':>12}  models chosen")
    for k, name in enumerate(SHAPES):
        members = np.flatnonzero(shape == k)
        chosen = np.nanmean(arrays.mase[members, arrays.model[members]])
        baseline = np.nanmean(arrays.mase[members, BASELINE])
        theirs = np.nanmean(statsmodels_mase[k]) if statsmodels_mase[k] else float("nan")
        counts = Counter(CANDIDATES[m].value for m in arrays.model[members])
        print(f"{name:<13} {len(members):6d} {chosen:7.3f} {baseline:15.3f} {theirs:12.3f}  {', '.join(f'{m} {c}' for m, c in counts.most_common())}")


def real_section(arguments) -> None:
    from pmdarima import datasets

    print()
    print("real monthly demand series shipped by pmdarima (season 12, horizon 12; MASE scale: in-sample seasonal naive)")
    print(f"{'series':<32} {'months':>6} {'chosen model':>15} {'chosen':>7} {'seasonal naive':>15} {'statsmodels HW':>15}")
    for title, loader in (("wineind (Australian wine sales)", datasets.load_wineind), ("airpassengers (air travel)", datasets.load_airpassengers)):
        y = np.asarray(loader(), dtype=float)
        [result] = forecast_batch([y.tolist()], 12, season_length=12, quantum=Decimal("0.01"))
        baseline = next(score for score in result.scores if score.model == Model.SEASONAL_NAIVE)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            predicted = statsmodels_fit(y[:-12], 12, season=12)
        theirs = mase(y[-12:], predicted, y[:-12], 12)
        print(
            f"{title:<32} {len(y):6d} {result.model.value:>15} {result.winner.mase or float('nan'):7.3f} {baseline.mase or float('nan'):15.3f} {theirs:15.3f}"
        )


INGEST_BATCH = 1000


def _ingest_run(database_url: str | None, count: int) -> dict[str, float]:
    """Seconds to share `count` records through the API, `count` rows through a CSV upload,
    and the API batches again (unchanged), on one fresh database."""
    from concord import clock
    from concord.vmi import stock_uploads

    from bench.orders import bench_app, expect
    from tests import factories
    from tests.vmi.stock_helpers import csv_of, stock_catalog

    with tempfile.TemporaryDirectory() as folder, bench_app(Path(folder), database_url) as app:
        from concord.db import database

        with app.test_request_context(), database(app).sessionmaker() as session:
            operator = factories.operator(session)
            buyer = factories.member(session, operator, "buyer")
            products, location = stock_catalog(session, buyer, count=50)
            session.commit()
            skus = [product.sku for product in products]
            gln = location.gln
        client = app.test_client()
        today = clock.utcnow().date()
        kinds = ("on_hand", "receipt", "consumption")

        def row(prefix: str, i: int) -> dict:
            day = (today - timedelta(days=i % 700)).isoformat()
            return {
                "record_id": f"{prefix}-{i:07d}",
                "kind": kinds[i % 3],
                "date": day,
                "sku": skus[i % len(skus)],
                "gln": gln,
                "quantity": f"{i % 997}.{i % 1000:03d}",
            }

        batches = [[row("API", i) for i in range(start, min(start + INGEST_BATCH, count))] for start in range(0, count, INGEST_BATCH)]
        started = time.perf_counter()
        for batch in batches:
            expect(client.post("/api/v1/vmi/stock-records", json={"records": batch}, headers=buyer.headers), 200, "a batch of stock records")
        api = time.perf_counter() - started

        started = time.perf_counter()
        for batch in batches:
            answer = expect(client.post("/api/v1/vmi/stock-records", json={"records": batch}, headers=buyer.headers), 200, "a batch sent again")
            assert answer["unchanged"] == len(batch)
        again = time.perf_counter() - started

        data = csv_of([row("CSV", i) for i in range(count)])
        started = time.perf_counter()
        posted = client.post("/api/v1/vmi/uploads", data={"file": (io.BytesIO(data), "stock.csv")}, content_type="multipart/form-data", headers=buyer.headers)
        upload = expect(posted, 202 if count > stock_uploads.CHUNK_ROWS else 201, "a CSV upload")
        while client.get(f"/api/v1/vmi/uploads/{upload['id']}", headers=buyer.headers).get_json()["state"] == "running":
            stock_uploads.process_due(app)
        csv = time.perf_counter() - started
        shown = client.get(f"/api/v1/vmi/uploads/{upload['id']}", headers=buyer.headers).get_json()
        assert (shown["state"], shown["rows_kept"]) == ("done", count), shown
        return {"api": api, "again": again, "csv": csv, "bytes": len(data)}


def ingest_section(arguments) -> None:
    count = arguments.ingest_records
    if count <= 0:
        return
    runs = [("SQLite", _ingest_run(None, count))]
    url = arguments.database_url or os.environ.get("CONCORD_BENCH_DATABASE_URL")
    if url:
        runs.append(("PostgreSQL", _ingest_run(url, count)))
    print()
    print(f"VMI stock data ingest, {count:,} records each way (API: batches of {INGEST_BATCH:,}; CSV: one {runs[0][1]['bytes'] / 1e6:.1f} MB file)")
    print(f"{'path':<46} " + " ".join(f"{name + ' rec/s':>16}" for name, _ in runs))
    for key, label in (
        ("api", "API batches (new records)"),
        ("csv", "CSV upload, request + worker (new records)"),
        ("again", "API batches sent again (unchanged)"),
    ):
        print(f"{label:<46} " + " ".join(f"{count / run[key]:16,.0f}" for _, run in runs))
    for name, run in runs:
        print(f"{name}: CSV / API {run['api'] / run['csv']:.2f}x, unchanged / new (API) {run['api'] / run['again']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=400, help="series statsmodels fits (its total is extrapolated)")
    parser.add_argument("--ingest-records", type=int, default=50_000, help="stock records shared each way (0: skip the ingest section)")
    parser.add_argument("--database-url", default=None, help="also measure the ingest on this PostgreSQL database")
    parser.add_argument("--only-ingest", action="store_true", help="skip the forecast sections")
    arguments = parser.parse_args()
    if not arguments.only_ingest:
        engine_section(arguments)
        real_section(arguments)
    ingest_section(arguments)


if __name__ == "__main__":
    main()
