// Draws each chart of a dashboard page from the Chart.js configuration its canvas carries
// as JSON in data-chart. Data travels in an attribute, which the server escapes like any
// other, so no page ever has a script written from data. The step marks are
// chartjs-plugin-annotation's, loaded before this script.
for (const canvas of document.querySelectorAll('canvas[data-chart]')) {
  const config = JSON.parse(canvas.dataset.chart);
  // The interval bands are datasets of their own: out of the legend and the tooltip.
  const isBand = (item) => config.data.datasets[item.datasetIndex].band === true;
  config.options.plugins.legend.labels = { filter: (item) => !isBand(item) };
  config.options.plugins.tooltip = { filter: (item) => !isBand(item) };
  new Chart(canvas, config);
}
