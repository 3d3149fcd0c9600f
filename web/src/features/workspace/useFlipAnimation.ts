// Moves made by others slide into place (FLIP: measure where each note was, where it is now,
// and animate the difference away). Only the inner element animates, so the transform dnd-kit
// puts on the list item during a drag is never fought over.

import { useCallback, useLayoutEffect, useRef, type MutableRefObject } from 'react';

function prefersReducedMotion(): boolean {
  return typeof window.matchMedia === 'function' && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
}

/**
 * @param ids the rendered order.
 * @param suppressNext set to true before a local drop: the dropped order is already where the
 *   user put it and must not animate from the old place.
 */
export function useFlipAnimation(ids: readonly string[], suppressNext: MutableRefObject<boolean>) {
  const elements = useRef(new Map<string, HTMLElement>());
  const refCallbacks = useRef(new Map<string, (element: HTMLElement | null) => void>());
  const lastTops = useRef(new Map<string, number>());
  const lastOrder = useRef<string | null>(null);

  // One stable callback per id; a new function each render would detach and re-attach the ref.
  const register = useCallback((id: string) => {
    let callback = refCallbacks.current.get(id);
    if (!callback) {
      callback = (element: HTMLElement | null) => {
        if (element) {
          elements.current.set(id, element);
        } else {
          elements.current.delete(id);
          refCallbacks.current.delete(id);
        }
      };
      refCallbacks.current.set(id, callback);
    }
    return callback;
  }, []);

  // Runs after every commit: positions also change when a note above grows while typing.
  useLayoutEffect(() => {
    const order = ids.join('\u0000');
    const reordered = lastOrder.current !== null && order !== lastOrder.current;
    const animate = reordered && !suppressNext.current && !prefersReducedMotion();
    if (reordered) {
      suppressNext.current = false;
    }
    const tops = new Map<string, number>();
    for (const [id, element] of elements.current) {
      const top = element.offsetTop;
      const previous = lastTops.current.get(id);
      if (animate && previous !== undefined && previous !== top && typeof element.animate === 'function') {
        element.animate([{ transform: `translateY(${previous - top}px)` }, { transform: 'translateY(0)' }], {
          duration: 220,
          easing: 'ease-out',
        });
      }
      tops.set(id, top);
    }
    lastTops.current = tops;
    lastOrder.current = order;
  });

  return register;
}
