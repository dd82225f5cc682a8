// Every element on screen must fit the viewport (no scrolling), and every control must be
// a big enough target for a finger (48 px). Returns the problems found.
() => {
  const problems = [];
  const vw = window.innerWidth, vh = window.innerHeight;
  const visible = el => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();
    return s.visibility !== 'hidden' && s.display !== 'none' && r.width > 0 && r.height > 0; };
  for (const el of document.querySelectorAll('.frame *')) {
    // (an animated bar inside its clipping track is not outside the screen)
    if (!visible(el) || el.closest('details:not([open]) > :not(summary)') || el.closest('.progress')) continue;
    const r = el.getBoundingClientRect();
    if (r.bottom > vh + 1 || r.right > vw + 1 || r.left < -1 || r.top < -1)
      problems.push('outside: ' + el.tagName + '.' + el.className + ' ' + Math.round(r.bottom) + '/' + vh);
  }
  for (const el of document.querySelectorAll('.frame button, .frame .choice span, .frame summary')) {
    if (!visible(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.height < 48 || r.width < 48)
      problems.push('small target: ' + (el.textContent || '').trim().slice(0, 20) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
  }
  return problems;
}
