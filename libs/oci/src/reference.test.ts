import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OciError } from './errors.js';
import { familiarReference, formatReference, parseReference } from './reference.js';

const D = `sha256:${'a'.repeat(64)}`;

test('references normalise exactly as docker normalises them', () => {
  const cases: [string, string][] = [
    ['golang', 'docker.io/library/golang:latest'],
    ['golang:1.22', 'docker.io/library/golang:1.22'],
    ['user/app', 'docker.io/user/app:latest'],
    ['docker.io/golang', 'docker.io/library/golang:latest'],
    ['index.docker.io/library/golang:1', 'docker.io/library/golang:1'],
    ['localhost/app', 'localhost/app:latest'],
    ['localhost:5000/a/b:tag', 'localhost:5000/a/b:tag'],
    ['UPPER/app', 'UPPER/app:latest'],
    ['host:5000/a/b:tag', 'host:5000/a/b:tag'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app:latest'],
    ['quay.io/org/repo/sub:v1.2-rc_3', 'quay.io/org/repo/sub:v1.2-rc_3'],
    [`busybox@${D}`, `docker.io/library/busybox@${D}`],
    [`busybox:1.36@${D}`, `docker.io/library/busybox:1.36@${D}`],
    ['a__b/c--d.e_f', 'docker.io/a__b/c--d.e_f:latest'],
    ['[::1]:5000/app:1', '[::1]:5000/app:1'],
  ];
  for (const [input, expected] of cases)
    assert.equal(formatReference(parseReference(input)), expected, input);
});

test('a digest-only reference has no tag', () => {
  const ref = parseReference(`busybox@${D}`);
  assert.equal(ref.tag, undefined);
  assert.equal(ref.digest, D);
});

test('familiar names drop docker.io/library as docker shows them', () => {
  assert.equal(familiarReference(parseReference('golang')), 'golang:latest');
  assert.equal(familiarReference(parseReference('user/app:1')), 'user/app:1');
  assert.equal(familiarReference(parseReference('localhost:5000/app')), 'localhost:5000/app:latest');
});

test('invalid references are refused with a message naming the fault', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['Golang', /lowercase/],
    ['user/App', /lowercase/],
    ['app:', /tag ""/],
    ['app:-bad', /tag "-bad"/],
    [`app:${'t'.repeat(129)}`, /tag/],
    ['app@sha256:abc', /not a sha256 digest/],
    ['app@md5:0123', /not a sha256 digest/],
    ['a//b', /path component ""/],
    ['a/b_/c', /path component "b_"/],
    ['-host.io/app', /not a valid registry host/],
    [':tag', /no repository/],
    [`a/${'b'.repeat(300)}`, /longer than 255/],
    ['a b', /path component "a b"/],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => parseReference(input),
      (error: unknown) =>
        error instanceof OciError && error.code === 'OCI_INVALID_REFERENCE' && message.test(error.message),
      input,
    );
  }
});
