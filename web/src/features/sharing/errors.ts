// A failed sharing call in words: the server's own message when it sent one (it says why an
// invite expired or was used up), else what happened in plain terms.

import { ApiError } from '../../sync';

export function apiErrorText(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return 'You are offline; try again when the connection is back.';
    if (error.message && !error.message.startsWith('HTTP ')) return error.message;
    if (error.status === 403) return 'You are not allowed to do that in this room.';
    if (error.status === 404) return 'That no longer exists.';
    return error.message;
  }
  return 'Something went wrong. Please try again.';
}
