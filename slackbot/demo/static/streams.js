// Agents at work, as Slack draws them: a streamed message (its text growing, its task cards with
// their status, a plan with its title), the status line under a thread ("Orchestrator is
// thinking…"), and the feedback buttons under an answer. Pure functions of the page's state
// (`state.streams`, `state.statuses`), plus which thumb this person picked (Slack shows it).
"use strict";

const TASK_MARK = { pending: "◻️", in_progress: "⏳", complete: "✅", error: "⚠️" };
const feedbackChosen = {};  // "user ts" → the value of the thumb that person clicked

function taskHtml(t) {
  const more = [t.details, t.output].filter(Boolean).map((s) => `<div class="task-more">${esc(s)}</div>`).join("");
  return `<div class="task task-${esc(t.status)}" data-task="${esc(t.id)}"><span class="task-mark" ` +
    `title="${esc(t.status)}">${TASK_MARK[t.status] || "•"}</span><span class="task-title">${esc(t.title)}</span>${more}</div>`;
}

// A streamed message: the plan (or the timeline's task cards), its text so far, and the blocks
// its stop carried (the feedback buttons) once it ended.
function streamHtml(m, s) {
  const tasks = s.tasks.map(taskHtml).join("");
  const plan = s.display === "plan"
    ? `<div class="plan"><div class="plan-title">${esc(s.title || "Plan")}</div>${tasks}</div>`
    : (tasks ? `<div class="tasks">${tasks}</div>` : "");
  const cursor = s.streaming ? `<span class="cursor" aria-label="writing">▍</span>` : "";
  const text = m.text ? `<div class="streamed">${markdown(m.text)}</div>` : "";
  const blocks = (m.blocks || []).map((b) => block(b, m)).join("");
  return `<div class="stream${s.streaming ? " streaming" : ""}">${plan}${text}${cursor}${blocks}</div>`;
}

function streamedContent(m) {
  const s = state.streams && state.streams[m.ts];
  return s ? streamHtml(m, s) : null;
}

// "<App> is thinking…" under the thread while a step runs (assistant.threads.setStatus).
function statusLine(threadTs) {
  const status = state.statuses && state.statuses[threadTs];
  const app = state.names.UORCHBOT || "orchestrator";
  return status ? `<div class="status-line" role="status">${esc(app[0].toUpperCase() + app.slice(1))} ${esc(status)}</div>` : "";
}

// 👍 / 👎 (`feedback_buttons` in a `context_actions` block): each a button the page sends like
// any other; the one this person picked shows pressed.
function feedbackButtons(e, b, message) {
  const picked = message && feedbackChosen[`${me.value} ${message.ts}`];
  return [["positive_button", "👍"], ["negative_button", "👎"]].map(([side, thumb]) => {
    const choice = e[side] || {};
    const pressed = picked !== undefined && picked === choice.value;
    const label = choice.accessibility_label || (choice.text && choice.text.text) || side;
    return button({ action_id: e.action_id, value: choice.value, style: "feedback" + (pressed ? " pressed" : ""),
                    text: { type: "plain_text", text: thumb } }, b, message)
      .replace("<button ", `<button aria-pressed="${pressed}" aria-label="${esc(label)}" data-feedback="1" `);
  }).join("");
}

document.addEventListener("click", (event) => {
  const t = event.target.closest("[data-feedback]");
  if (!t || !t.dataset.ts) return;
  feedbackChosen[`${me.value} ${t.dataset.ts}`] = t.dataset.value;
  for (const thumb of t.parentElement.querySelectorAll("[data-feedback]")) {  // shown at once
    thumb.setAttribute("aria-pressed", String(thumb === t));
    thumb.classList.toggle("pressed", thumb === t);
  }
}, true);  // before the page sends the click
