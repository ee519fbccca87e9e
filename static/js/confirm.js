// Every page: a form with data-confirm="question" asks before it submits (block, reset or delete a key).
// Without JavaScript the form still works; a required "confirm" box in it is ticked by the answer.
for (const form of document.querySelectorAll('form[data-confirm]')) {
  // On the button's click, before the browser checks the required box: the dialog is the confirmation.
  form.querySelector('button[type=submit]').addEventListener('click', (event) => {
    if (!window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    const box = form.querySelector('input[name=confirm]');
    if (box) box.checked = true;
  });
}
