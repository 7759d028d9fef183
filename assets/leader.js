// The team leader's page. Every 签到 and 缺席 goes into a queue kept on the phone first and is
// sent from there, with its idempotency key: with no signal, actions wait and are sent when
// the connection returns, and one sent twice counts once. Without JavaScript the forms post
// as they are.
(function () {
  "use strict";
  var storeKey = "sciday-queue:" + location.pathname;
  var status = document.getElementById("queue");
  var sending = false;

  function load() {
    try {
      return JSON.parse(localStorage.getItem(storeKey) || "[]");
    } catch (e) {
      return [];
    }
  }

  function show(queue) {
    status.textContent = queue.length
      ? "网络未连接：" + queue.length + " 项操作已保存在手机上，恢复网络后自动发送"
      : "";
  }

  function save(queue) {
    localStorage.setItem(storeKey, JSON.stringify(queue));
    show(queue);
  }

  function newKey() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  // The latest answer only: a pile of old ones would push the roster off a phone's screen.
  function say(ok, text) {
    document.querySelectorAll("p[data-said]").forEach(function (old) { old.remove(); });
    var note = document.createElement("p");
    note.setAttribute("data-said", "");
    note.className = "notice " + (ok ? "ok" : "error");
    note.setAttribute("role", ok ? "status" : "alert");
    note.textContent = text;
    status.after(note);
  }

  function apply(item, ok, answer) {
    var id = (answer && answer.assignment_id) || item.body.assignment;
    var row = id && document.getElementById("a" + id);
    var badge = row && row.querySelector("[data-status]");
    if (ok && answer && badge) {
      badge.textContent = answer.label;
      badge.className = "badge " + (answer.status === "checked_in" ? "ok" : "off");
      row.querySelectorAll("form.act").forEach(function (form) { form.remove(); });
    } else if (badge && badge.dataset.was) {
      // Refused: the row says again what it said before the tap.
      badge.textContent = badge.dataset.was;
    }
    var who = row && row.querySelector(".who strong");
    if (ok && answer && who) {
      say(true, who.textContent + "：" + answer.label);
    } else {
      say(ok, answer && answer.message ? answer.message : "操作未完成，请刷新页面后再试。");
    }
  }

  async function flush() {
    if (sending) return;
    sending = true;
    try {
      var queue = load();
      while (queue.length) {
        var item = queue[0];
        var response;
        try {
          response = await fetch(item.url, {
            method: "POST",
            headers: { "Content-Type": "application/json", "X-CSRF-Token": item.csrf },
            body: JSON.stringify(item.body),
            credentials: "same-origin",
          });
        } catch (offline) {
          break;
        }
        if (response.status >= 500) break;
        var answer = null;
        try {
          answer = await response.json();
        } catch (unreadable) {
          answer = null;
        }
        queue = load().filter(function (queued) { return queued.body.key !== item.body.key; });
        save(queue);
        apply(item, response.ok, answer);
      }
      show(load());
    } finally {
      sending = false;
    }
  }

  document.querySelectorAll("form.act").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var body = Object.fromEntries(new FormData(form));
      var queue = load();
      if (!queue.some(function (queued) { return queued.body.key === body.key; })) {
        // Not form.action: in a form with a field named "action" that is the field.
        var url = new URL(form.getAttribute("action"), location.href).href;
        queue.push({ url: url, csrf: body.csrf, body: body });
      }
      save(queue);
      if (form.elements.code) {
        form.elements.code.value = "";
        form.elements.key.value = newKey();
      }
      var row = form.closest("li");
      if (row) {
        var badge = row.querySelector("[data-status]");
        if (!badge.dataset.was) badge.dataset.was = badge.textContent;
        badge.textContent = "已记录，等待发送";
      }
      flush();
    });
  });

  window.addEventListener("online", flush);
  setInterval(flush, 3000);
  show(load());
  flush();

  // The camera, where the browser can read QR codes itself.
  var start = document.getElementById("scan-start");
  if ("BarcodeDetector" in window && navigator.mediaDevices && start) {
    start.hidden = false;
    start.addEventListener("click", async function () {
      var video = document.getElementById("scan-video");
      var input = document.getElementById("code");
      try {
        var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        var stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
        video.srcObject = stream;
        video.hidden = false;
        await video.play();
        var look = async function () {
          var found = await detector.detect(video);
          if (found.length) {
            stream.getTracks().forEach(function (track) { track.stop(); });
            video.hidden = true;
            input.value = found[0].rawValue;
            input.form.requestSubmit();
            return;
          }
          requestAnimationFrame(look);
        };
        look();
      } catch (refused) {
        say(false, "无法打开相机，请输入签到码。");
      }
    });
  }
})();
