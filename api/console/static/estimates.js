// Draws a closed round's estimates as points with 95% interval bars, from the page's JSON block.
(function () {
  "use strict";
  function draw() {
    var holder = document.getElementById("estimates-data");
    var el = document.getElementById("chart-estimates");
    if (!holder || !el || !window.echarts) return;
    var d = JSON.parse(holder.textContent);
    var intervals = d.labels.map(function (_, i) { return [i, d.low[i], d.high[i]]; });
    var chart = echarts.init(el);
    chart.setOption({
      animation: false,
      tooltip: {
        trigger: "axis",
        formatter: function (items) {
          var i = items[0].dataIndex;
          return d.labels[i] + "<br>" + el.dataset.share + ": " + d.share[i] + "%<br>" +
            el.dataset.interval + ": " + d.low[i] + "% – " + d.high[i] + "%";
        }
      },
      legend: { top: 0, data: [el.dataset.share, el.dataset.interval] },
      grid: { left: 50, right: 10, bottom: 70, top: 30 },
      xAxis: { type: "category", data: d.labels, axisLabel: { rotate: 30 } },
      yAxis: { type: "value", min: 0, axisLabel: { formatter: "{value}%" } },
      series: [
        {
          name: el.dataset.interval,
          type: "custom",
          data: intervals,
          renderItem: function (params, api) {
            var x = api.value(0);
            var low = api.coord([x, api.value(1)]);
            var high = api.coord([x, api.value(2)]);
            var half = Math.max(4, api.size([1, 0])[0] * 0.15);
            var style = { stroke: "#17324d", lineWidth: 2 };
            return {
              type: "group",
              children: [
                { type: "line", shape: { x1: low[0], y1: low[1], x2: high[0], y2: high[1] }, style: style },
                { type: "line", shape: { x1: low[0] - half, y1: low[1], x2: low[0] + half, y2: low[1] }, style: style },
                { type: "line", shape: { x1: high[0] - half, y1: high[1], x2: high[0] + half, y2: high[1] }, style: style }
              ]
            };
          },
          encode: { x: 0, y: [1, 2] },
          itemStyle: { color: "#17324d" },
          z: 1
        },
        { name: el.dataset.share, type: "scatter", data: d.share, symbolSize: 10, itemStyle: { color: "#b3261e" }, z: 2 }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
