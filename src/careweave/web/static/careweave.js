// Starts the NHS.UK frontend components; every page works without it.
import { initAll } from "/assets/nhsuk-frontend.min.js";
initAll();

// A link to a section of the patient page (#referrals, #care-plan) opens that expander.
function openTarget() {
  const target = location.hash && document.getElementById(location.hash.slice(1));
  if (target && target.tagName === "DETAILS") target.open = true;
}
openTarget();
window.addEventListener("hashchange", openTarget);
