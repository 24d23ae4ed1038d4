// The head's authorisation pages: the form is not sent while a condition is unticked. The
// error summary names each one, as the server's would; the server refuses such a form
// whatever this script did, and the page works without it.
import { ErrorSummary } from "/govuk/govuk-frontend.min.js";

const form = document.querySelector("form[data-conditions]");

function summaryOf(unticked) {
  const summary = document.createElement("div");
  summary.className = "govuk-error-summary";
  summary.dataset.module = "govuk-error-summary";
  const alert = summary.appendChild(document.createElement("div"));
  alert.setAttribute("role", "alert");
  const title = alert.appendChild(document.createElement("h2"));
  title.className = "govuk-error-summary__title";
  title.textContent = "There is a problem";
  const body = alert.appendChild(document.createElement("div"));
  body.className = "govuk-error-summary__body";
  const list = body.appendChild(document.createElement("ul"));
  list.className = "govuk-list govuk-error-summary__list";
  for (const box of unticked) {
    const link = list.appendChild(document.createElement("li")).appendChild(document.createElement("a"));
    link.href = `#${box.id}`;
    link.textContent = box.dataset.unticked;
  }
  return summary;
}

if (form) {
  form.addEventListener("submit", (event) => {
    const unticked = [...form.querySelectorAll('input[name="conditions"]')].filter((box) => !box.checked);
    if (unticked.length === 0) {
      return;
    }
    event.preventDefault();
    document.querySelectorAll(".govuk-error-summary").forEach((old) => old.remove());
    const summary = summaryOf(unticked);
    form.closest(".govuk-grid-column-two-thirds").prepend(summary);
    if (!document.title.startsWith("Error: ")) {
      document.title = `Error: ${document.title}`;
    }
    new ErrorSummary(summary); // focuses it, and makes its links move to each checkbox
  });
}
