// An item's VMI charts, drawn with uPlot (served from the project, frontend/node_modules)
// from the page's inline JSON (#vmi-chart-data, views.chart_data). The tables below each
// chart hold the same figures: without scripts, or for a screen reader, they are the chart.
(function () {
  "use strict";
  const source = document.getElementById("vmi-chart-data");
  if (!source || typeof window.uPlot === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);

  // As wide as the card leaves room for (uPlot draws at a fixed size).
  function width(element) {
    const room = element.getBoundingClientRect().width || (element.parentElement && element.parentElement.clientWidth) || 320;
    return Math.max(240, Math.min(Math.floor(room), 960));
  }

  // Decimal strings become numbers only to place them on screen; null leaves a gap.
  function numbers(values) {
    return (values || []).map((v) => (v === null || v === undefined ? null : Number(v)));
  }

  function seconds(days) {
    return days.map((day) => Date.parse(day + "T00:00:00Z") / 1000);
  }

  const markers = (colour) => ({ stroke: colour, fill: colour, width: 0, paths: () => null, points: { show: true, size: 10, fill: colour } });

  function stock(element) {
    if (!data.days.length) {
      return;
    }
    const blank = data.days.map(() => null);
    const columns = [
      seconds(data.days),
      numbers(data.stock),
      data.minimum.length ? numbers(data.minimum) : blank,
      data.maximum.length ? numbers(data.maximum) : blank,
      numbers(data.point),
      numbers(data.lower_80),
      numbers(data.upper_80),
      numbers(data.lower_95),
      numbers(data.upper_95),
      numbers(data.proposals),
      numbers(data.deliveries),
    ];
    const interval = (label) => ({ label: label, scale: "demand", stroke: "rgba(180, 83, 9, 0.35)", width: 1, spanGaps: true, points: { show: false } });
    new window.uPlot(
      {
        width: width(element),
        height: 300,
        series: [
          {},
          { label: "Stock", stroke: "#1d4ed8", width: 2, spanGaps: false },
          { label: "Band minimum", stroke: "#047857", dash: [6, 4], width: 1, points: { show: false } },
          { label: "Band maximum", stroke: "#047857", dash: [6, 4], width: 1, points: { show: false } },
          { label: "Forecast per week", scale: "demand", stroke: "#b45309", width: 2, spanGaps: true },
          interval("80 % from"),
          interval("80 % to"),
          interval("95 % from"),
          interval("95 % to"),
          Object.assign({ label: "Proposals" }, markers("#7c3aed")),
          Object.assign({ label: "Deliveries" }, markers("#be123c")),
        ],
        bands: [
          { series: [6, 5], fill: "rgba(180, 83, 9, 0.18)" },
          { series: [8, 7], fill: "rgba(180, 83, 9, 0.08)" },
        ],
        scales: { x: { time: true } },
        axes: [{}, { size: 60 }, { scale: "demand", side: 1, size: 60, grid: { show: false } }],
      },
      columns,
      element
    );
  }

  function bullwhip(element) {
    if (!data.bullwhip.weeks.length) {
      return;
    }
    const days = seconds(data.bullwhip.weeks);
    new window.uPlot(
      {
        width: width(element),
        height: 220,
        series: [
          {},
          { label: "Bullwhip ratio", stroke: "#1d4ed8", width: 2 },
          { label: "No amplification (1)", stroke: "#6b7280", dash: [4, 4], width: 1, points: { show: false } },
        ],
        scales: { x: { time: true } },
        axes: [{}, { size: 50 }],
      },
      [days, numbers(data.bullwhip.ratio), days.map(() => 1)],
      element
    );
  }

  document.querySelectorAll("[data-chart]").forEach((element) => {
    if (element.dataset.chart === "stock") {
      stock(element);
    } else if (element.dataset.chart === "bullwhip") {
      bullwhip(element);
    }
  });
})();
