// Starts the NHS.UK frontend components; every page works without it.
import { initAll } from "/assets/nhsuk-frontend.min.js";
initAll();
