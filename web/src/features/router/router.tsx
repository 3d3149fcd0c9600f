// A tiny history-API router: the server answers every unknown GET path with index.html, so
// client-side paths survive a reload without a routing library.

import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';

const NAVIGATE_EVENT = 'fun-notes:navigate';

function subscribe(listener: () => void): () => void {
  window.addEventListener('popstate', listener);
  window.addEventListener(NAVIGATE_EVENT, listener);
  return () => {
    window.removeEventListener('popstate', listener);
    window.removeEventListener(NAVIGATE_EVENT, listener);
  };
}

const getPath = (): string => window.location.pathname;

export function usePath(): string {
  return useSyncExternalStore(subscribe, getPath, getPath);
}

export function navigate(path: string, options: { replace?: boolean } = {}): void {
  if (path === window.location.pathname) {
    return;
  }
  if (options.replace) {
    window.history.replaceState(null, '', path);
  } else {
    window.history.pushState(null, '', path);
  }
  window.dispatchEvent(new Event(NAVIGATE_EVENT));
}

export type Route =
  | { page: 'auth' }
  | { page: 'rooms' }
  | { page: 'dashboard' }
  | { page: 'workspace'; roomId: string }
  | { page: 'invite'; token: string };

/** Maps a path to a page; unknown paths fall back to the room entry. */
export function parseRoute(path: string): Route {
  if (path === '/login') {
    return { page: 'auth' };
  }
  if (path === '/dashboard') {
    return { page: 'dashboard' };
  }
  const room = /^\/r\/([^/]+)\/?$/.exec(path);
  if (room) {
    const roomId = decode(room[1]);
    if (roomId !== null) return { page: 'workspace', roomId };
  }
  // An invite link: what the server's `POST /api/rooms/{id}/invites` answers as `url`.
  const invite = /^\/invite\/([^/]+)\/?$/.exec(path);
  if (invite) {
    const token = decode(invite[1]);
    if (token !== null) return { page: 'invite', token };
  }
  return { page: 'rooms' };
}

function decode(segment: string | undefined): string | null {
  try {
    return segment ? decodeURIComponent(segment) : null;
  } catch {
    // A malformed escape (a link cut short) is not a room or an invite.
    return null;
  }
}

export const roomPath = (roomId: string): string => `/r/${encodeURIComponent(roomId)}`;
export const invitePath = (token: string): string => `/invite/${encodeURIComponent(token)}`;

/** An anchor that navigates in-page on a plain left click and behaves normally otherwise
 *  (middle click, modifier keys open a new tab). */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const handleClick = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0) {
      return;
    }
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={handleClick} {...rest} />;
}
