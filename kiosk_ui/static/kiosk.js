// The kiosk screen's only script: follow the session (long polling), post choices without a
// page reload, the number keypads, the "still there?" countdown and the spoken prompts.
// Without it every button still works (plain forms); the screen then refreshes on taps only.
(function () {
  "use strict";
  var screen = document.getElementById("screen");
  var audio = document.getElementById("prompt");
  var version = parseInt(screen.dataset.version, 10);
  var step = screen.dataset.step;
  var lastInput = null;
  var countdownTimer = null;

  function frame() { return screen.querySelector(".frame"); }

  function keepValues(html, sameStep) {
    // A re-render of the same step (a notice, a warning) must not lose what was typed.
    var kept = {};
    if (sameStep) {
      screen.querySelectorAll("input.entry[name]").forEach(function (el) { kept[el.name] = el.value; });
    }
    screen.innerHTML = html;
    Object.keys(kept).forEach(function (name) {
      var el = screen.querySelector('input.entry[name="' + name + '"]');
      if (el && !el.value) { el.value = kept[name]; }
    });
  }

  function show(data, submitted) {
    if (!data || typeof data.version !== "number") { return; }
    if (data.version === version && data.step === step && !submitted) { return; }
    // Keep typed values only across re-renders the person did not cause (a warning, a
    // scan); after their own submit the screen starts clean (a wrong PIN is not kept).
    var sameStep = data.step === step && !submitted;
    var newStep = data.step !== step;
    version = data.version;
    step = data.step;
    keepValues(data.html, sameStep);
    document.documentElement.lang = data.lang === "en" ? "en" : "zh-CN";
    wire();
    if (newStep && data.audio) { speak(data.audio); }
  }

  function speak(url) {
    if (!audio || !url) { return; }
    audio.src = url;
    var played = audio.play();
    if (played && played.catch) { played.catch(function () { /* autoplay refused: fine */ }); }
  }

  function poll() {
    fetch("/poll?since=" + version, { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (data) { show(data); setTimeout(poll, 50); })
      .catch(function () { setTimeout(poll, 2000); });
  }

  function submit(form) {
    var body = new URLSearchParams(new FormData(form));
    fetch(form.action, { method: "POST", body: body, headers: { "X-Kiosk": "1" }, cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (data) { show(data, true); })
      .catch(function () { form.submit(); });
  }

  function press(key, target) {
    if (!target) { return; }
    if (key === "clear") { target.value = ""; }
    else if (key === "back") { target.value = target.value.slice(0, -1); }
    else if (!target.maxLength || target.maxLength < 0 || target.value.length < target.maxLength) {
      target.value += key;
    }
  }

  function wire() {
    var f = frame();
    if (!f) { return; }
    lastInput = null;
    f.querySelectorAll("input[data-keypad], input.entry").forEach(function (el) {
      el.addEventListener("focus", function () { if (el.hasAttribute("data-keypad") || el.inputMode === "numeric" || el.inputMode === "decimal") { lastInput = el; } });
    });
    f.querySelectorAll(".keypad").forEach(function (pad) {
      pad.addEventListener("click", function (e) {
        var btn = e.target.closest(".key");
        if (!btn) { return; }
        var target = lastInput || document.getElementById(pad.dataset.target);
        press(btn.dataset.key, target);
      });
    });
    var speakBtn = f.querySelector("#speak");
    if (speakBtn) { speakBtn.addEventListener("click", function () { speak(speakBtn.dataset.audio); }); }
    var counter = f.querySelector(".countdown");
    if (countdownTimer) { clearInterval(countdownTimer); countdownTimer = null; }
    if (counter) {
      var left = parseInt(counter.dataset.seconds, 10);
      countdownTimer = setInterval(function () {
        left = Math.max(0, left - 1);
        counter.textContent = String(left);
      }, 1000);
    }
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.action || form.action.indexOf("/act/") < 0) { return; }
    e.preventDefault();
    submit(form);
  });

  wire();
  poll();
})();
