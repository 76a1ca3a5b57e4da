// Block Kit as Slack draws it, generically: every block and element type, whichever app sent it.
// Pure functions from Block Kit JSON to HTML; the page (page.js) sets `kit.names` and
// `kit.channel` for mentions and wires the buttons. Inputs in modals are drawn by `inputHtml`.
"use strict";

const kit = { names: {}, channel: {} };
const TEXT_INPUTS = ["plain_text_input", "number_input", "email_text_input", "url_text_input",
                     "rich_text_input"];
const SAFE_URL = /^(https?:|mailto:)/i;

function esc(text) {
  return String(text ?? "").replace(/&(?!(amp|lt|gt|quot|#\d+);)/g, "&amp;")
    .replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

// One form for every time on the page: local time (with the date when not today), UTC on hover.
function when(epoch) {
  const date = new Date(epoch * 1000);
  let text = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  if (date.toDateString() !== new Date().toDateString())
    text = date.toLocaleDateString([], { month: "short", day: "numeric" }) + ", " + text;
  const utc = date.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  return `<time datetime="${date.toISOString()}" title="${utc}">${esc(text)}</time>`;
}

function link(url, label) {
  return SAFE_URL.test(url) ? `<a href="${esc(url)}">${esc(label || url)}</a>` : esc(label || url);
}

function person(id) { return "<b>@" + esc(kit.names[id] || id) + "</b>"; }

// Slack mrkdwn: tokens in <...> first, then ```pre```, `code`, *bold*, _italic_, ~strike~, > quotes.
function mrkdwn(text) {
  const tokens = [];
  const keep = (html) => { tokens.push(html); return "\u0000" + (tokens.length - 1) + "\u0000"; };
  let out = String(text ?? "").replace(/```([\s\S]*?)```/g, (_, pre) => keep(`<pre>${esc(pre)}</pre>`));
  out = out.replace(/<([^<>]+)>/g, (_, inner) => {
    const date = inner.match(/^!date\^(\d+)\^[^|]*(?:\|(.*))?$/);
    if (inner.startsWith("@")) return keep(person(inner.slice(1).split("|")[0]));
    if (inner.startsWith("#")) {
      const [id, label] = inner.slice(1).split("|");
      return keep("<b>#" + esc(label || (id === kit.channel.id ? kit.channel.name : id)) + "</b>");
    }
    if (date) return keep(when(+date[1]));
    if (inner.startsWith("!")) return keep(esc("@" + inner.slice(1).split("^")[0].split("|")[0]));
    const [url, label] = inner.split("|");
    return keep(link(url, label));
  });
  out = esc(out)
    .replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${code}</code>`))
    .replace(/(^|[\s(])\*([^*\n]+)\*/g, "$1<b>$2</b>")
    .replace(/(^|[\s(])_([^_\n]+)_/g, "$1<i>$2</i>")
    .replace(/(^|[\s(])~([^~\n]+)~/g, "$1<s>$2</s>")
    .replace(/^&gt; ?(.*)$/gm, "<blockquote>$1</blockquote>");
  for (let i = 0; i < 2; i++) out = out.replace(/\u0000(\d+)\u0000/g, (_, n) => tokens[+n]);
  return out;
}

// Standard Markdown (the `markdown` block): headings, lists, emphasis, code, quotes, fences.
function markdown(text) {
  const inline = (s) => esc(s).replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<b>$1</b>").replace(/(^|\W)[*_]([^*_]+)[*_]/g, "$1<i>$2</i>")
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (all, label, url) => SAFE_URL.test(url) ? `<a href="${url}">${label}</a>` : all);
  const html = []; let list = false, fence = null;
  for (const line of String(text ?? "").split("\n")) {
    if (line.startsWith("```")) {
      if (fence === null) { fence = []; continue; }
      html.push(`<pre>${esc(fence.join("\n"))}</pre>`); fence = null; continue;
    }
    if (fence !== null) { fence.push(line); continue; }
    const item = line.match(/^\s*(?:[-*]|\d+\.) (.*)$/), head = line.match(/^(#{1,6}) (.*)$/);
    if (item) { if (!list) { html.push("<ul>"); list = true; } html.push("<li>" + inline(item[1]) + "</li>"); continue; }
    if (list) { html.push("</ul>"); list = false; }
    if (head) html.push(`<p><b>${inline(head[2])}</b></p>`);
    else if (/^(&gt;|>) ?/.test(line)) html.push("<blockquote>" + inline(line.replace(/^(&gt;|>) ?/, "")) + "</blockquote>");
    else if (line.trim()) html.push("<p>" + inline(line) + "</p>");
  }
  if (fence !== null) html.push(`<pre>${esc(fence.join("\n"))}</pre>`);
  if (list) html.push("</ul>");
  return html.join("");
}

function textOf(obj) {
  if (!obj) return "";
  if (typeof obj === "string") return esc(obj);
  return obj.type === "mrkdwn" ? mrkdwn(obj.text) : esc(obj.text);
}

// -- elements ------------------------------------------------------------------------------------

function options(e) {
  return (e.options || []).concat(...(e.option_groups || []).map((g) => g.options || []));
}

// A button carries what /ui/click needs to send the click even after the message changed, and
// its `confirm` dialog (shown before the click is sent, as Slack does).
function button(e, b, message) {
  const value = e.value === undefined ? "" : ` data-value="${esc(e.value)}"`;
  const where = message ? `data-ts="${message.ts}"` : 'disabled title="Buttons here are not emulated"';
  const confirm = e.confirm ? ` data-confirm="${esc(JSON.stringify(e.confirm))}"` : "";
  const url = e.url && SAFE_URL.test(e.url) ? ` data-url="${esc(e.url)}"` : "";
  return `<button class="${esc(e.style || "")}" ${where} data-action="${esc(e.action_id)}"${value}${confirm}${url}` +
    ` data-block="${esc(b.block_id || "")}" data-text="${esc(e.text.text)}">${textOf(e.text)}${e.url ? " ↗" : ""}</button>`;
}

// Menus, pickers and choices in a message are shown with what they offer, not emulated.
function passive(e) {
  const all = options(e);
  const picked = [].concat(e.initial_option || [], e.initial_options || []).map((o) => o.value);
  const label = e.placeholder ? textOf(e.placeholder) : "";
  switch (e.type) {
    case "overflow":
      return `<details class="menu"><summary aria-label="More actions">⋯</summary>` +
        all.map((o) => `<div>${textOf(o.text)}</div>`).join("") + `</details>`;
    case "radio_buttons": case "checkboxes":
      return `<div class="choices">` + all.map((o) => `<label class="choice"><input type="${e.type === "checkboxes" ? "checkbox" : "radio"}" disabled` +
        `${picked.includes(o.value) ? " checked" : ""}> ${textOf(o.text)}${o.description ? `<small>${textOf(o.description)}</small>` : ""}</label>`).join("") + `</div>`;
    case "datepicker": case "timepicker": case "datetimepicker":
      return `<span class="picker">📅 ${esc(e.initial_date || e.initial_time || (e.initial_date_time ? new Date(e.initial_date_time * 1000).toISOString() : "")) || label}</span>`;
    case "image": return image(e.image_url, e.alt_text, "inline");
    default:
      if (e.type && e.type.endsWith("select")) {
        const opts = all.map((o) => `<option${picked.includes(o.value) ? " selected" : ""}>${esc(o.text.text)}</option>`).join("");
        return `<select disabled title="Menus in messages are not emulated"><option>${label || "Select"}</option>${opts}</select>`;
      }
      return `<span class="unknown">[${esc(e.type)}] ${texts(e).map(esc).join(" ")}</span>`;
  }
}

function element(e, b, message) {
  if (!e) return "";
  if (e.type === "button") return button(e, b, message);
  if (e.type === "feedback_buttons" && typeof feedbackButtons === "function") return feedbackButtons(e, b, message);
  if (e.type === "mrkdwn" || e.type === "plain_text") return `<span>${textOf(e)}</span>`;
  if (e.type === "image") return image(e.image_url, e.alt_text, "inline");
  return passive(e);
}

function image(url, alt, size) {
  const src = url && /^https?:/i.test(url) ? ` src="${esc(url)}"` : "";
  return `<img class="img-${size}"${src} alt="${esc(alt || "")}" title="${esc(alt || "")}">`;
}

// Every string under a `text` key: what an unknown block or element says.
function texts(obj) {
  if (!obj || typeof obj !== "object") return [];
  return Object.entries(obj).flatMap(([k, v]) => (k === "text" && typeof v === "string") ? [v] : texts(v));
}

// -- rich_text -----------------------------------------------------------------------------------

function richInline(el) {
  const s = el.style || {};
  let html;
  switch (el.type) {
    case "text": html = esc(el.text); break;
    case "link": html = link(el.url, el.text); break;
    case "user": html = person(el.user_id); break;
    case "usergroup": html = "<b>@" + esc(el.usergroup_id) + "</b>"; break;
    case "channel": html = "<b>#" + esc(el.channel_id === kit.channel.id ? kit.channel.name : el.channel_id) + "</b>"; break;
    case "broadcast": html = "<b>@" + esc(el.range) + "</b>"; break;
    case "emoji": html = el.unicode ? String.fromCodePoint(...el.unicode.split("-").map((h) => parseInt(h, 16))) : `:${esc(el.name)}:`; break;
    case "date": html = when(el.timestamp); break;
    default: html = esc(texts(el).join(" "));
  }
  if (s.code) html = `<code>${html}</code>`;
  if (s.bold) html = `<b>${html}</b>`;
  if (s.italic) html = `<i>${html}</i>`;
  if (s.strike) html = `<s>${html}</s>`;
  return html;
}

function richText(el) {
  const inner = (el.elements || []);
  switch (el.type) {
    case "rich_text_section": return `<div>${inner.map(richInline).join("")}</div>`;
    case "rich_text_preformatted": return `<pre>${inner.map(richInline).join("")}</pre>`;
    case "rich_text_quote": return `<blockquote>${inner.map(richInline).join("")}</blockquote>`;
    case "rich_text_list": {
      const tag = el.style === "ordered" ? "ol" : "ul";
      return `<${tag} style="margin-left:${(el.indent || 0) * 16}px">` + inner.map((s) => `<li>${s.elements ? s.elements.map(richInline).join("") : richText(s)}</li>`).join("") + `</${tag}>`;
    }
    default: return richInline(el);
  }
}

// -- blocks --------------------------------------------------------------------------------------

function block(b, message) {
  switch (b.type) {
    case "header": return `<div class="blk-header">${textOf(b.text)}</div>`;
    case "section": {
      const text = b.text ? `<div class="blk-text">${textOf(b.text)}</div>` : "";
      const fields = b.fields ? `<div class="blk-fields">` + b.fields.map((f) => `<div>${textOf(f)}</div>`).join("") + `</div>` : "";
      const accessory = b.accessory ? `<div class="accessory">${element(b.accessory, b, message)}</div>` : "";
      return `<div class="blk-section"><div class="blk-main">${text}${fields}</div>${accessory}</div>`;
    }
    case "markdown": return `<div class="blk-markdown">${markdown(b.text)}</div>`;
    case "context": return `<div class="blk-context">${(b.elements || []).map((e) => element(e, b, message)).join(" ")}</div>`;
    case "divider": return "<hr>";
    case "actions": return `<div class="actions">` + (b.elements || []).map((e) => element(e, b, message)).join("") + `</div>`;
    case "context_actions": return `<div class="actions context-actions">` + (b.elements || []).map((e) => element(e, b, message)).join("") + `</div>`;
    case "image": return `<figure class="blk-image">${b.title ? `<figcaption>${textOf(b.title)}</figcaption>` : ""}${image(b.image_url, b.alt_text, "block")}</figure>`;
    case "rich_text": return `<div class="blk-rich">${(b.elements || []).map(richText).join("")}</div>`;
    case "input": return `<div class="blk-input"><b>${textOf(b.label)}</b> ${element(b.element, b, null)}` +
      `${b.hint ? `<div class="blk-context">${textOf(b.hint)}</div>` : ""}</div>`;
    case "video": return `<div class="blk-video">🎬 ${link(b.title_url || b.video_url, b.title && b.title.text)}` +
      `${b.description ? ` — ${textOf(b.description)}` : ""}</div>`;
    case "file": return `<div class="blk-context">📎 file ${esc(b.external_id)}</div>`;
    default: return `<div class="blk-context">[${esc(b.type)} block] ${texts(b).map(esc).join(" ")}</div>`;
  }
}

// True when a message still asks for a click: a thread holding one is never folded away.
function hasControls(m) {
  return (m.blocks || []).some((b) => (b.type === "actions" && (b.elements || []).some((e) => e.type === "button")) ||
                                      (b.accessory && b.accessory.type === "button"));
}

// -- inputs in modals ----------------------------------------------------------------------------

function selectOptions(e, chosen) {
  const one = (o) => `<option value="${esc(o.value)}"${chosen.has(o.value) ? " selected" : ""}>${esc(o.text.text)}</option>`;
  if (!e.option_groups) return (e.options || []).map(one).join("");
  return e.option_groups.map((g) => `<optgroup label="${esc(g.label.text)}">${g.options.map(one).join("")}</optgroup>`).join("");
}

function choices(e, id, chosen, kind) {
  return options(e).map((o) => `<label class="choice"><input type="${kind}" name="${id}" value="${esc(o.value)}"` +
    `${chosen.has(o.value) ? " checked" : ""}> ${textOf(o.text)}` +
    `${o.description ? `<small>${textOf(o.description)}</small>` : ""}</label>`).join("");
}

// The element as the person sees it: what they entered before (state) or its initial value.
function control(e, id, current) {
  const placeholder = e.placeholder ? ` placeholder="${esc(e.placeholder.text)}"` : "";
  if (TEXT_INPUTS.includes(e.type)) {
    const value = esc((current ? current.value : e.initial_value) ?? "");
    if (e.multiline || e.type === "rich_text_input") return `<textarea id="${id}" rows="4"${placeholder}>${value}</textarea>`;
    const number = e.type === "number_input" ? ` type="number" step="${e.is_decimal_allowed ? "any" : "1"}"` +
      (e.min_value !== undefined ? ` min="${esc(e.min_value)}"` : "") +
      (e.max_value !== undefined ? ` max="${esc(e.max_value)}"` : "") : ' type="text"';
    return `<input id="${id}"${number} value="${value}"${placeholder}>`;
  }
  const single = current ? current.selected_option : e.initial_option;
  const many = current ? current.selected_options : e.initial_options;
  const chosen = new Set([].concat(single ? [single.value] : [], (many || []).map((o) => o.value)));
  switch (e.type) {
    case "static_select": return `<select id="${id}"><option value="">${e.placeholder ? esc(e.placeholder.text) : "Select an option"}</option>${selectOptions(e, chosen)}</select>`;
    case "multi_static_select": return `<select id="${id}" multiple size="${Math.min(options(e).length, 6)}">${selectOptions(e, chosen)}</select>`;
    case "radio_buttons": return `<div role="radiogroup" id="${id}">${choices(e, id, chosen, "radio")}</div>`;
    case "checkboxes": return `<div id="${id}">${choices(e, id, chosen, "checkbox")}</div>`;
    default: return `<div class="blk-context">${passive(e)} (not emulated)</div>`;
  }
}

function inputHtml(b, view) {
  const e = b.element, id = "field-" + b.block_id;
  const current = (view.state.values[b.block_id] || {})[e.action_id];
  const optional = b.optional ? ' <span class="optional">(optional)</span>' : "";
  return `<div class="field" data-block="${esc(b.block_id)}" data-kind="${esc(e.type)}">` +
    `<label class="field-label" for="${id}">${textOf(b.label)}${optional}</label>${control(e, id, current)}` +
    `${b.hint ? `<div class="field-hint">${textOf(b.hint)}</div>` : ""}<div class="field-error" role="alert"></div></div>`;
}

// A button's `confirm` object as the dialog Slack shows before sending the click.
function confirmHtml(c) {
  const style = c.style === "danger" ? "danger-solid" : "primary";
  return `<div class="backdrop confirm-backdrop"><div class="modal confirm" role="alertdialog" aria-modal="true" ` +
    `aria-labelledby="confirm-title" aria-describedby="confirm-text"><div class="modal-head"><h2 id="confirm-title">` +
    `${textOf(c.title) || "Are you sure?"}</h2></div><div class="modal-body" id="confirm-text">${textOf(c.text)}</div>` +
    `<div class="modal-foot"><button data-confirm-answer="deny">${textOf(c.deny) || "Cancel"}</button>` +
    `<button class="${style}" data-confirm-answer="confirm">${textOf(c.confirm) || "Yes"}</button></div></div></div>`;
}
