// Runs the voting page's script (services/gateway/static/vote.js) against a stub page under Node: two votes in one tab,
// then one from another tab of the same browser (another identity); prints the vote bodies the page sent.
// `no-storage` as the second argument: a browser whose storage refuses to keep anything.
const fs = require("fs");
const vm = require("vm");
const [script, mode] = process.argv.slice(2);
function stub(name) {
  const el = { textContent: name === "vote-messages" ? JSON.stringify({"captcha_prompt": "captcha_prompt {n}","code_format": "code_format {n}","code_sent": "code_sent {n}","internal_error": "internal_error {n}","phone_invalid": "phone_invalid {n}","receipt_check": "receipt_check {n}","receipt_no": "receipt_no {n}","resend_in": "resend_in {n}","send_code": "send_code {n}","ticket_invalid": "ticket_invalid {n}","verified": "verified {n}","verified_title": "verified_title {n}","verify_title": "verify_title {n}","voted": "voted {n}","votes_left": "votes_left {n}","wechat_verified": "wechat_verified {n}"}) : "", hidden: false, className: "", value: "",
    style: {}, attrs: {}, listeners: {},
    getAttribute(k) { return this.attrs[k] === undefined ? null : this.attrs[k]; },
    setAttribute(k, v) { this.attrs[k] = v; }, removeAttribute(k) { delete this.attrs[k]; },
    addEventListener(t, fn) { this.listeners[t] = fn; }, focus() {}, appendChild() {},
    classList: { toggle() {}, add() {}, remove() {} }, parentNode: { insertBefore() {} },
    querySelector() { return stub("button"); } };
  return el;
}
function store(broken) {
  const m = new Map();
  if (broken) return { getItem() { throw new Error("denied"); }, setItem() { throw new Error("denied"); } };
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)),
           removeItem: (k) => m.delete(k) };
}
const local = store(mode === "no-storage");
const sent = [];
function page(session) {
  const els = {};
  const form = stub("form");
  form.attrs["data-entry"] = "e1";
  form.elements = { count: { value: "2" } };
  const doc = { getElementById: (id) => (els[id] = els[id] || stub(id)), documentElement: { lang: "zh" },
                querySelectorAll: (q) => (q === ".vote-form" ? [form] : []), createElement: () => stub("p") };
  const ctx = { document: doc, sessionStorage: session, localStorage: local, JSON, Math, Date, String, parseInt,
    console, setInterval: () => 1, clearInterval() {}, setTimeout: () => 1, history: { replaceState() {} },
    crypto: { randomUUID: () => "u-" + Math.random().toString(16).slice(2) }, Array, Promise, encodeURIComponent,
    location: { hash: "", pathname: "/c/x", search: "" }, navigator: { userAgent: "Mozilla/5.0" },
    fetch: (url, opts) => { if (opts && opts.body) sent.push(JSON.parse(opts.body));
      return Promise.resolve({ ok: true, status: 200, json: () => Promise.resolve({ count: 2 }) }); } };
  ctx.window = ctx;
  els["vote-panel"] = stub("vote-panel");
  els["vote-panel"].attrs["data-campaign"] = "c1";
  vm.runInNewContext(fs.readFileSync(script, "utf8"), ctx);
  return form;
}
async function vote(form) { form.listeners.submit({ preventDefault() {} }); await new Promise((r) => setImmediate(r)); }
(async () => {
  const tab = store(false);
  tab.setItem("massline-ticket:c1", "t1");
  const first = page(tab);
  await vote(first); await vote(first);
  const other = store(false);
  other.setItem("massline-ticket:c1", "t2");
  await vote(page(other));
  console.log(JSON.stringify(sent.filter((b) => b.entry_id)));
})();
