// Irreversible actions ask first: a form (or the button submitting it) that carries
// data-confirm="question" is sent only when the person confirms. Without scripts the form
// is sent as it is; the server checks every action either way.
document.addEventListener("submit", (event) => {
  const question = (event.submitter && event.submitter.dataset.confirm) || event.target.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);

// A button carrying data-print prints the page (a label page's print styles keep only the label).
document.addEventListener("click", (event) => {
  if (event.target instanceof Element && event.target.closest("[data-print]")) {
    window.print();
  }
});
