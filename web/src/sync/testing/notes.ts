// A complete note for tests: the fields a test does not care about get plain defaults.
import type { Note } from '../protocol';

export function note(id: string, current_index: number, extra: Partial<Note> = {}): Note {
  return {
    id,
    title: id,
    body: '',
    is_important: false,
    is_completed: false,
    current_index,
    seq: 1,
    updated_at: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
}
