// Zoom, pan and links to operations for faultline timelines (inlined into every page).
// Each movable element carries its unzoomed x coordinates: rects data-x0 / data-x1 (data-min is
// the narrowest width drawn), texts data-x (+ data-dx) and, when they must fit a box of unzoomed
// width data-bw, data-fit (the width they need). Links with data-ops="3,17" zoom to and flash
// the bars with ids op-3 and op-17.
(function () {
  'use strict';
  var MAX_ZOOM = 1e6;

  function num(el, name, dflt) {
    var v = el.getAttribute(name);
    return v === null ? dflt : parseFloat(v);
  }

  function formatNs(ns) {
    if (ns >= 1e9) return (ns / 1e9).toFixed(3) + ' s';
    if (ns >= 1e6) return (ns / 1e6).toFixed(2) + ' ms';
    return (ns / 1e3).toFixed(1) + ' \u00b5s';
  }

  function Timeline(svg) {
    this.svg = svg;
    this.left = num(svg, 'data-left', 0);
    this.plot = num(svg, 'data-plot', 1);
    this.lo = num(svg, 'data-lo', 0);
    this.span = num(svg, 'data-span', 1);
    this.axis = svg.getAttribute('data-axis');
    this.width = svg.viewBox.baseVal.width;
    this.height = svg.viewBox.baseVal.height;
    this.k = 1; // zoom factor
    this.off = 0; // left edge of the view, in unzoomed px from the plot's left edge
    this.rects = [];
    this.texts = [];
    var i, el;
    var rects = svg.querySelectorAll('rect[data-x0]');
    for (i = 0; i < rects.length; i++) {
      el = rects[i];
      this.rects.push([el, num(el, 'data-x0', 0), num(el, 'data-x1', 0), num(el, 'data-min', 0)]);
    }
    var texts = svg.querySelectorAll('text[data-x]');
    for (i = 0; i < texts.length; i++) {
      el = texts[i];
      this.texts.push([el, num(el, 'data-x', 0), num(el, 'data-dx', 0), num(el, 'data-fit', -1), num(el, 'data-bw', 0)]);
    }
    this.ticks = svg.querySelector('g.ticks');
    this.pending = false;
  }

  Timeline.prototype.X = function (x) {
    return this.left + (x - this.left - this.off) * this.k;
  };

  Timeline.prototype.clamp = function () {
    this.k = Math.min(Math.max(this.k, 1), MAX_ZOOM);
    this.off = Math.min(Math.max(this.off, 0), this.plot - this.plot / this.k);
  };

  Timeline.prototype.draw = function () {
    this.clamp();
    var lo = this.left - 10, hi = this.left + this.plot + 10, i, r, t;
    for (i = 0; i < this.rects.length; i++) {
      r = this.rects[i];
      var a = this.X(r[1]), w = Math.max((r[2] - r[1]) * this.k, r[3]), b = a + w;
      // Keep coordinates small: clip to just outside the plot area.
      var ca = Math.max(a, lo), cb = Math.min(b, hi);
      r[0].setAttribute('x', ca.toFixed(2));
      r[0].setAttribute('width', Math.max(cb - ca, 0).toFixed(2));
    }
    for (i = 0; i < this.texts.length; i++) {
      t = this.texts[i];
      var x = this.X(t[1]) + t[2];
      var fits = t[3] < 0 || t[4] * this.k > t[3];
      var inside = x > lo - 400 && x < hi;
      t[0].style.display = fits && inside ? '' : 'none';
      if (inside) t[0].setAttribute('x', x.toFixed(2));
    }
    this.drawTicks();
  };

  Timeline.prototype.drawTicks = function () {
    if (!this.ticks) return;
    var ns = 'http://www.w3.org/2000/svg', parts = [], i;
    while (this.ticks.firstChild) this.ticks.removeChild(this.ticks.firstChild);
    for (i = 0; i <= 5; i++) {
      var x = this.left + (this.plot * i) / 5;
      var u = this.off + (this.plot / this.k) * (i / 5);
      var v = this.lo + (u / this.plot) * this.span;
      var line = document.createElementNS(ns, 'line');
      line.setAttribute('class', 'tick');
      line.setAttribute('x1', x);
      line.setAttribute('x2', x);
      line.setAttribute('y1', 16);
      line.setAttribute('y2', this.height);
      var text = document.createElementNS(ns, 'text');
      text.setAttribute('class', 'tick-label');
      text.setAttribute('x', x);
      text.setAttribute('y', 12);
      text.setAttribute('text-anchor', i === 0 ? 'start' : i === 5 ? 'end' : 'middle');
      text.textContent = this.axis === 'ns' ? formatNs(v) : 'event ' + Math.round(v);
      parts.push(line, text);
    }
    for (i = 0; i < parts.length; i++) this.ticks.appendChild(parts[i]);
  };

  Timeline.prototype.redraw = function () {
    var self = this;
    if (this.pending) return;
    this.pending = true;
    window.requestAnimationFrame(function () {
      self.pending = false;
      self.draw();
    });
  };

  // The x of a client (mouse) position, in the SVG's coordinates.
  Timeline.prototype.svgX = function (clientX) {
    var box = this.svg.getBoundingClientRect();
    return ((clientX - box.left) * this.width) / Math.max(box.width, 1);
  };

  Timeline.prototype.zoomAt = function (px, factor) {
    var rel = Math.min(Math.max(px - this.left, 0), this.plot);
    var u = this.off + rel / this.k;
    this.k = Math.min(Math.max(this.k * factor, 1), MAX_ZOOM);
    this.off = u - rel / this.k;
    this.redraw();
  };

  Timeline.prototype.reset = function () {
    this.k = 1;
    this.off = 0;
    this.redraw();
  };

  // Zooms so that unzoomed px [x0, x1] fills about `share` of the plot, centred.
  Timeline.prototype.show = function (x0, x1, share) {
    var w = Math.max(x1 - x0, 1e-6);
    this.k = Math.min(Math.max((this.plot * share) / w, 1), MAX_ZOOM);
    this.off = (x0 + x1) / 2 - this.left - this.plot / this.k / 2;
    this.draw();
  };

  Timeline.prototype.listen = function () {
    var self = this, svg = this.svg, drag = null;
    svg.addEventListener('wheel', function (e) {
      if (!(e.ctrlKey || e.altKey || e.metaKey)) return;
      e.preventDefault();
      self.zoomAt(self.svgX(e.clientX), e.deltaY < 0 ? 1.25 : 0.8);
    }, { passive: false });
    svg.addEventListener('dblclick', function (e) {
      e.preventDefault();
      self.zoomAt(self.svgX(e.clientX), e.shiftKey ? 0.5 : 2);
    });
    svg.addEventListener('pointerdown', function (e) {
      if (e.button !== 0) return;
      drag = { x: self.svgX(e.clientX), off: self.off };
      svg.classList.add('dragging');
      try {
        svg.setPointerCapture(e.pointerId);
      } catch (err) {
        // No capture (e.g. a synthetic event): the drag still works while over the timeline.
      }
    });
    svg.addEventListener('pointermove', function (e) {
      if (!drag) return;
      self.off = drag.off - (self.svgX(e.clientX) - drag.x) / self.k;
      self.redraw();
    });
    function stop() {
      drag = null;
      svg.classList.remove('dragging');
    }
    svg.addEventListener('pointerup', stop);
    svg.addEventListener('pointercancel', stop);
  };

  var timelines = [];
  var svgs = document.querySelectorAll('svg.timeline');
  for (var i = 0; i < svgs.length; i++) {
    var t = new Timeline(svgs[i]);
    svgs[i].faultlineTimeline = t;
    t.listen();
    timelines.push(t);
  }

  var buttons = document.querySelectorAll('.zoombar button[data-zoom]');
  for (i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener('click', function (e) {
      var svg = e.currentTarget.parentNode.nextElementSibling;
      var t = svg && svg.faultlineTimeline;
      if (!t) return;
      var what = e.currentTarget.getAttribute('data-zoom');
      var mid = t.left + t.plot / 2;
      if (what === 'in') t.zoomAt(mid, 2);
      else if (what === 'out') t.zoomAt(mid, 0.5);
      else t.reset();
    });
  }

  // Zooms the timeline holding the first of these operations to show them all, and flashes them.
  function focusOps(ids) {
    var found = [], t = null, x0 = Infinity, x1 = -Infinity, j;
    var old = document.querySelectorAll('g.flash');
    for (j = 0; j < old.length; j++) old[j].classList.remove('flash');
    for (j = 0; j < ids.length; j++) {
      var g = document.getElementById('op-' + ids[j]);
      var svg = g && g.closest('svg.timeline');
      if (!svg || (t && svg.faultlineTimeline !== t)) continue;
      t = svg.faultlineTimeline;
      var r = g.querySelector('rect');
      x0 = Math.min(x0, num(r, 'data-x0', 0));
      x1 = Math.max(x1, num(r, 'data-x1', 0));
      found.push(g);
    }
    if (!t) return 0;
    t.show(x0, x1, found.length > 1 ? 0.8 : 0.1);
    for (j = 0; j < found.length; j++) found[j].classList.add('flash');
    t.svg.scrollIntoView({ block: 'center' });
    return found.length;
  }

  document.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a[data-ops]');
    if (!a) return;
    var ids = a.getAttribute('data-ops').split(',');
    if (focusOps(ids) > 0) {
      e.preventDefault();
      if (window.history && window.history.replaceState) {
        window.history.replaceState(null, '', '#op-' + ids[0]);
      }
    }
  });

  var hash = /^#op-(\d+)$/.exec(window.location.hash);
  if (hash) focusOps([hash[1]]);

  window.faultline = { timelines: timelines, focusOps: focusOps };
})();
