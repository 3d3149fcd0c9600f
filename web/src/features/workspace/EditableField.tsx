// An inline-editable note field (title: one line; body: several) bound to the room's text ops.
//
// The element is uncontrolled: React never writes its value, so nothing resets the caret. Every
// input event becomes a text op at once (the diff of the text before and after it), which the
// sync layer shows at once and sends (one in flight per field, the rest composed). Someone
// else's edit arrives as an op on the text shown and is applied into the element while it has
// focus, with the caret and selection moved through it (in code points, mapped to and from the
// element's UTF-16 offsets). Nothing is written on blur: there is no draft to write.
//
// Text over the size the server takes is kept in the field, not sent, and explained beneath it;
// others' edits are rebased into it meanwhile, and the edit goes out once it is short enough.

import { useCallback, useEffect, useId, useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import type { FieldSize, TextChange } from '../../sync/api';
import { applyTextOp, codePointToUtf16, transformIndex, transformTextOps, utf16ToCodePoint, type TextComponent, type TextOp } from '../../sync/textOp';
import { diffInput, diffTexts } from '../../sync/textSync';
import { tooLongMessage } from './sizeMessage';

/** What a field needs from its room: the text ops of one note field. */
export interface FieldBinding {
  /** Applies an edit spanning the text the field showed from its room (the `value` prop as it
   *  was last delivered); false when the room refused it (nothing changed). */
  edit(ops: readonly TextComponent[]): boolean;
  /** Others' edits of this field as ops on the text shown; returns an unsubscribe function. */
  subscribe(listener: (change: TextChange) => void): () => void;
  /** The local caret moved (code point offsets in the text shown). */
  caret?(anchor: number, head: number): void;
  /** The field lost focus: the caret is gone. */
  blur?(): void;
  /** The room's undo and redo (the browser's own would replay the field's local history over
   *  others' text). */
  undo?(): void;
  redo?(): void;
}

interface EditableFieldProps {
  value: string;
  label: string;
  field: 'title' | 'body';
  binding?: FieldBinding;
  placeholder?: string;
  autoFocus?: boolean;
  /** The size of a text against the most the server takes for this field. */
  measure?(value: string): FieldSize;
  /** A viewer's field: readable, selectable, not editable. */
  readOnly?: boolean;
  /** Drawn over the field (others' carets); gets the text shown. */
  overlay?(text: string): ReactNode;
  /** -1 keeps the field out of the Tab order (a note that is not the list's current one). */
  tabIndex?: number;
}

type Editable = HTMLInputElement | HTMLTextAreaElement;

/** The element's selection in code points of its text. */
function selectionOf(el: Editable): { anchor: number; head: number } {
  const text = el.value;
  const start = utf16ToCodePoint(text, el.selectionStart ?? 0);
  const end = utf16ToCodePoint(text, el.selectionEnd ?? 0);
  return el.selectionDirection === 'backward' ? { anchor: end, head: start } : { anchor: start, head: end };
}

/** Writes `text` into the element, moving a focused element's selection through `op`. */
function replaceText(el: Editable, text: string, op: TextOp): void {
  const focused = el.ownerDocument.activeElement === el;
  const sel = focused ? selectionOf(el) : null;
  el.value = text;
  if (!sel) return;
  const anchor = codePointToUtf16(text, transformIndex(op, sel.anchor, false));
  const head = codePointToUtf16(text, transformIndex(op, sel.head, false));
  const start = Math.min(anchor, head);
  const end = Math.max(anchor, head);
  el.setSelectionRange(start, end, head < anchor ? 'backward' : 'forward');
}

export function EditableField({
  value,
  label,
  field,
  binding,
  placeholder,
  autoFocus,
  tabIndex,
  measure,
  readOnly = false,
  overlay,
}: EditableFieldProps) {
  const ref = useRef<Editable | null>(null);
  const messageId = useId();
  // The room's text of the field as this field last learned it (prop or change event).
  const synced = useRef(value);
  // Text over the limit, shown instead of the room's and not sent; null when none.
  const [held, setHeld] = useState<string | null>(null);
  const heldRef = useRef<string | null>(null);
  // What the element shows, for the overlay (state so that it re-renders).
  const [shown, setShown] = useState(value);

  const fits = useCallback(
    (text: string) => {
      if (!measure) return true;
      const size = measure(text);
      return size.bytes <= size.limit;
    },
    [measure],
  );

  const setHeldText = (text: string | null) => {
    heldRef.current = text;
    setHeld(text);
  };

  /** The room's text changed from `synced` to `after` by `op`: show it in the element. */
  const absorb = useCallback((after: string, op: TextOp) => {
    const before = synced.current;
    synced.current = after;
    const el = ref.current;
    const draft = heldRef.current;
    if (draft === null) {
      if (el && el.value !== after) replaceText(el, after, op);
    } else {
      // The held text is rebased over the change, as the sync layer rebases queued ops.
      const t = transformTextOps(diffTexts(before, draft), op, false);
      const next = t.ok ? applyTextOp(t.value[1], draft) : null;
      if (t.ok && next?.ok) {
        heldRef.current = next.value;
        setHeld(next.value);
        if (el) replaceText(el, next.value, t.value[1]);
      }
    }
    setShown(el ? el.value : after);
  }, []);

  // Others' edits, applied as they arrive (before React renders the new value).
  useEffect(() => {
    if (!binding) return;
    return binding.subscribe((change) => {
      if (change.before !== synced.current) {
        // Out of step (cannot happen while every change comes through here): the smallest
        // change from what is shown stands in.
        absorb(change.after, diffTexts(synced.current, change.after));
        return;
      }
      absorb(change.after, change.op);
    });
  }, [binding, absorb]);

  // A value that arrived without a change event (a note shown for the first time, an edit
  // while the field had no binding): take it as the smallest change.
  useLayoutEffect(() => {
    if (value !== synced.current) absorb(value, diffTexts(synced.current, value));
  }, [value, absorb]);

  useEffect(() => {
    if (autoFocus) ref.current?.focus();
  }, [autoFocus]);

  // Undo from the browser's menu (or a shortcut the workspace did not catch) goes to the room.
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const onBeforeInput = (event: Event) => {
      const type = (event as InputEvent).inputType;
      if (type !== 'historyUndo' && type !== 'historyRedo') return;
      event.preventDefault();
      if (type === 'historyUndo') binding?.undo?.();
      else binding?.redo?.();
    };
    el.addEventListener('beforeinput', onBeforeInput);
    return () => el.removeEventListener('beforeinput', onBeforeInput);
  }, [binding]);

  const reportCaret = useCallback(() => {
    const el = ref.current;
    if (!el || !binding?.caret || el.ownerDocument.activeElement !== el) return;
    const sel = selectionOf(el);
    binding.caret(sel.anchor, sel.head);
  }, [binding]);

  const onInput = (typed: string) => {
    // A title is one line however it wraps: a pasted line break becomes a space.
    const next = field === 'title' ? typed.replace(/\r\n|\r|\n/g, ' ') : typed;
    const el0 = ref.current;
    if (next !== typed && el0) {
      const at = el0.selectionStart ?? next.length;
      el0.value = next;
      el0.setSelectionRange(at, at);
    }
    setShown(next);
    if (!fits(next)) {
      setHeldText(next);
      return;
    }
    const el = ref.current;
    const caret = el && el.selectionStart === el.selectionEnd ? utf16ToCodePoint(next, el.selectionEnd ?? 0) : null;
    const ops = (caret === null ? diffTexts(synced.current, next) : diffInput(synced.current, next, caret)).ops;
    if (binding && !binding.edit(ops)) {
      // Refused (the room is read-only now): show the room's text again.
      if (el) el.value = synced.current;
      setShown(synced.current);
      setHeldText(null);
      return;
    }
    synced.current = next;
    setHeldText(null);
    reportCaret();
  };

  const text = held ?? shown;
  const message = measure ? tooLongMessage(field, text, measure(text)) : null;

  const common = {
    'aria-label': label,
    tabIndex,
    'aria-invalid': message ? true : undefined,
    'aria-describedby': message ? messageId : undefined,
    'data-field': field,
    className: `note-${field}`,
    placeholder: readOnly ? undefined : placeholder,
    readOnly,
    defaultValue: value,
    onSelect: reportCaret,
    onFocus: reportCaret,
    onBlur: () => binding?.blur?.(),
  };

  const input =
    field === 'body' ? (
      <textarea
        {...common}
        ref={(el) => {
          ref.current = el;
        }}
        rows={2}
        onChange={(event) => onInput(event.target.value)}
      />
    ) : (
      // A textarea so a long title wraps; Enter moves on to the body, as in a form.
      <textarea
        {...common}
        ref={(el) => {
          ref.current = el;
        }}
        rows={1}
        onKeyDown={(event) => {
          if (event.key !== 'Enter' || event.nativeEvent.isComposing) return;
          event.preventDefault();
          const body = event.currentTarget.closest('.note-fields')?.querySelector<HTMLElement>('[data-field="body"]');
          body?.focus();
        }}
        onChange={(event) => onInput(event.target.value)}
      />
    );
  const error = (
    <p id={messageId} className="field-error" aria-live="polite" hidden={!message}>
      {message}
    </p>
  );
  // The message follows the field at once (`[data-field] + .field-error`); the caret layer,
  // positioned over the field, comes after it.
  return overlay ? (
    <div className={`field-wrap field-wrap-${field}`}>
      {input}
      {error}
      {overlay(text)}
    </div>
  ) : (
    <>
      {input}
      {error}
    </>
  );
}
