// Draws the console's charts and maps from JSON data blocks on the page (no inline scripts).
(function () {
  "use strict";
  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function bar(el, labels, series) {
    if (!el || !window.echarts) return;
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 40, right: 10, bottom: 60, top: 30 },
      xAxis: { type: "category", data: labels, axisLabel: { rotate: 30 } },
      yAxis: { type: "value" },
      series: series
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function charts() {
    var d = data("chart-data");
    if (!d) return;
    if (d.coverage) {
      var el = document.getElementById("chart-coverage");
      if (el) bar(el, d.coverage.labels, [
        { name: el.dataset.title, type: "bar", data: d.coverage.share },
        { name: el.dataset.required, type: "line", data: d.coverage.required }
      ]);
    }
    if (d.quality) {
      var q = document.getElementById("chart-quality");
      if (q) bar(q, d.quality.labels, [
        { name: q.dataset.rushed, type: "bar", data: d.quality.rushed },
        { name: q.dataset.flagged, type: "bar", data: d.quality.flagged }
      ]);
    }
    if (d.per_day) {
      var pd = document.getElementById("chart-per-day");
      if (pd) bar(pd, d.per_day.labels, [{ name: pd.dataset.title, type: "bar", data: d.per_day.values }]);
    }
  }
  function visitMap() {
    var d = data("map-data");
    var el = document.getElementById("visit-map");
    if (!d || !el || !window.L) return;
    var map = L.map(el, { attributionControl: !!d.tiles });
    if (d.tiles) L.tileLayer(d.tiles, { maxZoom: 19 }).addTo(map);
    var bounds = [];
    if (d.fence) {
      L.circle([d.fence.lat, d.fence.lon], { radius: d.fence.radius_m, color: "#1b7a3a", fillOpacity: 0.08 }).addTo(map);
      bounds.push([d.fence.lat, d.fence.lon]);
    }
    if (d.track.length) {
      var line = d.track.map(function (p) { return [p.lat, p.lon]; });
      L.polyline(line, { color: "#17324d", weight: 3 }).addTo(map);
      d.track.forEach(function (p) {
        L.circleMarker([p.lat, p.lon], { radius: 3, color: "#17324d" }).bindTooltip(p.t || "").addTo(map);
      });
      bounds = bounds.concat(line);
    }
    if (d.checkin) {
      L.circleMarker([d.checkin.lat, d.checkin.lon], { radius: 7, color: "#b3261e", fillOpacity: 0.8 })
        .bindTooltip(el.dataset.checkin).addTo(map);
      bounds.push([d.checkin.lat, d.checkin.lon]);
    }
    if (bounds.length) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 17 });
    else map.setView([0, 0], 2);
  }
  document.addEventListener("DOMContentLoaded", function () { charts(); visitMap(); });
})();
