// page.js keeps the IWF status page current without reloading it: every
// few seconds it fetches /status as JSON (the same query: the page of
// sessions and the filter the page was asked for) and rewrites the
// elements marked data-k and the table bodies marked data-rows. Values are
// only ever set as text, so nothing from a peer or a partner becomes
// markup. ?refresh=N (1 to 60 seconds) sets the period; the default is 5.
"use strict";
(function () {
  var params = new URLSearchParams(location.search);
  var period = parseInt(params.get("refresh") || "5", 10);
  if (!(period >= 1 && period <= 60)) period = 5;
  params.set("format", "json");
  var src = location.pathname + "?" + params.toString();
  var refreshes = 0;

  function at(obj, path) {
    if (path === "") return obj;
    var parts = path.split(".");
    for (var i = 0; i < parts.length && obj != null; i++) obj = obj[parts[i]];
    return obj;
  }
  function time(s) {
    // Go writes up to nine decimals; Date.parse is only sure of three.
    return Date.parse(String(s).replace(/(\.\d{3})\d+/, "$1"));
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function ts(s) {
    var t = time(s);
    if (!s || isNaN(t) || new Date(t).getUTCFullYear() <= 1) return "-";
    var d = new Date(t);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + "Z";
  }
  // dur prints milliseconds as Go prints a duration cut to the second.
  function dur(ms) {
    if (isNaN(ms) || ms < 0) return "-";
    var s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    s = s % 60;
    if (h > 0) return h + "h" + m + "m" + s + "s";
    if (m > 0) return m + "m" + s + "s";
    return s + "s";
  }
  function rate(v) { return Number(v || 0).toFixed(2); }
  function span(el, cls, text) {
    var s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    el.appendChild(s);
  }
  function stateClass(st) {
    if (st === "bound") return "ok";
    if (st === "connecting" || st === "throttled" || st === "backoff") return "warn";
    return "bad";
  }
  function sessionClass(st) {
    if (st === "established") return "ok";
    if (st === "ending") return "muted";
    return "warn";
  }

  // Each formatter shows v in el and returns the text, or fills el
  // itself and returns undefined.
  var fmt = {
    ts: function (v) { return ts(v); },
    rate: rate,
    rates: function (v) { return rate(v && v.per_sec_1m) + ", " + rate(v && v.per_sec_5m); },
    uptime: function (v) { return "up " + dur(time(v.now) - time(v.started)); },
    age: function (v, root) { return dur(time(root.now) - time(v)); },
    state: function (v, root, el) { el.className = stateClass(v); return v; },
    sstate: function (v, root, el) { el.className = sessionClass(v); return v; },
    window: function (v, root, el, item) {
      var w = item.window;
      return w > 0 ? v + "/" + w + " (" + Math.floor(v * 100 / w) + "%)" : String(v);
    },
    plink: function (v, root, el, item, i) {
      var a = document.createElement("a");
      a.href = "#p" + i;
      a.textContent = v;
      el.appendChild(a);
    },
    bindsup: function (v, root, el) {
      var up = 0;
      (v || []).forEach(function (b) { if (b.state === "bound" || b.state === "throttled") up++; });
      el.className = up < (v || []).length ? "bad" : "ok";
      return up + "/" + (v || []).length;
    },
    lasterr: function (v) {
      var e = v && v[0];
      return e ? ts(e.time) + " " + e.where + ": " + e.error : "";
    },
    store: function (v, root, el) {
      el.appendChild(document.createTextNode(v.addr + (v.topology ? " (" + v.topology + ")" : "")));
      if (v.embedded) {
        el.appendChild(document.createTextNode(" "));
        span(el, "warn", "(embedded: nothing persists a restart)");
      }
      el.appendChild(document.createTextNode(" "));
      if (v.ok) {
        span(el, "ok", "ok");
      } else {
        span(el, "bad", "down");
        el.appendChild(document.createTextNode(" " + (v.error || "")));
      }
      (v.nodes || []).forEach(function (n) {
        el.appendChild(document.createElement("br"));
        el.appendChild(document.createTextNode(n));
      });
      (v.warnings || []).forEach(function (w) {
        el.appendChild(document.createElement("br"));
        span(el, "warn", w.master + ": " + w.problem);
        var set = w.settings || {}, keys = Object.keys(set).sort(), text = "";
        if (keys.length) text += " (" + keys.map(function (k) { return k + " " + set[k]; }).join(", ") + ")";
        el.appendChild(document.createTextNode(text + " \u00b7 " + w.recommendation));
      });
    },
    nodes: function (v, root, el) {
      if (!v || !v.length) {
        span(el, "muted", "unknown");
        return;
      }
      v.forEach(function (n) {
        el.appendChild(document.createTextNode(n.name + " \u00b7 " + n.conversations + " conversations, " +
          n.sessions + " sessions, heartbeat " + ts(n.heartbeat)));
        el.appendChild(document.createElement("br"));
      });
    },
    draining: function (v, root, el) { span(el, v ? "bad" : "ok", v ? "yes" : "no"); },
    listeners: function (v, root, el) {
      (v || []).forEach(function (l) {
        var line = l.name + " " + l.addr;
        var c = l.connections;
        if (c) {
          line += " \u00b7 " + c.open + " open, " + c.accepted + " accepted, " + c.refused + " refused";
          if (c.accept_errors) line += ", " + c.accept_errors + " accept errors";
          Object.keys(c.closed || {}).sort().forEach(function (k) { line += ", " + c.closed[k] + " closed (" + k + ")"; });
        }
        el.appendChild(document.createTextNode(line));
        el.appendChild(document.createElement("br"));
      });
    },
    calls: function (v) {
      var r = v.refused || {};
      return v.live + " up, " + v.incoming + " incoming \u00b7 INVITEs refused: " + (r.forbidden || 0) +
        " forbidden (403), " + (r.busy || 0) + " busy (486), " + (r.overloaded || 0) + " overloaded (503)";
    },
    pageinfo: function (v) {
      var n = (v.items || []).length;
      if (v.total === 0) return v.filter ? "no session matches" : "no live sessions";
      if (v.offset >= v.total || n === 0) return "none of " + v.total + " sessions on this page";
      return "sessions " + (v.offset + 1) + "-" + (v.offset + n) + " of " + v.total;
    }
  };

  function show(el, v, root, item, i) {
    var f = fmt[el.getAttribute("data-f")];
    el.textContent = "";
    var text = f ? f(v, root, el, item, i) : (v == null ? "" : String(v));
    if (text !== undefined) el.textContent = text;
  }

  function render(root) {
    // A partner added or removed changes the page's layout: draw it anew.
    if (String((root.partners || []).length) !== document.body.getAttribute("data-partners")) {
      location.reload();
      return;
    }
    document.querySelectorAll("[data-k]").forEach(function (el) {
      var v = at(root, el.getAttribute("data-k"));
      if (v !== undefined) show(el, v, root);
    });
    document.querySelectorAll("tbody[data-rows]").forEach(function (body) {
      var tpl = body.querySelector("template");
      var list = at(root, body.getAttribute("data-rows")) || [];
      body.querySelectorAll(":scope > tr").forEach(function (tr) { tr.remove(); });
      list.forEach(function (item, i) {
        var tr = tpl.content.firstElementChild.cloneNode(true);
        tr.querySelectorAll("[data-c]").forEach(function (td) {
          show(td, at(item, td.getAttribute("data-c")), root, item, i);
        });
        body.appendChild(tr);
      });
    });
    refreshes++;
    var r = document.getElementById("refreshes");
    r.textContent = String(refreshes);
    r.setAttribute("data-refreshes", String(refreshes));
    document.getElementById("now").classList.remove("bad");
  }

  function tick() {
    fetch(src, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(render)
      .catch(function () {
        // Keep the last figures, marked stale by the time they were taken.
        document.getElementById("now").classList.add("bad");
      })
      .finally(function () { setTimeout(tick, period * 1000); });
  }
  setTimeout(tick, period * 1000);
})();
