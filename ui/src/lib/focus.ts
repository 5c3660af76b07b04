// A dialog's first focus, as an attachment: takes the focus when the element is
// attached and gives it back to what had it (the button that opened the dialog)
// when it goes. Not the autofocus attribute: Svelte applies it only when nothing
// else has the focus, and the opening button has it.
export function takeFocus(el: HTMLElement): () => void {
  const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  el.focus();
  return () => before?.focus();
}
