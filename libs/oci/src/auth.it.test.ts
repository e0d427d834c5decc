import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  busyboxRootfs,
  layerFrom,
  makeImage,
  pushImage,
  startRegistry,
  startTokenServer,
  type TestRegistry,
  type TokenServer,
} from '@lxr/testkit';
import { OciError } from './errors.js';
import { ImagePuller } from './puller.js';
import { dockerConfigCredentials } from './registry/credentials.js';
import { RegistryClient } from './registry/registry-client.js';
import { ImageStore } from './store/image-store.js';

let open: TestRegistry;
let secured: TestRegistry;
let tokens: TokenServer;
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lxr-oci-auth-'));
  tokens = await startTokenServer({ users: { alice: 'secret' }, publicRepositories: ['test/public'] });
  open = await startRegistry();
  // Same storage, token auth in front: the images pushed to `open` are served by `secured`.
  secured = await startRegistry({ storageDir: path.join(open.dir, 'storage'), tokenAuth: tokens.auth });
  const image = makeImage([await layerFrom(busyboxRootfs, 'gzip')]);
  await pushImage(open.host, 'test/public', '1', image);
  await pushImage(open.host, 'test/private', '1', image);
});

after(async () => {
  await secured?.dispose();
  await open?.dispose();
  await tokens?.close();
  await rm(dir, { recursive: true, force: true });
});

async function pull(client: RegistryClient, reference: string) {
  const store = new ImageStore(await mkdtemp(path.join(dir, 'store-')));
  return new ImagePuller(store, client).pull(reference);
}

async function configFile(name: string, content: unknown): Promise<string> {
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(content));
  return file;
}

async function failsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(
    promise,
    (e: unknown) => e instanceof OciError && e.code === code && e.reason === 'unauthorized',
  );
}

test('anonymous pulls of a public repository get a token once and reuse it until it expires', async () => {
  const client = new RegistryClient();
  const before = tokens.issued();
  const { image } = await pull(client, `${secured.host}/test/public:1`);
  assert.equal(image.layers.length, 1);
  assert.equal(tokens.issued() - before, 1);
  await pull(client, `${secured.host}/test/public:1`);
  assert.equal(tokens.issued() - before, 1, 'the cached token served the second pull');
});

test('a private repository refuses anonymous pulls and wrong logins with unauthorized', async () => {
  await failsWith(pull(new RegistryClient(), `${secured.host}/test/private:1`), 'OCI_UNAUTHORIZED');
  const wrong = await configFile('wrong', {
    auths: { [secured.host]: { auth: Buffer.from('alice:nope').toString('base64') } },
  });
  await failsWith(
    pull(
      new RegistryClient({ credentials: dockerConfigCredentials(wrong) }),
      `${secured.host}/test/private:1`,
    ),
    'OCI_UNAUTHORIZED',
  );
  assert.ok(tokens.refused() > 0);
});

test('logins come from config.json: auths, credHelpers and credsStore', async () => {
  const auths = await configFile('auths', {
    auths: { [secured.host]: { auth: Buffer.from('alice:secret').toString('base64') } },
  });
  await pull(
    new RegistryClient({ credentials: dockerConfigCredentials(auths) }),
    `${secured.host}/test/private:1`,
  );

  // A credential helper as docker runs it: `docker-credential-<name> get`, server on stdin.
  const bin = path.join(dir, 'bin');
  await rm(bin, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(bin));
  const helper = path.join(bin, 'docker-credential-lxrtest');
  await writeFile(
    helper,
    `#!/bin/sh\nread server\necho "$server" >> ${path.join(dir, 'helper.log')}\n` +
      `if [ "$server" = "${secured.host}" ]; then echo '{"ServerURL":"'$server'","Username":"alice","Secret":"secret"}'; else echo 'credentials not found in native keychain'; exit 1; fi\n`,
  );
  await chmod(helper, 0o755);
  const savedPath = process.env['PATH'];
  process.env['PATH'] = `${bin}:${savedPath}`;
  try {
    const helpers = await configFile('helpers', { credHelpers: { [secured.host]: 'lxrtest' } });
    await pull(
      new RegistryClient({ credentials: dockerConfigCredentials(helpers) }),
      `${secured.host}/test/private:1`,
    );
    const store = await configFile('store', { credsStore: 'lxrtest' });
    await pull(
      new RegistryClient({ credentials: dockerConfigCredentials(store) }),
      `${secured.host}/test/private:1`,
    );
    // The helper answers "not found" for other hosts: anonymous, so the public repository still works.
    assert.equal(await dockerConfigCredentials(store).get('example.invalid'), undefined);
    const broken = await configFile('broken', { credHelpers: { [secured.host]: 'missing-helper' } });
    await assert.rejects(
      pull(
        new RegistryClient({ credentials: dockerConfigCredentials(broken) }),
        `${secured.host}/test/private:1`,
      ),
      (e: unknown) =>
        e instanceof OciError &&
        e.code === 'OCI_CREDENTIAL_HELPER_FAILED' &&
        /docker-credential-missing-helper/.test(e.message),
    );
  } finally {
    process.env['PATH'] = savedPath;
  }
});
