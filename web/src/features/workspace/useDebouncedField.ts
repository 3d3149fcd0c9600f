// Local-first text editing over a synced field.
//
// While the field has focus the input shows the local draft, so every keystroke appears at
// once and a remote echo (or someone else's write) never moves the caret. Changes go out
// debounced, and are flushed on blur, on unmount and when the page is hidden, so no keystroke
// is lost. Without focus the field shows the synced value, except for a draft that `accept`
// refuses (over the size the server takes): that is never sent and stays in the field, focused
// or not, until the person changes it.

import { useCallback, useEffect, useRef, useState } from 'react';

export const FIELD_DEBOUNCE_MS = 200;

export interface DebouncedField {
  value: string;
  onChange(next: string): void;
  onFocus(): void;
  onBlur(): void;
}

const acceptAll = () => true;

export function useDebouncedField(
  syncedValue: string,
  commit: (value: string) => void,
  delayMs: number = FIELD_DEBOUNCE_MS,
  accept: (value: string) => boolean = acceptAll,
): DebouncedField {
  const [draft, setDraft] = useState<string | null>(null);
  const pending = useRef<string | null>(null);
  const timer = useRef<number | undefined>(undefined);
  // The latest commit callback, so a timer set during an earlier render calls the current one.
  const commitRef = useRef(commit);
  commitRef.current = commit;
  const acceptRef = useRef(accept);
  acceptRef.current = accept;

  const flush = useCallback(() => {
    window.clearTimeout(timer.current);
    timer.current = undefined;
    if (pending.current !== null) {
      const value = pending.current;
      pending.current = null;
      if (acceptRef.current(value)) commitRef.current(value);
    }
  }, []);

  useEffect(() => {
    window.addEventListener('pagehide', flush);
    return () => {
      window.removeEventListener('pagehide', flush);
      flush();
    };
  }, [flush]);

  const onChange = useCallback(
    (next: string) => {
      setDraft(next);
      pending.current = next;
      window.clearTimeout(timer.current);
      timer.current = window.setTimeout(flush, delayMs);
    },
    [flush, delayMs],
  );

  const onFocus = useCallback(() => {
    setDraft((current) => current ?? syncedValue);
  }, [syncedValue]);

  const onBlur = useCallback(() => {
    flush();
    // A refused draft was not sent: showing the synced value would throw the text away.
    setDraft((current) => (current !== null && !acceptRef.current(current) ? current : null));
  }, [flush]);

  return { value: draft ?? syncedValue, onChange, onFocus, onBlur };
}
