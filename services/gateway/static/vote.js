// Voting on a phone: verify the number, keep the voter ticket for this tab, vote, show what is left today.
(function () {
  "use strict";
  var panel = document.getElementById("vote-panel");
  if (!panel) return;
  var campaign = panel.getAttribute("data-campaign");
  var base = "/api/voting/campaigns/" + encodeURIComponent(campaign);
  var messages = JSON.parse(document.getElementById("vote-messages").textContent);
  var english = document.documentElement.lang === "en";
  var ticketKey = "massline-ticket:" + campaign;
  var verifyForm = document.getElementById("verify-form");
  var phoneInput = document.getElementById("voter-phone");
  var codeInput = document.getElementById("voter-code");
  var sendButton = document.getElementById("send-code");
  var forget = document.getElementById("forget-voter");
  var left = document.getElementById("votes-left");
  var status = document.getElementById("vote-message");
  var captchaField = document.getElementById("captcha-field");
  var captchaImage = document.getElementById("captcha-image");
  var captchaInput = document.getElementById("captcha-answer");
  var wechat = document.getElementById("wechat-verify");
  var state = document.getElementById("vote-state");
  var wechatOffered = false;
  var countdown = null;

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) {
      return values && values[key] !== undefined ? String(values[key]) : all;
    });
  }

  function sentence(error) {
    var text = messages[error.code];
    if (text) {
      text = fill(text, error.details || {});
      if (text.indexOf("{") === -1) return text;
    }
    return (english ? error.message : error.message_zh) || messages.internal_error;
  }

  function say(where, text, kind) {
    where.textContent = text;
    where.className = "notice " + (kind || "");
    where.hidden = false;
  }

  function ticket() { return sessionStorage.getItem(ticketKey); }

  // Once verified the panel says so and hides the phone form; it offers another number instead.
  function showVerified(verified) {
    state.textContent = verified ? messages.verified_title : messages.verify_title;
    panel.classList.toggle("verified", verified);
    verifyForm.hidden = verified;
    forget.hidden = !verified;
    wechat.hidden = verified || !wechatOffered;
    if (!verified) left.hidden = true;
  }

  function showLeft(remaining) {
    left.textContent = fill(messages.votes_left, { n: remaining });
    left.hidden = false;
  }

  function request(method, path, body, withTicket) {
    var headers = { "content-type": "application/json" };
    if (withTicket && ticket()) headers.authorization = "Bearer " + ticket();
    return fetch(base + path, { method: method, headers: headers, body: body ? JSON.stringify(body) : undefined })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (data) {
          if (r.ok) return data;
          var error = (data && data.error) || { code: r.status >= 500 ? "service_unavailable" : "internal_error" };
          throw error;
        });
      }, function () { throw { code: "network_error" }; });
  }

  function forgetTicket() {
    sessionStorage.removeItem(ticketKey);
    showVerified(false);
  }

  function refreshLeft() {
    if (!ticket()) { showVerified(false); return; }
    showVerified(true);
    // A ticket this page has not shown yet comes back stamped with the time of this page view (claim `pv`):
    // kept and voted with, so each vote says its voter had the campaign's page open (docs/pages.md).
    request("GET", "/voters/me", null, true).then(function (me) {
      if (me.ticket) sessionStorage.setItem(ticketKey, me.ticket);
      showLeft(me.remaining_today);
    }, function (error) {
      if (error.code === "ticket_expired" || error.code === "ticket_invalid") forgetTicket();
    });
  }

  // The captcha: shown when the service asks for one (many codes were asked for from this network). Each picture
  // takes one answer; a wrong one brings a new picture.
  function showCaptcha() {
    return request("POST", "/voters/captcha").then(function (challenge) {
      captchaImage.src = challenge.image;
      captchaImage.setAttribute("data-captcha-id", challenge.captcha_id);
      captchaInput.value = "";
      captchaField.hidden = false;
    }, function (error) { say(status, sentence(error), "error"); });
  }

  function hideCaptcha() {
    captchaField.hidden = true;
    captchaImage.removeAttribute("data-captcha-id");
    captchaImage.removeAttribute("src");
    captchaInput.value = "";
  }

  document.getElementById("captcha-refresh").addEventListener("click", function () {
    showCaptcha().then(function () { captchaInput.focus(); });
  });

  // After a code is sent the button waits out the service's resend interval, counting down each second.
  function waitToResend(seconds) {
    if (countdown) clearInterval(countdown);
    var left = Math.max(1, Math.ceil(seconds));
    function tick() {
      if (left <= 0) {
        clearInterval(countdown);
        countdown = null;
        sendButton.disabled = false;
        sendButton.textContent = messages.send_code;
        return;
      }
      sendButton.disabled = true;
      sendButton.textContent = fill(messages.resend_in, { n: left });
      left -= 1;
    }
    tick();
    countdown = setInterval(tick, 1000);
  }

  sendButton.addEventListener("click", function () {
    var phone = phoneInput.value.trim();
    if (!/^1[3-9]\d{9}$/.test(phone)) {
      phoneInput.setAttribute("aria-invalid", "true");
      say(status, messages.phone_invalid, "error");
      phoneInput.focus();
      return;
    }
    phoneInput.removeAttribute("aria-invalid");
    var body = { phone: phone };
    if (!captchaField.hidden) {
      var answer = captchaInput.value.trim();
      if (!answer) { say(status, messages.captcha_prompt, "error"); captchaInput.focus(); return; }
      body.captcha_id = captchaImage.getAttribute("data-captcha-id");
      body.captcha_answer = answer;
    }
    sendButton.disabled = true;
    request("POST", "/voters/sms-code", body).then(function (sent) {
      hideCaptcha();
      say(status, messages.code_sent, "ok");
      waitToResend(sent.resend_after_s || 60);
      codeInput.focus();
    }, function (error) {
      say(status, sentence(error), "error");
      if (error.code === "code_recently_sent" && error.details && error.details.retry_after_s) {
        waitToResend(error.details.retry_after_s);
      }
      if (error.code === "captcha_required" || error.code === "captcha_wrong") {
        return showCaptcha().then(function () { captchaInput.focus(); });
      }
    }).then(function () { if (!countdown) sendButton.disabled = false; });
  });

  verifyForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var phone = phoneInput.value.trim();
    var code = codeInput.value.trim();
    if (!/^1[3-9]\d{9}$/.test(phone)) { say(status, messages.phone_invalid, "error"); phoneInput.focus(); return; }
    if (!/^\d{6}$/.test(code)) { say(status, messages.code_format, "error"); codeInput.focus(); return; }
    request("POST", "/voters/sms-verify", { phone: phone, code: code }).then(function (answer) {
      sessionStorage.setItem(ticketKey, answer.ticket);
      codeInput.value = "";
      say(status, messages.verified, "ok");
      refreshLeft();
    }, function (error) { say(status, sentence(error), "error"); codeInput.focus(); });
  });

  forget.addEventListener("click", function () { forgetTicket(); status.hidden = true; phoneInput.focus(); });

  // The vote's receipt (回执编号) and a link to check it on the vote-log page once its day is sealed.
  function showReceipt(where, receipt) {
    var line = document.createElement("span");
    line.className = "receipt";
    line.textContent = " " + fill(messages.receipt_no, { vote_id: receipt.vote_id }) + " ";
    var link = document.createElement("a");
    link.href = "/c/" + encodeURIComponent(campaign) + "/vote-log?vote_id=" + encodeURIComponent(receipt.vote_id);
    link.textContent = messages.receipt_check;
    line.appendChild(link);
    where.appendChild(line);
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return Date.now().toString(36) + Math.random().toString(36).slice(2);
  }

  // The browser's device id: a random value this browser keeps for the site (not derived from anything about the
  // person or the phone), sent with each vote so that many identities voting from one browser can be told
  // (docs/pages.md). A browser that keeps nothing (private mode, storage off) sends none, and is judged without.
  var deviceKey = "massline-device";
  function deviceId() {
    try {
      var id = localStorage.getItem(deviceKey);
      if (!id) {
        id = "web-" + newKey();
        localStorage.setItem(deviceKey, id);
      }
      return id;
    } catch (e) {
      return undefined;
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll(".vote-form"), function (form) {
    var result = document.createElement("p");
    result.className = "notice";
    result.hidden = true;
    result.setAttribute("aria-live", "polite");
    result.setAttribute("role", "status");
    form.parentNode.insertBefore(result, form.nextSibling);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!ticket()) {
        say(result, messages.ticket_invalid, "error");
        phoneInput.focus();
        return;
      }
      var count = parseInt(form.elements.count.value, 10);
      if (!(count >= 1)) count = 1;
      var button = form.querySelector("button");
      button.disabled = true;
      request("POST", "/votes", { entry_id: form.getAttribute("data-entry"), count: count, idempotency_key: newKey(),
                                  device: deviceId() }, true).then(function (answer) {
        say(result, fill(messages.voted, { count: answer.count }), "ok");
        if (answer.receipt) showReceipt(result, answer.receipt);
        if (answer.remaining_today !== undefined) showLeft(answer.remaining_today);
      }, function (error) {
        say(result, sentence(error), "error");
        if (error.code === "ticket_expired" || error.code === "ticket_invalid") { forgetTicket(); }
        if (error.details && error.details.remaining_today !== undefined) showLeft(error.details.remaining_today);
      }).then(function () { button.disabled = false; });
    });
  });

  // Back from WeChat sign-in: the ticket comes in the address's fragment (which no server sees); it is kept for
  // this tab and taken out of the address, so a shared or bookmarked link carries none.
  var fromWechat = /^#voter-ticket=([A-Za-z0-9._-]+)$/.exec(window.location.hash);
  if (fromWechat) {
    sessionStorage.setItem(ticketKey, fromWechat[1]);
    history.replaceState(null, "", window.location.pathname + window.location.search);
    say(status, messages.wechat_verified, "ok");
  }

  // WeChat sign-in is offered inside WeChat's own browser, where the campaign's official account can authorise.
  if (/MicroMessenger/i.test(navigator.userAgent)) {
    request("GET", "/voters/methods").then(function (methods) {
      wechatOffered = !!methods.wechat;
      wechat.hidden = !!ticket() || !wechatOffered;
    }, function () {});
  }

  refreshLeft();
})();
