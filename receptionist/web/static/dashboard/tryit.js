// Try it: talk to the receptionist. Each turn posts to the server, which plays the call (the simulator) one
// caller turn at a time; replies are shown and, where the browser can, spoken with its own speech synthesis.
(function () {
  "use strict";
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var conversation = document.getElementById("conversation");
  var sayForm = document.getElementById("tryit-say");
  var sayInput = document.getElementById("say");
  var status = document.getElementById("tryit-status");
  var errorBox = document.getElementById("tryit-error");
  var speakBox = document.getElementById("speak");
  var callSid = null;
  var heard = [];

  function post(path, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (data) { return {ok: response.ok, data: data}; });
    });
  }

  function line(kind, text) {
    var li = document.createElement("li");
    li.className = kind;
    var who = document.createElement("b");
    who.textContent = kind === "caller" ? "Caller: " : kind === "receptionist" ? "Receptionist: " : "";
    li.appendChild(who);
    li.appendChild(document.createTextNode(text));
    conversation.appendChild(li);
  }

  function speak(text) {
    if (!speakBox.checked || !text || !("speechSynthesis" in window)) { return; }
    try {
      window.speechSynthesis.cancel();
      window.speechSynthesis.speak(new SpeechSynthesisUtterance(text));
    } catch (e) { /* no voice available: the text is on screen */ }
  }

  function show(data) {
    var turns = data.turns || [];
    var spoken = [];
    conversation.textContent = "";
    for (var i = 0; i < turns.length; i++) {
      var t = turns[i];
      if (t.caller) { line("caller", t.caller); }
      if (t.receptionist) {
        line("receptionist", t.receptionist);
        var before = heard[i] || "";
        if (t.receptionist !== before) {
          spoken.push(t.receptionist.indexOf(before) === 0 ? t.receptionist.slice(before.length) : t.receptionist);
        }
      }
    }
    heard = turns.map(function (t) { return t.receptionist || ""; });
    (data.events || []).forEach(function (e) { line("event", e); });
    speak(spoken.join(" "));
    var route = data.route ? "route: " + data.route : "route: not decided yet";
    if (data.transfer) { route += ", transfer " + data.transfer; }
    if (data.appointment) { route += ", appointment " + data.appointment.action + " " + data.appointment.start; }
    if (data.ended) {
      status.textContent = "Call ended (" + route + ").";
      sayForm.hidden = true;
      callSid = null;
    } else {
      status.textContent = "In the call (" + route + ")" + (data.keypad ? ": this prompt takes keys, type digits." : ".");
      sayForm.hidden = false;
      sayInput.focus();
    }
    status.setAttribute("data-route", data.route || "");
    status.setAttribute("data-ended", data.ended ? "yes" : "no");
  }

  function fail(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function handle(result) {
    if (!result.ok) { fail(result.data.error || "Something went wrong."); return; }
    errorBox.hidden = true;
    show(result.data);
  }

  document.getElementById("tryit-start").addEventListener("submit", function (event) {
    event.preventDefault();
    conversation.textContent = "";
    heard = [];
    status.textContent = "Calling...";
    post("/try/start", {caller: document.getElementById("caller").value, when: document.getElementById("when").value}).then(function (result) {
      if (result.ok) { callSid = result.data.call_sid; }
      handle(result);
    }).catch(function () { fail("The server did not answer."); });
  });

  sayForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = sayInput.value.trim();
    if (!text || !callSid) { return; }
    sayInput.value = "";
    post("/try/say", {call_sid: callSid, text: text}).then(handle)
      .catch(function () { fail("The server did not answer."); });
  });

  document.getElementById("hangup").addEventListener("click", function () {
    if (!callSid) { return; }
    post("/try/hangup", {call_sid: callSid}).then(handle)
      .catch(function () { fail("The server did not answer."); });
  });
})();
