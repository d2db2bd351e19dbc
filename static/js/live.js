/* Deliberation Hall live bridge: Socket.IO events -> page fragments (and htmx triggers).
 *
 * Elements with data-live-room="item:7" name the rooms this page follows; data-live-last holds
 * the newest event id when the page was rendered. On every (re)connect we join each room
 * asking for the events after the last one we applied, so a dropped connection misses
 * nothing; ids already applied are skipped, so nothing is applied twice.
 * Each event may carry {html, target, swap}; every event is also re-dispatched on <body> as
 * "live-<name with dots as dashes>" so htmx elements can react with hx-trigger="... from:body".
 */
(function () {
  "use strict";
  var roomEls = document.querySelectorAll("[data-live-room]");
  if (!roomEls.length || typeof window.io !== "function") return;

  var rooms = [];
  var lastId = 0;
  roomEls.forEach(function (el) {
    var room = el.getAttribute("data-live-room");
    if (rooms.indexOf(room) === -1) rooms.push(room);
    var last = parseInt(el.getAttribute("data-live-last") || "0", 10);
    if (last > lastId) lastId = last;
  });
  var locale = document.documentElement.getAttribute("data-locale") || "zh_CN";
  var applied = new Set();
  var statusEl = document.querySelector("[data-live-status]");

  // <html data-live="connected|offline"> lets styles and browser tests see the connection.
  function mark(state) { document.documentElement.setAttribute("data-live", state); }

  function showStatus(key) {
    if (!statusEl) return;
    var text = key ? statusEl.getAttribute("data-msg-" + key) : "";
    statusEl.textContent = text || "";
    statusEl.hidden = !text;
  }

  function fragment(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    return tpl.content.firstElementChild;
  }

  function apply(ev) {
    var target = document.querySelector(ev.target);
    var node = fragment(ev.html);
    if (!target || !node) return;
    if (ev.swap === "beforeend") {
      if (node.id && document.getElementById(node.id)) return; // already on the page
      target.appendChild(node);
    } else {
      target.replaceWith(node);
    }
    if (window.htmx) window.htmx.process(node);
  }

  var socket = window.io({ transports: ["websocket", "polling"] });
  socket.on("connect", function () {
    showStatus("");
    mark("connected");
    rooms.forEach(function (room) {
      socket.emit("join", { room: room, locale: locale, last_id: lastId }, function (ack) {
        if (ack && ack.reload) window.location.reload(); // missed too much to replay
      });
    });
  });
  socket.on("disconnect", function () { showStatus("offline"); mark("offline"); });
  socket.io.on("reconnect_attempt", function () { showStatus("offline"); });
  socket.onAny(function (name, ev) {
    if (!ev || typeof ev.id !== "number" || applied.has(ev.id)) return;
    applied.add(ev.id);
    if (ev.id > lastId) lastId = ev.id;
    if (ev.html && ev.target) apply(ev);
    document.body.dispatchEvent(new CustomEvent("live-" + name.replace(/\./g, "-"), { detail: ev }));
  });
  window.deliberationLive = { socket: socket, lastId: function () { return lastId; } };
})();
