// The page: the channel, its threads, notices and modals, as one person sees them; what they do
// goes to the emulator (/ui/*), which delivers it to the app as Slack would. Drawing is blockkit.js.
"use strict";
const NOTICE_SECONDS = 30;  // an ephemeral notice shows this long (beside the channel, never over it)
const NOTICES_SHOWN = 3;
const COMPOSER_HINT = () => tab === "messages" ?
  "Write to the app, or click a suggested prompt: each message starts a conversation in its own " +
  "thread; reply there to go on." :
  `Try <code>${esc(state.example || "/orchestrate <input>")}</code>` +
  (state.talk_example ? ` or mention the app: <code>${esc(state.talk_example)}</code>` : "") +
  ". Reviews arrive in the thread; answer them there.";  // the examples fit the hosted graphs
const PLACEHOLDERS = { channel: "Type /orchestrate <topic> or @Orchestrator <message> and press Enter",
                       messages: "Message Orchestrator" };
const APP = "UORCHBOT";

let state = { version: -1, now: 0, names: {}, people: {}, messages: [], notices: [], views: {},
              homes: {}, channel: {}, dms: {}, prompts: {} };
let tab = "channel";  // what the person looks at: the channel, the app's Messages or Home tab
let clockOffset = 0;  // server time minus this browser's, so notices expire on the server's clock
const me = document.getElementById("me");
const feed = document.getElementById("feed");
const composer = document.getElementById("composer");
const composerHint = document.getElementById("composer-hint");
const drafts = {};  // reply boxes keep their text across re-renders
const dismissed = new Set();  // notice ids
const foldChoice = {};  // root ts → true (folded) / false, when the person used the toggle
const seenRunning = new Set();  // roots this page saw unfinished: they stay open when they finish

function messageHtml(m) {
  const bot = m.user === APP;
  const name = state.names[m.user] || m.user;
  const content = streamedContent(m) ?? (m.blocks && m.blocks.length ? m.blocks.map((b) => block(b, m)).join("")
                                              : `<div class="blk-section">${mrkdwn(m.text)}</div>`);
  const reactions = (m.reactions || []).map((r) => `<span class="reaction">${r.name === "memo" ? "📝" : ":" + esc(r.name) + ":"} ${r.count}</span>`).join("");
  return `<div class="msg" data-ts="${m.ts}"><div class="avatar ${bot ? "bot" : ""}">${esc(name[0].toUpperCase())}</div>
    <div class="body"><div class="who">${esc(name)}${bot ? " <small>APP</small>" : ""}<small>${when(parseFloat(m.ts))}</small>
    ${m.edited ? '<span class="edited">(edited)</span>' : ""}</div>${content}${reactions}</div></div>`;
}

// -- the channel ---------------------------------------------------------------------------------

// A run's status line is the root's context block ("Started by @ana · ✅ Done: …"). A thread
// that still asks for a click (Retry after a stop, a review) is not finished, whatever it says.
function finished(root, replies) {
  const status = (root.blocks || []).filter((b) => b.type === "context")
    .flatMap((b) => b.elements.map((e) => e.text || "")).join(" ") || root.text;
  return /\b(Done|Stopped|Cancelled)\b/.test(status) && ![root, ...replies].some(hasControls);
}

function folded(root, replies) {
  if (!finished(root, replies)) { seenRunning.add(root.ts); return false; }
  return foldChoice[root.ts] ?? !seenRunning.has(root.ts);
}

function threadHtml(root, replies, user, channel) {
  const count = `${replies.length} repl${replies.length === 1 ? "y" : "ies"}`;
  if (folded(root, replies))
    return `<div class="thread" data-root="${root.ts}"><button class="toggle" data-toggle="${root.ts}" ` +
      `aria-expanded="false">▸ Show ${count} · finished</button></div>`;
  const toggle = finished(root, replies) ? `<button class="toggle" data-toggle="${root.ts}" aria-expanded="true">▾ Hide ${count}</button>` : "";
  return `<div class="thread" data-root="${root.ts}">${toggle}` + replies.map(messageHtml).join("") +
    statusLine(root.ts) + `<div class="reply"><textarea rows="1" data-thread="${root.ts}" data-channel="${channel}" ` +
    `placeholder="Reply in thread as ${esc(state.names[user] || user)}… (Enter sends, ` +
    `Shift+Enter for a new line)"></textarea>` +
    `<button data-send="${root.ts}" data-channel="${channel}">Send</button></div></div>`;
}

function render() {
  document.body.classList.toggle("on-home", tab === "home");
  composer.placeholder = PLACEHOLDERS[tab] || "";
  for (const button of document.querySelectorAll("[data-tab]"))
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
  if (tab === "home") renderHome();
  else if (tab === "messages") renderThreads(state.dms[me.value] || [], dmChannel(me.value), promptsHtml());
  else renderThreads(state.messages, state.channel.id, "");
  renderNotices();
  renderModal();
}

// The Home tab shows the view the app published for this person, drawn like a message.
function renderHome() {
  const view = state.homes[me.value];
  feed.innerHTML = `<div class="home">` + (view ? view.blocks.map((b) => block(b, null)).join("")
    : `<div class="blk-context">Opening your Home tab…</div>`) + `</div>`;
}

function dmChannel(user) { return "D" + user.replace(/^U/, ""); }  // the app's DM with them

// The Messages tab: the prompts the app pinned to it (assistant.threads.setSuggestedPrompts);
// a click sends the prompt's message as a DM, as Slack does.
function promptsHtml() {
  const set = state.prompts[me.value];
  if (!set) return `<div class="blk-context">The app has suggested no prompts yet.</div>`;
  return `<div class="prompts" aria-label="Suggested prompts">${set.title ? `<b>${esc(set.title)}</b>` : ""}` +
    set.prompts.map((p) => `<button class="prompt" data-prompt="${esc(p.message)}" title="${esc(p.message)}">` +
                           `${esc(p.title)}</button>`).join("") + `</div>`;
}

// A channel, or the person's DM with the app: each top-level message with its thread.
function renderThreads(messages, channel, top) {
  const user = me.value;
  const html = [`<div data-channel="${channel}">`, top];
  for (const root of messages.filter((m) => !m.thread_ts)) {
    html.push(messageHtml(root));
    html.push(threadHtml(root, messages.filter((m) => m.thread_ts === root.ts), user, channel));
  }
  html.push("</div>");
  const atBottom = feed.scrollHeight - feed.scrollTop - feed.clientHeight < 80;
  const active = document.activeElement;
  const focused = active && active.dataset && active.dataset.thread;
  const caret = focused ? [active.selectionStart, active.selectionEnd] : null;
  feed.innerHTML = html.join("");
  for (const box of feed.querySelectorAll("textarea[data-thread]")) {
    box.value = drafts[box.dataset.thread] || "";
    grow(box);
  }
  const box = focused && feed.querySelector(`textarea[data-thread="${focused}"]`);
  if (box) { box.focus(); box.setSelectionRange(...caret); }
  if (atBottom) feed.scrollTop = feed.scrollHeight;
}

// Looking at the Home tab is what makes Slack send app_home_opened: the app publishes it.
function show(which) {
  const moved = which !== tab;
  tab = which;
  render();
  if (moved && !composerHint.classList.contains("warn")) hint(COMPOSER_HINT(), false);
  if (tab === "home") post("/ui/home", {});
  if (tab === "messages") post("/ui/messages", {});  // app_home_opened, tab "messages"
}
document.querySelector(".tabs").addEventListener("click", (event) => {
  const t = event.target.closest("[data-tab]");
  if (t) show(t.dataset.tab);
});

// A permalink of this workspace (Home tab, reminders) opens the channel at that message.
const PERMALINK = /^https:\/\/emulator\.slack\.local\/archives\/[^/]+\/p(\d+)(\d{6})(?:\?(.*))?$/;
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  const found = link && link.getAttribute("href").match(PERMALINK);
  if (!found) return;
  event.preventDefault();
  const ts = `${found[1]}.${found[2]}`;
  const root = new URLSearchParams(found[3] || "").get("thread_ts") || ts;
  foldChoice[root] = false;
  show("channel");
  const target = feed.querySelector(`.msg[data-ts="${ts}"]`);
  if (!target) return;
  target.scrollIntoView({ block: "center" });
  target.classList.add("flash");
  setTimeout(() => target.classList.remove("flash"), 1600);
});

function grow(box) { box.style.height = "auto"; box.style.height = box.scrollHeight + 2 + "px"; }

// -- notices (ephemeral answers): newest first, a few at a time, each for a while ---------------

let noticesKey = "";
function renderNotices() {
  const now = Date.now() / 1000 + clockOffset;
  const shown = state.notices.filter((n) => n.user === me.value && !dismissed.has(n.id) &&
                                            now - n.at < NOTICE_SECONDS).reverse().slice(0, NOTICES_SHOWN);
  const key = shown.map((n) => n.id).join(",");
  if (key === noticesKey) return;
  noticesKey = key;
  document.getElementById("notices").innerHTML = shown.map((n) =>
    `<div class="notice" data-id="${n.id}"><button class="dismiss" data-dismiss="${n.id}" ` +
    `aria-label="Dismiss">×</button><small>Only visible to you · ${when(n.at)}</small>` +
    `<div class="notice-text">${mrkdwn(n.text)}</div></div>`
  ).join("");
}
setInterval(renderNotices, 1000);

document.getElementById("notices").addEventListener("click", (event) => {
  const t = event.target.closest("[data-dismiss]");
  if (t) { dismissed.add(+t.dataset.dismiss); renderNotices(); }
});

// -- modals --------------------------------------------------------------------------------------

function modalHtml(view, depth) {
  const body = view.blocks.map((b) => b.type === "input" ? inputHtml(b, view) : block(b, null)).join("");
  const submit = view.submit ? `<button class="primary" data-modal="submit">${textOf(view.submit)}</button>` : "";
  return `<div class="backdrop"><div class="modal" role="dialog" aria-modal="true" aria-labelledby="modal-title" data-view="${view.id}">` +
    `<div class="modal-head"><h2 id="modal-title">${textOf(view.title)}</h2>` +
    `<button class="close" data-modal="close" aria-label="Close">×</button></div>` +
    `<div class="modal-body"><div class="trouble" role="alert"></div>${body}</div>` +
    `<div class="modal-foot">${depth > 1 ? `<span class="stack-depth">${depth} of ${depth}</span>` : ""}` +
    `<button data-modal="close">${textOf(view.close)}</button>${submit}</div></div></div>`;
}

// The modal is drawn again only when the view itself changes (new view, views.update): a poll
// must not wipe what the person is typing. Errors are put under their fields in place.
let modalKey = "";
function renderModal() {
  const root = document.getElementById("modal-root");
  const views = state.views[me.value] || [];
  const view = views[views.length - 1];
  const key = view ? `${me.value} ${view.id} ${view.hash}` : "";
  if (key !== modalKey) {
    modalKey = key;
    root.innerHTML = view ? modalHtml(view, views.length) : "";
    const first = root.querySelector(".field input, .field textarea, .field select");
    if (first) first.focus();
  }
  if (!view) return;
  for (const field of root.querySelectorAll(".field")) {
    const error = view.errors[field.dataset.block] || "";
    field.querySelector(".field-error").textContent = error;
    field.classList.toggle("has-error", !!error);
  }
  root.querySelector(".trouble").textContent = view.trouble ?
    `We had some trouble connecting. Try again? (${view.trouble})` : "";
}

// What the person entered, by block_id, as plain values (the emulator builds Slack's state).
function enteredValues(modal) {
  const values = {};
  for (const field of modal.querySelectorAll(".field")) {
    const kind = field.dataset.kind, id = field.dataset.block;
    if (TEXT_INPUTS.includes(kind)) values[id] = field.querySelector("input, textarea").value;
    else if (kind === "static_select") values[id] = field.querySelector("select").value || null;
    else if (kind === "multi_static_select") values[id] = [...field.querySelector("select").selectedOptions].map((o) => o.value);
    else if (kind === "radio_buttons") values[id] = (field.querySelector("input:checked") || {}).value ?? null;
    else if (kind === "checkboxes") values[id] = [...field.querySelectorAll("input:checked")].map((i) => i.value);
  }
  return values;
}

async function submitModal(modal, submit) {
  submit.disabled = true;
  try { await post("/ui/submit", { view_id: modal.dataset.view, values: enteredValues(modal) }); }
  finally { submit.disabled = false; }
}

document.getElementById("modal-root").addEventListener("click", (event) => {
  const t = event.target.closest("[data-modal]");
  const modal = event.target.closest(".modal");
  if (!t || !modal) return;
  if (t.dataset.modal === "submit") submitModal(modal, t);
  else post("/ui/close", {});
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && confirming) { confirming = null; confirmRoot.innerHTML = ""; }
  else if (event.key === "Escape" && modalKey) post("/ui/close", {});
});

// -- sending -------------------------------------------------------------------------------------

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" },
                                       body: JSON.stringify({ user: me.value, ...body }) });
  return response.json();
}

async function sendReply(threadTs, channel) {
  const text = (drafts[threadTs] || "").trim();
  if (!text) return;
  drafts[threadTs] = "";
  const box = feed.querySelector(`textarea[data-thread="${threadTs}"]`);
  if (box) { box.value = ""; grow(box); }
  await post("/ui/reply", { thread_ts: threadTs, text, channel });
}

// Enter sends, Shift+Enter starts a new line (as in Slack); not while an IME is composing.
function isSend(event) { return event.key === "Enter" && !event.shiftKey && !event.isComposing; }

function sendClick(t) {
  if (t.dataset.url) window.open(t.dataset.url, "_blank", "noopener");
  const where = t.closest("[data-channel]");
  post("/ui/click", { ts: t.dataset.ts, action_id: t.dataset.action, value: t.dataset.value,
                      block_id: t.dataset.block, text: t.dataset.text,
                      channel: where ? where.dataset.channel : undefined });
}

// A button with `confirm` asks first, as Slack does; only "confirm" sends the click.
let confirming = null;  // the button waiting for its confirm dialog's answer
const confirmRoot = document.getElementById("confirm-root");
function askFirst(t) {
  confirming = t;
  confirmRoot.innerHTML = confirmHtml(JSON.parse(t.dataset.confirm));
  confirmRoot.querySelector("[data-confirm-answer=deny]").focus();
}
confirmRoot.addEventListener("click", (event) => {
  const answer = event.target.closest("[data-confirm-answer]");
  if (!answer) return;
  const t = confirming;
  confirming = null;
  confirmRoot.innerHTML = "";
  if (answer.dataset.confirmAnswer === "confirm" && t) sendClick(t);
});

feed.addEventListener("click", (event) => {
  const t = event.target.closest("button");
  if (!t) return;
  if (t.dataset.action) { if (t.dataset.confirm) askFirst(t); else sendClick(t); }
  if (t.dataset.send) sendReply(t.dataset.send, t.dataset.channel);
  if (t.dataset.prompt) post("/ui/dm", { text: t.dataset.prompt });
  if (t.dataset.toggle) { foldChoice[t.dataset.toggle] = t.getAttribute("aria-expanded") === "true"; render(); }
});
feed.addEventListener("input", (event) => {
  const box = event.target;
  if (box.dataset.thread) { drafts[box.dataset.thread] = box.value; grow(box); }
});
feed.addEventListener("keydown", (event) => {
  if (isSend(event) && event.target.dataset.thread) {
    event.preventDefault();
    sendReply(event.target.dataset.thread, event.target.dataset.channel);
  }
});

function hint(html, warn) { composerHint.innerHTML = html; composerHint.classList.toggle("warn", warn); }
hint(COMPOSER_HINT(), false);
composer.addEventListener("input", () => { grow(composer); hint(COMPOSER_HINT(), false); });
composer.addEventListener("keydown", async (event) => {
  if (!isSend(event)) return;
  event.preventDefault();
  const text = composer.value.trim();
  if (!text) return;
  const match = text.match(/^\/orchestrate(?:\s+([\s\S]*))?$/);
  const mention = /(^|[^\w<])@orchestrator\b/i.test(text);
  if (tab === "channel" && !match && !mention) {
    hint("Only <code>/orchestrate &lt;topic&gt;</code> or a message that mentions " +
         "<code>@Orchestrator</code> works here. To answer a review, reply in its thread with " +
         "the box under it.", true);
    return;
  }
  composer.value = "";
  grow(composer);
  if (tab === "messages") await post("/ui/dm", { text });
  else if (match) await post("/ui/command", { text: match[1] || "" });
  else await post("/ui/say", { text });
});
me.addEventListener("change", () => show(tab));

async function poll() {
  for (;;) {
    try {
      const response = await fetch("/ui/state?since=" + state.version);
      const next = await response.json();
      if (!me.options.length) for (const [id, name] of Object.entries(next.people))
        me.add(new Option(name, id));
      clockOffset = next.now - Date.now() / 1000;
      if (next.version !== state.version) {
        const hinted = !composerHint.classList.contains("warn");
        state = next;
        kit.names = next.names;
        kit.channel = next.channel;
        render();
        if (hinted) hint(COMPOSER_HINT(), false);
      }
    } catch (error) { await new Promise((r) => setTimeout(r, 1000)); }
  }
}
poll();
