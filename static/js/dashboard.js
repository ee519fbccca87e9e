// Creator dashboard niceties: copy buttons and a thumbnail preview (confirmations: confirm.js).
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
