import { describe, expect, it } from 'vitest';
import { diffLines } from './diff.js';

describe('diffLines', () => {
  it('marks added and removed lines and keeps the common ones', () => {
    const before = '{\n  "log-driver": "json-file"\n}\n';
    const after = '{\n  "log-driver": "json-file",\n  "registry-mirrors": ["http://127.0.0.1:5050"]\n}\n';
    expect(diffLines(before, after)).toEqual([
      { kind: 'same', text: '{' },
      { kind: 'removed', text: '  "log-driver": "json-file"' },
      { kind: 'added', text: '  "log-driver": "json-file",' },
      { kind: 'added', text: '  "registry-mirrors": ["http://127.0.0.1:5050"]' },
      { kind: 'same', text: '}' },
    ]);
  });
  it('handles an absent file and identical texts', () => {
    expect(diffLines('', 'a\nb')).toEqual([{ kind: 'added', text: 'a' }, { kind: 'added', text: 'b' }]);
    expect(diffLines('x\r\ny\n', 'x\ny')).toEqual([{ kind: 'same', text: 'x' }, { kind: 'same', text: 'y' }]);
  });
});
