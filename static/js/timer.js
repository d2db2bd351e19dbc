/* Speaking timers and the chair console's live refresh.
 *
 * A timer is <span class="timer" data-timer-start="epoch ms" data-timer-limit="seconds">: it
 * counts down the speaker's time and, past it, shows the overrun as +m:ss (class "overrun").
 * Every second all timers on the page are redrawn, so timers in fragments swapped in live
 * need no setup. The console ([data-follow-live]) reloads itself when the meeting changes,
 * unless the chair is typing in it.
 */
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function tick() {
    document.querySelectorAll(".timer[data-timer-start]").forEach(function (el) {
      var start = parseInt(el.getAttribute("data-timer-start"), 10);
      var limit = parseInt(el.getAttribute("data-timer-limit"), 10);
      if (!start || isNaN(limit)) return;
      var left = limit - Math.floor((Date.now() - start) / 1000);
      var over = left < 0;
      var s = Math.abs(left);
      el.textContent = (over ? "+" : "") + Math.floor(s / 60) + ":" + pad(s % 60);
      el.classList.toggle("overrun", over);
    });
  }
  tick();
  setInterval(tick, 1000);

  function typing(container) {
    var el = document.activeElement;
    return el && container.contains(el) && (el.tagName === "TEXTAREA" || el.tagName === "INPUT") &&
      el.type !== "hidden" && el.type !== "submit" && el.value;
  }
  document.body.addEventListener("live-meeting-state", function () {
    var console = document.querySelector("[data-follow-live]");
    if (console && window.htmx && !typing(console)) window.htmx.trigger(console, "refresh");
  });
})();
