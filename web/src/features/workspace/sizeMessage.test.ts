import { describe, expect, it } from 'vitest';
import { charactersToRemove, tooLongMessage } from './sizeMessage';

describe('tooLongMessage', () => {
  it('fits: no message', () => {
    expect(tooLongMessage('title', 'Я'.repeat(512), { bytes: 1024, limit: 1024 })).toBeNull();
  });

  it('600 Cyrillic letters against 1,024 bytes: says how many letters to remove, in words', () => {
    const text = 'Я'.repeat(600);
    const message = tooLongMessage('title', text, { bytes: 1200, limit: 1024 });
    expect(message).toBe(
      'This title is too long: 1,200 of 1,024 bytes — shorten it by 88 characters to save it. ' +
        'Until then your text stays here but is not saved.',
    );
    expect(message).not.toMatch(/max_title|title_bytes|op\./);
  });

  it('names the body, and one character in the singular', () => {
    expect(tooLongMessage('body', 'abc', { bytes: 3, limit: 2 })).toMatch(/^This body is too long: 3 of 2 bytes — shorten it by 1 character to/);
  });
});

describe('charactersToRemove', () => {
  it('counts what a person sees as one character, from the end', () => {
    // An emoji with a skin tone is 8 bytes but one character.
    expect(charactersToRemove('ab👍🏽', 1)).toBe(1);
    expect(charactersToRemove('ab👍🏽', 9)).toBe(2);
    // A letter with a combining accent (e + U+0301, 3 bytes) is one character.
    expect(charactersToRemove('cafe\u0301', 3)).toBe(1);
    expect(charactersToRemove('cafe\u0301', 4)).toBe(2);
    // Mixed scripts: the end decides (ASCII 1 byte, Cyrillic 2).
    expect(charactersToRemove('ЯЯЯabc', 4)).toBe(4);
    expect(charactersToRemove('abc', 0)).toBe(0);
  });
});
