import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { useNow } from '../app/now.js';
import {
  BINARY_MULTIPLIERS, formatExactTime, formatRelativeTime, formatTimeAgo, splitBytes, type ByteUnit,
} from '../lib/format.js';

export type Tone = 'good' | 'warn' | 'bad' | 'info' | 'neutral' | 'busy';

export function Badge({ tone = 'neutral', children, testId, title }: { tone?: Tone; children: ReactNode; testId?: string; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} data-testid={testId} title={title}>
      <span className="badge-dot" aria-hidden="true" />
      {children}
    </span>
  );
}

/**
 * "3 min ago", with the exact local time on hover and in the machine-readable dateTime.
 * `past`: the time is of something that happened, so it is never shown in the future tense (see formatTimeAgo).
 */
export function RelativeTime({ at, prefix, past }: { at: number; prefix?: string; past?: boolean }) {
  const now = useNow();
  const exact = formatExactTime(at);
  return (
    <time dateTime={new Date(at).toISOString()} title={exact}>
      {prefix}
      {past ? formatTimeAgo(at, now) : formatRelativeTime(at, now)}
    </time>
  );
}

/**
 * A progress bar: the native <progress>, so it has the progressbar role and
 * needs no inline style. Without `max` it is indeterminate.
 */
export function ProgressBar({ value, max, label, tone, testId }: { value: number; max?: number; label: string; tone?: Tone; testId?: string }) {
  const determinate = max !== undefined && max > 0;
  return (
    <progress
      className={`progress${tone ? ` progress-${tone}` : ''}`}
      aria-label={label}
      data-testid={testId}
      {...(determinate ? { value: Math.min(value, max), max } : {})}
    />
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <div className="state-box state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      Loading {what}…
    </div>
  );
}

export function ErrorMessage({ error, what, onRetry }: { error: Error; what?: string; onRetry?: () => void }) {
  return (
    <div className="state-box state-error" role="alert">
      <div>
        {what ? <strong>Could not load {what}. </strong> : null}
        <span className="error-text">{error.message}</span>
      </div>
      {onRetry ? (
        <button type="button" className="button button-small" onClick={onRetry}>
          Retry
        </button>
      ) : null}
    </div>
  );
}

export function Empty({ title, children, testId }: { title: string; children?: ReactNode; testId?: string }) {
  return (
    <div className="state-box state-empty" data-testid={testId}>
      <strong>{title}</strong>
      {children ? <div className="muted">{children}</div> : null}
    </div>
  );
}

/** Inline feedback after an action: an error (role=alert) or a quiet note. */
export function ActionError({ error }: { error?: Error }) {
  if (!error) return null;
  return (
    <p className="inline-error" role="alert">
      {error.message}
    </p>
  );
}

async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // A LAN admin page over plain http is not a secure context: no async clipboard there.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  if (!ok) throw new Error('The browser refused to copy; select the text and copy it by hand.');
}

export function CopyButton({ text, label, testId }: { text: string; label: string; testId?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  const onClick = async (): Promise<void> => {
    try {
      await copyText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setState('idle'), 2000);
  };
  return (
    <button type="button" className="button button-small button-quiet" onClick={() => void onClick()} aria-label={label} data-testid={testId}>
      <span aria-hidden="true">{state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy'}</span>
      <span className="visually-hidden" aria-live="polite">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : ''}
      </span>
    </button>
  );
}

/**
 * A size in binary units: a number and a unit. `value` is bytes; undefined
 * when empty (allowed only with `optional`).
 */
export function ByteSizeInput({
  label, value, onChange, units = ['MiB', 'GiB'], optional, hint, perSecond, testId,
}: {
  label: string;
  value: number | undefined;
  onChange: (bytes: number | undefined) => void;
  units?: ByteUnit[];
  optional?: boolean;
  hint?: ReactNode;
  perSecond?: boolean;
  testId?: string;
}) {
  const id = useId();
  const initial = value === undefined || value === 0 ? undefined : splitBytes(value);
  const [unit, setUnit] = useState<ByteUnit>(initial && units.includes(initial.unit) ? initial.unit : units[units.length - 1]!);
  const [text, setText] = useState(initial && units.includes(initial.unit) ? String(initial.value) : value ? String(value / BINARY_MULTIPLIERS[unit]) : '');
  const emit = (nextText: string, nextUnit: ByteUnit): void => {
    const trimmed = nextText.trim();
    if (trimmed === '') onChange(optional ? undefined : 0);
    else {
      const number = Number(trimmed);
      if (Number.isFinite(number) && number >= 0) onChange(Math.round(number * BINARY_MULTIPLIERS[nextUnit]));
    }
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <div className="input-group">
        <input
          id={id}
          type="number"
          min={0}
          step="any"
          inputMode="decimal"
          value={text}
          data-testid={testId}
          aria-describedby={hint ? `${id}-hint` : undefined}
          onChange={(e) => {
            setText(e.target.value);
            emit(e.target.value, unit);
          }}
        />
        <select
          aria-label={`${label} unit`}
          value={unit}
          onChange={(e) => {
            const next = e.target.value as ByteUnit;
            setUnit(next);
            emit(text, next);
          }}
        >
          {units.map((u) => (
            <option key={u} value={u}>
              {perSecond ? `${u}/s` : u}
            </option>
          ))}
        </select>
      </div>
      {hint ? (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      ) : null}
    </div>
  );
}

export function PageHeader({ title, children, testId }: { title: string; children?: ReactNode; testId?: string }) {
  return (
    <header className="page-header">
      <h1 tabIndex={-1} data-page-heading="" data-testid={testId}>
        {title}
      </h1>
      {children ? <div className="page-header-extra">{children}</div> : null}
    </header>
  );
}

export function Section({ title, actions, children, testId, description }: {
  title: string; actions?: ReactNode; children: ReactNode; testId?: string; description?: ReactNode;
}) {
  const id = useId();
  return (
    <section className="card" aria-labelledby={id} data-testid={testId}>
      <div className="card-header">
        <div>
          <h2 id={id}>{title}</h2>
          {description ? <p className="muted card-description">{description}</p> : null}
        </div>
        {actions ? <div className="card-actions">{actions}</div> : null}
      </div>
      {children}
    </section>
  );
}
