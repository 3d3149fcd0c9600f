// Others' carets and selections drawn over a note field: a mirror of the field's text laid over
// it (same box, font and wrapping, transparent text, no pointer events), with each caret a bar
// and each selection a tinted run in the colour of its user, and the user's name above the bar.
// Decoration only (aria-hidden): who is editing is said in words by EditingList.

import { useLayoutEffect, useRef, type CSSProperties, type ReactNode } from 'react';
import type { RemoteCaret } from '../../sync/api';
import { codePointToUtf16 } from '../../sync/textOp';

/** A stable colour per user id (the same on every page), dark enough at every hue for the
 *  white name on it (WCAG AA: 4.5:1 even for yellow and cyan). */
export function caretColour(userId: string, alpha = 1): string {
  let h = 2166136261;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return `hsl(${(h >>> 0) % 360} 70% 26% / ${alpha})`;
}

// What the mirror copies from the field so that its text wraps the same way.
const MIRRORED = [
  'font-family',
  'font-size',
  'font-weight',
  'font-style',
  'letter-spacing',
  'line-height',
  'padding-top',
  'padding-right',
  'padding-bottom',
  'padding-left',
  'border-top-width',
  'border-right-width',
  'border-bottom-width',
  'border-left-width',
  'text-indent',
  'tab-size',
] as const;

interface Mark {
  at: number; // UTF-16 offset
  kind: 'caret' | 'start' | 'end';
  caret: RemoteCaret;
}

export function RemoteCarets({
  text,
  carets,
  field,
  target,
}: {
  text: string;
  carets: readonly RemoteCaret[];
  field: 'title' | 'body';
  /** The field's element (default: the `[data-field]` element in the same wrapper). */
  target?: () => HTMLElement | null;
}) {
  const layer = useRef<HTMLDivElement>(null);
  const inner = useRef<HTMLDivElement>(null);

  useLayoutEffect(() => {
    const el = layer.current;
    const source = target?.() ?? (el?.parentElement?.querySelector<HTMLElement>('[data-field]') ?? null);
    if (!el || !source) return;
    const style = getComputedStyle(source);
    for (const p of MIRRORED) el.style.setProperty(p, style.getPropertyValue(p));
    el.style.borderStyle = 'solid';
    el.style.borderColor = 'transparent';
    // Exactly the field's box (the wrapper also holds its message).
    el.style.top = `${source.offsetTop}px`;
    el.style.left = `${source.offsetLeft}px`;
    el.style.width = `${source.offsetWidth}px`;
    el.style.height = `${source.offsetHeight}px`;
    // The field's scroll as a shift of the text: the layer itself does not clip its top edge,
    // so a name above the first line stays readable.
    const sync = () => {
      if (inner.current) inner.current.style.transform = `translate(${-source.scrollLeft}px, ${-source.scrollTop}px)`;
    };
    sync();
    source.addEventListener('scroll', sync);
    return () => source.removeEventListener('scroll', sync);
  });

  if (carets.length === 0) return null;
  const marks: Mark[] = [];
  for (const c of carets) {
    const head = codePointToUtf16(text, c.head);
    const anchor = codePointToUtf16(text, c.anchor);
    if (head !== anchor) {
      marks.push({ at: Math.min(head, anchor), kind: 'start', caret: c });
      marks.push({ at: Math.max(head, anchor), kind: 'end', caret: c });
    }
    marks.push({ at: head, kind: 'caret', caret: c });
  }
  marks.sort((a, b) => a.at - b.at || (a.kind === 'end' ? -1 : b.kind === 'end' ? 1 : 0));

  // The text cut at every mark; runs inside a selection are tinted.
  const parts: ReactNode[] = [];
  const open = new Map<string, RemoteCaret>();
  let at = 0;
  const run = (end: number) => {
    if (end <= at) return;
    const slice = text.slice(at, end);
    const tint = [...open.values()][0];
    parts.push(
      tint ? (
        <span key={`r${at}`} className="remote-selection" style={{ backgroundColor: caretColour(tint.user.id, 0.25) }}>
          {slice}
        </span>
      ) : (
        slice
      ),
    );
    at = end;
  };
  for (const m of marks) {
    run(m.at);
    if (m.kind === 'start') open.set(m.caret.session, m.caret);
    else if (m.kind === 'end') open.delete(m.caret.session);
    else {
      const style = { '--caret-colour': caretColour(m.caret.user.id) } as CSSProperties;
      parts.push(
        <span key={`c${m.caret.session}`} className="remote-caret" style={style} data-user={m.caret.user.name}>
          <span className="remote-caret-name">{m.caret.user.name}</span>
        </span>,
      );
    }
  }
  run(text.length);
  // A trailing newline needs a character after it to take up its line in the mirror.
  parts.push('\u200b');

  return (
    <div ref={layer} className={`caret-layer caret-layer-${field}`} aria-hidden="true" data-testid="remote-carets">
      <div ref={inner} className="caret-text">
        {parts}
      </div>
    </div>
  );
}

/** Who else is editing a note, in words (for everyone, screen readers included). */
export function EditingList({ carets }: { carets: readonly RemoteCaret[] }) {
  const names = [...new Set(carets.map((c) => c.user.name || 'Someone'))];
  if (names.length === 0) return null;
  const who =
    names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return (
    <p className="editing-list muted" data-testid="editing-list">
      {who} {names.length === 1 ? 'is' : 'are'} editing this note
    </p>
  );
}
