// Short-lived notifications (undo, rejected changes) that dismiss themselves.

import { useCallback, useEffect, useRef, useState } from 'react';
import type { ToastItem } from '../../components/Toasts';

/** How long a notification stays once the pointer or the focus has left it. */
export const RELEASED_MS = 4_000;

export function useToasts() {
  const [items, setItems] = useState<ToastItem[]>([]);
  const timers = useRef(new Map<string, number>());
  const counter = useRef(0);

  const dismiss = useCallback((id: string) => {
    window.clearTimeout(timers.current.get(id));
    timers.current.delete(id);
    setItems((current) => current.filter((item) => item.id !== id));
  }, []);

  const push = useCallback(
    (item: Omit<ToastItem, 'id'>, ttlMs: number) => {
      counter.current += 1;
      const id = `toast-${counter.current}`;
      // Keep the list short: the oldest notices go first.
      setItems((current) => [...current.slice(-3), { ...item, id }]);
      timers.current.set(id, window.setTimeout(() => dismiss(id), ttlMs));
    },
    [dismiss],
  );

  // A notification the pointer is over, or the keyboard focus is in, stays until it is left
  // (then it gets a few more seconds): nobody loses an Undo while reaching for it.
  const held = useRef(new Set<string>());
  const hold = useCallback((id: string) => {
    held.current.add(id);
    window.clearTimeout(timers.current.get(id));
    timers.current.delete(id);
  }, []);
  const release = useCallback(
    (id: string) => {
      if (!held.current.delete(id)) return;
      timers.current.set(id, window.setTimeout(() => dismiss(id), RELEASED_MS));
    },
    [dismiss],
  );

  useEffect(() => {
    const pending = timers.current;
    return () => {
      for (const timer of pending.values()) window.clearTimeout(timer);
    };
  }, []);

  return { items, push, dismiss, hold, release };
}
