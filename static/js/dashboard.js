// Creator dashboard niceties: copy buttons, a confirmation before reset/delete, a thumbnail preview.
// The forms work without it; the self-view player and status polling come from watch.js.

export function copyText(source) {
  return navigator.clipboard.writeText(source.textContent.trim());
}

for (const button of document.querySelectorAll('[data-copy]')) {
  button.addEventListener('click', async () => {
    const source = document.querySelector(button.dataset.copy);
    const reveal = source.closest('details');
    if (reveal) reveal.open = true;
    try {
      await copyText(source);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Copy failed: select and copy by hand';
    }
    setTimeout(() => { button.textContent = 'Copy'; }, 2000);
  });
}

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

const thumbInput = document.querySelector('[data-info-form] input[type=file]');
const preview = document.querySelector('[data-thumb-preview]');
if (thumbInput && preview) {
  thumbInput.addEventListener('change', () => {
    const [file] = thumbInput.files;
    if (!file) return;
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
  });
}
