/* depthinit: an explorable depth schedule (no server, no network, no library).
 *
 * Markup (a chapter embeds it with the `depthinit-explorable` directive or this raw HTML):
 *
 *   <div class="depthinit-explorable" data-v="22" data-l="54" data-offset="0"
 *        data-depth-fn="log"></div>
 *
 * Every data-* attribute is optional (defaults: V = 22, L = 54, c = 0, log reading;
 * data-shape sets p of the power reading or r of the geometric one). The script fills the
 * element with sliders for V, L and the offset c, a selector for the reading of the depth
 * function, three SVG charts (alpha_l per layer; the forward product prod_{j<=l} alpha_j;
 * the backward product prod_{j>=l} alpha_j) and a text readout, for the increasing,
 * decreasing and constant schedules, with He (all alpha_l = 1) as the reference.
 *
 * The formulas are those of depthinit.init.alphas (depthinit/init/_schedules.py):
 *   alpha_1 = 1;  constant: alpha_l = V^(1/(L-1));
 *   increasing: alpha_l = V^(1/(L-1)) g(l) / G, G the geometric mean of g(2..L);
 *   decreasing: the increasing factors reversed over l = 2..L;
 *   g(l) = ln(l + c) | (l + c)^p | l + c | r^(l + c)   (log | power | linear | geometric).
 * tests/test_check_book.py compares them with the Python library to 1e-9. Chapter: "Schemes
 * at a glance" (and "The depth function and its hyperparameters").
 *
 * In Node (`require`) it exports the pure functions only; in a browser it also defines
 * window.depthinitExplorable and renders every .depthinit-explorable element on load.
 */
(function (root) {
  "use strict";

  var SCHEDULES = ["unit", "constant", "increasing", "decreasing"];
  // Each reading: g(l) for l already offset by c, and the default of its shape parameter.
  var DEPTH_FNS = {
    log: { g: function (l) { return Math.log(l); }, shape: null, label: "log: g(l) = ln(l + c)" },
    power: { g: function (l, s) { return Math.pow(l, s); }, shape: 0.5, label: "power: g(l) = (l + c)^p" },
    linear: { g: function (l) { return l; }, shape: null, label: "linear: g(l) = l + c" },
    geometric: { g: function (l, s) { return Math.pow(s, l); }, shape: 1.05, label: "geometric: g(l) = r^(l + c)" }
  };

  function checkDepth(L) {
    if (typeof L !== "number" || !Number.isInteger(L) || L < 2) {
      throw new Error("L=" + L + " is not valid; a depth schedule needs an integer number of weight layers L >= 2");
    }
    return L;
  }

  function checkPositive(name, value, allowZero) {
    if (typeof value !== "number" || !isFinite(value) || (allowZero ? value < 0 : value <= 0)) {
      throw new Error(name + "=" + value + " is not valid; expected a finite number " + (allowZero ? ">= 0" : "> 0"));
    }
    return value;
  }

  /* The unnormalised depth function g(l) for l = 2..L (L - 1 positive values). */
  function depthShape(L, depthFn, offset, shape) {
    checkDepth(L);
    offset = checkPositive("offset", offset === undefined ? 0 : offset, true);
    var fn = DEPTH_FNS[depthFn === undefined ? "log" : depthFn];
    if (!fn) {
      throw new Error("depth_fn=" + depthFn + " is not valid; expected one of " + Object.keys(DEPTH_FNS).join(", "));
    }
    var s = 0;
    if (fn.shape !== null) {
      s = shape === undefined || shape === null ? fn.shape : checkPositive("shape", shape, false);
    }
    var g = [];
    for (var l = 2; l <= L; l++) {
      var v = fn.g(l + offset, s);
      if (!(isFinite(v) && v > 0)) {
        throw new Error("depth function " + depthFn + " gives " + v + " at l = " + l + " (offset " + offset + ")");
      }
      g.push(v);
    }
    return g;
  }

  /* alpha_1..alpha_L, as depthinit.init.alphas(L, schedule=..., network_variance=V,
   * depth_fn=..., offset=c, shape=...). */
  function alphas(L, opts) {
    opts = opts || {};
    checkDepth(L);
    var schedule = opts.schedule;
    if (SCHEDULES.indexOf(schedule) < 0) {
      throw new Error("schedule=" + schedule + " is not valid; expected one of " + SCHEDULES.join(", "));
    }
    var V = checkPositive("network_variance", opts.networkVariance === undefined ? 22 : opts.networkVariance, false);
    var out = [];
    for (var i = 0; i < L; i++) out.push(1);
    if (schedule === "unit") return out;
    var logRoot = Math.log(V) / (L - 1);
    if (schedule === "constant") {
      var a = Math.exp(logRoot);
      for (var k = 1; k < L; k++) out[k] = a;
      return out;
    }
    var g = depthShape(L, opts.depthFn, opts.offset, opts.shape);
    var logG = g.map(Math.log);
    var mean = logG.reduce(function (x, y) { return x + y; }, 0) / logG.length;
    var inc = logG.map(function (lg) { return Math.exp(logRoot + lg - mean); });
    if (schedule === "decreasing") inc.reverse();
    for (var m = 1; m < L; m++) out[m] = inc[m - 1];
    return out;
  }

  /* The forward and backward products of the factors, in log10 (they overflow a double for
   * extreme settings, e.g. the geometric reading with r = 1.5 and L = 200):
   * logForward[l-1] = log10 prod_{j<=l} alpha_j (the forward variance ratio after layer l,
   * relative to the first layer's); logBackward[l-1] = log10 prod_{j>=l} alpha_j (the
   * gradient variance ratio at layer l, relative to the last layer's, for equal widths).
   * Both reach log10 V. forward/backward are the plain products (Infinity or 0 out of range). */
  function products(a) {
    var n = a.length, logForward = [], logBackward = new Array(n), s = 0, i;
    for (i = 0; i < n; i++) { s += Math.log10(a[i]); logForward.push(s); }
    s = 0;
    for (i = n - 1; i >= 0; i--) { s += Math.log10(a[i]); logBackward[i] = s; }
    var pow = function (x) { return Math.pow(10, x); };
    return { logForward: logForward, logBackward: logBackward,
             forward: logForward.map(pow), backward: logBackward.map(pow) };
  }

  /* The numbers the readout shows for one schedule (products in log10). */
  function summary(a) {
    var pr = products(a), below = 0, minF = Infinity, minAt = 1, minB = Infinity;
    for (var i = 1; i < a.length; i++) if (a[i] < 1) below++;
    for (var j = 0; j < a.length; j++) {
      if (pr.logForward[j] < minF) { minF = pr.logForward[j]; minAt = j + 1; }
      if (pr.logBackward[j] < minB) minB = pr.logBackward[j];
    }
    return {
      first: a.length > 1 ? a[1] : a[0], last: a[a.length - 1], below: below, layers: a.length - 1,
      logMinForward: minF, minForwardAt: minAt, logMinBackward: minB,
      logForwardEnd: pr.logForward[a.length - 1], logBackwardStart: pr.logBackward[0]
    };
  }

  var api = { SCHEDULES: SCHEDULES, DEPTH_FNS: Object.keys(DEPTH_FNS), depthShape: depthShape,
              alphas: alphas, products: products, summary: summary };

  if (typeof module === "object" && module.exports) module.exports = api;
  if (typeof document === "undefined") return;

  // --------------------------------------------------------------------------
  // The widget.
  // --------------------------------------------------------------------------
  var SVGNS = "http://www.w3.org/2000/svg";
  // Okabe-Ito colours, each with its own dash pattern (not colour alone).
  var LINES = [
    { schedule: "increasing", color: "#0072B2", dash: "" },
    { schedule: "decreasing", color: "#D55E00", dash: "7 4" },
    { schedule: "constant", color: "#009E73", dash: "2 3" }
  ];
  var SHAPE_RANGE = { power: [0.1, 3, 0.05], geometric: [1.01, 1.5, 0.01] };
  var counter = 0;

  function el(tag, attrs, text) {
    var node = tag.indexOf("svg:") === 0 ? document.createElementNS(SVGNS, tag.slice(4)) : document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* Text with subscripts: "a_l" or "a_{j<=l}" -> a<sub>l</sub> (tspan in SVG, sub in HTML). */
  function rich(parent, text) {
    var svg = parent.namespaceURI === SVGNS, re = /_(\{[^}]*\}|[^\s{])/g, last = 0, m;
    while ((m = re.exec(text))) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      var sub = m[1].charAt(0) === "{" ? m[1].slice(1, -1) : m[1];
      parent.appendChild(svg ? el("svg:tspan", { "baseline-shift": "sub", "font-size": "75%" }, sub) : el("sub", {}, sub));
      last = re.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
    return parent;
  }

  function fmt(x) {
    if (!isFinite(x)) return String(x);
    var a = Math.abs(x);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(2);
    return String(Number(x.toPrecision(4)));
  }

  /* 10^x written without overflow: 0.0123, 4.56e+45. */
  function fmtPow10(x) {
    if (!isFinite(x)) return String(x);
    if (Math.abs(x) < 5) return fmt(Math.pow(10, x));
    var e = Math.floor(x), m = Math.pow(10, x - e);
    if (Number(m.toFixed(2)) >= 10) { m /= 10; e += 1; }
    return m.toFixed(2) + "e" + (e >= 0 ? "+" : "") + e;
  }

  function num(v, fallback) {
    var x = parseFloat(v);
    return isFinite(x) ? x : fallback;
  }

  function slider(box, id, param, label, min, max, step, value) {
    var wrap = el("div", { "class": "depthinit-explorable-control" });
    var lab = el("label", { "for": id }, label + " ");
    var out = el("output", { "for": id, "class": "depthinit-explorable-value" });
    lab.appendChild(out);
    var input = el("input", { type: "range", id: id, min: min, max: max, step: step, "data-param": param });
    input.value = value;
    wrap.appendChild(lab);
    wrap.appendChild(input);
    box.appendChild(wrap);
    return { input: input, output: out, wrap: wrap };
  }

  /* One chart: lines = [{values, color, dash, label}], x = 1..n. */
  function chart(svg, title, lines, opts) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var width = Math.max(260, Math.round(svg.parentNode.clientWidth || 600));
    // A narrow chart (a phone) puts the title's note in brackets on a second line.
    var parts = title.match(/^(.*?)\s*(\(.*\))?$/), narrow = width < 560 && parts[2];
    var height = narrow ? 212 : 190, left = 56, right = 92, top = narrow ? 44 : 22, bottom = 30;
    svg.setAttribute("width", width);
    svg.setAttribute("height", height);
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    // opts.log: the values are log10 already (products); the axis is labelled in 10^x.
    var tx = function (v) { return v; };
    var one = opts.log ? 0 : 1;
    var lo = Infinity, hi = -Infinity, n = 0;
    lines.forEach(function (s) {
      n = Math.max(n, s.values.length);
      s.values.forEach(function (v) { if (isFinite(tx(v))) { lo = Math.min(lo, tx(v)); hi = Math.max(hi, tx(v)); } });
    });
    lo = Math.min(lo, one); hi = Math.max(hi, one);
    if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
    var pad = (hi - lo) * 0.06; lo -= pad; hi += pad;
    var X = function (i) { return left + (n <= 1 ? 0 : (i / (n - 1)) * (width - left - right)); };
    var Y = function (v) { return top + (1 - (tx(v) - lo) / (hi - lo)) * (height - top - bottom); };
    if (narrow) {
      svg.appendChild(rich(el("svg:text", { x: 4, y: 13, "class": "depthinit-explorable-title" }), parts[1]));
      svg.appendChild(rich(el("svg:text", { x: 4, y: 28 }), parts[2]));
    } else {
      svg.appendChild(rich(el("svg:text", { x: left, y: 14, "class": "depthinit-explorable-title" }), title));
    }
    // Axes and ticks.
    var axis = el("svg:g", { "class": "depthinit-explorable-axis" });
    axis.appendChild(el("svg:line", { x1: left, y1: height - bottom, x2: width - right, y2: height - bottom }));
    axis.appendChild(el("svg:line", { x1: left, y1: top, x2: left, y2: height - bottom }));
    var ticks = opts.log ? logTicks(lo, hi) : linTicks(lo, hi);
    ticks.forEach(function (t) {
      var y = top + (1 - (t - lo) / (hi - lo)) * (height - top - bottom);
      axis.appendChild(el("svg:line", { x1: left - 4, y1: y, x2: left, y2: y }));
      axis.appendChild(el("svg:text", { x: left - 7, y: y + 4, "text-anchor": "end" },
                          opts.log ? fmtPow10(t) : fmt(t)));
    });
    [1, n].forEach(function (l) {
      axis.appendChild(el("svg:text", { x: X(l - 1), y: height - bottom + 16, "text-anchor": "middle" }, String(l)));
    });
    axis.appendChild(el("svg:text", { x: (left + width - right) / 2, y: height - 4, "text-anchor": "middle" },
                        "layer l"));
    svg.appendChild(axis);
    // The He reference at 1.
    svg.appendChild(el("svg:line", { x1: left, y1: Y(one), x2: width - right, y2: Y(one),
                                     "class": "depthinit-explorable-reference" }));
    // The lines, directly labelled at their right end (labels, He's too, pushed apart).
    var ends = [{ y: Y(one), s: { schedule: "He = 1", color: "#6b6b6b" }, reference: true }];
    lines.forEach(function (s) {
      var pts = s.values.map(function (v, i) { return X(i).toFixed(2) + "," + Y(v).toFixed(3); }).join(" ");
      svg.appendChild(el("svg:polyline", { points: pts, fill: "none", stroke: s.color, "stroke-width": 2.2,
                                           "stroke-dasharray": s.dash, "data-schedule": s.schedule }));
      ends.push({ y: Y(s.values[s.values.length - 1]), s: s });
    });
    ends.sort(function (a, b) { return a.y - b.y; });
    for (var i = 1; i < ends.length; i++) ends[i].y = Math.max(ends[i].y, ends[i - 1].y + 13);
    var overflow = ends.length ? ends[ends.length - 1].y - (height - 8) : 0;
    if (overflow > 0) ends.forEach(function (e) { e.y -= overflow; });
    ends.forEach(function (e) {
      svg.appendChild(el("svg:text", { x: width - right + 6, y: e.y + 4, style: "fill: " + e.s.color,
                                       "class": e.reference ? "depthinit-explorable-reference-label"
                                                            : "depthinit-explorable-line-label" }, e.s.schedule));
    });
  }

  function linTicks(lo, hi) {
    var span = hi - lo, step = Math.pow(10, Math.floor(Math.log10(span / 4)));
    if (span / step > 10) step *= 2.5;
    if (span / step > 10) step *= 2;
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) out.push(Number(t.toPrecision(6)));
    return out;
  }

  function logTicks(lo, hi) {
    var out = [], a = Math.ceil(lo), b = Math.floor(hi), every = Math.max(1, Math.ceil((b - a + 1) / 6));
    for (var t = a; t <= b; t += every) out.push(t);
    if (!out.length) out = [Number(((lo + hi) / 2).toFixed(2))];
    return out;
  }

  function render(box) {
    if (box.getAttribute("data-ready") === "1") return;
    box.setAttribute("data-ready", "1");
    var id = "depthinit-explorable-" + (++counter);
    var d = box.dataset;
    var controls = el("div", { "class": "depthinit-explorable-controls" });
    var V0 = Math.min(1000, Math.max(0.1, num(d.v, 22)));
    var sV = slider(controls, id + "-v", "V", "network variance V =", -1, 3, 0.01, Math.log10(V0).toFixed(2));
    var exactV = V0;  // the page's V until the reader moves the slider (which moves in steps of 10^0.01)
    var sL = slider(controls, id + "-l", "L", "weight layers L =", 2, 200, 1, Math.round(num(d.l, 54)));
    var sC = slider(controls, id + "-c", "offset", "offset c =", 0, 10, 0.1, num(d.offset, 0));
    var readingWrap = el("div", { "class": "depthinit-explorable-control" });
    var readingLabel = el("label", { "for": id + "-fn" }, "reading of the depth function ");
    var reading = el("select", { id: id + "-fn", "data-param": "depth_fn" });
    Object.keys(DEPTH_FNS).forEach(function (k) {
      var o = el("option", { value: k }, DEPTH_FNS[k].label);
      reading.appendChild(o);
    });
    reading.value = DEPTH_FNS[d.depthFn] ? d.depthFn : "log";
    readingWrap.appendChild(readingLabel);
    readingWrap.appendChild(reading);
    controls.appendChild(readingWrap);
    var sS = slider(controls, id + "-s", "shape", "shape =", 0.1, 3, 0.01, 0.5);
    var shapes = { power: DEPTH_FNS.power.shape, geometric: DEPTH_FNS.geometric.shape };
    if (d.shape !== undefined && shapes[reading.value] !== undefined) shapes[reading.value] = num(d.shape, shapes[reading.value]);
    box.appendChild(controls);

    var figs = el("div", { "class": "depthinit-explorable-charts", role: "img" });
    var svgs = [0, 1, 2].map(function () {
      var holder = el("div", { "class": "depthinit-explorable-chart" });
      var svg = el("svg:svg", { "aria-hidden": "true" });
      holder.appendChild(svg);
      figs.appendChild(holder);
      return svg;
    });
    box.appendChild(figs);
    var readout = el("div", { "class": "depthinit-explorable-readout", "aria-live": "polite", "data-role": "readout" });
    box.appendChild(readout);

    function configureShape() {
      var r = SHAPE_RANGE[reading.value];
      sS.wrap.hidden = !r;
      if (r) {
        sS.input.min = r[0]; sS.input.max = r[1]; sS.input.step = r[2];
        sS.input.value = shapes[reading.value];
      }
    }

    function update() {
      var V = exactV !== null ? exactV : Math.pow(10, parseFloat(sV.input.value));
      var L = parseInt(sL.input.value, 10);
      var c = parseFloat(sC.input.value);
      var fn = reading.value;
      var shape = SHAPE_RANGE[fn] ? parseFloat(sS.input.value) : null;
      if (SHAPE_RANGE[fn]) shapes[fn] = shape;
      sV.output.textContent = fmt(V);
      sL.output.textContent = String(L);
      sC.output.textContent = fmt(c);
      sS.output.textContent = shape === null ? "" : (fn === "power" ? "p = " : "r = ") + fmt(shape);
      var series = LINES.map(function (line) {
        var a = alphas(L, { schedule: line.schedule, networkVariance: V, depthFn: fn, offset: c, shape: shape });
        var pr = products(a);
        return { line: line, a: a, pr: pr, sum: summary(a) };
      });
      var pick = function (key) {
        return series.map(function (s) {
          return { values: key === "a" ? s.a : s.pr[key], color: s.line.color, dash: s.line.dash,
                   schedule: s.line.schedule };
        });
      };
      // alpha_l on a linear axis, or in log10 when the factors span more than 30x.
      var lo = Infinity, hi = -Infinity;
      series.forEach(function (s) { s.a.forEach(function (v) { lo = Math.min(lo, v); hi = Math.max(hi, v); }); });
      var logAlpha = hi / lo > 30;
      var alphaLines = pick("a");
      if (logAlpha) alphaLines.forEach(function (l) { l.values = l.values.map(Math.log10); });
      chart(svgs[0], "per-layer factor \u03b1_l (weight variance 2\u03b1_l / n_l)" + (logAlpha ? ", log scale" : ""),
            alphaLines, { log: logAlpha });
      chart(svgs[1], "forward product \u03b1_1\u22ef\u03b1_l (signal variance after layer l)", pick("logForward"), { log: true });
      chart(svgs[2], "backward product \u03b1_l\u22ef\u03b1_L (gradient variance at layer l)", pick("logBackward"), { log: true });
      var inc = series[0].sum, con = series[2].sum;
      figs.setAttribute("aria-label", "Depth schedules for V = " + fmt(V) + ", L = " + L + ", c = " + fmt(c) +
                        ", " + fn + " reading: " + inc.below + " of " + inc.layers + " increasing factors below one.");
      while (readout.firstChild) readout.removeChild(readout.firstChild);
      var p = el("p", {}, "With V = " + fmt(V) + " and L = " + L + " (" + fn + " reading, c = " + fmt(c) + "): " +
                 inc.below + " of " + inc.layers + " increasing factors (" + fmt(100 * inc.below / inc.layers) +
                 " %) lie below one; its forward signal falls to " + fmtPow10(inc.logMinForward) +
                 " of the first layer's variance at layer " + inc.minForwardAt + " before reaching V = " +
                 fmtPow10(inc.logForwardEnd) +
                 ". The constant schedule multiplies every layer by " + fmt(con.last) + ".");
      readout.appendChild(p);
      var table = el("table", { "class": "depthinit-explorable-table" });
      var head = el("tr");
      ["schedule", "\u03b1_2", "\u03b1_L", "layers with \u03b1_l < 1", "lowest forward \u220f", "lowest backward \u220f",
       "forward \u220f at L", "backward \u220f at 1"].forEach(function (h) { head.appendChild(rich(el("th", { scope: "col" }), h)); });
      var thead = el("thead"); thead.appendChild(head); table.appendChild(thead);
      var tbody = el("tbody");
      series.forEach(function (s) {
        var row = el("tr", { "data-schedule": s.line.schedule });
        var m = s.sum;
        [s.line.schedule, fmt(m.first), fmt(m.last), m.below + " of " + m.layers,
         fmtPow10(m.logMinForward) + " (l = " + m.minForwardAt + ")", fmtPow10(m.logMinBackward),
         fmtPow10(m.logForwardEnd), fmtPow10(m.logBackwardStart)].forEach(function (v, i) {
          row.appendChild(el(i === 0 ? "th" : "td", i === 0 ? { scope: "row" } : {}, v));
        });
        tbody.appendChild(row);
      });
      table.appendChild(tbody);
      var wrap = el("div", { "class": "depthinit-explorable-table-wrap" });
      wrap.appendChild(table);
      readout.appendChild(wrap);
    }

    sV.input.addEventListener("input", function () { exactV = null; });
    [sV.input, sL.input, sC.input, sS.input].forEach(function (i) { i.addEventListener("input", update); });
    reading.addEventListener("change", function () { configureShape(); update(); });
    reading.addEventListener("input", function () { configureShape(); update(); });
    configureShape();
    update();
    if (typeof ResizeObserver !== "undefined") {
      var last = box.clientWidth;
      new ResizeObserver(function () {
        if (Math.abs(box.clientWidth - last) > 2) { last = box.clientWidth; update(); }
      }).observe(box);
    }
  }

  function initAll(scope) {
    var nodes = (scope || document).querySelectorAll(".depthinit-explorable");
    for (var i = 0; i < nodes.length; i++) render(nodes[i]);
    return nodes.length;
  }

  api.initAll = initAll;
  root.depthinitExplorable = api;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { initAll(); });
  else initAll();
})(typeof window !== "undefined" ? window : this);
