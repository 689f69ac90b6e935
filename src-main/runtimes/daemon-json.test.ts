import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addLayoverMirror, readDaemonJson, removeLayoverMirror } from './daemon-json.js';
import { parseMirrorAddress } from './mirror-address.js';

const PATH = '/etc/docker/daemon.json';
const LAYOVER = parseMirrorAddress('http://127.0.0.1:5050');

test('adding the mirror keeps every other key, their order, formatting and the other mirrors', () => {
  const before = [
    '{',
    '    "log-driver": "json-file",',
    '    "log-opts": {"max-size": "10m"},',
    '    "registry-mirrors": [',
    '        "https://mirror.example.com"',
    '    ],',
    '    "features": {"buildkit": true}',
    '}',
    '',
  ].join('\n');
  const after = addLayoverMirror(before, PATH, LAYOVER);
  assert.equal(after, [
    '{',
    '    "log-driver": "json-file",',
    '    "log-opts": {"max-size": "10m"},',
    '    "registry-mirrors": [',
    '        "http://127.0.0.1:5050",',
    '        "https://mirror.example.com"',
    '    ],',
    '    "features": {"buildkit": true}',
    '}',
    '',
  ].join('\n'));
  assert.deepEqual(Object.keys(JSON.parse(after)), ['log-driver', 'log-opts', 'registry-mirrors', 'features']);
});

test('a second run changes nothing, byte for byte', () => {
  const once = addLayoverMirror('{"debug": true}\n', PATH, LAYOVER);
  assert.equal(addLayoverMirror(once, PATH, LAYOVER), once);
});

test('the mirror Docker lists with a trailing slash, or under the other scheme, counts as already there', () => {
  const text = '{"registry-mirrors": ["https://127.0.0.1:5050/", "https://m.example.com"]}';
  assert.equal(addLayoverMirror(text, PATH, LAYOVER), text);
});

test('a Layover mirror further down the list is moved to the front, not duplicated', () => {
  const after = addLayoverMirror('{"registry-mirrors": ["https://m.example.com", "http://127.0.0.1:5050/"]}', PATH, LAYOVER);
  assert.deepEqual(readDaemonJson(after, PATH).mirrors, ['http://127.0.0.1:5050', 'https://m.example.com']);
});

test('the key is added after the last one in the layout of the object', () => {
  assert.equal(
    addLayoverMirror('{\n  "debug": true\n}\n', PATH, LAYOVER),
    '{\n  "debug": true,\n  "registry-mirrors": [\n    "http://127.0.0.1:5050"\n  ]\n}\n',
  );
  assert.equal(
    addLayoverMirror('{"debug": true}', PATH, LAYOVER),
    '{"debug": true, "registry-mirrors": ["http://127.0.0.1:5050"]}',
  );
});

test('an empty, missing or {} daemon.json gets a complete document', () => {
  const expected = '{\n  "registry-mirrors": [\n    "http://127.0.0.1:5050"\n  ]\n}\n';
  assert.equal(addLayoverMirror('', PATH, LAYOVER), expected);
  assert.equal(addLayoverMirror('  \n', PATH, LAYOVER), expected);
  assert.equal(addLayoverMirror('{}', PATH, LAYOVER), '{\n  "registry-mirrors": [\n    "http://127.0.0.1:5050"\n  ]\n}');
});

test('Windows line endings and a byte order mark survive the edit', () => {
  const before = '\uFEFF{\r\n\t"debug": true\r\n}\r\n';
  const after = addLayoverMirror(before, PATH, LAYOVER);
  assert.equal(after, '\uFEFF{\r\n\t"debug": true,\r\n\t"registry-mirrors": [\r\n\t\t"http://127.0.0.1:5050"\r\n\t]\r\n}\r\n');
  assert.equal(removeLayoverMirror(after, PATH, [LAYOVER]), '\uFEFF{\r\n\t"debug": true,\r\n\t"registry-mirrors": []\r\n}\r\n');
});

test('revert removes only Layover entries and gives back the original bytes when other mirrors remain', () => {
  for (const before of [
    '{\n  "registry-mirrors": ["https://m.example.com"],\n  "debug": true\n}\n',
    '{\n  "registry-mirrors": [\n    "https://a.example.com",\n    "https://b.example.com"\n  ]\n}\n',
  ]) {
    const configured = addLayoverMirror(before, PATH, LAYOVER);
    assert.notEqual(configured, before);
    assert.equal(removeLayoverMirror(configured, PATH, [LAYOVER]), before, before);
  }
});

test('revert keeps the key as an empty list, because dockerd reloads only the keys in the file', () => {
  for (const [before, reverted] of [
    ['{\n    "debug": true,\n    "log-opts": {"max-size": "10m"}\n}\n', '{\n    "debug": true,\n    "log-opts": {"max-size": "10m"},\n    "registry-mirrors": []\n}\n'],
    ['{"debug": true}', '{"debug": true, "registry-mirrors": []}'],
    ['{}', '{\n  "registry-mirrors": []\n}'],
    ['{"registry-mirrors": []}', '{"registry-mirrors": []}'],
  ] as const) {
    const configured = addLayoverMirror(before, PATH, LAYOVER);
    assert.equal(removeLayoverMirror(configured, PATH, [LAYOVER]), reverted, before);
    assert.deepEqual(readDaemonJson(reverted, PATH), { mirrors: [], hasMirrorsKey: true });
  }
});

test('revert adds the empty key when the file lacks it but the engine still lists Layover\'s mirror', () => {
  assert.equal(removeLayoverMirror('{"debug": true}', PATH, [LAYOVER], { stillActive: true }), '{"debug": true, "registry-mirrors": []}');
  assert.equal(removeLayoverMirror('{"debug": true}', PATH, [LAYOVER], { stillActive: false }), '{"debug": true}');
  const kept = '{"registry-mirrors": ["https://m.example.com"]}';
  assert.equal(removeLayoverMirror(kept, PATH, [LAYOVER], { stillActive: true }), kept, 'a present key is reloaded as it is');
});

test('revert recognises the entry by host and port whatever scheme or slash it was written with', () => {
  const after = removeLayoverMirror('{"registry-mirrors": ["https://127.0.0.1:5050/", "http://127.0.0.1:5051"]}', PATH, [LAYOVER]);
  assert.deepEqual(readDaemonJson(after, PATH).mirrors, ['http://127.0.0.1:5051']);
});

test('revert without a Layover entry changes nothing', () => {
  const text = '{"registry-mirrors": ["https://m.example.com"]}';
  assert.equal(removeLayoverMirror(text, PATH, [LAYOVER]), text);
  assert.equal(removeLayoverMirror('', PATH, [LAYOVER]), '');
});

test('invalid JSON is refused with where it breaks, as line and column', () => {
  const broken = '{\n  "debug": true\n  "log-level": "warn"\n}\n';
  assert.throws(() => addLayoverMirror(broken, PATH, LAYOVER), (error: Error) => {
    assert.match(error.message, /^\/etc\/docker\/daemon\.json is not valid JSON \(line 3, column 3: comma expected\); it was left unchanged$/);
    return true;
  });
  // V8 gives no position for this one; the location still comes out.
  assert.throws(() => readDaemonJson('{"a": }', PATH), /line 1, column 7/);
  assert.throws(() => readDaemonJson('{"a": 1,}', PATH), /line 1, column 9/);
  assert.throws(() => readDaemonJson('{"a": 1 // comment\n}', PATH), /not valid JSON \(line 1, column 9/);
});

test('a daemon.json that is not an object, or whose registry-mirrors is not a list of strings, is refused', () => {
  assert.throws(() => readDaemonJson('[]', PATH), /not a JSON object/);
  assert.throws(() => readDaemonJson('"x"', PATH), /not a JSON object/);
  assert.throws(() => addLayoverMirror('{"registry-mirrors": "http://x"}', PATH, LAYOVER), /must be a list of URLs/);
  assert.throws(() => addLayoverMirror('{"registry-mirrors": [1]}', PATH, LAYOVER), /must be a list of URLs/);
});
