// An inline-editable note field (title: one line; body: several) over useDebouncedField.

import { useEffect, useRef } from 'react';
import { useDebouncedField } from './useDebouncedField';

interface EditableFieldProps {
  value: string;
  onCommit(value: string): void;
  label: string;
  field: 'title' | 'body';
  placeholder?: string;
  autoFocus?: boolean;
  maxLength?: number;
}

export function EditableField({ value, onCommit, label, field, placeholder, autoFocus, maxLength }: EditableFieldProps) {
  const state = useDebouncedField(value, onCommit);
  const ref = useRef<HTMLInputElement & HTMLTextAreaElement>(null);

  useEffect(() => {
    if (autoFocus) {
      ref.current?.focus();
    }
  }, [autoFocus]);

  const common = {
    ref,
    'aria-label': label,
    'data-field': field,
    className: `note-${field}`,
    placeholder,
    maxLength,
    value: state.value,
    onFocus: state.onFocus,
    onBlur: state.onBlur,
  };

  if (field === 'body') {
    return <textarea {...common} rows={2} onChange={(event) => state.onChange(event.target.value)} />;
  }
  return <input {...common} type="text" onChange={(event) => state.onChange(event.target.value)} />;
}
