// The receipt check on the vote-log page, done in the browser: the vote's proof and the published roots are fetched,
// and the leaf hash and the audit path are computed here with SubtleCrypto (SHA-256), as docs/transparency.md says.
(function () {
  "use strict";
  var box = document.getElementById("receipt-check");
  if (!box || !window.crypto || !crypto.subtle) return;
  var campaign = box.getAttribute("data-campaign");
  var base = "/api/voting/campaigns/" + encodeURIComponent(campaign) + "/vote-log";
  var messages = JSON.parse(document.getElementById("vote-messages").textContent);
  var input = document.getElementById("receipt-vote-id");
  var result = document.getElementById("receipt-result");
  var FIELDS = ["campaign_id", "count", "day", "entry_id", "status", "vote_id", "voter"];

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return values[key] !== undefined ? String(values[key]) : all; });
  }
  function say(text, kind) { result.textContent = text; result.className = "notice " + kind; result.hidden = false; }

  // The leaf's canonical JSON: its fields in sorted order, no spaces (JSON.stringify escapes as Python's json does).
  function canonical(leaf) {
    return "{" + FIELDS.map(function (k) { return JSON.stringify(k) + ":" + JSON.stringify(leaf[k]); }).join(",") + "}";
  }
  function joined(prefix, parts) {
    var size = 1;
    parts.forEach(function (p) { size += p.length; });
    var out = new Uint8Array(size);
    out[0] = prefix;
    var at = 1;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }
  async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }
  function hex(bytes) { return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join(""); }
  function unhex(text) { return new Uint8Array(text.match(/../g).map(function (h) { return parseInt(h, 16); })); }

  // RFC 9162 §2.1.3.2: the root the audit path leads to from leaf `index` of a tree of `size` leaves, or null.
  async function rootFromPath(leafHash, index, size, path) {
    if (index >= size) return null;
    var fn = index, sn = size - 1, r = leafHash;
    for (var i = 0; i < path.length; i++) {
      if (sn === 0) return null;
      if ((fn & 1) || fn === sn) {
        r = await sha256(joined(1, [path[i], r]));
        if (!(fn & 1)) { while (fn !== 0 && !(fn & 1)) { fn >>= 1; sn >>= 1; } }
      } else {
        r = await sha256(joined(1, [r, path[i]]));
      }
      fn >>= 1; sn >>= 1;
    }
    return sn === 0 ? hex(r) : null;
  }

  async function getJson(path) {
    var r = await fetch(base + path);
    var data = await r.json().catch(function () { return {}; });
    if (!r.ok) throw (data && data.error) || { code: "service_unavailable" };
    return data;
  }

  async function check(voteId) {
    var proof = await getJson("/proof?vote_id=" + encodeURIComponent(voteId));
    var seals = (await getJson("/seals")).seals;
    var seal = seals.filter(function (s) { return s.day === proof.day && s.seq === proof.seq; })[0];
    var leafHash = await sha256(joined(0, [new TextEncoder().encode(canonical(proof.leaf))]));
    var root = await rootFromPath(leafHash, proof.index, proof.tree_size, proof.audit_path.map(unhex));
    var ok = seal && proof.leaf.vote_id === voteId && seal.leaf_count === proof.tree_size && root === seal.root;
    if (!ok) { say(messages.receipt_bad, "error"); return; }
    say(fill(messages.receipt_ok, { day: proof.day, index: proof.index + 1, size: proof.tree_size,
                                    status: messages["leaf_" + proof.leaf.status] || proof.leaf.status }), "ok");
  }

  document.getElementById("receipt-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var voteId = input.value.trim().toLowerCase();
    check(voteId).catch(function (error) {
      say(fill(messages.receipt_unavailable, { reason: messages[error.code] || error.code || "" }), "error");
    });
  });
  var asked = new URLSearchParams(window.location.search).get("vote_id");
  if (asked) { input.value = asked; document.getElementById("receipt-form").requestSubmit(); }
})();
