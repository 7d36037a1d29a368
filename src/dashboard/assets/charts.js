// Draws each chart of a dashboard page from the Chart.js configuration its canvas carries
// as JSON in data-chart. Data travels in an attribute, which the server escapes like any
// other, so no page ever has a script written from data.

// Vertical dashed marks at given x labels (when each step is sent), with their text on top.
const marks = {
  id: 'marks',
  afterDatasetsDraw(chart, _args, options) {
    const x = chart.scales.x;
    const { top, bottom } = chart.chartArea;
    const context = chart.ctx;
    for (const mark of options.marks || []) {
      const index = chart.data.labels.indexOf(mark.at);
      if (index < 0) continue;
      const at = x.getPixelForValue(index);
      context.save();
      context.strokeStyle = '#52606d';
      context.setLineDash([3, 3]);
      context.beginPath();
      context.moveTo(at, top);
      context.lineTo(at, bottom);
      context.stroke();
      context.fillStyle = '#52606d';
      context.font = '11px system-ui, sans-serif';
      context.fillText(mark.text, at + 3, top + 11);
      context.restore();
    }
  },
};
Chart.register(marks);

for (const canvas of document.querySelectorAll('canvas[data-chart]')) {
  const config = JSON.parse(canvas.dataset.chart);
  // The interval bands are datasets of their own: out of the legend and the tooltip.
  const isBand = (item) => config.data.datasets[item.datasetIndex].band === true;
  config.options.plugins.legend.labels = { filter: (item) => !isBand(item) };
  config.options.plugins.tooltip = { filter: (item) => !isBand(item) };
  new Chart(canvas, config);
}
