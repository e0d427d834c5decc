// docs/ERRORS.md lists every error code of every package, so users can look up what they see.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BusErrorCode } from '@lxr/bus';
import { ClientErrorCode } from '@lxr/client';
import { ComposeErrorCode } from '@lxr/docker-free-compose';
import { EventStoreErrorCode } from '@lxr/event-store';
import { EventErrorCode, NetworkErrorCode } from '@lxr/events';
import { ExecutorErrorCode } from '@lxr/executor/errors';
import { OciErrorCode } from '@lxr/oci';
import { RootfsErrorCode, UnpackErrorCode, VolumeErrorCode } from '@lxr/rootfs-builder/errors';
import { ServiceKitErrorCode } from '@lxr/service-kit';

const doc = readFileSync(path.resolve(import.meta.dirname, '../../docs/ERRORS.md'), 'utf8');

test('docs/ERRORS.md documents every error code', () => {
  const codes = [
    EventErrorCode,
    EventStoreErrorCode,
    BusErrorCode,
    ServiceKitErrorCode,
    ClientErrorCode,
    ComposeErrorCode,
    NetworkErrorCode,
    ExecutorErrorCode,
    OciErrorCode,
    RootfsErrorCode,
    UnpackErrorCode,
    VolumeErrorCode,
  ].flatMap((codes) => Object.values(codes) as string[]);
  assert.ok(codes.length > 30);
  const missing = codes.filter((code) => !doc.includes(`\`${code}\``));
  assert.deepEqual(missing, [], `codes missing from docs/ERRORS.md: ${missing.join(', ')}`);
});
