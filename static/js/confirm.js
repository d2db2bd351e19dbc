/* Irreversible buttons ask first.
 *
 * A <form data-confirm="what will happen"> is not sent straight away: a <dialog> says what will
 * happen (data-confirm-title, data-confirm-ok and data-confirm-cancel give its heading and
 * buttons) and only "ok" sends it, with confirmed=1 added. The listener runs in the capture
 * phase on the document, so it sees the submit before htmx does. Without JavaScript the form
 * is sent unconfirmed and the server answers with a confirmation page instead: nothing
 * irreversible happens on one click either way. A console that refreshes live while the dialog
 * is open replaces the form; the form with the same data-confirm-id is sent then.
 */
(function () {
  "use strict";
  var dialog = null;
  var pending = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
    dialog.innerHTML = '<form method="dialog"><h2 id="confirm-dialog-title"></h2><p class="confirm-text"></p>' +
      '<p class="actions"><button value="ok" class="button button-danger"></button> ' +
      '<button value="cancel" class="button button-secondary" autofocus></button></p></form>';
    document.body.appendChild(dialog);
    dialog.addEventListener("close", function () {
      var form = pending;
      pending = null;
      if (dialog.returnValue !== "ok" || !form) return;
      if (!form.isConnected && form.dataset.confirmId) {
        form = document.querySelector('form[data-confirm-id="' + form.dataset.confirmId + '"]');
      }
      if (!form) return;
      var flag = document.createElement("input");
      flag.type = "hidden";
      flag.name = "confirmed";
      flag.value = "1";
      form.appendChild(flag);
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.matches || !form.matches("form[data-confirm]")) return;
    if (form.querySelector('input[name="confirmed"]')) return;
    if (!window.HTMLDialogElement) return;  // no <dialog>: the server's confirmation page asks
    event.preventDefault();
    event.stopImmediatePropagation();
    if (!dialog) build();
    pending = form;
    dialog.querySelector("h2").textContent = form.dataset.confirmTitle || "";
    dialog.querySelector(".confirm-text").textContent = form.dataset.confirm;
    dialog.querySelector('button[value="ok"]').textContent = form.dataset.confirmOk || "OK";
    dialog.querySelector('button[value="cancel"]').textContent = form.dataset.confirmCancel || "Cancel";
    dialog.returnValue = "";
    dialog.showModal();
  }, true);
})();
