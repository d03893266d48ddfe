// The portfolio's charts, drawn with uPlot (served from the project, frontend/node_modules)
// from the page's inline JSON (#portfolio-chart-data). The tables beside each chart hold the
// same figures: without scripts, or for a screen reader, they are the chart.
(function () {
  "use strict";
  const source = document.getElementById("portfolio-chart-data");
  if (!source || typeof window.uPlot === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const palette = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c"];

  // As wide as the card leaves room for (uPlot draws at a fixed size).
  function width(element) {
    const room = element.getBoundingClientRect().width || (element.parentElement && element.parentElement.clientWidth) || 320;
    return Math.max(240, Math.min(Math.floor(room), 960));
  }

  function exposure(element) {
    const currencies = Object.keys(data.exposure);
    if (!currencies.length) {
      return;
    }
    const days = data.exposure[currencies[0]].map((point) => Date.parse(point[0] + "T00:00:00Z") / 1000);
    // Decimal strings become numbers only to place the line on screen.
    const series = currencies.map((currency) => data.exposure[currency].map((point) => Number(point[1])));
    new window.uPlot(
      {
        width: width(element),
        height: 260,
        series: [{}].concat(currencies.map((currency, i) => ({ label: "Advanced (" + currency + ")", stroke: palette[i % palette.length], width: 2 }))),
        axes: [{}, { size: 70 }],
        scales: { x: { time: true } },
      },
      [days].concat(series),
      element
    );
  }

  function ageing(element) {
    if (!data.ageing.length) {
      return;
    }
    const labels = [...new Set(data.ageing.map((row) => row.bucket))];
    const currencies = [...new Set(data.ageing.map((row) => row.currency))];
    const xs = labels.map((_label, i) => i);
    const series = currencies.map((currency) =>
      labels.map((label) => {
        const row = data.ageing.find((r) => r.bucket === label && r.currency === currency);
        return row ? Number(row.claims) : 0;
      })
    );
    const bars = window.uPlot.paths.bars({ size: [0.6, 80] });
    new window.uPlot(
      {
        width: width(element),
        height: 240,
        series: [{}].concat(currencies.map((currency, i) => ({ label: "Claims (" + currency + ")", fill: palette[i % palette.length], stroke: palette[i % palette.length], paths: bars, points: { show: false } }))),
        scales: { x: { time: false, range: [-0.5, labels.length - 0.5] } },
        axes: [{ values: (_u, ticks) => ticks.map((t) => labels[t] || ""), splits: () => xs }, { size: 70 }],
      },
      [xs].concat(series),
      element
    );
  }

  document.querySelectorAll("[data-chart]").forEach((element) => {
    if (element.dataset.chart === "exposure") {
      exposure(element);
    } else if (element.dataset.chart === "ageing") {
      ageing(element);
    }
  });
})();
