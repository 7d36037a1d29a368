// Draws each chart of a dashboard page from the Chart.js configuration its canvas carries
// as JSON in data-chart. Data travels in an attribute, which the server escapes like any
// other, so no page ever has a script written from data.
for (const canvas of document.querySelectorAll('canvas[data-chart]')) {
  new Chart(canvas, JSON.parse(canvas.dataset.chart));
}
