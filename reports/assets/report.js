// gameday report: draws the run's timeline with uPlot. Every chart shares one
// x axis (seconds from the start of the load); the cursor and zoom are kept
// in step across charts. Fault bands and event marks come from the record.
// When drawing is done, the body's data-charts attribute holds, per chart,
// whether its series left pixels on the canvas (a headless browser test
// reads it), and data-chart-pixels how many.
(function () {
  "use strict";
  var D = GAMEDAY;
  var root = document.getElementById("charts");
  var body = document.body;

  var COLORS = {
    asked: "#8c959f", achieved: "#0969da", success: "#1a7f37", p50: "#0969da", p99: "#bc4c00",
    connect_timeout: "#8250df", conn_refused: "#cf222e", conn_reset: "#fb8500", elb_5xx: "#d4a72c",
    target_5xx: "#953800", client_timeout: "#0550ae", http_4xx: "#57606a", other: "#24292f",
    not_sent: "#6e7781", service_p99: "#bc4c00"
  };
  var PALETTE = ["#0969da", "#bc4c00", "#1a7f37", "#8250df", "#cf222e", "#d4a72c", "#1b7c83", "#953800", "#57606a", "#bf3989"];
  var BAND = { held: "rgba(212,167,44,0.55)", impact: "rgba(207,34,46,0.10)", recovered: "rgba(26,127,55,0.13)",
    "scale-out": "rgba(9,105,218,0.08)", "scale-in": "rgba(130,80,223,0.08)" };
  var MARK = { inject: "#cf222e", rollback: "#1a7f37", truth: "#8250df" };

  function colorOf(name, i) { return COLORS[name] || PALETTE[i % PALETTE.length]; }
  function fmtNum(v, d) { return v == null ? "–" : (+v).toFixed(d); }
  function fmtSecs(v) { return v == null ? "" : (Math.round(v * 10) / 10) + "s"; }

  // Steady-state thresholds, drawn as dashed limit lines.
  var limits = D.limits || {};

  function bandsPlugin(first) {
    function drawBands(u) {
      var ctx = u.ctx, b = u.bbox, dpr = uPlot.pxRatio;
      ctx.save();
      ctx.beginPath();
      ctx.rect(b.left, b.top, b.width, b.height);
      ctx.clip();
      var laneH = Math.round(5 * dpr);
      D.bands.forEach(function (bd) {
        var x0 = u.valToPos(bd.from, "x", true), x1 = u.valToPos(bd.to, "x", true);
        if (x1 < b.left || x0 > b.left + b.width) return;
        ctx.fillStyle = BAND[bd.kind] || "rgba(0,0,0,0.05)";
        if (bd.kind === "held") {
          ctx.fillRect(x0, b.top + bd.lane * (laneH + dpr), Math.max(x1 - x0, dpr), laneH);
        } else {
          ctx.fillRect(x0, b.top, Math.max(x1 - x0, dpr), b.height);
        }
      });
      ctx.restore();
    }
    function drawMarks(u) {
      var ctx = u.ctx, b = u.bbox, dpr = uPlot.pxRatio;
      ctx.save();
      ctx.beginPath();
      ctx.rect(b.left, b.top, b.width, b.height);
      ctx.clip();
      ctx.globalAlpha = 0.7;
      ctx.lineWidth = dpr;
      var labelled = {};
      D.marks.forEach(function (m) {
        var x = Math.round(u.valToPos(m.t, "x", true)) + 0.5;
        if (x < b.left || x > b.left + b.width) return;
        ctx.strokeStyle = MARK[m.kind] || "#57606a";
        ctx.setLineDash(m.kind === "inject" ? [] : m.kind === "truth" ? [dpr, 2 * dpr] : [4 * dpr, 3 * dpr]);
        ctx.beginPath();
        ctx.moveTo(x, b.top);
        ctx.lineTo(x, b.top + b.height);
        ctx.stroke();
        if (first && m.kind !== "truth") {
          var key = m.kind + "@" + Math.round(x / (40 * dpr));
          labelled[key] = labelled[key] || { x: x, kind: m.kind, names: [] };
          if (m.name && m.name !== m.kind) labelled[key].names.push(m.name);
        }
      });
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
      if (first) {
        ctx.font = Math.round(11 * dpr) + "px system-ui, sans-serif";
        ctx.textBaseline = "top";
        var row = 0;
        Object.keys(labelled).forEach(function (k) {
          var l = labelled[k];
          var text = l.kind + " " + l.names.join(", ");
          var w = ctx.measureText(text).width;
          var x = l.x + 3 * dpr;
          if (x + w > b.left + b.width) x = l.x - 3 * dpr - w;
          var y = b.top + (D.lanes + 1) * 6 * dpr + (row % 3) * 13 * dpr;
          row++;
          ctx.fillStyle = "rgba(255,255,255,0.7)";
          ctx.fillRect(x - dpr, y, w + 2 * dpr, 12 * dpr);
          ctx.fillStyle = MARK[l.kind] || "#57606a";
          ctx.fillText(text, x, y);
        });
      }
      ctx.restore();
    }
    return { hooks: { drawClear: [drawBands], draw: [drawMarks] } };
  }

  function limitPlugin(values) {
    return {
      hooks: {
        draw: [function (u) {
          var ctx = u.ctx, b = u.bbox, dpr = uPlot.pxRatio;
          ctx.save();
          ctx.globalAlpha = 0.7;
          ctx.strokeStyle = "#cf222e";
          ctx.lineWidth = dpr;
          ctx.setLineDash([6 * dpr, 4 * dpr]);
          values.forEach(function (lv) {
            var y = Math.round(u.valToPos(lv.value, lv.scale || "y", true)) + 0.5;
            if (y < b.top || y > b.top + b.height) return;
            ctx.beginPath();
            ctx.moveTo(b.left, y);
            ctx.lineTo(b.left + b.width, y);
            ctx.stroke();
            ctx.font = Math.round(10 * dpr) + "px system-ui, sans-serif";
            ctx.fillStyle = "#cf222e";
            ctx.textBaseline = "bottom";
            ctx.fillText(lv.label, b.left + b.width - ctx.measureText(lv.label).width - 4 * dpr, y - 2 * dpr);
          });
          ctx.restore();
        }]
      }
    };
  }

  var charts = [];
  var syncing = false;
  var syncKey = uPlot.sync("gameday").key;

  function width() { return Math.max(320, root.clientWidth - 8); }

  function addChart(name, title, sub, series, data, opts) {
    opts = opts || {};
    var box = document.createElement("div");
    box.className = "chart";
    box.id = "chart-" + name;
    var h = document.createElement("h3");
    h.textContent = title;
    if (sub) {
      var s = document.createElement("span");
      s.textContent = sub;
      h.appendChild(s);
    }
    box.appendChild(h);
    root.appendChild(box);
    var plugins = [bandsPlugin(charts.length === 0)];
    if (opts.limits && opts.limits.length) plugins.push(limitPlugin(opts.limits));
    var u = new uPlot({
      width: width(),
      height: opts.height || 170,
      plugins: plugins,
      cursor: { sync: { key: syncKey, setSeries: false }, drag: { x: true, y: false } },
      legend: { live: true },
      scales: opts.scales || { x: { time: false }, y: opts.y || {} },
      axes: [
        { values: function (u, vals) { return vals.map(fmtSecs); }, size: 30, grid: { stroke: "rgba(0,0,0,0.06)" },
          incrs: [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600] }
      ].concat(opts.axes || [{ size: 56, grid: { stroke: "rgba(0,0,0,0.06)" }, values: opts.yValues }]),
      series: [{ label: "time", value: function (u, v) { return v == null ? "–" : fmtSecs(v); } }].concat(series),
      hooks: {
        setScale: [function (u, key) {
          if (key !== "x" || syncing) return;
          syncing = true;
          var mn = u.scales.x.min, mx = u.scales.x.max;
          charts.forEach(function (c) { if (c.u !== u) c.u.setScale("x", { min: mn, max: mx }); });
          syncing = false;
        }]
      }
    }, [D.x].concat(data), box);
    charts.push({ name: name, u: u, colors: series.map(function (s) { return s.stroke; }) });
  }

  function line(label, color, digits, extra) {
    var s = { label: label, stroke: color, width: 2, spanGaps: false,
      value: function (u, v) { return fmtNum(v, digits); } };
    for (var k in extra || {}) s[k] = extra[k];
    return s;
  }

  try {
    D.lanes = D.bands.filter(function (b) { return b.kind === "held"; }).length;

    var rateLines = [line("asked", COLORS.asked, 1, { dash: [6, 4] }), line("achieved", COLORS.achieved, 1)];
    var rateData = [D.asked, D.achieved];
    (D.workers || []).forEach(function (wk, i) { // load.generators: one sent-rate line per worker
      rateLines.push(line(wk.name, PALETTE[(i + 1) % PALETTE.length], 1, { width: 1, dash: [2, 3] }));
      rateData.push(wk.values);
    });
    addChart("rate", "Request rate", "requests per second: asked by the rate plan vs sent and answered" +
      ((D.workers || []).length ? "; dotted: sent by each load generator" : ""),
      rateLines, rateData, { y: { range: function (u, mn, mx) { return [0, Math.max(1, mx) * 1.15]; } } });

    // Capacity (scaling analysis): the group's desired and in-service
    // instances and healthy targets (left axis) over the load per in-service
    // target (right axis), with the policy's target; the bands run from each
    // load change until the group served it (scale-out) or followed it down
    // (scale-in).
    if (D.capacity) {
      var C = D.capacity, stepC = uPlot.paths.stepped({ align: 1 });
      var capSer = [
        line("desired", "#8250df", 0, { scale: "n", paths: stepC, spanGaps: true, dash: [6, 3] }),
        line("in service", "#0969da", 0, { scale: "n", paths: stepC, spanGaps: true }),
      ], capDat = [C.desired, C.in_service];
      if (C.healthy) { capSer.push(line("healthy targets", "#1a7f37", 0, { scale: "n", paths: stepC, spanGaps: true, width: 1 })); capDat.push(C.healthy); }
      capSer.push(line("load per target rps", "#bc4c00", 1, { scale: "rps", width: 1 }));
      capDat.push(C.load_per_target);
      var capLimits = C.target ? [{ value: C.target, scale: "rps", label: "policy target " + C.target + " rps per target" }] : [];
      addChart("capacity", "Capacity", "instances (left) and asked requests per second per in-service target (right); bands: each load change until the group caught up",
        capSer, capDat, { height: 200, limits: capLimits,
          scales: { x: { time: false },
            n: { range: function (u, mn, mx) { return [0, Math.max(1, mx || 1) * 1.2]; } },
            rps: { range: function (u, mn, mx) { return [0, Math.max(1, mx || 1, C.target || 0) * 1.2]; } } },
          axes: [{ scale: "n", size: 40, grid: { stroke: "rgba(0,0,0,0.06)" } },
                 { scale: "rps", side: 1, size: 50, grid: { show: false } }] });
    }

    var succLimits = [];
    if (limits.success != null) succLimits.push({ value: limits.success, label: "steady state ≥ " + limits.success + "%" });
    addChart("success", "Success ratio", "% of requests in each window that succeeded",
      [line("success %", COLORS.success, 2)], [D.success],
      { limits: succLimits, y: { range: function (u, mn, mx) {
        var lo = Math.min(mn == null ? 100 : mn, limits.success == null ? 100 : limits.success);
        return [Math.max(0, lo - Math.max(2, (100 - lo) * 0.1)), 101];
      } } });

    var latLimits = [];
    ["p50", "p99"].forEach(function (m) {
      if (limits[m] != null) latLimits.push({ value: limits[m], label: "steady state " + m + " < " + limits[m] + " ms" });
    });
    // p50/p99 count from each request's intended send time (what users
    // waited, generator queueing included); the dashed line is the p99
    // service time, from the actual send.
    var svc = line("p99 service ms", COLORS.service_p99, 1, { dash: [4, 4], width: 1 });
    addChart("latency", "Latency", "successful requests, milliseconds (log scale), from the intended send time; dashed: service time from the actual send",
      [line("p50 ms", COLORS.p50, 2), line("p99 ms", COLORS.p99, 2), svc], [D.p50, D.p99, D.service_p99 || D.p99.map(function () { return null; })],
      { limits: latLimits, y: { distr: 3, log: 10 } });

    if (D.classes.length) {
      // Stacked bars: each series is drawn as the running total up to it,
      // largest first, so the smaller ones paint over it; the legend and
      // hover show each class's own rate.
      var cum = [], acc = D.x.map(function () { return 0; });
      D.classes.forEach(function (c) {
        acc = acc.map(function (a, j) { return a + (c.values[j] || 0); });
        cum.push(acc.slice());
      });
      var bars = uPlot.paths.bars({ size: [0.9, Infinity], align: 0 });
      var ser = [], dat = [];
      for (var i = D.classes.length - 1; i >= 0; i--) {
        (function (c, i) {
          var col = colorOf(c.name, i);
          ser.push({ label: c.name, stroke: col, fill: col + "d9", width: 1, paths: bars, points: { show: false },
            value: function (u, v, si, idx) { return idx == null ? "–" : fmtNum(c.values[idx], 1); } });
          dat.push(cum[i]);
        })(D.classes[i], i);
      }
      addChart("errors", "Failed requests by class", "per second, stacked",
        ser, dat, { y: { range: function (u, mn, mx) { return [0, Math.max(1, mx) * 1.1]; } } });
    }

    if (D.target_az && D.target_az.length) {
      addChart("target-az", "Failed requests by Availability Zone of the target", "per second, by the AZ that served or should have served each request (the response's AZ header; the node's AZ when there was none)",
        D.target_az.map(function (a, i) { return line(a.name, PALETTE[i % PALETTE.length], 1); }),
        D.target_az.map(function (a) { return a.values; }),
        { y: { range: function (u, mn, mx) { return [0, Math.max(1, mx) * 1.1]; } } });
    }

    if (D.az.length) {
      addChart("az", "Failed requests by Availability Zone of the load-balancer node", "per second, by the AZ of the node that answered (or was dialled); a blackholed node shows here, a failing backend does not",
        D.az.map(function (a, i) { return line(a.name, PALETTE[i % PALETTE.length], 1); }),
        D.az.map(function (a) { return a.values; }),
        { y: { range: function (u, mn, mx) { return [0, Math.max(1, mx) * 1.1]; } } });
    }

    var stepped = uPlot.paths.stepped({ align: 1 });
    D.probes.forEach(function (p) {
      addChart("probe-" + p.name, "Probe: " + p.name, "last sample in each window",
        p.series.map(function (s, i) {
          return line(s.name, PALETTE[i % PALETTE.length], 0, { paths: stepped, spanGaps: true, dash: i % 2 ? [5, 3] : undefined });
        }),
        p.series.map(function (s) { return s.values; }),
        { height: 140, y: { range: function (u, mn, mx) { return [Math.min(0, mn || 0), Math.max(1, mx || 1) * 1.2]; } } });
    });

    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.u.setSize({ width: width(), height: c.u.height }); });
    });
  } catch (e) {
    body.setAttribute("data-charts-error", String(e && e.stack || e));
  }

  // After drawing: which charts have their series' pixels on the canvas.
  function hexRGB(h) {
    var m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(h || "");
    return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : null;
  }
  function check() {
    var drawn = {}, pixels = {};
    charts.forEach(function (c) {
      var u = c.u, b = u.bbox, n = 0;
      var cols = c.colors.map(hexRGB).filter(Boolean);
      try {
        var img = u.ctx.getImageData(b.left, b.top, b.width, b.height).data;
        for (var i = 0; i < img.length; i += 4) {
          if (img[i + 3] < 250) continue; // series strokes are opaque; bands and marks are not
          for (var k = 0; k < cols.length; k++) {
            var cc = cols[k];
            if (Math.abs(img[i] - cc[0]) < 60 && Math.abs(img[i + 1] - cc[1]) < 60 && Math.abs(img[i + 2] - cc[2]) < 60) { n++; break; }
          }
        }
      } catch (e) {
        n = -1;
      }
      pixels[c.name] = n;
      drawn[c.name] = n >= 10;
    });
    body.setAttribute("data-charts", JSON.stringify(drawn));
    body.setAttribute("data-chart-pixels", JSON.stringify(pixels));
  }
  // uPlot draws in microtasks after each chart is made; a timer runs after them
  // (and, unlike animation frames, also under headless virtual time).
  setTimeout(check, 0);
})();
