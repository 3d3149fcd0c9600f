// Short-lived notifications (undo, rejected changes) that dismiss themselves.

import { useCallback, useEffect, useRef, useState } from 'react';
import type { ToastItem } from '../../components/Toasts';

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

  useEffect(() => {
    const pending = timers.current;
    return () => {
      for (const timer of pending.values()) window.clearTimeout(timer);
    };
  }, []);

  return { items, push, dismiss };
}
