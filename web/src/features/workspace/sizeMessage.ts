// What the page says when a note field is over the size the server takes: in words, with the
// numbers a person can act on (how much to shorten it), never the protocol's field names.

import type { FieldSize } from '../../sync/api';

const numberFormat = new Intl.NumberFormat('en-US');

function utf8Bytes(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** The characters as a person sees them (an emoji with a skin tone, a letter with its accent:
 *  one each), from the end of the text. */
function charactersFromEnd(text: string): string[] {
  const Segmenter = (Intl as { Segmenter?: typeof Intl.Segmenter }).Segmenter;
  const chars = Segmenter
    ? Array.from(new Segmenter('en', { granularity: 'grapheme' }).segment(text), (s) => s.segment)
    : Array.from(text);
  return chars.reverse();
}

/** How many characters must go from the end of `text` to remove at least `excessBytes`. */
export function charactersToRemove(text: string, excessBytes: number): number {
  if (excessBytes <= 0) return 0;
  let removed = 0;
  let count = 0;
  for (const char of charactersFromEnd(text)) {
    removed += utf8Bytes(char);
    count++;
    if (removed >= excessBytes) break;
  }
  return count;
}

const plural = (n: number, one: string, many: string) => `${numberFormat.format(n)} ${n === 1 ? one : many}`;

/** null when the text fits; otherwise the sentence shown under the field. */
export function tooLongMessage(what: 'title' | 'body', text: string, size: FieldSize): string | null {
  if (size.bytes <= size.limit) return null;
  const remove = charactersToRemove(text, size.bytes - size.limit);
  return (
    `This ${what} is too long: ${numberFormat.format(size.bytes)} of ${numberFormat.format(Math.max(0, size.limit))} bytes — ` +
    `shorten it by ${plural(remove, 'character', 'characters')} to save it. ` +
    'Until then your text stays here but is not saved.'
  );
}
