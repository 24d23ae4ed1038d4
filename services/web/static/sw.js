// The disclosure pages' service worker (scope /disclosures/): when the network or the server
// fails, the form still opens. It keeps the pages' own files and an empty copy of the form
// (/disclosures/offline, which holds nothing of the user: no name, no token), and gives them
// only when the network does not answer, or answers 5xx. It keeps nothing a user typed and no
// page with a case on it; sending kept disclosures is the page's script's work
// (disclosure.mjs), and posts always go to the network.
const CACHE = "safeguard-disclosure-v1";
const FORM_OFFLINE = "/disclosures/offline";
const FILES = [
  FORM_OFFLINE,
  "/govuk/govuk-frontend.min.css",
  "/govuk/govuk-frontend.min.js",
  "/static/app.css",
  "/static/disclosure.css",
  "/static/init.mjs",
  "/static/disclosure.mjs",
  "/assets/fonts/light-94a07e06a1-v2.woff2",
  "/assets/fonts/bold-b542beb274-v2.woff2",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(FILES))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// The network's answer; the kept copy only if the network fails or answers 5xx. A file kept
// is kept fresh from each answer (never a page: a live form holds its user's name and token).
async function networkElse(request, kept, refresh) {
  try {
    const answer = await fetch(request);
    if (answer.ok && refresh) {
      const copy = answer.clone();
      caches.open(CACHE).then((cache) => cache.put(kept, copy));
    }
    if (answer.status < 500) return answer;
  } catch {
    // offline, or the server is not there
  }
  return (await caches.match(kept)) ?? Response.error();
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    if (url.pathname === "/disclosures/new") {
      event.respondWith(networkElse(request, FORM_OFFLINE, false));
    }
    return;
  }
  if (FILES.includes(url.pathname)) event.respondWith(networkElse(request, url.pathname, true));
});
