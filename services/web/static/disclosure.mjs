// The disclosure form when the network or the server fails it.
//
// The form works without this script (a plain POST, Post/Redirect/Get). With it, the form is
// sent by fetch, so that a failure is seen: the filled form is kept in this browser's IndexedDB
// (its fields as typed, so its Idempotency-Key made when the form was rendered and the time
// the member of staff gave, never the time it is sent) and sent when the connection is back:
// at once when the browser says it is online, on each load of a disclosure page, and every
// RETRY_SECONDS. Each is removed only after the server accepted it; sending one twice is safe,
// since intake records one case per key. Nothing but the disclosure is kept: not the CSRF token
// (a fresh one is asked for before each send), nor anything the server answers.
//
// Every word the page shows is the page's own (its <template> elements); this script copies
// them and fills in a count or a reference, with textContent, never markup.
import { ErrorSummary } from "/govuk/govuk-frontend.min.js";

const DATABASE = "safeguard-disclosures";
const STORE = "kept";
const RETRY_SECONDS = 10;
const ANSWER_TIMEOUT_MS = 20000;

const form = document.getElementById("disclosure-form");
const outbox = document.getElementById("disclosure-outbox");
const sent = []; // [reference, receipt] sent while this page is open, to show them
let lastShown = "";

// Kept disclosures, by their Idempotency-Key.

function database() {
  return new Promise((resolve, reject) => {
    const opening = indexedDB.open(DATABASE, 1);
    opening.onupgradeneeded = () => opening.result.createObjectStore(STORE, { keyPath: "key" });
    opening.onsuccess = () => resolve(opening.result);
    opening.onerror = () => reject(opening.error);
  });
}

async function inStore(mode, work) {
  const db = await database();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, mode);
      const request = work(transaction.objectStore(STORE));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  } finally {
    db.close();
  }
}

const allKept = () => inStore("readonly", (store) => store.getAll());
const keep = (record) => inStore("readwrite", (store) => store.put(record));
const forget = (key) => inStore("readwrite", (store) => store.delete(key));

// One sender at a time across this browser's tabs (each would be safe, one is tidier).
function alone(work) {
  return navigator.locks ? navigator.locks.request(DATABASE, work) : work();
}

function recordOf() {
  const fields = [...new FormData(form)].filter(
    ([name]) => name !== "csrf_token" && name !== "add_young_person",
  );
  return {
    key: form.elements.idempotency_key.value,
    user: form.dataset.user || "",
    fields,
    keptAt: new Date().toISOString(),
    state: "waiting",
    errors: [],
  };
}

// Sending: a fresh CSRF token for this session, then the form, answered in JSON.

async function send(record) {
  let session;
  try {
    const answer = await fetch("/disclosures/token", {
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error",
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    });
    if (answer.status === 401) return { kind: "signed-out" };
    if (!answer.ok) return { kind: "failed" };
    session = await answer.json();
  } catch {
    return { kind: "failed" };
  }
  if (record.user && record.user !== session.user) return { kind: "other-user" };
  const body = new URLSearchParams(record.fields);
  body.set("csrf_token", session.csrf_token);
  try {
    const answer = await fetch("/disclosures/send", {
      method: "POST",
      body,
      credentials: "same-origin",
      redirect: "error",
      headers: { Accept: "application/json" },
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    });
    if (answer.ok) return { kind: "accepted", ...(await answer.json()) };
    if (answer.status === 401) return { kind: "signed-out" };
    if (answer.status === 400) return { kind: "refused", errors: (await answer.json()).errors };
    return { kind: "failed" }; // 5xx, or a token gone stale in between: try again later
  } catch {
    return { kind: "failed" }; // offline, or no answer in time
  }
}

// Sends every disclosure kept and waiting; returns what became of each.
async function sendKept() {
  const outcomes = new Map();
  for (const record of await allKept()) {
    if (record.state !== "waiting") continue;
    const outcome = await send(record);
    outcomes.set(record.key, outcome);
    if (outcome.kind === "accepted") {
      await forget(record.key);
      sent.push([outcome.reference, outcome.receipt]);
    } else if (outcome.kind === "refused") {
      await keep({ ...record, state: "refused", errors: outcome.errors });
    } else if (outcome.kind === "failed" || outcome.kind === "signed-out") {
      break; // the others would fail alike
    }
  }
  return outcomes;
}

let sending = null;
function flush() {
  sending ??= alone(sendKept)
    .then(show)
    .catch(() => undefined)
    .finally(() => {
      sending = null;
    });
  return sending;
}

// What the page says about them.

function banner(kind, index = 0) {
  const template = document.getElementById(`outbox-${kind}`);
  const copy = template.content.querySelector(".govuk-notification-banner").cloneNode(true);
  const title = copy.querySelector(".govuk-notification-banner__title");
  title.id = `${title.id}-${index}`;
  copy.setAttribute("aria-labelledby", title.id);
  copy.tabIndex = -1;
  return copy;
}

async function show(outcomes = new Map()) {
  const kept = await allKept();
  const answers = [...outcomes.values()].map((o) => o.kind);
  const waiting = kept.filter(
    (r) => r.state === "waiting" && outcomes.get(r.key)?.kind !== "other-user",
  );
  const others = kept.filter((r) => outcomes.get(r.key)?.kind === "other-user");
  const banners = sent.map(([reference, receipt], i) => {
    const shown = banner("sent", i);
    shown.querySelector("[data-reference]").textContent = reference;
    shown.querySelector("[data-receipt]").href = receipt;
    return shown;
  });
  if (waiting.length && answers.includes("signed-out")) {
    banners.push(banner("signed-out"));
  } else if (waiting.length) {
    const shown = banner("waiting");
    if (waiting.length > 1) {
      shown.querySelector("[data-count]").textContent =
        `${waiting.length} disclosures are waiting to be sent.`;
    }
    banners.push(shown);
  }
  if (others.length) banners.push(banner("other-user"));
  const refused = kept.find(
    (r) => r.state === "refused" && (!r.user || !form || r.user === form.dataset.user),
  );
  // One refused is put back in the form to be corrected: this page's own (whose form was
  // hidden when it was kept), or any, into a form nobody has started on.
  let ownRefused = false;
  if (refused && form && !form.dataset.refilled && (form.hidden || pristine())) {
    ownRefused = form.hidden; // the one this page kept: the person is waiting on it
    form.dataset.refilled = "1";
    form.hidden = false;
    fill(refused.fields);
    banners.push(banner("refused"));
    showErrors(refused.errors, ownRefused);
  }
  const now = JSON.stringify([sent, waiting.length, others.length, answers, !!refused]);
  if (now === lastShown) return;
  lastShown = now;
  outbox.replaceChildren(...banners);
  // The focus moves only for someone waiting on the page, never from a form being filled in.
  if (banners.length && !ownRefused && (!form || form.hidden)) banners.at(-1).focus();
}

// The form: sent by fetch; kept when that fails.

function pristine() {
  return !document.querySelector("#disclosure-errors .govuk-error-summary") && !form.dataset.touched;
}

async function submitted(event) {
  event.preventDefault();
  if (event.submitter?.name === "add_young_person") {
    addRow(true);
    return;
  }
  if (form.dataset.sending) return;
  form.dataset.sending = "1";
  try {
    const record = recordOf();
    const outcome = await alone(async () => {
      await keep(record); // kept before it is sent: a page closed meanwhile loses nothing
      const answer = await send(record);
      if (answer.kind === "accepted" || answer.kind === "refused") await forget(record.key);
      return answer;
    });
    if (outcome.kind === "accepted") {
      window.location.assign(outcome.receipt);
      return;
    }
    if (outcome.kind === "refused") {
      showErrors(outcome.errors, true);
      return;
    }
    // Not sent: the form is kept; a new one starts from the link in the banner.
    form.hidden = true;
    document.getElementById("disclosure-errors").replaceChildren();
    lastShown = "";
    await show(new Map([[record.key, outcome]]));
  } finally {
    delete form.dataset.sending;
  }
}

function rows() {
  return form.querySelectorAll("#young-people .app-young-person").length;
}

function addRow(focus) {
  const count = rows();
  const most = Number(form.dataset.maxRows);
  if (count >= most) return;
  const copy = document.getElementById("young-person-template").content.cloneNode(true);
  for (const element of copy.querySelectorAll("*")) {
    for (const attribute of ["id", "name", "for", "aria-describedby", "data-row"]) {
      const value = element.getAttribute(attribute);
      if (value?.includes("NNN")) {
        element.setAttribute(attribute, value.replaceAll("NNN", String(count)));
      }
    }
  }
  for (const number of copy.querySelectorAll(".app-row-number")) {
    number.textContent = String(count + 1);
  }
  document.getElementById("young-people").append(copy);
  form.elements.rows.value = String(count + 1);
  if (count + 1 >= most) document.getElementById("add-young-person").hidden = true;
  if (focus) document.getElementById(`young-people-${count}-pseudonym`).focus();
}

function fill(fields) {
  const indexes = fields
    .filter(([name]) => name.startsWith("young_people."))
    .map(([name]) => Number(name.split(".")[1]) + 1);
  while (rows() < Math.max(1, ...indexes) && rows() < Number(form.dataset.maxRows)) {
    addRow(false);
  }
  for (const input of form.querySelectorAll("input[type=checkbox], input[type=radio]")) {
    input.checked = false;
  }
  for (const [name, value] of fields) {
    for (const input of form.querySelectorAll(`[name="${CSS.escape(name)}"]`)) {
      if (input.type === "checkbox" || input.type === "radio") {
        if (input.value === value) input.checked = true;
      } else if (input.type !== "hidden" || name === "idempotency_key") {
        input.value = value;
      }
    }
  }
}

function clearErrors() {
  for (const message of form.querySelectorAll(".govuk-error-message")) message.remove();
  for (const [selector, name] of [
    [".govuk-form-group--error", "govuk-form-group--error"],
    [".govuk-input--error", "govuk-input--error"],
    [".govuk-textarea--error", "govuk-textarea--error"],
  ]) {
    for (const element of form.querySelectorAll(selector)) element.classList.remove(name);
  }
  document.getElementById("disclosure-errors").replaceChildren();
}

// GOV.UK's error summary, each problem linking to its field, and the message at the field.
function showErrors(items, focus) {
  clearErrors();
  const summary = document
    .getElementById("error-summary-template")
    .content.querySelector(".govuk-error-summary")
    .cloneNode(true);
  const list = summary.querySelector(".govuk-error-summary__list");
  list.replaceChildren();
  items.forEach(({ text, href }, i) => {
    const link = document.createElement("a");
    link.href = href;
    link.textContent = text;
    const item = document.createElement("li");
    item.append(link);
    list.append(item);
    const field = document.getElementById(href.slice(1));
    const group = field?.closest(".govuk-form-group");
    if (!group) return;
    group.classList.add("govuk-form-group--error");
    if (field.classList.contains("govuk-input")) field.classList.add("govuk-input--error");
    if (field.classList.contains("govuk-textarea")) field.classList.add("govuk-textarea--error");
    const message = document.createElement("p");
    message.className = "govuk-error-message";
    message.id = `script-error-${i}`;
    const hidden = document.createElement("span");
    hidden.className = "govuk-visually-hidden";
    hidden.textContent = "Error:";
    message.append(hidden, ` ${text}`);
    const before = group.querySelector(
      ".govuk-radios, .govuk-checkboxes, .govuk-date-input, .govuk-input, .govuk-textarea",
    );
    (before?.parentNode ?? group).insertBefore(message, before);
    const described = field.getAttribute("aria-describedby");
    field.setAttribute("aria-describedby", `${described ?? ""} ${message.id}`.trim());
  });
  document.getElementById("disclosure-errors").replaceChildren(summary);
  if (!document.title.startsWith("Error: ")) document.title = `Error: ${document.title}`;
  new ErrorSummary(summary, { disableAutoFocus: !focus });
}

// The time in the trust's zone, for a copy of the form opened offline.
function fillNow() {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone: form.dataset.timeZone,
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(new Date())
      .map(({ type, value }) => [type, value]),
  );
  form.elements.occurred_day.value = String(Number(parts.day));
  form.elements.occurred_month.value = String(Number(parts.month));
  form.elements.occurred_year.value = parts.year;
  form.elements.occurred_hour.value = parts.hour;
  form.elements.occurred_minute.value = parts.minute;
}

if (form) {
  if (!form.elements.idempotency_key.value) {
    form.elements.idempotency_key.value = crypto.randomUUID(); // made when it is filled
  }
  if (form.dataset.offline) fillNow();
  form.addEventListener("submit", submitted);
  form.addEventListener("input", () => {
    form.dataset.touched = "1";
  });
}
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/disclosures/" }).catch(() => undefined);
}
window.addEventListener("online", flush);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") flush();
});
setInterval(flush, RETRY_SECONDS * 1000);
flush();
