// A page's title in the browser tab ("Dashboard · fun-notes"), and, when the page is reached by
// navigation, the keyboard focus on its heading, so a screen reader announces the new page and
// Tab starts from its top rather than from the link that was followed.

import { useEffect, useRef } from 'react';

export function usePageHeading(title: string, { focus = true }: { focus?: boolean } = {}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · fun-notes`;
    return () => {
      document.title = 'fun-notes';
    };
  }, [title]);
  useEffect(() => {
    // The focus is still on the link that was followed (in the header), or nowhere: move it
    // here. A field of the page that focused itself keeps it.
    const h = heading.current;
    const active = document.activeElement;
    const main = h?.closest('main');
    if (focus && h && (active === null || active === document.body || (main && !main.contains(active)))) {
      h.focus({ preventScroll: true });
    }
  }, [focus]);
  return heading;
}
