// GOV.UK Frontend's components (Exit this page among them), started from a file of this
// process's own, so that the Content-Security-Policy needs no inline script for them.
import { initAll } from "/govuk/govuk-frontend.min.js";

initAll();
