// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from '@testing-library/react';
import { EditingList, RemoteCarets, caretColour } from './RemoteCarets';

const alice = { id: 'u-alice', name: 'Alice' };
const bob = { id: 'u-bob', name: 'Bob' };

afterEach(cleanup);

describe('RemoteCarets', () => {
  it('draws each caret at its code point offset, with the user\u2019s name and colour, hidden from assistive tech', () => {
    const view = render(
      <div>
        <textarea defaultValue="😀 hello world" />
        <RemoteCarets
          field="body"
          text="😀 hello world"
          carets={[
            { session: 's1', user: alice, note: 'n', field: 'body', anchor: 2, head: 7 },
            { session: 's2', user: bob, note: 'n', field: 'body', anchor: 13, head: 13 },
          ]}
        />
      </div>,
    );
    const layer = view.getByTestId('remote-carets');
    expect(layer.getAttribute('aria-hidden')).toBe('true');
    const marks = [...layer.querySelectorAll('.remote-caret')] as HTMLElement[];
    expect(marks.map((m) => m.dataset.user)).toEqual(['Alice', 'Bob']);
    // Alice selected "hello" (code points 2..7, after the emoji's two UTF-16 units).
    expect(layer.querySelector('.remote-selection')?.textContent).toBe('hello');
    expect(layer.textContent?.startsWith('😀 helloAlice world')).toBe(true);
    expect(marks[0]?.style.getPropertyValue('--caret-colour')).toBe(caretColour('u-alice'));
    expect(caretColour('u-alice')).not.toBe(caretColour('u-bob'));
  });

  it('says in words who is editing the note', () => {
    const one = render(<EditingList carets={[{ session: 's1', user: alice, note: 'n', field: 'body', anchor: 0, head: 0 }]} />);
    expect(one.getByTestId('editing-list').textContent).toBe('Alice is editing this note');
    cleanup();
    const two = render(
      <EditingList
        carets={[
          { session: 's1', user: alice, note: 'n', field: 'body', anchor: 0, head: 0 },
          { session: 's2', user: bob, note: 'n', field: 'title', anchor: 0, head: 0 },
          { session: 's3', user: alice, note: 'n', field: 'title', anchor: 0, head: 0 },
        ]}
      />,
    );
    expect(two.getByTestId('editing-list').textContent).toBe('Alice and Bob are editing this note');
  });
});

describe('caretColour', () => {
  // WCAG relative luminance of an `hsl(h s% l% / a)` colour.
  const luminance = (colour: string) => {
    const [h, s, l] = (/hsl\((\d+) (\d+)% (\d+)%/.exec(colour) ?? []).slice(1).map(Number) as [number, number, number];
    const a = (s / 100) * Math.min(l / 100, 1 - l / 100);
    const f = (n: number) => {
      const k = (n + h / 30) % 12;
      return l / 100 - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    };
    const lin = (c: number) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * lin(f(0)) + 0.7152 * lin(f(8)) + 0.0722 * lin(f(4));
  };

  it('is dark enough for the white name on it at any hue (4.5:1)', () => {
    for (let i = 0; i < 500; i += 1) {
      const contrast = 1.05 / (luminance(caretColour(`u_${i.toString(36)}`)) + 0.05);
      expect(contrast).toBeGreaterThanOrEqual(4.5);
    }
  });
});
