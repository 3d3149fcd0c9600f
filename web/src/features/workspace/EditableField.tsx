// An inline-editable note field (title: one line; body: several) over useDebouncedField. Text
// over the size the server takes is kept in the field, not sent, and explained beneath it.

import { useCallback, useEffect, useId, useRef } from 'react';
import type { FieldSize } from '../../sync/api';
import { useDebouncedField } from './useDebouncedField';
import { tooLongMessage } from './sizeMessage';

interface EditableFieldProps {
  value: string;
  onCommit(value: string): void;
  label: string;
  field: 'title' | 'body';
  placeholder?: string;
  autoFocus?: boolean;
  /** The size of a text against the most the server takes for this field. */
  measure?(value: string): FieldSize;
  /** A viewer's field: readable, selectable, not editable. */
  readOnly?: boolean;
}

export function EditableField({ value, onCommit, label, field, placeholder, autoFocus, measure, readOnly = false }: EditableFieldProps) {
  const fits = useCallback(
    (text: string) => {
      if (!measure) return true;
      const size = measure(text);
      return size.bytes <= size.limit;
    },
    [measure],
  );
  const state = useDebouncedField(value, onCommit, undefined, fits);
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);
  const messageId = useId();

  useEffect(() => {
    if (autoFocus) {
      ref.current?.focus();
    }
  }, [autoFocus]);

  const message = measure ? tooLongMessage(field, state.value, measure(state.value)) : null;

  const common = {
    ref,
    'aria-label': label,
    'aria-invalid': message ? true : undefined,
    'aria-describedby': message ? messageId : undefined,
    'data-field': field,
    className: `note-${field}`,
    placeholder: readOnly ? undefined : placeholder,
    readOnly,
    value: state.value,
    onFocus: state.onFocus,
    onBlur: state.onBlur,
  };

  const input =
    field === 'body' ? (
      <textarea {...common} rows={2} onChange={(event) => state.onChange(event.target.value)} />
    ) : (
      <input {...common} type="text" onChange={(event) => state.onChange(event.target.value)} />
    );
  return (
    <>
      {input}
      <p id={messageId} className="field-error" aria-live="polite" hidden={!message}>
        {message}
      </p>
    </>
  );
}
