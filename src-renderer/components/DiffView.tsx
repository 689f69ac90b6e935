import { diffLines } from '../lib/diff.js';

const MARK = { same: ' ', added: '+', removed: '-' } as const;
const SPOKEN = { same: '', added: 'added: ', removed: 'removed: ' } as const;

/** A line diff of two texts, with +/- marks that do not rely on colour alone. */
export function DiffView({ before, after, label }: { before: string; after: string; label: string }) {
  const lines = diffLines(before, after);
  return (
    <pre className="diff" aria-label={label} data-testid="config-diff" tabIndex={0}>
      {lines.map((line, index) => (
        <span key={index} className={`diff-line diff-${line.kind}`} data-kind={line.kind}>
          <span className="diff-mark" aria-hidden="true">{MARK[line.kind]}</span>
          <span className="visually-hidden">{SPOKEN[line.kind]}</span>
          {line.text || ' '}
          {'\n'}
        </span>
      ))}
    </pre>
  );
}
